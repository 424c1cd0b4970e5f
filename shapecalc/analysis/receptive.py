"""Receptive fields: which input positions each output of each node sees, per spatial axis.

For a chain of sliding windows the field follows the recurrence of Araujo, Norris & Sim, "Computing
Receptive Fields of Convolutional Neural Networks", Distill 2019
(https://distill.pub/2019/computing-receptive-fields/)::

    k_eff = d·(k − 1) + 1
    r_out = r_in + (k_eff − 1)·j_in           field size, in input positions
    j_out = j_in·s                            jump: input positions between neighbouring outputs
    start_out = start_in + ((k_eff − 1)/2 − p)·j_in   centre of the first output's field

starting from r = 1, j = 1, start = 0 at the input (position i's centre is i). Positions below 0
or at and past the input size are padding: the field of the CIFAR10 net's last pool spans −14…21
of a 32-pixel row.

The analysis does not rely on the recurrence: it composes each layer's :class:`~shapecalc.formulas.Reach`
(which input positions one output position reads) exactly, position by position, so it also
covers what the recurrence does not — graphs, transposed convolutions, adaptive pooling, ceil_mode
windows — and shows the recurrence as the formula where it applies. Definitions:

* ``size`` (r): the largest field over the node's output positions (all are equal after sliding
  windows alone; after a transposed convolution or adaptive pooling they can differ, and
  ``uniform`` is false).
* ``first``: the first and last input position the first output position sees, padding included.
* ``start``: the centre of that interval, ``(first + last) / 2``.
* ``jump``: the product of the strides on the way (``1/s`` for a transposed convolution).
* Through a merge the field is the union of its inputs' fields: for each output position, the
  smallest interval holding every input's field (the max over paths). ``start`` is then the
  centre of that union, not any one path's centre, and ``jump`` is the paths' common jump (None
  when the paths' jumps differ: the field then grows with the output position, and ``size`` is
  the largest one).
* ``whole``: every output sees the whole input, whatever its size (global pooling, Linear after
  Flatten, a squeeze-and-excitation gate): no size is given, since it would only restate the
  input size.

Fields are those of inference: BatchNorm in training mode mixes every position of the batch.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from fractions import Fraction
from typing import TYPE_CHECKING

from ..formulas import Keep, Reach
from ..ops import AXES, Shape

if TYPE_CHECKING:
    from ..trace import Row, Trace

__all__ = ["AxisField", "NodeField", "ReceptiveFields", "receptive_fields"]


@dataclass(frozen=True)
class AxisField:
    """The receptive field of one node's outputs along one input axis."""

    axis: str  # "H", "W", "L", "D"
    size: int | None  # r, in input positions; None when whole or unknown
    jump: Fraction | None  # input positions between neighbouring outputs; None when not one value
    start: Fraction | None  # centre of the first output's field
    first: tuple[int, int] | None  # first and last input position the first output sees
    whole: bool = False  # every output sees the whole input, whatever its size
    uniform: bool = True  # every output position's field has the same size
    known: bool = True  # False when the axis was reshaped in a way the analysis does not follow
    formula: str = ""
    reads: tuple[int, int] | None = None  # whole: the input positions it reads (all, unless a
    input_size: int = 0  # layer before it drops trailing positions no window reaches)

    def describe(self) -> str:
        """``36 (j 8, start 3.5)``, ``whole input``, or ``?``."""
        if self.whole:
            if self.reads is not None and self.reads != (0, self.input_size - 1):
                return f"whole input but {self.input_size - 1 - self.reads[1]} unread"
            return "whole input"
        if not self.known or self.size is None:
            return "?"
        text = f"{self.size}" if self.uniform else f"≤{self.size}"
        if self.jump is not None:
            text += f" (j {_num(self.jump)}"
            text += f", start {_num(self.start)})" if self.start is not None else ")"
        return text

    def to_dict(self) -> dict[str, object]:
        return {
            "axis": self.axis,
            "size": self.size,
            "jump": _json_number(self.jump),
            "start": _json_number(self.start),
            "first": list(self.first) if self.first is not None else None,
            "whole_input": self.whole,
            "reads": list(self.reads) if self.reads is not None else None,
            "uniform": self.uniform,
            "known": self.known,
            "formula": self.formula,
        }


