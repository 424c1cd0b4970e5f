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
import weakref
from collections.abc import Callable, Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_flatten

from shapecalc.builder import make_module
from shapecalc.ops import ConvNd, MaxPoolNd, Op
from shapecalc.ops.conv import ConvTransposeNd
from shapecalc.ops.pool import AdaptiveMaxPoolNd, LPPoolNd
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


RESIDUE = 1e-6  # shapecalc.formulas.RESIDUE: weights this small are rounding, not reads


def _resampling(resize: nn.Module) -> Fn:
    """torch's interpolation as the matrix of its own weights, found by resizing every basis
    image, with the weights a rounded source index leaves (|w| < RESIDUE: 1e-8 in float32 with a
    fused multiply-add, 1e-15 in float64, 0 without) set to 0, as the analysis counts them."""

    def run(x: torch.Tensor) -> torch.Tensor:
        n, c, *spatial = x.shape
        size = math.prod(spatial)
        basis = torch.eye(size, dtype=torch.float64).reshape(size, 1, *spatial)
        with torch.no_grad():
            weights = resize(basis).reshape(size, -1)
        weights[weights.abs() < RESIDUE] = 0
        out = x.reshape(n * c, size) @ weights
        return out.reshape(n, c, *resize(basis[:1]).shape[2:])

    return run


def _window_sum(
    n: int,
    kernel: Sequence[int],
    stride: Sequence[int],
    padding: Sequence[int],
    dilation: Sequence[int],
    ceil_mode: bool,
) -> Fn:
    """A max-pool's windows, summed: a depthwise convolution of ones with the same kernel,
    stride, padding and dilation (torch's convolution picks the positions), padded on the right
    for ceil_mode's extra windows and cut to torch's own max-pool output size."""
    conv = getattr(F, f"conv{n}d")
    pool = getattr(F, f"max_pool{n}d")

    def run(x: torch.Tensor) -> torch.Tensor:
        size = pool(
            torch.empty(x.shape, device="meta"), kernel, stride, padding, dilation, ceil_mode
        ).shape[-n:]
        pads: list[int] = []
        for i in reversed(range(n)):
            span = dilation[i] * (kernel[i] - 1) + 1
            p, length = padding[i], x.shape[-n + i]
            extra = max(0, (size[i] - 1) * stride[i] + span - (length + 2 * p))
            pads += [p, p + extra]
        batched = x if x.dim() == n + 2 else x.unsqueeze(0)
        channels = batched.shape[1]
        weight = torch.ones((channels, 1, *kernel), dtype=x.dtype)
        out = conv(F.pad(batched, pads), weight, None, stride, 0, dilation, channels)
        out = out[(..., *(slice(0, s) for s in size))]
        return out if x.dim() == n + 2 else out.squeeze(0)

    return run


class _Mix(nn.Module):
    """A thin copy's stand-in for a layer whose statistics read every position of some dims
    (GroupNorm, LayerNorm, InstanceNorm, a softmax over a spatial dim): x + mean over them."""

    def __init__(self, dims: tuple[int, ...]) -> None:
        super().__init__()
        self.dims = dims

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + x.mean(dim=self.dims, keepdim=True) if self.dims else x


# activations whose real module keeps a layer's own footprint on a positive input (the others
# are the identity: a threshold or a clamp may have a zero gradient at the probe's input)
_REAL_ACTIVATIONS = ("Softmax", "Softmin", "LogSoftmax", "Softmax2d", "GLU")


def linear_layer(
    op: Op, inferred: dict[str, Any], channels: int | None = None, shapes: Any = None
) -> Fn:
    """The linear stand-in of one layer (float64, eval mode). With ``channels`` (a thin copy: the
    thin input's channel count, ``shapes`` the real net's input and output shapes) a
    convolution gets one output channel and a Linear one output feature."""
    family = type(op).family
    thin = channels is not None
    if isinstance(op, (ConvNd, ConvTransposeNd)):
        if thin:
            update = {"in_channels": channels, "out_channels": 1, "groups": 1}
            op = op.model_copy(update=update)
            inferred = {**inferred, "in_channels": channels}
        return _positive(make_module(op, inferred))
    if op.type == "Linear":
        if thin:
            return _positive(nn.Linear(channels, 1))
        return _positive(make_module(op, inferred))
    if isinstance(op, MaxPoolNd):
        if any(d != 1 for d in op.dilation) or op.n == 3:  # AvgPool3d refuses inputs < kernel
            return _window_sum(
                op.n, op.kernel_size, op.strides(), op.padding, op.dilation, op.ceil_mode
            )
        args = {
            "kernel_size": op.kernel_size,
            "stride": op.strides(),
            "padding": op.padding,
            "ceil_mode": op.ceil_mode,
        }
        return getattr(nn, f"AvgPool{op.n}d")(**args)
    if isinstance(op, LPPoolNd) and math.isinf(op.norm_type):
        ones = (1,) * op.n
        return _window_sum(op.n, op.kernel_size, op.strides(), (0,) * op.n, ones, op.ceil_mode)
    if isinstance(op, AdaptiveMaxPoolNd):
        return getattr(nn, f"AdaptiveAvgPool{op.n}d")(op.output_size)
    if op.type == "PixelShuffle" and thin:
        r = op.upscale_factor  # type: ignore[attr-defined]
        shuffle = nn.PixelShuffle(r)
        return lambda x: shuffle(x.repeat(1, r * r, 1, 1))
    if family in ("activation", "normalisation") or "Dropout" in op.type:
        if not thin and (family == "normalisation" or op.type in _REAL_ACTIVATIONS):
            return make_module(op, inferred).double().eval()
        if thin and shapes is not None:
            (shape,), output = shapes
            mixed = tuple(
                d
                for d in range(2, len(shape))
                if (reach := op.reach(d, (shape,), output)) is not None and reach.whole
            )
            return _Mix(mixed)
        return nn.Identity()
    if op.type.startswith("Upsampl"):
        return _resampling(make_module(op, inferred).eval())
    if family in ("pooling", "resizing", "padding", "shape") and not (
        thin and op.type == "Unflatten"
    ):
        return make_module(op, inferred).double().eval()
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
        shapes = (row.input_shapes, row.output_shape)
        values[row.name] = linear_layer(row.op, row.inferred, channels, shapes)(source)
    return values


