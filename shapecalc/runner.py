"""Confirm the calculator against real forward passes, summarise with torchinfo, draw the graph.

torch, torchinfo and tensorboard are imported here on demand; the core never imports them.
"""

from __future__ import annotations

import contextlib
import io
import os
import shutil
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ._extras import require
from .builder import build
from .errors import MemoryLimitError, ShapecalcError, UnavailableError
from .layers import Shape
from .memory import MemoryEstimate, format_bytes, forward_memory
from .spec import Spec
from .trace import Row, Trace, propagate

if TYPE_CHECKING:
    from torch import nn


class DeviceError(UnavailableError):
    """The requested device cannot be used here."""


class ForwardError(ShapecalcError):
    """torch refused a forward pass that the calculator accepted."""


def available_memory(device: str) -> int | None:
    """Bytes free for new tensors on ``device``: MemAvailable from /proc/meminfo for the CPU (Linux),
    ``torch.cuda.mem_get_info`` for CUDA; None where it cannot be known (meta has no memory)."""
    if device == "cpu":
        try:
            with open("/proc/meminfo", encoding="ascii") as meminfo:
                for line in meminfo:
                    if line.startswith("MemAvailable:"):
                        return int(line.split()[1]) * 1024
        except (OSError, ValueError, IndexError):
            return None
        return None
    if device.startswith("cuda"):
        torch = require("torch", "torch")
        free, _total = torch.cuda.mem_get_info(device)
        return int(free)
    return None


def is_out_of_memory(exc: BaseException) -> bool:
    """Whether torch (or Python) failed for want of memory: CUDA's OutOfMemoryError, or the CPU
    allocator's RuntimeError ("DefaultCPUAllocator: can't allocate memory")."""
    if isinstance(exc, MemoryError):
        return True
    text = str(exc).lower()
    return isinstance(exc, RuntimeError) and (
        "out of memory" in text or "can't allocate memory" in text or "not enough memory" in text
    )


def ensure_memory(
    trace: Trace, device: str, *, forward: bool = True, alternative: str | None = "--device meta"
) -> MemoryEstimate:
    """Refuse, before anything is allocated, a pass that needs more memory than ``device`` has free.

    ``forward=False`` counts the parameters only (building a module runs nothing). Raises
    MemoryLimitError naming the estimate, the memory available and ``alternative`` when given.
    """
    estimate = forward_memory(trace)
    need = estimate.total_bytes if forward else estimate.param_bytes
    free = available_memory(device)
    if free is not None and need > free:
        parts = f"parameters {format_bytes(estimate.param_bytes)}"
        if forward:
            parts += (
                f" + activations {format_bytes(estimate.activation_bytes)} at layers"
                f"[{estimate.peak_layer}], batch {trace.input_shape[0]}"
            )
        what = "the forward pass" if forward else "the module"
        message = (
            f"{what} needs about {format_bytes(need)} ({parts}, {estimate.dtype}), but {device} "
            f"has {format_bytes(free)} available"
        )
        if alternative:
            message += f"; it may fit with {alternative} (shapes only)"
        raise MemoryLimitError(message)
    return estimate


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
    # torchinfo 1.8 prints mult-adds as "Total mult-adds (Units.MEGABYTES): 793.56": a count is no
    # size in bytes, and the unit is an enum's repr. Print the exact count, like the parameters.
    stats.formatting.macs_units = type(stats.formatting.macs_units).NONE
    top = stats.summary_list[0]
    return SummaryCheck(
        stats, trace, int(stats.total_params), int(stats.total_mult_adds), tuple(top.output_size)
    )


def write_graph(spec: Spec, logdir: str | Path) -> Path:
    """Write the TensorBoard graph of the built module class, as ``SummaryWriter.add_graph`` does.

    The events file is written in a temporary folder beside ``logdir`` and moved into it only when
    the graph is complete; it replaces the graph files of an earlier run (TensorBoard shows one
    graph per run). Raises ForwardError when torch cannot trace the module's forward pass.
    """
    torch = require("torch", "torch")
    require("tensorboard", "tensorboard")
    from torch.utils.tensorboard import SummaryWriter

    model = build(spec, style="class").eval()
    logdir = Path(logdir)
    logdir.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{logdir.name}.", dir=logdir.parent))
    try:
        writer = SummaryWriter(str(staging))
        try:
            with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
                # add_graph traces with torch.jit.trace, which torch now marks deprecated; the graph
                # it writes is still the one TensorBoard reads. On failure it prints the error to
                # stdout before raising it: that text is dropped, the exception says it.
                warnings.filterwarnings(
                    "ignore", message=".*torch.jit.trace.*", category=DeprecationWarning
                )
                writer.add_graph(model, torch.ones(spec.input_shape))
        except (RuntimeError, ValueError, IndexError, TypeError) as exc:
            if is_out_of_memory(exc):
                raise
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise ForwardError(
                f"torch could not run the forward pass of {spec.name}: {type(exc).__name__}: {first}"
            ) from None
        finally:
            writer.close()
        _move_events(staging, logdir)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return logdir


def _move_events(staging: Path, logdir: Path) -> None:
    """Put the files written in ``staging`` into ``logdir``, replacing earlier events files."""
    if not logdir.exists():
        os.replace(staging, logdir)
        return
    for old in logdir.glob("events.out.tfevents.*"):
        old.unlink()
    for new in staging.iterdir():
        os.replace(new, logdir / new.name)