@dataclass(frozen=True)
class NodeField:
    """The receptive field of one node, one entry per spatial axis of the network's input."""

    name: str
    axes: tuple[AxisField, ...]

    def describe(self) -> str:
        """One text for all axes: ``36 (j 8, start 3.5)`` when they agree, else ``H: … W: …``."""
        texts = [a.describe() for a in self.axes]
        if not texts:
            return ""
        if len(set(texts)) == 1:
            return texts[0]
        return ", ".join(f"{a.axis}: {t}" for a, t in zip(self.axes, texts, strict=True))

    def formula(self) -> str:
        texts = [a.formula for a in self.axes if a.formula]
        if len(set(texts)) == 1:
            return texts[0]
        return "; ".join(f"{a.axis}: {a.formula}" for a in self.axes if a.formula)


@dataclass(frozen=True)
class ReceptiveFields:
    """The receptive field of every layer and merge of a trace, by row name."""

    axes: tuple[str, ...]
    nodes: dict[str, NodeField]
    # per node and axis: (visible first, visible last) of each output position, None when the
    # output sees no input position; padding excluded (what a gradient can reach)
    _visible: dict[tuple[str, int], tuple[tuple[int, int] | None, ...]]
    _extent: dict[tuple[str, int], tuple[tuple[int, int] | None, ...]]
    _reads: dict[tuple[str, int], tuple[int, int] | None]

    def __getitem__(self, name: str) -> NodeField:
        return self.nodes[name]

    def extent(self, name: str, axis: int, u: int) -> tuple[int, int] | None:
        """First and last input position (padding included) output ``u`` of ``name`` sees along
        ``axis``; None when it sees none, or when the node sees the whole input."""
        spans = self._extent.get((name, axis))
        return spans[u] if spans is not None else None

    def visible(self, name: str, axis: int, u: int) -> tuple[int, int] | None:
        """The same, restricted to real input positions: what the input gradient of output ``u``
        can reach. None when no real position is seen."""
        spans = self._visible.get((name, axis))
        return spans[u] if spans is not None else None

    def reads(self, name: str, axis: int) -> tuple[int, int] | None:
        """The first and last real input position some output of ``name`` sees along ``axis``
        (for a node that sees the whole input: what every one of its outputs sees)."""
        return self._reads.get((name, axis))

    def tracked(self, name: str, axis: int) -> bool:
        """Whether ``extent`` / ``visible`` have per-position answers for this node and axis."""
        return (name, axis) in self._extent


# --- the engine ------------------------------------------------------------------------------------


class _Axis:
    """One axis of one node: where it lives in the tensor and what each position sees."""

    __slots__ = (
        "base",
        "dim",
        "hull",
        "hull_seen",
        "jump",
        "seen",
        "size",
        "span",
        "start",
        "state",
        "uniform",
    )

    def __init__(self, state: str, dim: int = -1) -> None:
        self.state = state  # "field", "merged", "whole", "unknown"
        self.dim = dim
        self.jump: Fraction | None = None
        self.base = 0  # the output position of span[0]
        self.span: list[Span] = []  # per position: first and last input position it sees
        self.seen: list[Span] = []  # the same for real input positions only
        self.size: int | None = None  # the largest field over the output positions
        self.start: Fraction | None = None
        self.uniform = True
        # the union over the node's real output positions: what the node as a whole reads
        self.hull: Span = None
        self.hull_seen: Span = None


_INF = 1 << 62
Span = tuple[int, int] | None


