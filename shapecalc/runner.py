"""Confirm the calculator against real forward passes, summarise with torchinfo, draw the graph.

torch, torchinfo and tensorboard are imported here on demand; the core never imports them.
"""

from __future__ import annotations

import contextlib
import gc
import io
import os
import shutil
import sys
import tempfile
import warnings
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from types import FunctionType
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


class FolderError(UnavailableError):
    """A folder to write in cannot be created or written."""


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
    actual: Shape | None  # None: the forward pass never got past this node
    field: str = ""  # the spec entry it comes from, "blocks.BasicBlock.layers[6]"

    @property
    def ok(self) -> bool:
        return self.actual == self.computed

    def to_dict(self) -> dict[str, Any]:
        return {
            "index": self.index,
            "name": self.name,
            "type": self.type,
            "computed": list(self.computed),
            "actual": list(self.actual) if self.actual is not None else None,
            "ok": self.ok,
        }


@dataclass(frozen=True)
class Failure:
    """Where a forward pass failed: the node, the real shapes that reached it, what it raised."""

    name: str  # hierarchical: "layer2.0.conv1", "up3.cat"
    type: str
    input_shapes: tuple[Shape, ...]  # as torch had them
    message: str  # "RuntimeError: ..." (first line)

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "type": self.type,
            "input_shapes": [list(s) for s in self.input_shapes],
            "message": self.message,
        }


@dataclass(frozen=True)
class Verification:
    """A forward pass compared node by node (by hierarchical name) with the calculator's trace.

    ``layers`` holds the layers and merges, ``blocks`` the containers (block instances,
    Sequentials, repeats), each with the output shape torch gave it.
    """

    device: str
    input_shape: Shape
    layers: tuple[LayerCheck, ...]
    error: str | None = None  # the forward pass failed with this message
    blocks: tuple[LayerCheck, ...] = ()
    failure: Failure | None = None
    # each node's input shapes as the calculator has them, for the failure message
    expected_inputs: dict[str, tuple[Shape, ...]] = field(default_factory=dict, repr=False)

    @property
    def ok(self) -> bool:
        return self.error is None and all(c.ok for c in (*self.layers, *self.blocks))

    @property
    def broke_at(self) -> LayerCheck | None:
        """The first node (layers, then containers) that disagrees or that the pass did not reach."""
        return next((c for c in self.layers if not c.ok), None) or next(
            (c for c in self.blocks if not c.ok), None
        )

    @property
    def failed_at(self) -> LayerCheck | None:
        """The node whose forward pass raised, when one did."""
        if self.failure is None:
            return None
        return next((c for c in self.layers if c.name == self.failure.name), None)

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "device": self.device,
            "input_shape": list(self.input_shape),
            "error": self.error,
            "failure": self.failure.to_dict() if self.failure is not None else None,
            "layers": [c.to_dict() for c in self.layers],
            "blocks": [c.to_dict() for c in self.blocks],
        }


def compare(
    rows: tuple[Row, ...],
    actual: Sequence[Shape] | Mapping[str, Shape],
    device: str,
    input_shape: Shape,
    error: str | None = None,
    failure: Failure | None = None,
) -> Verification:
    """Pair each computed row with the real output shape recorded for it (pure; no torch).

    ``actual`` maps hierarchical node names to real shapes (what :func:`node_shapes` records), or
    is a list in row order (a chain's ``nn.Sequential`` children, :func:`forward_shapes`).
    Left-out entries (``if:`` false) built nothing and are not compared.
    """

    def real(row: Row) -> Shape | None:
        if isinstance(actual, Mapping):
            return actual.get(row.name)
        return actual[row.index] if row.index < len(actual) else None

    checks = [
        (
            row.is_leaf,
            LayerCheck(row.index, row.name, row.type, row.output_shape, real(row), row.path),
        )
        for row in rows
        if row.kind != "skipped"
    ]
    return Verification(
        device,
        input_shape,
        tuple(c for leaf, c in checks if leaf),
        error,
        tuple(c for leaf, c in checks if not leaf),
        failure,
        {row.name: row.input_shapes or (row.input_shape,) for row in rows},
    )


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
        error = _first_line(exc)
    finally:
        for hook in hooks:
            hook.remove()
    return shapes, error