def footprint(
    values: dict[str, torch.Tensor], row: Row, index: tuple[Any, ...]
) -> tuple[tuple[int, int] | None, ...]:
    """For each spatial axis of the input: the first and last position whose gradient is non-zero
    when output ``row.name[index]`` (summed over what ``index`` leaves open) is differentiated."""
    x = values["x"]
    part = values[row.name][index]
    seed = torch.rand(part.shape, dtype=part.dtype) + 1  # positive, and never a constant sum
    (grad,) = torch.autograd.grad((part * seed).sum(), x, retain_graph=True)
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


# --- the real net, node by node ------------------------------------------------------------------------


def modules_of(trace: Trace, dtype: torch.dtype = torch.float32) -> dict[str, nn.Module]:
    """One torch module per layer row (merges have none), built from the calculator's arguments."""
    return {
        row.name: make_module(row.op, row.inferred).to(dtype)
        for row in trace.layers
        if row.op is not None and not row.op.merge
    }


def run_real(
    trace: Trace,
    modules: dict[str, nn.Module],
    x: torch.Tensor,
    keep: bool = True,
    after: Callable[[str], None] | None = None,
) -> dict[str, torch.Tensor]:
    """Run the net node by node in file order; merges are torch.add / torch.cat / torch.mul
    (folded left). With ``keep=False`` each output is dropped after its last reader (the outputs
    are kept); ``after(name)`` is called once each node has run."""
    last: dict[str, int] = {}
    for t, row in enumerate(trace.layers):
        for name in row.inputs:
            last[name] = t
    values: dict[str, torch.Tensor] = {"x": x}
    for t, row in enumerate(trace.layers):
        assert row.op is not None
        inputs = [values[name] for name in row.inputs]
        if row.op.merge:
            values[row.name] = merge(row.op, inputs, thin=False)
        else:
            values[row.name] = modules[row.name](inputs[0])
        del inputs
        if after is not None:
            after(row.name)
        if not keep:
            for name in set(row.inputs):
                if last[name] == t and name != "x" and name not in trace.outputs:
                    del values[name]
    return values


def storage_key(t: torch.Tensor) -> int:
    return t.untyped_storage().data_ptr()


def module_storages(modules: Sequence[nn.Module] | dict[str, nn.Module]) -> set[int]:
    """The storages of every parameter and buffer."""
    items = modules.values() if isinstance(modules, dict) else modules
    keys: set[int] = set()
    for module in items:
        keys |= {storage_key(p) for p in module.parameters()}
        keys |= {storage_key(b) for b in module.buffers()}
    return keys


class SavedTensors:
    """``saved_tensors_hooks`` that record every tensor autograd saves during a forward pass."""

    def __init__(self) -> None:
        self.tensors: list[torch.Tensor] = []
        self._hooks = torch.autograd.graph.saved_tensors_hooks(self._pack, lambda t: t)

    def _pack(self, t: torch.Tensor) -> torch.Tensor:
        self.tensors.append(t)
        return t

    def __enter__(self) -> SavedTensors:
        self._hooks.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self._hooks.__exit__(*exc)

    def storages(self, exclude: set[int], start: int = 0) -> dict[int, int]:
        """The distinct storages saved (from the ``start``-th tensor on) and their bytes, those in
        ``exclude`` (parameters, buffers) left out."""
        return {
            storage_key(t): t.untyped_storage().nbytes()
            for t in self.tensors[start:]
            if storage_key(t) not in exclude
        }

    def nbytes(self, exclude: set[int]) -> int:
        return sum(self.storages(exclude).values())


class LiveBytes(TorchDispatchMode):
    """The bytes of the storages alive after each aten op returns, parameters and buffers left
    out: a storage is alive while some tensor that refers to it is (Python frees it at once)."""

    def __init__(self, exclude: set[int], *alive: torch.Tensor) -> None:
        super().__init__()
        self.exclude = exclude
        self.live: dict[int, tuple[int, list[weakref.ref[torch.Tensor]]]] = {}
        self.peak = 0
        self.totals: list[tuple[str, int]] = []
        for t in alive:
            self._add(t)
        self.peak = sum(size for size, _ in self.live.values())

    def _add(self, t: torch.Tensor) -> None:
        key = storage_key(t)
        if key in self.exclude or not t.untyped_storage().nbytes():
            return
        _, refs = self.live.setdefault(key, (t.untyped_storage().nbytes(), []))
        refs.append(weakref.ref(t))

    def __torch_dispatch__(self, func: Any, types: Any, args: Any = (), kwargs: Any = None) -> Any:
        out = func(*args, **(kwargs or {}))
        for key in list(
            self.live
        ):  # forget storages Python has freed (their address may be reused)
            _, refs = self.live[key]
            refs[:] = [r for r in refs if r() is not None]
            if not refs:
                del self.live[key]
        for t in tree_flatten(out)[0]:
            if isinstance(t, torch.Tensor):
                self._add(t)
        total = sum(size for size, _ in self.live.values())
        self.totals.append((str(func), total))
        self.peak = max(self.peak, total)
        return out
