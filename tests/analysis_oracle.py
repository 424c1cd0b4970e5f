"""Torch as the oracle of the analyses: footprints of input gradients, saved tensors, FLOPs, storages.

Receptive fields are measured on a *linear copy* of a net: every convolution and linear layer with
positive weights, max-pools as average pools (their gradient reaches every position of a window, not
only the maximum), activations, normalisation and dropout as the identity. Every path then carries a
positive gradient, so the input positions whose gradient is non-zero are exactly those the output
sees. The copy is *thin*: each convolution has one output channel (the positions a convolution reads
do not depend on its channel counts), so a ResNet-50 copy runs at 224×224 in milliseconds; merges
sum their inputs' channels first.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from shapecalc.builder import make_module
from shapecalc.ops import ConvNd, MaxPoolNd, Op
from shapecalc.trace import Row, Trace

Fn = Callable[..., torch.Tensor]


def _positive(module: nn.Module) -> nn.Module:
    """Weights 1/fan-in (positive, activations stay near 1), bias 0, float64."""
    module = module.double()
    with torch.no_grad():
        for name, param in module.named_parameters():
            if name == "weight":
                param.fill_(1.0 / max(1, param[0].numel()))
            else:
                param.zero_()
    return module


def _window_sum(op: MaxPoolNd) -> Fn:
    """A dilated max-pool's windows, summed: torch's own im2col (F.unfold) picks the positions."""
    if op.n != 2:
        raise NotImplementedError("unfold is 2-d only")

    def run(x: torch.Tensor) -> torch.Tensor:
        out = F.max_pool2d(
            torch.empty(x.shape, device="meta"),
            op.kernel_size,
            op.strides(),
            op.padding,
            op.dilation,
            op.ceil_mode,
        ).shape
        (ph, pw), (sh, sw) = op.padding, op.strides()
        (kh, kw), (dh, dw) = op.kernel_size, op.dilation
        h, w = x.shape[-2:]
        extra_h = max(0, (out[-2] - 1) * sh + dh * (kh - 1) + 1 - (h + 2 * ph))
        extra_w = max(0, (out[-1] - 1) * sw + dw * (kw - 1) + 1 - (w + 2 * pw))
        padded = F.pad(x, (pw, pw + extra_w, ph, ph + extra_h))
        cols = F.unfold(padded, (kh, kw), dilation=(dh, dw), stride=(sh, sw))
        rows = (padded.shape[-2] - dh * (kh - 1) - 1) // sh + 1
        width = (padded.shape[-1] - dw * (kw - 1) - 1) // sw + 1
        summed = cols.view(x.shape[0], x.shape[1], kh * kw, rows, width).sum(2)
        return summed[..., : out[-2], : out[-1]]

    return run


def linear_layer(op: Op, inferred: dict[str, Any], channels: int | None = None) -> Fn:
    """The linear stand-in of one layer; with ``channels`` (the thin input's channel count) a
    convolution gets one output channel and a Linear one output feature."""
    family = type(op).family
    if isinstance(op, ConvNd) or family == "convolution":
        if channels is not None:
            update = {"in_channels": channels, "out_channels": 1, "groups": 1}
            op = op.model_copy(update=update)
            inferred = {**inferred, "in_channels": channels}
        return _positive(make_module(op, inferred))
    if op.type == "Linear":
        if channels is not None:
            return _positive(nn.Linear(channels, 1))
        return _positive(make_module(op, inferred))
    if isinstance(op, MaxPoolNd):
        if any(d != 1 for d in op.dilation):
            return _window_sum(op)
        args = {
            "kernel_size": op.kernel_size,
            "stride": op.strides(),
            "padding": op.padding,
            "ceil_mode": op.ceil_mode,
        }
        return getattr(nn, f"AvgPool{op.n}d")(**args)
    if family in ("activation", "normalisation") or op.type.startswith("Dropout"):
        return nn.Identity()
    if family in ("pooling", "resizing", "padding") or op.type in ("Flatten", "Identity"):
        return make_module(op, inferred)
    raise NotImplementedError(f"no linear stand-in for {op.type}")


def merge(op: Op, inputs: Sequence[torch.Tensor], thin: bool) -> torch.Tensor:
    """Add / Multiply / Concat on the copy; a thin copy first sums each input's channels (dim 1)
    unless it concatenates along them."""
    dim = getattr(op, "dim", 1)
    if thin and not (op.type == "Concat" and dim % inputs[0].dim() == 1):
        inputs = [t.sum(1, keepdim=True) if t.dim() >= 2 else t for t in inputs]
    if op.type == "Add":
        out = inputs[0]
        for t in inputs[1:]:
            out = out + t
        return out
    if op.type == "Multiply":
        out = inputs[0]
        for t in inputs[1:]:
            out = out * t
        return out
    if op.type == "Concat":
        return torch.cat(list(inputs), dim)
    raise NotImplementedError(op.type)


def run_linear_copy(trace: Trace, x: torch.Tensor, thin: bool = True) -> dict[str, torch.Tensor]:
    """Every node's output on the linear copy of ``trace`` for input ``x`` (float64)."""
    values: dict[str, torch.Tensor] = {"x": x}
    for row in trace.layers:
        assert row.op is not None
        inputs = [values[name] for name in row.inputs]
        if row.kind == "merge":
            values[row.name] = merge(row.op, inputs, thin)
            continue
        source = inputs[0]
        channels = None
        if thin:
            channels = source.shape[-1] if row.op.type == "Linear" else source.shape[1]
        values[row.name] = linear_layer(row.op, row.inferred, channels)(source)
    return values


def footprint(
    values: dict[str, torch.Tensor], row: Row, index: tuple[Any, ...]
) -> tuple[tuple[int, int] | None, ...]:
    """For each spatial axis of the input: the first and last position whose gradient is non-zero
    when output ``row.name[index]`` (summed over what ``index`` leaves open) is differentiated."""
    x = values["x"]
    (grad,) = torch.autograd.grad(values[row.name][index].sum(), x, retain_graph=True)
    seen = grad[0].abs().sum(0) != 0  # batch element 0, any channel
    spans = []
    for axis in range(seen.dim()):
        other = tuple(d for d in range(seen.dim()) if d != axis)
        hit = seen.any(dim=other) if other else seen
        where = torch.nonzero(hit).flatten().tolist()
        spans.append((where[0], where[-1]) if where else None)
    return tuple(spans)


def probes(sizes: Sequence[int]) -> list[tuple[int, ...]]:
    """Output positions to probe: the first, the middle and the last along every axis."""
    return sorted(
        {tuple(f(n) for n in sizes) for f in (lambda n: 0, lambda n: n // 2, lambda n: n - 1)}
    )


def prod(shape: Sequence[int]) -> int:
    return math.prod(shape)