def _first_line(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}".splitlines()[0]


class _NodeFailed(Exception):
    def __init__(self, failure: Failure) -> None:
        super().__init__(failure.message)
        self.failure = failure


def node_shapes(model: nn.Module, x: Any) -> tuple[dict[str, Shape], Failure | None]:
    """Run ``model`` on ``x`` (eval mode, no grad) and record every node's output shape by its
    hierarchical name (``layer2.0.conv1``, ``layer2.0.add``, ``layer2.0``, ``layer2``).

    A built graph is run node by node from its fx graph (merges included); an ``nn.Sequential``
    child by child; any other module as a whole. A node that raises stops the pass: the
    :class:`Failure` names it with the real shapes of its inputs. Nothing else is changed: the
    nodes compute what the module's own ``forward`` computes.
    """
    torch = require("torch", "torch")
    from .built import SpecModule

    shapes: dict[str, Shape] = {}

    def call(name: str, kind: str, fn: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        try:
            return fn(*args, **kwargs)
        except (RuntimeError, ValueError, IndexError, TypeError) as exc:
            flat = args[0] if len(args) == 1 and isinstance(args[0], (list, tuple)) else args
            inputs = tuple(tuple(a.shape) for a in flat if isinstance(a, torch.Tensor))
            raise _NodeFailed(Failure(name, kind, inputs, _first_line(exc))) from None

    def run(module: nn.Module, name: str, args: tuple[Any, ...]) -> Any:
        if isinstance(module, SpecModule):
            out = run_graph(module, name, args)
        elif type(module) is torch.nn.Sequential:
            out = args[0]
            for child_name, child in module.named_children():
                out = run(child, _join(name, child_name), (out,))
        else:
            out = call(name, type(module).__name__, module, args, {})
        if name and isinstance(out, torch.Tensor):
            shapes[name] = tuple(out.shape)
        return out

    def run_graph(module: SpecModule, prefix: str, args: tuple[Any, ...]) -> Any:
        nodes = list(module.graph.nodes)
        last_use = {source: node for node in nodes for source in node.all_input_nodes}
        values: dict[Any, Any] = {}
        placeholders = iter(args)
        for node in nodes:
            if node.op == "placeholder":
                values[node] = next(placeholders)
                continue
            node_args = torch.fx.node.map_arg(node.args, values.__getitem__)
            if node.op == "output":
                return node_args[0]
            kwargs = torch.fx.node.map_arg(node.kwargs, values.__getitem__)
            if node.op == "call_module":
                out = run(module.get_submodule(node.target), _join(prefix, node.target), node_args)
            else:  # call_function: a merge
                entry = node.meta.get("entry")
                name = _join(prefix, entry or node.name)
                out = call(name, node.target.__name__, node.target, node_args, kwargs)
                if entry is not None:
                    shapes[name] = tuple(out.shape)
            values[node] = out
            for source in node.all_input_nodes:  # free what no later node reads
                if last_use.get(source) is node:
                    del values[source]
        raise AssertionError("an fx graph ends with an output node")  # pragma: no cover

    with torch.no_grad():
        try:
            run(model.eval(), "", (x,))
        except _NodeFailed as exc:
            return shapes, exc.failure
    return shapes, None


def _join(prefix: str, name: str) -> str:
    return f"{prefix}.{name}" if prefix else name


def verify(spec: Spec, device: str = "cpu", batch: int | None = None) -> Verification:
    """Build ``spec`` as a class, run ``torch.ones((batch, *input))`` through it node by node and
    compare every node's real output shape with the calculator's, by hierarchical name.

    The parameters are made on the meta device and, for cpu or cuda, given zeroed memory there:
    shapes need no initialised weights (initialising VGG-16's 138 M on a CPU takes seconds).
    ``device="meta"`` allocates no memory for parameters or activations (shapes only); see
    :func:`dynamo_import_skipped` for the one import it avoids. Raises DeviceError for an unusable
    device, and what :func:`shapecalc.trace.propagate` raises for an invalid spec.
    """
    torch = require("torch", "torch")
    device = resolve_device(device)
    input_shape = (batch or spec.batch, *spec.input)
    trace = propagate(spec, input_shape)
    model = build(spec, "class", trace=trace, device="meta")
    if device != "meta":
        model = model.to_empty(device=device)
        with torch.no_grad():
            for tensor in (*model.parameters(), *model.buffers()):
                tensor.zero_()
    x = torch.ones(input_shape, device=device)
    with dynamo_import_skipped() if device == "meta" else nullcontext():
        actual, failure = node_shapes(model, x)
    error = failure.message if failure is not None else None
    return compare(trace.rows, actual, device, input_shape, error, failure)


_DYNAMO_MARK = "__dynamo_disable"
_wrapped: dict[int, list[Any]] = {}  # the helpers found, by how many modules were loaded then


@contextmanager
def dynamo_import_skipped() -> Iterator[None]:
    """Run meta-device kernels without importing ``torch._dynamo``.

    On the meta device torch runs BatchNorm (and other ops without a meta kernel) through Python
    decompositions whose helpers are wrapped in ``torch._disable_dynamo``. The first call of each
    imports ``torch._dynamo`` (tens of MB and about half as long as ``import torch`` itself:
    ``tests/benchmark.py`` measures it) only to mark the helper as not to be compiled, and outside
    ``torch.compile`` that mark changes nothing. So while the block runs, each wrapped helper is
    given itself as its mark (torch caches the mark on the function as ``__dynamo_disable``), and
    the marks are removed afterwards: a later ``torch.compile`` imports dynamo and marks them as
    usual. When ``torch._dynamo`` is already imported, or torch's wrapper is not shaped as
    expected (another torch version), nothing is changed and the import happens as before.
    """
    torch = require("torch", "torch")
    wrap = getattr(getattr(torch, "_compile", None), "_disable_dynamo", None)
    if "torch._dynamo" in sys.modules or wrap is None:
        yield
        return
    code = wrap(lambda: None).__code__
    if "fn" not in code.co_freevars:  # pragma: no cover - another torch's wrapper
        yield
        return
    marked = []
    for fn in _wrapped_helpers(code, code.co_freevars.index("fn")):
        if getattr(fn, _DYNAMO_MARK, None) is None:
            setattr(fn, _DYNAMO_MARK, fn)
            marked.append(fn)
    try:
        yield
    finally:
        for fn in marked:
            if getattr(fn, _DYNAMO_MARK, None) is fn:
                delattr(fn, _DYNAMO_MARK)


def _wrapped_helpers(code: Any, cell: int) -> list[Any]:
    """The functions wrapped by torch._disable_dynamo (its wrappers share ``code``); found once
    per set of loaded modules, since wrapping happens when torch's modules are imported."""
    loaded = len(sys.modules)
    if loaded not in _wrapped:
        _wrapped.clear()
        _wrapped[loaded] = [
            obj.__closure__[cell].cell_contents
            for obj in gc.get_objects()
            if type(obj) is FunctionType and obj.__code__ is code and obj.__closure__
        ]
    return _wrapped[loaded]


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
    with _writing(logdir):
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
        with _writing(logdir):
            _move_events(staging, logdir)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return logdir


@contextmanager
def _writing(folder: Path) -> Iterator[None]:
    """An OSError while making or filling ``folder`` as a FolderError naming it (not the
    temporary folder beside it where the error may have happened)."""
    try:
        yield
    except OSError as exc:
        raise FolderError(
            f"cannot write the folder {folder}: {exc.strerror or type(exc).__name__}; give a "
            "folder that can be created and written"
        ) from None


def _move_events(staging: Path, logdir: Path) -> None:
    """Put the files written in ``staging`` into ``logdir``, replacing earlier events files."""
    if not logdir.exists():
        # mkdtemp makes the folder 0700; a new logdir gets what os.makedirs would give it
        umask = os.umask(0)
        os.umask(umask)
        staging.chmod(0o777 & ~umask)
        os.replace(staging, logdir)
        return
    for old in logdir.glob("events.out.tfevents.*"):
        old.unlink()
    for new in staging.iterdir():
        os.replace(new, logdir / new.name)