def receptive_fields(trace: Trace) -> ReceptiveFields:
    """The receptive field of every layer and merge of ``trace`` (see the module docstring).

    The network's input must be (N, C, *spatial) with 1 to 3 spatial dims; an MLP's input (N, F)
    has no spatial axes and every node gets an empty tuple of axes.
    """
    shape = trace.input_shape
    spatial = len(shape) - 2
    names = AXES.get(spatial, ()) if spatial >= 1 else ()
    rows = trace.layers
    input_axes = [_input_axis(2 + a, shape[2 + a]) for a in range(len(names))]

    # pass 1: the reach of every node's inputs, and the dims the axes live in
    reaches: dict[str, list[list[Reach | None]]] = {}  # [axis][input k]
    dims: dict[str, list[int | None]] = {"x": [2 + a for a in range(len(names))]}
    # whether a node's positions along an axis still map to the input's (not merged by Flatten,
    # not global): only those get per-position fields
    positional: dict[str, list[bool]] = {"x": [True] * len(names)}
    for row in rows:
        per_axis: list[list[Reach | None]] = []
        out_dims: list[int | None] = []
        flags: list[bool] = []
        for a in range(len(names)):
            in_dims = [dims[name][a] for name in row.inputs]
            ks: list[Reach | None] = []
            targets = set()
            for k, d in enumerate(in_dims):
                if d is None:
                    ks.append(None)
                    continue
                reach = _reach(row, d, k)
                ks.append(reach)
                targets.add(d if reach is None or reach.dim is None else reach.dim)
            per_axis.append(ks)
            out_dims.append(targets.pop() if len(targets) == 1 else None)
            flags.append(
                out_dims[-1] is not None
                and all(positional[name][a] for name in row.inputs)
                and not any(r is not None and (r.whole or r.merged) for r in ks)
            )
        reaches[row.name] = per_axis
        dims[row.name] = out_dims
        positional[row.name] = flags

    states: dict[str, list[_Axis]] = {"x": []}
    needed = _needed(trace, rows, reaches, dims, positional, len(names))
    for a, axis in enumerate(input_axes):
        lo, hi = needed.get(("x", a), (0, shape[2 + a] - 1))
        axis.base = lo
        positions = range(lo, hi + 1)
        axis.span = [(p, p) for p in positions]
        size = shape[2 + a]
        axis.seen = [(p, p) if 0 <= p < size else None for p in positions]
        states["x"].append(axis)

    nodes: dict[str, NodeField] = {}
    visible: dict[tuple[str, int], tuple[tuple[int, int] | None, ...]] = {}
    extent: dict[tuple[str, int], tuple[tuple[int, int] | None, ...]] = {}
    reads: dict[tuple[str, int], tuple[int, int] | None] = {}
    for row in rows:
        axes_out: list[_Axis] = []
        fields: list[AxisField] = []
        for a, axis_name in enumerate(names):
            state = _combine(row, a, reaches[row.name][a], dims[row.name][a], states, needed)
            axes_out.append(state)
            reads[(row.name, a)] = state.hull_seen
            fields.append(_report(row, a, axis_name, state, reaches[row.name][a], states))
            if state.state == "field":
                n = row.output_shape[state.dim]
                off = -state.base
                extent[(row.name, a)] = tuple(state.span[off : off + n])
                visible[(row.name, a)] = tuple(state.seen[off : off + n])
        states[row.name] = axes_out
        nodes[row.name] = NodeField(row.name, tuple(fields))
    return ReceptiveFields(tuple(names), nodes, visible, extent, reads)


def _input_axis(dim: int, size: int) -> _Axis:
    axis = _Axis("field", dim)
    axis.jump, axis.size, axis.start = Fraction(1), 1, Fraction(0)
    axis.hull = axis.hull_seen = (0, size - 1)
    return axis


def _reach(row: Row, dim: int, k: int) -> Reach | None:
    assert row.op is not None
    return row.op.reach(dim, row.input_shapes, row.output_shape, k)


