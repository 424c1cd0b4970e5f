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
(which input positions one output position reads) position by position, so it also covers what
the recurrence does not — graphs, transposed convolutions, interpolation, adaptive pooling,
ceil_mode windows — and shows the recurrence as the formula where it applies. A layer's padding
position sees what the grid continued past its nearest edge would see (the edge's field moved by
the node's jump per position), which is the recurrence's own convention and exact for windows.
Definitions:

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
  Flatten, a squeeze-and-excitation gate, per-sample normalisation over space): no size is
  given, since it would only restate the input size; ``reads`` says which input positions that
  is (all but the trailing ones no window reaches, if a layer drops some).

Besides the fields (padding included), :meth:`ReceptiveFields.visible` gives for every output the
real input positions it reads, which is what an input gradient reaches. Axis by axis it is exact
for one path; through a merge it is the union of the paths', which may include positions of a
path that reads only padding along another axis (and so nothing at all).

Fields are those of inference: BatchNorm in training mode mixes every position of the batch.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from fractions import Fraction
from typing import TYPE_CHECKING

from ..formulas import Keep, Reach
from ..ops import AXES

if TYPE_CHECKING:
    from ..trace import Row, Trace

__all__ = ["AxisField", "NodeField", "ReceptiveFields", "receptive_fields"]


@dataclass(frozen=True)
class AxisField:
    """The receptive field of one node's outputs along one input axis."""

    axis: str  # "H", "W", "L", "D"
    size: int | None  # r, in input positions; None when whole or unknown
    jump: (
        Fraction | int | None
    )  # input positions between neighbouring outputs; None when not one value
    start: Fraction | int | None  # centre of the first output's field
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
        "dim",
        "edges",
        "hull",
        "hull_seen",
        "jump",
        "ordered",
        "seen",
        "size",
        "span",
        "start",
        "state",
        "step",
        "uniform",
    )

    def __init__(self, state: str, dim: int = -1) -> None:
        self.state = state  # "field", "merged", "whole", "unknown"
        self.dim = dim
        self.jump: Fraction | int | None = None
        self.span: list[Span] = []  # per output position: first and last input position it sees
        self.seen: list[Span] = []  # the same for real input positions only
        self.edges: tuple[int, int] | None = None  # the first and last position that sees any
        self.step: Fraction | int = 1  # how far a padding position past an edge moves the field
        self.ordered = False
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
    for a, axis in enumerate(input_axes):
        size = shape[2 + a]
        axis.span = axis.seen = [(p, p) for p in range(size)]
        axis.edges = (0, size - 1)
        axis.ordered = True
        states["x"].append(axis)

    nodes: dict[str, NodeField] = {}
    visible: dict[tuple[str, int], tuple[tuple[int, int] | None, ...]] = {}
    extent: dict[tuple[str, int], tuple[tuple[int, int] | None, ...]] = {}
    reads: dict[tuple[str, int], tuple[int, int] | None] = {}
    for row in rows:
        axes_out: list[_Axis] = []
        fields: list[AxisField] = []
        for a, axis_name in enumerate(names):
            state = _combine(row, a, reaches[row.name][a], dims[row.name][a], states)
            axes_out.append(state)
            reads[(row.name, a)] = state.hull_seen
            fields.append(_report(row, a, axis_name, state, reaches[row.name][a], states))
            if state.state == "field":
                extent[(row.name, a)] = tuple(state.span)
                visible[(row.name, a)] = tuple(state.seen)
        states[row.name] = axes_out
        nodes[row.name] = NodeField(row.name, tuple(fields))
    return ReceptiveFields(tuple(names), nodes, visible, extent, reads)


def _input_axis(dim: int, size: int) -> _Axis:
    axis = _Axis("field", dim)
    axis.jump, axis.size, axis.start = 1, 1, Fraction(0)
    axis.hull = axis.hull_seen = (0, size - 1)
    return axis


def _reach(row: Row, dim: int, k: int) -> Reach | None:
    assert row.op is not None
    return row.op.reach(dim, row.input_shapes, row.output_shape, k)


