"""Memory per node and in total: parameters, outputs, what training keeps, the inference peak.

All figures are bytes at the trace's batch and a dtype (``float32`` by default; ``float16`` and
``bfloat16`` take 2 bytes a value). Integer tensors keep their own size (max-pool indices are
int64 in every dtype). Memory is counted by storage, as the allocator sees it: a view (Flatten) or an
in-place op (``ReLU(inplace=True)``) shares its input's storage and allocates nothing.

* ``param_bytes``: the parameters (``module.parameters()``), ``buffer_bytes``: the buffers
  (BatchNorm's running statistics; ``num_batches_tracked`` is int64).
* ``output_bytes``: the node's output tensor.
* ``saved_bytes`` (training): what autograd keeps from the forward pass for the backward pass, as
  ``torch.autograd.graph.saved_tensors_hooks`` sees it, each storage counted once, at the first
  node that saves it; parameters and buffers are not included (they are counted above). A node
  saves only when its output needs a gradient: layers before the first trainable one save nothing
  (``trainable: false`` freezes an entry).
* ``peak_bytes`` (inference, ``torch.no_grad()``, eval mode): the largest total of tensors alive at
  once during a forward pass, input included, where each tensor is freed after its last reader, a
  block or ``Sequential`` holds its inputs until it returns (its caller still refers to them), the
  network's outputs are kept, and a node's transient tensors (the CPU max-pool's indices) count
  while it runs. Buffers inside a kernel (convolution workspaces) are not seen and not counted.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING

from ..errors import ShapecalcError
from ..trace import CONTAINER_KINDS as CONTAINERS

if TYPE_CHECKING:
    from ..trace import Row, Trace

__all__ = ["DTYPES", "Memory", "NodeMemory", "format_bytes", "memory_use"]

#: bytes per value of the dtypes the analyses accept
DTYPES = {"float32": 4, "float16": 2, "bfloat16": 2, "float64": 8}


@dataclass(frozen=True)
class NodeMemory:
    """One node's memory, in bytes."""

    name: str
    param_bytes: int
    buffer_bytes: int
    output_bytes: int  # its output tensor (shared with its input when ``aliases``)
    saved_bytes: int  # training: storages this node is the first to save for backward
    live_bytes: int  # inference: everything alive while this node runs
    aliases: bool  # the output is a view of, or was written over, its input (inference)

    def to_dict(self) -> dict[str, object]:
        return {
            "param_bytes": self.param_bytes,
            "buffer_bytes": self.buffer_bytes,
            "output_bytes": self.output_bytes,
            "saved_bytes": self.saved_bytes,
            "live_bytes": self.live_bytes,
        }


@dataclass(frozen=True)
class Memory:
    """A trace's memory at one dtype and batch."""

    dtype: str
    itemsize: int
    batch: int
    nodes: tuple[NodeMemory, ...]
    input_bytes: int
    peak_bytes: int  # inference: the largest live total, input included
    peak_node: str | None  # where it is reached
    trainable_params: int
    frozen_params: int

    @property
    def param_bytes(self) -> int:
        return sum(n.param_bytes for n in self.nodes)

    @property
    def buffer_bytes(self) -> int:
        return sum(n.buffer_bytes for n in self.nodes)

    @property
    def saved_bytes(self) -> int:
        """Training: the bytes autograd keeps for backward (parameters excluded)."""
        return sum(n.saved_bytes for n in self.nodes)

    @property
    def gradient_bytes(self) -> int:
        """Training: one gradient per trainable parameter."""
        return self.trainable_params * self.itemsize

    def __getitem__(self, name: str) -> NodeMemory:
        return self._by_name[name]

    @cached_property
    def _by_name(self) -> dict[str, NodeMemory]:
        return {n.name: n for n in self.nodes}

    def to_dict(self) -> dict[str, object]:
        return {
            "dtype": self.dtype,
            "batch": self.batch,
            "trainable_params": self.trainable_params,
            "non_trainable_params": self.frozen_params,
            "param_bytes": self.param_bytes,
            "buffer_bytes": self.buffer_bytes,
            "input_bytes": self.input_bytes,
            "inference_peak_bytes": self.peak_bytes,
            "inference_peak_at": self.peak_node,
            "training_saved_bytes": self.saved_bytes,
            "gradient_bytes": self.gradient_bytes,
        }