def _needed(
    trace: Trace,
    rows: tuple[Row, ...],
    reaches: dict[str, list[list[Reach | None]]],
    dims: dict[str, list[int | None]],
    positional: dict[str, list[bool]],
    count: int,
) -> dict[tuple[str, int], tuple[int, int]]:
    """Pass 2, backwards: the positions of each node's output that some later node reads, padding
    included, merged with the node's own output range."""
    needed: dict[tuple[str, int], tuple[int, int]] = {}
    sizes: dict[str, Shape] = {"x": trace.input_shape}
    for row in rows:
        sizes[row.name] = row.output_shape

    def widen(name: str, a: int, lo: int, hi: int) -> None:
        old = needed.get((name, a))
        needed[(name, a)] = (lo, hi) if old is None else (min(old[0], lo), max(old[1], hi))

    for name, shape in sizes.items():
        for a in range(count):
            d = dims[name][a]
            if d is not None and positional[name][a]:
                widen(name, a, 0, shape[d] - 1)
    for row in reversed(rows):
        for a in range(count):
            span = needed.get((row.name, a))
            if span is None:
                continue
            for k, reach in enumerate(reaches[row.name][a]):
                source = row.inputs[k]
                if reach is None:
                    widen(source, a, *span)
                    continue
                if reach.whole:
                    continue
                lo, hi = _INF, -_INF
                for u in range(span[0], span[1] + 1):
                    positions = reach.positions(u)
                    if positions:
                        lo, hi = min(lo, *positions), max(hi, *positions)
                if lo <= hi:
                    widen(source, a, lo, hi)
    return needed


def _combine(
    row: Row,
    a: int,
    reaches: list[Reach | None],
    dim: int | None,
    states: dict[str, list[_Axis]],
    needed: dict[tuple[str, int], tuple[int, int]],
) -> _Axis:
    """Pass 3 for one node and axis: what each needed output position sees."""
    inputs = [states[name][a] if name != "x" else states["x"][a] for name in row.inputs]
    if any(s.state == "unknown" for s in inputs):
        return _Axis("unknown")
    if any(s.state == "whole" for s in inputs) or any(r is not None and r.whole for r in reaches):
        # every output reads everything its inputs read (all of the input, but for positions
        # no window reaches)
        out = _Axis("whole", dim if dim is not None else -1)
        out.hull = _union(s.hull for s in inputs)
        out.hull_seen = _union(s.hull_seen for s in inputs)
        return out
    if dim is None:
        return _Axis("unknown")
    if any(s.state == "merged" for s in inputs) or any(r is not None and r.merged for r in reaches):
        # positions are no longer separable: only element-wise layers keep the fields
        if all(r is None or isinstance(r, Keep) for r in reaches):
            out = _Axis("merged", dim)
            sizes = [s.size for s in inputs if s.size is not None]
            out.size = max(sizes) if sizes else None
            out.uniform = all(s.uniform for s in inputs)
            out.hull = _union(s.hull for s in inputs)
            out.hull_seen = _union(s.hull_seen for s in inputs)
            return out
        return _Axis("unknown")
    out = _Axis("field", dim)
    jumps: set[Fraction | None] = set()
    for state, reach in zip(inputs, reaches, strict=True):
        if reach is not None and reach.jump == 0:
            continue  # broadcast: the same position for every output
        step = reach.jump if reach is not None else 1
        jumps.add(None if state.jump is None else state.jump * step)
    out.jump = jumps.pop() if len(jumps) == 1 else None
    lo_u, hi_u = needed[(row.name, a)]
    out.base = lo_u
    size = row.output_shape[dim]
    sizes_in = [row.input_shapes[k][s.dim] for k, s in enumerate(inputs)]
    for u in range(lo_u, hi_u + 1):
        real = 0 <= u < size  # a position past the output is a later layer's padding: it sees zeros
        lo = vlo = _INF
        hi = vhi = -_INF
        for state, reach, n in zip(inputs, reaches, sizes_in, strict=True):
            for p in reach.positions(u) if reach is not None else (u,):
                span = state.span[p - state.base]
                if span is not None:
                    lo, hi = min(lo, span[0]), max(hi, span[1])
            if not real:
                continue
            for p in reach.reads(u, n) if reach is not None else (u,):
                span = state.seen[p - state.base]
                if span is not None:
                    vlo, vhi = min(vlo, span[0]), max(vhi, span[1])
        out.span.append((lo, hi) if lo <= hi else None)
        out.seen.append((vlo, vhi) if vlo <= vhi else None)
    first = -lo_u
    out.hull = _union(out.span[first : first + size])
    out.hull_seen = _union(out.seen[first : first + size])
    return out