def _combine(
    row: Row,
    a: int,
    reaches: list[Reach | None],
    dim: int | None,
    states: dict[str, list[_Axis]],
) -> _Axis:
    """Pass 2 for one node and axis: what each output position sees."""
    inputs = [states[name][a] if name != "x" else states["x"][a] for name in row.inputs]
    if any(s.state == "unknown" for s in inputs):
        return _Axis("unknown")
    if any(s.state == "whole" for s in inputs) or any(r is not None and r.whole for r in reaches):
        # every output reads everything its inputs read (all of the input, but for positions
        # no window reaches); one that reads only padding (a padded convolution after a global
        # pool) reads nothing, so no single answer holds for the node
        if dim is not None and _some_output_reads_only_padding(row, dim, inputs, reaches):
            return _Axis("unknown")
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
    if len(inputs) == 1 and reaches[0] is None:  # element-wise: the input's fields, unchanged
        kept = _Axis("field", dim)
        source = inputs[0]
        kept.jump, kept.step, kept.edges = source.jump, source.step, source.edges
        kept.ordered = source.ordered
        kept.span, kept.seen, kept.hull, kept.hull_seen = (
            source.span,
            source.seen,
            source.hull,
            source.hull_seen,
        )
        return kept
    out = _Axis("field", dim)
    jumps: set[Fraction | int | None] = set()
    steps: list[Fraction | int] = []
    for state, reach in zip(inputs, reaches, strict=True):
        if reach is not None and reach.jump == 0:
            continue  # broadcast: the same position for every output
        factor = reach.jump if reach is not None else 1
        jumps.add(None if state.jump is None else state.jump * factor)
        steps.append(state.step * factor)
    out.jump = jumps.pop() if len(jumps) == 1 else None
    out.step = max(steps, default=1)
    size = row.output_shape[dim]
    sizes_in = [row.input_shapes[k][s.dim] for k, s in enumerate(inputs)]
    if len(inputs) == 1 and inputs[0].ordered and reaches[0] is not None:
        _ordered(out, inputs[0], reaches[0], size, sizes_in[0])
        return out
    for u in range(size):
        lo = vlo = _INF
        hi = vhi = -_INF
        for state, reach, n in zip(inputs, reaches, sizes_in, strict=True):
            for p in reach.positions(u) if reach is not None else (u,):
                span = state.span[p] if 0 <= p < n else _at(state, p)
                if span is not None:
                    lo, hi = min(lo, span[0]), max(hi, span[1])
            for p in reach.reads(u, n) if reach is not None else (u,):
                span = state.seen[p]
                if span is not None:
                    vlo, vhi = min(vlo, span[0]), max(vhi, span[1])
        out.span.append((lo, hi) if lo <= hi else None)
        out.seen.append((vlo, vhi) if vlo <= vhi else None)
    _finish(out)
    return out


def _some_output_reads_only_padding(
    row: Row, dim: int, inputs: list[_Axis], reaches: list[Reach | None]
) -> bool:
    for k, (state, reach) in enumerate(zip(inputs, reaches, strict=True)):
        if reach is None or isinstance(reach, Keep) or reach.whole or reach.jump == 0:
            continue  # element-wise, a dim moved or merged, or a broadcast: no padding
        if state.dim < 0:
            continue
        n = row.input_shapes[k][state.dim]
        if any(not reach.reads(u, n) for u in range(row.output_shape[dim])):
            return True
    return False


def _finish(out: _Axis) -> None:
    real = [i for i, span in enumerate(out.span) if span is not None]
    out.edges = (real[0], real[-1]) if real else None
    out.hull, out.hull_seen = _union(out.span), _union(out.seen)
    out.ordered = _is_ordered(out.span) and _is_ordered(out.seen)


def _is_ordered(spans: list[Span]) -> bool:
    """No gaps, and both ends never move back: the first and last position a window reads
    then bound what it sees."""
    previous = (-_INF, -_INF)
    for span in spans:
        if span is None or span[0] < previous[0] or span[1] < previous[1]:
            return False
        previous = span
    return True


def _ordered(out: _Axis, source: _Axis, reach: Reach, size: int, n: int) -> None:
    """The fast form for one ordered input: each output sees from its first position's field to
    its last's (positions come sorted)."""
    span, seen = source.span, source.seen
    spans, seens = out.span, out.seen
    for u in range(size):
        ends, real = reach.bounds(u, n)
        if ends is not None:
            p, q = ends
            lo = span[p][0] if 0 <= p < n else _at(source, p)[0]  # type: ignore[index]
            hi = span[q][1] if 0 <= q < n else _at(source, q)[1]  # type: ignore[index]
            spans.append((lo, hi))
        else:
            spans.append(None)
        seens.append((seen[real[0]][0], seen[real[1]][1]) if real else None)  # type: ignore[index]
    _finish(out)


def _at(state: _Axis, p: int) -> Span:
    """The field of position ``p`` of a node: its own for a real position; for a padding
    position (a later layer's), the nearest edge's continued along the node's jump, as the
    padding positions of a sliding window's input continue its grid (exact for windows)."""
    if 0 <= p < len(state.span):
        return state.span[p]
    if state.edges is None:
        return None
    edge = state.edges[0] if p < 0 else state.edges[1]
    lo, hi = state.span[edge]  # type: ignore[misc]
    moved = (p - edge) * state.step
    return lo + math.floor(moved), hi + math.ceil(moved)


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


def _sizes(state: _Axis) -> list[int]:
    return [span[1] - span[0] + 1 for span in state.span if span is not None]


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
    sizes = _sizes(state)
    first = state.span[0] if state.span else None
    start = Fraction(first[0] + first[1], 2) if first is not None else None
    size = max(sizes) if sizes else None
    # (r, j, start) describe every output only when each field is the first one moved by j per
    # position: a stride-2 transposed convolution gives outputs 2k and 2k+1 the same field, so
    # its nominal jump 1/2 places none of the odd ones
    jump = state.jump
    regular = (
        jump is not None
        and first is not None
        and all(
            span is None or (span[0] - first[0] == jump * u and span[1] - first[1] == jump * u)
            for u, span in enumerate(state.span)
        )
    )
    state.size, state.uniform = size, len(set(sizes)) <= 1 and regular
    state.start = start
    return AxisField(
        axis_name,
        size,
        jump if regular else None,
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


def _num(value: Fraction | int | None) -> str:
    if value is None:
        return "?"
    if isinstance(value, int) or value.denominator == 1:
        return str(value.numerator)
    if value.denominator in (2, 4, 5, 8, 10):
        return f"{float(value):g}"
    return f"{value.numerator}/{value.denominator}"


def _json_number(value: Fraction | int | None) -> int | float | None:
    if value is None or isinstance(value, int):
        return value
    return value.numerator if value.denominator == 1 else float(value)
