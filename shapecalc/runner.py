"""Confirm the calculator against real forward passes, summarise with torchinfo, draw the graph.

torch, torchinfo and tensorboard are imported here on demand; the core never imports them.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ._extras import require
from .builder import build
from .errors import ShapecalcError
from .layers import Shape
from .spec import Spec
from .trace import Row, Trace, propagate

if TYPE_CHECKING:
    from torch import nn


class DeviceError(ShapecalcError):
    """The requested device cannot be used here."""


def resolve_device(device: str) -> str:
    """``auto`` picks CUDA when available, else CPU; ``cuda`` without CUDA is an error."""
    torch = require("torch", "torch")
    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise DeviceError(
            "CUDA is not available here (torch.cuda.is_available() is False); "
            "use --device cpu, or meta to check shapes without allocating memory"
        )
    if device not in ("cpu", "meta") and not device.startswith("cuda"):
        raise DeviceError(f"unknown device {device!r}; use cpu, cuda, meta or auto")
    return device


@dataclass(frozen=True)
class LayerCheck:
    index: int
    name: str
    type: str
    computed: Shape
    actual: Shape | None  # None: the forward pass never got past this layer

    @property
    def ok(self) -> bool:
        return self.actual == self.computed


@dataclass(frozen=True)
class Verification:
    """A forward pass compared layer by layer with the calculator's trace."""

    device: str
    input_shape: Shape
    layers: tuple[LayerCheck, ...]
    error: str | None = None  # the forward pass failed with this message

    @property
    def ok(self) -> bool:
        return self.error is None and all(layer.ok for layer in self.layers)

    @property
    def broke_at(self) -> LayerCheck | None:
        """The first layer that disagrees or that the forward pass did not reach."""
        return next((layer for layer in self.layers if not layer.ok), None)

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "device": self.device,
            "input_shape": list(self.input_shape),
            "error": self.error,
            "layers": [
                {
                    "index": c.index,
                    "name": c.name,
                    "type": c.type,
                    "computed": list(c.computed),
                    "actual": list(c.actual) if c.actual is not None else None,
                    "ok": c.ok,
                }
                for c in self.layers
            ],
        }


def compare(
    rows: tuple[Row, ...],
    actual: list[Shape],
    device: str,
    input_shape: Shape,
    error: str | None = None,
) -> Verification:
    """Pair each computed row with the real output shape recorded for it (pure; no torch)."""
    checks = tuple(
        LayerCheck(
            row.index,
            row.name,
            row.type,
            row.output_shape,
            actual[row.index] if row.index < len(actual) else None,
        )
        for row in rows
    )
    return Verification(device, input_shape, checks, error)


def forward_shapes(model: nn.Module, x: Any) -> tuple[list[Shape], str | None]:
    """Run ``model`` on ``x`` (eval mode, no grad) and record each child's output shape."""
    torch = require("torch", "torch")
    shapes: list[Shape] = []
    hooks = [
        child.register_forward_hook(lambda _m, _i, out: shapes.append(tuple(out.shape)))
        for child in model.children()
    ]
    error = None
    try:
        with torch.no_grad():
            model.eval()(x)
    except (RuntimeError, ValueError, IndexError) as exc:
        error = f"{type(exc).__name__}: {exc}".splitlines()[0]
    finally:
        for hook in hooks:
            hook.remove()
    return shapes, error


def verify(spec: Spec, device: str = "cpu", batch: int | None = None) -> Verification:
    """Build ``spec``, run ``torch.ones((batch, *input))`` through it and compare every layer."""
    torch = require("torch", "torch")
    device = resolve_device(device)
    input_shape = (batch or spec.batch, *spec.input)
    trace = propagate(spec, input_shape)
    model = build(spec, trace=trace, device=device)
    x = torch.ones(input_shape, device=device)
    actual, error = forward_shapes(model, x)
    return compare(trace.layers, actual, device, input_shape, error)


@dataclass(frozen=True)
class SummaryCheck:
    """torchinfo's totals beside the calculator's."""

    stats: Any  # torchinfo.ModelStatistics
    trace: Trace
    torchinfo_params: int
    torchinfo_macs: int
    torchinfo_output: Shape

    @property
    def disagreements(self) -> list[tuple[str, object, object]]:
        pairs = [
            ("parameters", self.trace.total_params, self.torchinfo_params),
            ("mult-adds", self.trace.total_macs, self.torchinfo_macs),
            ("output shape", self.trace.output_shape, self.torchinfo_output),
        ]
        return [(what, ours, theirs) for what, ours, theirs in pairs if ours != theirs]


def summarise(
    spec: Spec, model: nn.Module, device: str, trace: Trace | None = None
) -> SummaryCheck:
    """torchinfo summary for ``(batch, *input)``, read through its numeric attributes."""
    torchinfo = require("torchinfo", "torch")
    trace = trace if trace is not None else propagate(spec)
    stats = torchinfo.summary(
        model,
        input_size=trace.input_shape,
        device=device,
        verbose=0,
        col_names=("input_size", "output_size", "num_params", "mult_adds"),
    )
    top = stats.summary_list[0]
    return SummaryCheck(
        stats, trace, int(stats.total_params), int(stats.total_mult_adds), tuple(top.output_size)
    )


def write_graph(spec: Spec, logdir: str | Path) -> Path:
    """Write the TensorBoard graph of the built module class, as ``SummaryWriter.add_graph`` does."""
    torch = require("torch", "torch")
    require("tensorboard", "tensorboard")
    from torch.utils.tensorboard import SummaryWriter

    model = build(spec, style="class").eval()
    logdir = Path(logdir)
    writer = SummaryWriter(str(logdir))
    try:
        with warnings.catch_warnings():
            # add_graph traces with torch.jit.trace, which torch now marks deprecated; the graph
            # it writes is still the one TensorBoard reads
            warnings.filterwarnings(
                "ignore", message=".*torch.jit.trace.*", category=DeprecationWarning
            )
            writer.add_graph(model, torch.ones(spec.input_shape))
    finally:
        writer.close()
    return logdir