def memory_use(trace: Trace, dtype: str = "float32") -> Memory:
    """Memory of every node of ``trace`` and in total (see the module docstring).

    Raises ShapecalcError for a dtype not in :data:`DTYPES`.

    >>> from shapecalc import bundled, load, propagate
    >>> m = memory_use(propagate(load(bundled("cifar10")).spec))
    >>> m.param_bytes, m["conv1"].output_bytes
    (582312, 8388608)
    """
    if dtype not in DTYPES:
        known = ", ".join(DTYPES)
        raise ShapecalcError(f"dtype must be one of {known}, but got {dtype!r}")
    size = DTYPES[dtype]
    rows = trace.layers
    saved = _saved(trace, rows, size)
    live = _live(trace, rows, size)
    nodes = []
    for row in rows:
        assert row.op is not None
        buffers = row.op.buffers(row.input_shapes, row.output_shape)
        nodes.append(
            NodeMemory(
                row.name,
                row.params * size,
                sum(b.nbytes(size) for b in buffers),
                math.prod(row.output_shape) * size,
                saved.get(row.name, 0),
                live[row.name],
                row.op.aliases(False),
            )
        )
    peak = max(nodes, key=lambda n: n.live_bytes, default=None)
    trainable = sum(r.params for r in rows if r.trainable)
    return Memory(
        dtype,
        size,
        trace.input_shape[0] if trace.input_shape else 1,
        tuple(nodes),
        math.prod(trace.input_shape) * size,
        peak.live_bytes if peak is not None else math.prod(trace.input_shape) * size,
        peak.name if peak is not None else None,
        trainable,
        sum(r.params for r in rows) - trainable,
    )


def _storages(trace: Trace, rows: tuple[Row, ...], training: bool) -> dict[str, str]:
    """The storage each output lives in: its own, or its input's for views and in-place ops."""
    storage = {"x": "x"}
    for row in rows:
        assert row.op is not None
        alias = not row.op.merge and row.op.aliases(training)
        storage[row.name] = storage[row.inputs[0]] if alias else row.name
    return storage


def _sizes(trace: Trace, rows: tuple[Row, ...], itemsize: int) -> dict[str, int]:
    sizes = {"x": math.prod(trace.input_shape) * itemsize}
    for row in rows:
        sizes[row.name] = math.prod(row.output_shape) * itemsize
    return sizes


def _saved(trace: Trace, rows: tuple[Row, ...], itemsize: int) -> dict[str, int]:
    """Per node: the bytes of the storages it is the first to save for backward."""
    storage = _storages(trace, rows, True)
    sizes = _sizes(trace, rows, itemsize)
    grad = {"x": False}
    counted: set[str] = set()
    out: dict[str, int] = {}
    for row in rows:
        assert row.op is not None
        grads = tuple(grad[name] for name in row.inputs)
        trainable = row.trainable and row.params > 0
        grad[row.name] = any(grads) or trainable
        if not grad[row.name]:
            continue
        total = 0
        saved = row.op.saved(row.input_shapes, row.output_shape, grads, trainable)
        for kept in saved:
            if kept.what == "new":
                total += kept.nbytes(itemsize)
                continue
            key = storage[row.inputs[kept.index] if kept.what == "input" else row.name]
            if key not in counted:
                counted.add(key)
                total += sizes[key]
        out[row.name] = total
    return out


def _live(trace: Trace, rows: tuple[Row, ...], itemsize: int) -> dict[str, int]:
    """Per node: the bytes alive while it runs in an inference forward pass."""
    storage = _storages(trace, rows, False)
    sizes = _sizes(trace, rows, itemsize)
    end = len(rows)
    born = {"x": 0}
    last = {"x": end}  # the caller holds the input
    for t, row in enumerate(rows):
        born.setdefault(storage[row.name], t)
        last.setdefault(storage[row.name], t)
        for name in row.inputs:
            last[storage[name]] = max(last[storage[name]], t)
    for name in trace.outputs:
        last[storage[name]] = end
    # a block or Sequential holds its inputs until its last node has run
    parents = {row.name: row.parent for row in trace.rows}
    holders = {row.name: row for row in trace.rows if row.kind in CONTAINERS}
    finished: dict[str, int] = {}
    for t, row in enumerate(rows):
        parent = row.parent
        while parent is not None:
            finished[parent] = t
            parent = parents.get(parent)
    for name, t in finished.items():
        for source in holders[name].inputs if name in holders else ():
            last[storage[source]] = max(last[storage[source]], t)
    delta = [0] * (end + 2)
    for key, t in born.items():
        delta[t] += sizes[key]
        delta[last[key] + 1] -= sizes[key]
    live: dict[str, int] = {}
    total = 0
    for t, row in enumerate(rows):
        total += delta[t]
        assert row.op is not None
        live[row.name] = total + row.op.workspace(row.input_shapes, row.output_shape, itemsize)
    return live


def format_bytes(count: int) -> str:
    """Bytes in binary units: ``568.66 KiB``, ``97.7 MiB``, ``1.50 GiB``.

    >>> format_bytes(582312), format_bytes(512), format_bytes(3 * 2**29)
    ('568.66 KiB', '512 B', '1.50 GiB')
    """
    if count < 1024:
        return f"{count} B"
    value = float(count)
    for unit in ("KiB", "MiB", "GiB", "TiB"):
        value /= 1024
        if value < 1024 or unit == "TiB":
            break
    return f"{value:.2f} {unit}"