def row_input_size(states: dict[str, list[_Axis]], a: int) -> int:
    """The network input's size along axis ``a``."""
    hull = states["x"][a].hull
    return hull[1] + 1 if hull is not None else 0


def _union(spans: Iterable[Span]) -> Span:
    """The smallest interval holding every given one (None when there is none)."""
    found = [s for s in spans if s is not None]
    if not found:
        return None
    return min(s[0] for s in found), max(s[1] for s in found)


def _sizes(state: _Axis, n: int) -> list[int]:
    off = -state.base
    return [span[1] - span[0] + 1 for span in state.span[off : off + n] if span is not None]


def _report(
    row: Row,
    a: int,
    axis_name: str,
    state: _Axis,
    reaches: list[Reach | None],
    states: dict[str, list[_Axis]],
) -> AxisField:
    if state.state == "whole":
        why = next((r for r in reaches if r is not None and r.whole), None)
        text = (
            why.formula(0, Fraction(0), Fraction(0))[0]
            if why is not None
            else "whole input (an input sees it)"
        )
        n = row_input_size(states, a)
        return AxisField(
            axis_name,
            None,
            None,
            None,
            state.hull,
            whole=True,
            formula=text,
            reads=state.hull_seen,
            input_size=n,
        )
    if state.state == "unknown":
        return AxisField(axis_name, None, None, None, None, known=False)
    if state.state == "merged":
        return AxisField(
            axis_name,
            state.size,
            None,
            None,
            None,
            uniform=state.uniform,
            formula="r kept (flattened)",
        )
    n = row.output_shape[state.dim]
    sizes = _sizes(state, n)
    off = -state.base
    first = state.span[off] if n else None
    start = Fraction(first[0] + first[1], 2) if first is not None else None
    size = max(sizes) if sizes else None
    state.size, state.uniform = size, len(set(sizes)) <= 1
    state.start = start
    return AxisField(
        axis_name,
        size,
        state.jump,
        start,
        first,
        uniform=state.uniform,
        formula=_formula(row, a, reaches, states, size),
    )


def _formula(
    row: Row, a: int, reaches: list[Reach | None], states: dict[str, list[_Axis]], size: int | None
) -> str:
    """The rule that gave ``size``: the layer's recurrence, or the union of a merge's inputs."""
    inputs = [states[name][a] for name in row.inputs]
    if len(inputs) > 1:
        parts = []
        for name, state in zip(row.inputs, inputs, strict=True):
            parts.append(f"{name} {state.size}" if state.size is not None else name)
        return f"union of {', '.join(parts)} = {size}"
    reach, state = reaches[0], inputs[0]
    r_in = state.size
    if reach is None or r_in is None or state.jump is None or state.start is None:
        return "r kept" if reach is None else ""
    text, predicted = reach.formula(r_in, state.jump, state.start)
    if predicted is not None and predicted != size:
        text += f" (the fields vary by position: largest {size})"
    return text


def _num(value: Fraction | None) -> str:
    if value is None:
        return "?"
    if value.denominator == 1:
        return str(value.numerator)
    if value.denominator in (2, 4, 5, 8, 10):
        return f"{float(value):g}"
    return f"{value.numerator}/{value.denominator}"


def _json_number(value: Fraction | None) -> int | float | None:
    if value is None:
        return None
    return value.numerator if value.denominator == 1 else float(value)
