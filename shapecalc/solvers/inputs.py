"""``solve_input``: which input sizes a whole net accepts, along each spatial axis and jointly.

The net is the compiled trace (:func:`shapecalc.trace.propagate`): layers and merges in file order.
Sizes are integers, so the answer is exact: every statement about a range holds for every member.

1. **Per axis.** Through the *separable* part of the net (every node that maps each spatial
   dimension on its own: convolution, pooling, resizing, padding, shape-keeping layers) each axis
   is independent. Each node's size along the axis is worked out for every input size 1..N
   (``Layer.dim_sizes``, once per distinct size), and a merge is an equality between its inputs'
   sizes (``Merge.dim_size``: equal sizes for Add, broadcasting for Multiply, every dim but ``dim``
   for Concat). The node that first refuses a size is recorded.
2. **Jointly.** What reads a non-separable node (Flatten, Linear, ...) sees the axes together.
   Inputs that reach those nodes with the same sizes form one class; the rest of the net runs on
   symbolic sizes (:mod:`shapecalc.solvers.symbolic`) once per path through the layers' code, so
   after a Flatten one run covers every (H, W) with the same C·h·w, and a Linear's ``in_features``
   becomes the equation C·h·w = in_features, solved by divisors. Where the layers' code cannot be
   followed symbolically, each class is tried instead.
3. **Rows kept.** A floor-mode window that does not fit the input exactly leaves trailing rows
   unread (and a stride wider than the kernel leaves gaps); a row is lost when no node reading
   its tensor reads it. Which sizes keep every row is periodic in the product of the strides, so
   it is stated for all sizes, found on a range the net sets (never N): "only multiples of 16
   keep every row".

Inferred sizes (in_channels, in_features, ...) are pinned to the values the spec's own input gives,
as in the module ``build`` makes: with the CIFAR10 spec, Linear(1024, 64) accepts only inputs whose
flattened size is 1024. Past a node where the spec's own input fails, they follow each input.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from ..errors import LayerError, ShapeError
from ..formulas import UNIT, Window
from ..ops import AXES, Layer, Merge, Op, Outcome, Shape
from ..spec import Spec
from ..trace import Row, Trace, propagate
from .symbolic import Escape, Guard, Leaf, Recorder, Space, Sym, explore, solve

DEFAULT_MAX = 1024
FAMILY_LIMIT = 10_000  # rectangles listed; the count says how many there are
# rows kept are worked out on 1..(three of the net's periods past its first valid size, at least
# ANALYSIS_MIN, at most ANALYSIS_CAP), whatever --max is
ANALYSIS_MIN = 256
ANALYSIS_CAP = 16384

Intervals = tuple[tuple[int, int], ...]


# --- records ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Blocked:
    """Inputs ruled out by one node: along one axis, or (axis "H,W") jointly."""

    axis: str
    lo: int
    hi: int
    layer: int  # the node's row index in the trace (= the layer index for a chain)
    layer_name: str
    layer_type: str
    reason: str
    example: str = ""  # joint failures: one class of inputs that fails this way
    field: str = ""  # the spec entry, "layers[7]" or "blocks.Up.layers[1]"
    sizes: Intervals = ()  # per axis: every size this node rules out
    sizes_text: str = ""
    every: bool = False  # joint: every input that gets this far fails here


@dataclass(frozen=True)
class Kept:
    """Which sizes along one axis keep every row: no floor-mode window leaves any unread."""

    axis: str
    text: str  # "H: only multiples of 16 keep every row (4 layers of stride 2: pool1, …)"
    period: int  # the sizes kept repeat with this period (0 when no period was found)
    residues: tuple[int, ...]  # kept sizes mod period (among the valid ones)
    example: str  # one valid size that loses rows, and where
    rule: str = ""  # "only multiples of 16" (… keep every row), without the axis and the cause
    cause: str = ""  # "4 layers of stride 2: pool1, …"
    start: int = 0  # the period holds from this size on; below it, ``head`` lists the sizes kept
    head: Intervals = ()

    def keeps(self, size: int) -> bool:
        """Whether a valid ``size`` keeps every row (for any size, not only those tried)."""
        if size < self.start or not self.period:
            return any(lo <= size <= hi for lo, hi in self.head)
        return size % self.period in self.residues


@dataclass(frozen=True)
class DimAnalysis:
    """What the separable part of the net does to one spatial axis."""

    axis: str
    expression: str  # size at ``at`` as an expression of the input size, e.g. ⌊⌊⌊H/2⌋/2⌋/2⌋
    valid: Intervals  # sizes that every node accepts along this axis alone
    blocked: tuple[Blocked, ...]
    # the node the expression is for: the first non-separable node (its input), or "output"
    at: str = ""
    valid_text: str = ""
    kept: Kept | None = None


@dataclass(frozen=True)
class Family:
    """A box of valid inputs: every combination of sizes in ``ranges`` (one interval per axis)."""

    ranges: tuple[tuple[int, int], ...]
    axes: tuple[str, ...] = ("H", "W")

    def range(self, axis: str) -> tuple[int, int]:
        return self.ranges[self.axes.index(axis)]

    @property
    def h_lo(self) -> int:
        return self.range("H")[0]

    @property
    def h_hi(self) -> int:
        return self.range("H")[1]

    @property
    def w_lo(self) -> int:
        return self.range("W")[0]

    @property
    def w_hi(self) -> int:
        return self.range("W")[1]

    def to_dict(self) -> dict[str, list[int]]:
        return {a: list(r) for a, r in zip(self.axes, self.ranges, strict=True)}


@dataclass(frozen=True)
class InputSolution:
    """Every input size (per spatial axis, 1..max_size) for which the whole net is valid."""

    name: str
    channels: Shape
    max_size: int
    dims: tuple[DimAnalysis, ...]
    families: tuple[Family, ...]
    separable: bool  # valid set = product of per-axis sets
    valid_h: Intervals
    valid_w: Intervals
    square: Intervals  # sizes S for which an S×S (×S) input works
    joint_blocked: tuple[Blocked, ...] = ()
    ignored: tuple[str, ...] = field(default=())  # notes: rows lost, and which sizes keep them
    pinned: tuple[str, ...] = field(default=())  # inferred sizes fixed by the spec's own input
    axes: tuple[str, ...] = ("H", "W")
    valid: tuple[Intervals, ...] = ()  # per axis: sizes that occur in some valid input
    count: int = 0  # valid inputs in all
    families_total: int = 0  # families before FAMILY_LIMIT
    symbolic: bool = True  # joint part solved symbolically (False: class by class)
    valid_texts: tuple[str, ...] = ()  # ``valid`` described: intervals, or a periodic family
    square_text: str = ""
    pinned_sizes: tuple[str, ...] = ()  # the pinned sizes that another input size would change

    @property
    def ok(self) -> bool:
        return self.count > 0

    def to_dict(self) -> dict[str, object]:
        blocked = [b for d in self.dims for b in d.blocked] + list(self.joint_blocked)
        out: dict[str, object] = {
            "ok": self.ok,
            "name": self.name,
            "max": self.max_size,
            "axes": list(self.axes),
            "separable": self.separable,
        }
        for axis, intervals in zip(self.axes, self.valid, strict=True):
            out[axis] = [list(i) for i in intervals]
        out.update(
            {
                "square": [list(i) for i in self.square],
                "count": self.count,
                "families": [f.to_dict() for f in self.families],
                "families_total": self.families_total,
                "expressions": {d.axis: d.expression for d in self.dims},
                "expressions_at": {d.axis: d.at for d in self.dims},
                "sets": dict(zip(self.axes, self.valid_texts, strict=True)),
                "blocked": [
                    {
                        "axis": b.axis,
                        "range": [b.lo, b.hi],
                        "layer": b.layer,
                        "name": b.layer_name,
                        "type": b.layer_type,
                        "field": b.field,
                        "reason": b.reason,
                        "example": b.example or None,
                        "sizes": [list(i) for i in b.sizes] if b.sizes else None,
                        "sizes_text": b.sizes_text or None,
                    }
                    for b in blocked
                ],
                "kept": {
                    d.axis: {
                        "text": d.kept.text,
                        "period": d.kept.period,
                        "residues": list(d.kept.residues),
                        "example": d.kept.example,
                    }
                    for d in self.dims
                    if d.kept is not None
                },
                "ignored": list(self.ignored),
                "pinned": list(self.pinned),
                "pinned_sizes": list(self.pinned_sizes),
            }
        )
        return out


# --- sets of sizes as text -------------------------------------------------------------------------


def intervals(values: Iterable[int]) -> Intervals:
    """Sorted ints as maximal runs.

    >>> intervals([1, 2, 3, 7, 9, 10])
    ((1, 3), (7, 7), (9, 10))
    """
    ordered = sorted(values)
    if not ordered:
        return ()
    runs: list[tuple[int, int]] = []
    lo = hi = ordered[0]
    for v in ordered:
        if v > hi + 1:
            runs.append((lo, hi))
            lo = v
        hi = v
    runs.append((lo, hi))
    return tuple(runs)


def ranges_text(runs: Intervals) -> str:
    """``[1, 3] ∪ [7, 7]``; ∅ when empty."""
    return " ∪ ".join(f"[{lo}, {hi}]" for lo, hi in runs) if runs else "∅"


def _residues_text(period: int, residues: Sequence[int]) -> str:
    if period == 2 and len(residues) == 1:
        return "odd sizes" if list(residues) == [1] else "even sizes"
    if list(residues) == [0]:
        return f"multiples of {period}"
    if len(residues) == period - 1 and 0 not in residues:
        return f"sizes that are not multiples of {period}"
    shown = ", ".join(map(str, residues))
    return f"sizes ≡ {shown} (mod {period})"


def describe(values: Sequence[int], limit: int, runs_shown: int = 6) -> str:
    """A set of sizes in 1..limit as intervals, or as a periodic family when it has more than
    three runs: ``multiples of 8 in [16, 1024]``.

    >>> describe([1, 2, 3, 7], 10)
    '[1, 3] ∪ [7, 7]'
    >>> describe(list(range(16, 101, 8)), 100)
    'multiples of 8 in [16, 96]'
    """
    runs = intervals(values)
    found = _periodic(values) if len(runs) > 3 else None
    if found is None:
        if len(runs) <= runs_shown:
            return ranges_text(runs)
        return ranges_text(runs[:runs_shown]) + f" ∪ … ({len(runs)} intervals)"
    period, residues, start = found
    head = [v for v in values if v < start]
    first = next(v for v in values if v >= start)
    family = f"{_residues_text(period, residues)} in [{first}, {values[-1]}]"
    return (ranges_text(intervals(head)) + " ∪ " + family) if head else family


def _periodic(values: Sequence[int]) -> tuple[int, tuple[int, ...], int] | None:
    """(period, residues, start): from ``start`` on, ``values`` are exactly the sizes with those
    residues (seen over at least three periods), or None."""
    runs = intervals(values)
    if len(runs) < 4:
        return None
    members = set(values)
    lo, hi = values[0], values[-1]
    starts = [r[0] for r in runs]
    candidates = sorted(
        {starts[-1] - starts[-1 - k] for k in range(1, min(8, len(starts) - 1) + 1)}
    )
    for period in candidates:
        if hi - lo < 3 * period:
            break
        start = hi - period + 1
        while start - 1 >= lo and ((start - 1) in members) == ((start - 1 + period) in members):
            start -= 1
        repeats = all(
            (v in members) == (v + period in members) for v in range(start, hi - period + 1)
        )
        if repeats and hi - start + 1 >= 3 * period:
            return period, tuple(sorted({v % period for v in values if v >= start})), start
    return None


# --- the nodes -------------------------------------------------------------------------------------


@dataclass
class _Node:
    index: int  # row index in the trace
    name: str
    type: str
    path: str
    op: Op
    inputs: tuple[int, ...]  # node positions; -1 is the network input
    labels: tuple[str, ...]
    in_shapes: tuple[Shape, ...] | None = None  # from a run that got this far
    out_shape: Shape | None = None
    pins: dict[str, Any] = field(default_factory=dict)  # inferred sizes fixed at the spec's input
    free: Op | None = None  # the op with its inferred sizes left free
    notes: tuple[str, ...] = ()  # its notes at the spec's own input


def _pin(row: Row) -> tuple[Op, dict[str, Any]]:
    op = row.op
    assert op is not None
    fields = type(op).model_fields
    update = {k: v for k, v in row.inferred.items() if k in fields and getattr(op, k, None) is None}
    return (op.model_copy(update=update) if update else op), update


def _nodes_from(rows: Sequence[Row], pinned_names: set[str]) -> list[_Node]:
    nodes: list[_Node] = []
    position: dict[str, int] = {"x": -1}
    for row in rows:
        if row.op is None:
            continue
        op, pins = _pin(row) if row.name in pinned_names else (row.op, {})
        nodes.append(
            _Node(
                row.index,
                row.name,
                row.type,
                row.path,
                op,
                tuple(position[name] for name in row.inputs),
                row.labels or row.inputs,
                row.input_shapes or (row.input_shape,),
                row.output_shape,
                pins,
                row.op,
                row.notes if row.name in pinned_names else (),
            )
        )
        position[row.name] = len(nodes) - 1
    return nodes


def _graph(spec: Spec) -> tuple[list[_Node], tuple[int, ...], bool]:
    """The nodes with inferred sizes pinned, the output nodes, and whether the spec's own input
    runs through every node."""
    try:
        trace = propagate(spec)
    except ShapeError as exc:
        partial = exc.trace.layers if exc.trace is not None else ()
        done = {row.name for row in partial}
        if spec.is_chain:
            nodes = _nodes_from(partial, done)
            for entry in spec.layers[len(nodes) :]:
                assert entry.op is not None
                index = len(nodes)
                nodes.append(
                    _Node(
                        index,
                        entry.local,
                        entry.type,
                        entry.path,
                        entry.op,
                        (index - 1,),
                        (nodes[-1].name if nodes else "x",),
                        free=entry.op,
                    )
                )
            return nodes, (len(nodes) - 1,), False
        probe = _probe(spec, exc)
        nodes = _nodes_from(probe.layers, done)
        return nodes, _outputs(probe, nodes), False
    nodes = _nodes_from(trace.layers, {row.name for row in trace.layers})
    return nodes, _outputs(trace, nodes), True


def _outputs(trace: Trace, nodes: Sequence[_Node]) -> tuple[int, ...]:
    position = {node.name: i for i, node in enumerate(nodes)}
    names = trace.outputs or ((nodes[-1].name,) if nodes else ())
    return tuple(position.get(name, -1) for name in names)


def _probe(spec: Spec, error: ShapeError) -> Trace:
    """A trace of the whole graph at an input near the spec's own, when that one fails."""
    own = spec.input_shape
    spatial = own[2:]
    # the sizes shifted together, and square inputs around each size: a merge may need the axes
    # to agree on a residue (a U-Net's multiples of 8) that no common shift of 100×96 reaches
    candidates = dict.fromkeys(
        sizes
        for d in range(65)
        for delta in ((-d, d) if d else (0,))
        for sizes in (
            tuple(s + delta for s in spatial),
            *((base + delta,) * len(spatial) for base in sorted(set(spatial))),
        )
        if sizes != spatial and min(sizes) >= 1
    )
    for sizes in candidates:
        try:
            return propagate(spec, (*own[:2], *sizes))
        except ShapeError:
            continue
    # the spec's own error, located, says why; no input near it gets through to map the graph
    error.details = (
        *error.details,
        "solve-input: every input tried near the spec's (each size ±64, and square ones) fails "
        "too, so no input size near it works; change the layers this error names",
    )
    raise error


# --- per axis --------------------------------------------------------------------------------------


@dataclass
class _Axis:
    """The separable part of the net along one axis, for input sizes 1..M."""

    name: str
    # node (or -1) → its size for each input x (at index x − 1); None where refused
    arrays: dict[int, list[int | None]]
    failed: list[int | None]  # per x: the node that first refuses it (file order)
    reasons: dict[int, tuple[int, str]]  # node → (first x it refuses, the rule)
    expressions: dict[int, _Expr]  # node → its size as an expression of the input
    # per x ≤ R: (the nodes reading one tensor, rows none of them reads, the tensor's size)
    drops: list[list[tuple[tuple[int, ...], int, int]]]
    period: int  # see _period


class _Tied(Exception):
    """A node that cannot be solved one axis at a time (its per-axis rule failed)."""

    def __init__(self, node: int) -> None:
        self.node = node
        super().__init__(node)


def _layer_axis(op: Op, j: int, n: int) -> int:
    """The layer's own index of spec axis ``j``: spatial dims align from the right."""
    rank = op.rank
    return j + rank - n if rank else j


def _signed(base: str, offset: int) -> str:
    if offset == 0:
        return base
    return f"{base} + {offset}" if offset > 0 else f"{base} − {-offset}"


class _Expr(NamedTuple):
    """mult·base + offset: a size as an expression of the input (base is atomic text)."""

    base: str
    mult: int = 1
    offset: int = 0
    star: bool = False  # a ceil_mode window is in it

    def text(self) -> str:
        term = self.base if self.mult == 1 else f"{self.mult}·{self.base}"
        return _signed(term, self.offset)

    def shifted(self, by: int) -> _Expr:
        return self._replace(offset=self.offset + by)


def _fold(state: _Expr, layer: Layer, i: int, name: str, affine: tuple[int, int] | None) -> _Expr:
    """The expression after one layer, offsets of sliding windows folded together. ``affine``
    (a, b): the layer maps every size that reaches it to a·size + b (found, not assumed).

    ⌊(k·s·B + c)/s⌋ = k·B + ⌊c/s⌋, so a window whose stride divides the multiplier keeps the
    expression linear: 2·H + 1 through a 2×2 pool is H.
    """
    window = layer.window(i)
    if window is None:
        if layer.keeps_sizes():
            return state
        text = layer.size_expression(i, state.text())
        if text is not None:
            return _Expr(text, star=state.star)
        if affine is not None:
            a, b = affine
            return state._replace(mult=state.mult * a, offset=state.offset * a + b)
        return _Expr(f"{name}({state.text()})", star=state.star)
    s, pad2, e = window.stride, window.left + window.right, window.span
    if window.ceil_mode:
        return _Expr(f"⌈({state.shifted(pad2 - e).text()})/{s}⌉*", 1, 1, True)
    if s == 1:
        return state.shifted(pad2 - e + 1)
    inner = state.shifted(pad2 - e + s)
    if inner.mult % s == 0:
        return inner._replace(mult=inner.mult // s, offset=inner.offset // s)
    text = inner.text()
    return _Expr(f"⌊{text}/{s}⌋" if text == inner.base else f"⌊({text})/{s}⌋", star=state.star)


def _per_axis(
    nodes: Sequence[_Node],
    joint: Sequence[bool],
    j: int,
    n: int,
    size: int,
    analysis: int,
    period_of: int,
    outputs: tuple[int, ...],
) -> _Axis:
    axis = AXES[n][j]
    identity: list[int | None] = list(range(1, size + 1))
    arrays: dict[int, list[int | None]] = {-1: identity}
    failed: list[int | None] = [None] * size
    reasons: dict[int, tuple[int, str]] = {}
    expressions: dict[int, _Expr] = {-1: _Expr(axis)}
    cuts: dict[int, dict[int, tuple[int, int]]] = {}  # node → x → (rows it leaves unread, of)
    # equal layers (a repeated block) reading the same sizes give the same answer
    cache: dict[tuple[Any, ...], _AxisSizes] = {}
    for pos, node in enumerate(nodes):
        if joint[pos]:
            continue
        sources = [arrays[k] for k in node.inputs]
        op = node.op
        if isinstance(op, Merge):
            try:
                out, refused = _merge_axis(op, node, sources, j, n)
            except LayerError:
                raise
            except Exception as exc:  # the merge cannot answer per dim: solve it jointly
                raise _Tied(pos) from exc
            expressions[pos] = next(
                (
                    expressions[k]
                    for k, src in zip(node.inputs, sources, strict=True)
                    if src is out or all(o is None or o == v for o, v in zip(out, src, strict=True))
                ),
                _Expr(f"{node.name}(…)"),
            )
        else:
            assert isinstance(op, Layer)
            i = _layer_axis(op, j, n)
            if op.rank is None:
                op = op.for_spatial_dims(n)  # its messages name the axis
            source = sources[0]
            if i < 0 or op.keeps_sizes():
                out, refused = source, {}
                expressions[pos] = expressions[node.inputs[0]]
            else:
                key = (op, i, id(source))
                if key not in cache:
                    try:
                        cache[key] = _layer_axis_sizes(op, i, source, analysis)
                    except LayerError:
                        raise
                    except Exception as exc:  # the layer cannot answer per axis: solve it jointly
                        raise _Tied(pos) from exc
                out, refused, cut, affine = cache[key]
                if cut:
                    cuts[pos] = cut
                try:
                    state = expressions[node.inputs[0]]
                    expressions[pos] = _fold(state, op, i, node.name, affine)
                except Exception:  # no closed form to show: name the layer
                    expressions[pos] = _Expr(f"{node.name}({expressions[node.inputs[0]].text()})")
        if out is not sources[0]:
            values = set(out)
            values.discard(None)
            if len(values) == 1:  # the same size for every input that gets here (adaptive pools)
                expressions[pos] = _Expr(str(values.pop()))
        if refused:
            first = min(refused)
            reasons[pos] = (first, refused[first])
            for x in refused:
                if failed[x - 1] is None:
                    failed[x - 1] = pos
        arrays[pos] = out
    drops = _lost(nodes, j, n, arrays, cuts, outputs, analysis)
    return _Axis(axis, arrays, failed, reasons, expressions, drops, period_of)


def _lost(
    nodes: Sequence[_Node],
    j: int,
    n: int,
    arrays: dict[int, list[int | None]],
    cuts: dict[int, dict[int, tuple[int, int]]],
    outputs: tuple[int, ...],
    analysis: int,
) -> list[list[tuple[tuple[int, ...], int, int]]]:
    """Per input size x: the rows of a tensor that none of the nodes reading it reads. A row
    one branch skips (a 1×1 stride-2 shortcut) is not lost when another branch reads it."""
    drops: list[list[tuple[tuple[int, ...], int, int]]] = [[] for _ in range(analysis)]
    readers: dict[int, list[int]] = {}
    for pos, node in enumerate(nodes):
        for k in node.inputs:
            readers.setdefault(k, []).append(pos)
    for tensor, reading in readers.items():
        if tensor in outputs or not all(r in cuts for r in reading):
            continue  # returned, or read whole by some node at every size
        for x in sorted(set.intersection(*(set(cuts[r]) for r in reading))):
            size_in = cuts[reading[0]][x][1]
            if len(reading) == 1:
                lost = cuts[reading[0]][x][0]
            else:
                read = bytearray(size_in)
                for r in reading:
                    op = nodes[r].op
                    assert isinstance(op, Layer)
                    window = op.window(_layer_axis(op, j, n))
                    out = arrays[r][x - 1]
                    if window is None or out is None:
                        unread_here = cuts[r][x][0]  # a cut without a window: trailing rows
                        read[: size_in - unread_here] = b"\x01" * (size_in - unread_here)
                    else:
                        _mark_read(read, window, size_in, out)
                lost = size_in - read.count(1)
            if lost:
                drops[x - 1].append((tuple(reading), lost, size_in))
    return drops


_AxisSizes = tuple[
    list[int | None], dict[int, str], dict[int, tuple[int, int]], tuple[int, int] | None
]


def _layer_axis_sizes(op: Layer, i: int, source: list[int | None], analysis: int) -> _AxisSizes:
    """Sizes after ``op`` along its axis ``i``; the inputs x it refuses (with the rule); for
    x ≤ analysis, how many of its input rows no window reads; and (a, b) when every size that
    gets through maps to a·size + b."""
    present = set(source)
    present.discard(None)
    distinct: list[int] = sorted(present)  # type: ignore[arg-type]
    results: list[int | None] = []
    failures: dict[int, LayerError] = {}
    if distinct:
        results, failures = op.dim_sizes(i, distinct)
    errors = {v: exc.rule for v, exc in failures.items()}
    memo: dict[int | None, int | None] = dict(zip(distinct, results, strict=True))
    out: list[int | None] = list(map(memo.get, source))
    if out == source:
        out = source  # shared: the same sizes, so later nodes can reuse what was worked out
    refused = {x: errors[v] for x, v in enumerate(source, 1) if v in errors} if errors else {}
    cut: dict[int, tuple[int, int]] = {}
    head = source[:analysis]
    window = op.window(i)
    affine = None if window is not None else _affine(distinct, results)
    if window is not None and window.stride == 1 and window.dilation == 1:
        return out, refused, cut, affine  # a stride-1 window reads every position
    lost: dict[int, int] = {}
    for v in {v for v in head if v is not None}:
        o = memo.get(v)
        if o is None:
            continue
        if window is not None:
            lost[v] = unread(window, v, o)
        else:
            step = op.dim_step(i, v)
            lost[v] = step.dropped if step is not None else 0
    for x, size_in in enumerate(head, 1):
        if size_in is not None and lost.get(size_in):
            cut[x] = (lost[size_in], size_in)
    return out, refused, cut, affine


def _affine(sizes: Sequence[int], results: Sequence[int | None]) -> tuple[int, int] | None:
    """(a, b) with a ≥ 1 when every accepted size n gives a·n + b (checked for each), else None.

    >>> _affine([3, 4, 5], [5, 7, None]), _affine([3, 4, 5], [1, 2, 2])
    ((2, -1), None)
    """
    pairs = [(n, r) for n, r in zip(sizes, results, strict=True) if r is not None]
    if len(pairs) < 2:
        return None
    (n0, r0), (n1, r1) = pairs[0], pairs[1]
    a = r1 - r0
    if n1 - n0 != 1 and (a % (n1 - n0)):
        return None
    a //= n1 - n0
    b = r0 - a * n0
    if a < 1 or any(r != a * n + b for n, r in pairs):
        return None
    return a, b


def unread(window: Window, size: int, out: int) -> int:
    """How many of ``size`` input positions no window reads, when the layer outputs ``out``.

    Windows that touch or overlap (stride ≤ kernel, no dilation) leave only trailing positions
    unread (a floor-mode cut); wider strides leave gaps, and so do dilations on small inputs.

    >>> unread(Window(2, 2, 0, 0, 1), 75, 37), unread(Window(1, 2, 1, 1, 1), 1, 2)
    (1, 1)
    """
    if window.dilation == 1 and window.stride <= window.kernel:
        return window.dropped(size, out)
    read = bytearray(size)
    _mark_read(read, window, size, out)
    return size - read.count(1)


def _mark_read(read: bytearray, window: Window, size: int, out: int) -> None:
    """Set ``read[p]`` for every input position p that one of the ``out`` windows reads."""
    s, d = window.stride, window.dilation
    for j in range(window.kernel):
        start = j * d - window.left
        first = 0 if start >= 0 else (-start + s - 1) // s
        last = min(out - 1, (size - 1 - start) // s) if size - 1 - start >= 0 else -1
        if last >= first:
            read[start + first * s : start + last * s + 1 : s] = b"\x01" * (last - first + 1)


def _merge_axis(
    op: Merge, node: _Node, sources: list[list[int | None]], j: int, n: int
) -> tuple[list[int | None], dict[int, str]]:
    shapes = node.in_shapes
    assert shapes is not None
    dim = j - n  # counted from the end, as broadcasting aligns
    memo: dict[tuple[int, ...], int | str] = {}
    out: list[int | None] = []
    refused: dict[int, str] = {}
    labels = node.labels
    first = sources[0]
    same = all(s is first for s in sources)
    for x, sizes in enumerate(zip(*sources, strict=True), 1):
        if any(v is None for v in sizes):
            out.append(None)
            continue
        key: tuple[int, ...] = sizes
        result = memo.get(key)
        if result is None:
            try:
                result = op.dim_size(dim, key, shapes, labels)
            except LayerError as exc:
                result = exc.rule
            memo[key] = result
        if isinstance(result, str):
            out.append(None)
            refused[x] = result
        else:
            out.append(result)
    if same and not refused and all(o == v for o, v in zip(out, first, strict=True)):
        return first, refused
    return out, refused


# --- jointly ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Class:
    """Inputs along one axis that reach every cut node with the same sizes."""

    sizes: tuple[int, ...]  # the input sizes x, ascending
    values: tuple[int, ...]  # per cut node, the size there


_Verdict = tuple[Any, ...]  # ("ok",) or ("fail", node position, rule)


class _Joint:
    """The non-separable part of the net, run on the sizes each class of inputs brings."""

    def __init__(
        self,
        nodes: Sequence[_Node],
        joint: Sequence[bool],
        axes: Sequence[_Axis],
        valid: Sequence[Sequence[int]],
        n: int,
    ) -> None:
        self.nodes = nodes
        self.order = [p for p in range(len(nodes)) if joint[p]]
        self.cut = sorted(
            {k for p in self.order for k in nodes[p].inputs if k == -1 or not joint[k]}
        )
        self.n = n
        self.classes: list[list[_Class]] = []
        for axis, sizes in zip(axes, valid, strict=True):
            columns = [axis.arrays[c] for c in self.cut]
            signatures: list[Any] = (
                columns[0]  # one cut node (a chain's Flatten): its size is the signature
                if len(columns) == 1
                else list(zip(*columns, strict=True))
                if columns
                else [()] * len(axis.failed)
            )
            grouped: dict[Any, list[int]] = {}
            add = grouped.setdefault
            for x, sig in zip(sizes, [signatures[x - 1] for x in sizes], strict=True):
                add(sig, []).append(x)
            self.classes.append(
                [
                    _Class(tuple(xs), sig if len(columns) != 1 else (sig,))
                    for sig, xs in grouped.items()
                ]
            )
        self.space = Space(
            tuple(tuple(c.values for c in axis) for axis in self.classes),
            tuple((j, slot) for slot in range(len(self.cut)) for j in range(n)),
        )
        self.lead: dict[int, Shape] = {}

    def set_lead(self, shapes: dict[int, Shape]) -> None:
        """The non-spatial dims of each cut node (they do not depend on the input sizes)."""
        self.lead = {c: shapes[c][: -self.n] for c in self.cut}

    def _shapes(self, combo: Sequence[int], rec: Recorder | None) -> dict[int, tuple[Any, ...]]:
        shapes: dict[int, tuple[Any, ...]] = {}
        for slot, c in enumerate(self.cut):
            sizes: list[Any] = []
            for j in range(self.n):
                value = self.classes[j][combo[j]].values[slot]
                var = slot * self.n + j
                sizes.append(value if rec is None else Sym.variable(var, value, rec))
            shapes[c] = (*self.lead[c], *sizes)
        return shapes

    def run(
        self,
        combo: Sequence[int],
        rec: Recorder | None = None,
        cache: dict[tuple[Any, ...], Shape | _Verdict] | None = None,
    ) -> _Verdict:
        """Run the joint nodes in file order on one class combination (symbolic with ``rec``;
        ``cache`` remembers each node's answer by its input shapes, for plain runs)."""
        shapes = self._shapes(combo, rec)
        for p in self.order:
            node = self.nodes[p]
            inputs = tuple(shapes[k] for k in node.inputs)
            key = (p, inputs)
            if cache is not None and key in cache:
                known = cache[key]
                if known and known[0] == "fail":
                    return known
                shapes[p] = known
                continue
            try:
                shapes[p] = node.op.infer_all(inputs, node.labels).output
            except LayerError as exc:
                verdict: _Verdict = ("fail", p, exc.rule)
                if cache is not None:
                    cache[key] = verdict
                return verdict
            except Escape:
                raise
            except Exception as exc:  # the layer's code met a symbolic size it cannot take
                if rec is None:
                    raise
                raise Escape(f"{type(exc).__name__}: {exc}") from exc
            if cache is not None:
                cache[key] = shapes[p]
        return ("ok",)

    def symbolic(self, start: tuple[int, ...]) -> list[Leaf]:
        def run(combo: tuple[int, ...]) -> tuple[list[Guard], _Verdict]:
            rec = Recorder()
            verdict = self.run(combo, rec)
            return rec.guards, verdict

        leaves = explore(run, self.space, start)
        for leaf in leaves:  # the symbolic run must agree with a plain one
            if self.run(leaf.witness) != leaf.verdict:
                raise Escape("a plain run disagrees with the symbolic one")
            if leaf.verdict[0] == "ok":
                for box in itertools.islice(solve(leaf.guards, self.space), 2):
                    for pick in (0, -1):
                        combo = tuple(axis[pick] for axis in box)
                        if self.run(combo) != leaf.verdict:
                            raise Escape("a plain run disagrees inside a solved region")
        return leaves

    def one_by_one(
        self,
    ) -> tuple[list[tuple[tuple[int, ...], ...]], dict[int, tuple[str, tuple[int, ...]]]]:
        """Every class combination tried with plain sizes (the fallback)."""
        boxes: list[tuple[tuple[int, ...], ...]] = []
        failures: dict[int, tuple[str, tuple[int, ...]]] = {}
        cache: dict[tuple[Any, ...], Shape | _Verdict] = {}
        for combo in itertools.product(*(range(len(c)) for c in self.classes)):
            verdict = self.run(combo, cache=cache)
            if verdict[0] == "ok":
                boxes.append(tuple((c,) for c in combo))
            elif verdict[1] not in failures:
                failures[verdict[1]] = (verdict[2], combo)
        return boxes, failures


def _period(nodes: Sequence[_Node], joint: Sequence[bool], j: int, n: int) -> int:
    """A period of the separable part along axis ``j``: input sizes x and x + period reach every
    sliding window with the same remainder (the product of strides along each path)."""
    periods: dict[int, int] = {-1: 1}
    for pos, node in enumerate(nodes):
        if joint[pos]:
            continue
        period = math.lcm(*(periods[k] for k in node.inputs))
        if isinstance(node.op, Layer):
            i = _layer_axis(node.op, j, n)
            window = node.op.window(i) if i >= 0 else None
            if window is not None:
                period *= window.stride
        periods[pos] = min(period, 1 << 20)
    return math.lcm(*periods.values())


# --- the solver ------------------------------------------------------------------------------------


@dataclass
class _Run:
    """Every node run on plain shapes for one input."""

    shapes: dict[int, Shape]
    first: int | None  # the first node that fails
    reason: str
    outcomes: dict[int, Outcome]


def _run_all(nodes: Sequence[_Node], shape: Shape, free: bool = False) -> _Run:
    """Plain shapes of every node for one input (``free``: inferred sizes not pinned)."""
    run = _Run({-1: shape}, None, "", {})
    for p, node in enumerate(nodes):
        if any(k not in run.shapes for k in node.inputs):
            continue
        op = node.free if free and node.free is not None else node.op
        try:
            outcome = op.infer_all(tuple(run.shapes[k] for k in node.inputs), node.labels)
        except LayerError as exc:
            if run.first is None:
                run.first, run.reason = p, exc.rule
            continue
        run.shapes[p] = outcome.output
        run.outcomes[p] = outcome
    return run


def _downstream(nodes: Sequence[_Node], marked: Iterable[int]) -> list[bool]:
    joint = [False] * len(nodes)
    for p in marked:
        joint[p] = True
    for p, node in enumerate(nodes):
        if any(k >= 0 and joint[k] for k in node.inputs):
            joint[p] = True
    return joint


def _non_separable(nodes: Sequence[_Node], n: int) -> list[int]:
    marked = []
    for p, node in enumerate(nodes):
        shapes = (*(node.in_shapes or ()), *((node.out_shape,) if node.out_shape else ()))
        rank_changes = bool(
            node.in_shapes and node.out_shape and len(node.out_shape) != len(node.in_shapes[0])
        )
        if not node.op.separable or rank_changes or any(len(s) < n + 1 for s in shapes):
            marked.append(p)
    return marked


def solve_input(spec: Spec, max_size: int | None = None) -> InputSolution:
    """Every input size, 1..``max_size`` along each spatial axis, for which the whole net runs.

    ``spec.input`` is [C, L], [C, H, W] or [C, D, H, W]; ``max_size`` defaults to 1024, or to the
    spec's largest input size when that is larger. Inferred sizes are pinned to the spec's own
    input (see the module docstring). Raises ValueError for an input without spatial axes, and the
    spec's own ShapeError for a graph that fails at its input and at every input near it.
    """
    if not 2 <= len(spec.input) <= 4:
        raise ValueError(
            "solve-input needs a spatial input, [C, L], [C, H, W] or [C, D, H, W], but the spec's "
            f"input is {list(spec.input)}"
        )
    n = len(spec.input) - 1
    names = AXES[n]
    own = spec.input[1:]
    size = max_size if max_size is not None else max(DEFAULT_MAX, *own)
    nodes, outputs, own_ok = _graph(spec)

    marked = _non_separable(nodes, n)
    while True:
        result = _solve(spec, nodes, marked, outputs, own_ok, n, size)
        if isinstance(result, InputSolution):
            return _finish(spec, result, nodes, names, own_ok)
        marked = sorted({*marked, result})  # a node found to tie the axes together


def _finish(
    spec: Spec,
    solution: InputSolution,
    nodes: Sequence[_Node],
    names: tuple[str, ...],
    own_ok: bool,
) -> InputSolution:
    """Add what the pinned sizes are, which of them depend on the input size, and the notes that
    only the smallest valid input brings (BatchNorm with one value per channel, say)."""
    from dataclasses import replace

    pinned = [f"{k}={v} for {node.name}" for node in nodes for k, v in node.pins.items()]
    # a pinned size depends on the input size when a free run elsewhere infers another value
    depends: set[str] = set()
    corners = (
        [tuple(d.valid[0][0] for d in solution.dims), tuple(d.valid[-1][1] for d in solution.dims)]
        if pinned and all(d.valid for d in solution.dims)
        else []
    )
    for corner in corners:
        run = _run_all(nodes, (*spec.input_shape[:2], *corner), free=True)
        for p, outcome in run.outcomes.items():
            for k, v in nodes[p].pins.items():
                if outcome.inferred.get(k, v) != v:
                    depends.add(f"{k}={v} for {nodes[p].name}")
    notes = list(solution.ignored)
    smallest = _smallest(solution) if own_ok else None
    if smallest is not None:
        run = _run_all(nodes, (*spec.input_shape[:2], *smallest))
        found: dict[str, list[str]] = {}  # note → the nodes that give it
        for p, outcome in run.outcomes.items():
            if not nodes[p].notes:
                for note in outcome.notes:
                    found.setdefault(note, []).append(f"{nodes[p].name} {nodes[p].type}")
        new = [
            f"{', '.join(where[:3])}{f' and {len(where) - 3} more' if len(where) > 3 else ''}: {note}"
            for note, where in found.items()
        ]
        if new:
            at = ", ".join(f"{a} = {x}" for a, x in zip(names, smallest, strict=True))
            shown = "; ".join(new[:3]) + (f"; … and {len(new) - 3} more" if len(new) > 3 else "")
            notes.append(f"at {at}, the smallest valid input: {shown}")
    return replace(
        solution,
        pinned=tuple(pinned),
        pinned_sizes=tuple(p for p in pinned if p in depends),
        axes=names,
        ignored=tuple(notes),
    )


def _smallest(solution: InputSolution) -> tuple[int, ...] | None:
    """The valid input with the fewest elements (ties: the first in order)."""
    best: tuple[int, ...] | None = None
    for family in solution.families:
        corner = tuple(lo for lo, _ in family.ranges)
        if best is None or (math.prod(corner), corner) < (math.prod(best), best):
            best = corner
    return best


def _solve(
    spec: Spec,
    nodes: list[_Node],
    marked: list[int],
    outputs: tuple[int, ...],
    own_ok: bool,
    n: int,
    size: int,
) -> InputSolution | int:
    names = AXES[n]
    own = spec.input[1:]
    joint = _downstream(nodes, marked)
    # rows kept are worked out over a range that depends on the net only, not on --max
    try:
        periods = [_period(nodes, joint, j, n) for j in range(n)]
    except Exception:  # a window the layer cannot describe per axis
        periods = [1] * n
    period = max(periods)
    # rows kept: sizes up to three periods past the first valid one (a range set by the net)
    analysis = 3 * period + 64 if 3 * period + 64 <= ANALYSIS_CAP else ANALYSIS_MIN
    analysis = max(analysis, ANALYSIS_MIN, *(o + 1 for o in own if o < ANALYSIS_CAP))
    while True:
        span = max(size, analysis)
        try:
            axes = [
                _per_axis(nodes, joint, j, n, span, analysis, periods[j], outputs) for j in range(n)
            ]
        except _Tied as exc:
            return exc.node
        if 3 * period + 64 > ANALYSIS_CAP:
            break
        firsts = [
            next((x for x in range(1, analysis + 1) if a.failed[x - 1] is None), 0) for a in axes
        ]
        needed = max(f + 3 * period + 64 if f else ANALYSIS_CAP for f in firsts)
        if needed <= analysis or analysis >= ANALYSIS_CAP:
            break
        analysis = min(needed, ANALYSIS_CAP)
    valid_axis = [[x for x in range(1, size + 1) if a.failed[x - 1] is None] for a in axes]

    # the place the expressions describe: the first non-separable node's input, or the output
    cut_nodes = sorted(
        {
            k
            for p in range(len(nodes))
            if joint[p]
            for k in nodes[p].inputs
            if k == -1 or not joint[k]
        }
    )
    if cut_nodes:
        target = min(cut_nodes)
        first_joint = next(p for p in range(len(nodes)) if joint[p])
        at = nodes[first_joint].name
    else:
        target = outputs[0] if outputs else len(nodes) - 1
        at = "output"

    dims = []
    for j, a in enumerate(axes):
        expression = a.expressions.get(target, _Expr(names[j]))
        blocked = _blocked_along(a, nodes, size)
        kept = _kept(a, nodes, j, n, own[j], analysis, target, at)
        dims.append(
            DimAnalysis(
                a.name,
                expression.text(),
                intervals(valid_axis[j]),
                blocked,
                at,
                describe(valid_axis[j], size),
                kept,
            )
        )

    joint_blocked: list[Blocked] = []
    boxes: list[tuple[tuple[int, ...], ...]] = []
    symbolic = True
    if not all(valid_axis):
        classes: list[list[_Class]] = [[_Class(tuple(v), ())] if v else [] for v in valid_axis]
    else:
        rep = tuple(
            o if own_ok and o <= size and o in set(v) else v[0]
            for o, v in zip(own, valid_axis, strict=True)
        )
        ref = _run_all(nodes, (*spec.input_shape[:2], *rep))
        shapes, first = ref.shapes, ref.first
        if first is not None and not joint[first]:
            return first  # a separable node refused sizes each axis accepts: solve it jointly
        # the spec's own sizes, when valid, keep their trace's shapes for the cut
        joint_part = _Joint(nodes, joint, axes, valid_axis, n)
        classes = joint_part.classes
        if joint_part.order:
            joint_part.set_lead(shapes)
            start = tuple(
                next(c for c, cl in enumerate(joint_part.classes[j]) if rep[j] in cl.sizes)
                for j in range(n)
            )
            try:
                leaves = joint_part.symbolic(start)
                failures: dict[int, tuple[str, tuple[int, ...], bool]] = {}
                for leaf in leaves:
                    if leaf.verdict[0] == "ok":
                        boxes.extend(solve(leaf.guards, joint_part.space))
                    elif leaf.verdict[1] not in failures:
                        every = len(leaves) == 1  # one path, and it fails
                        failures[leaf.verdict[1]] = (leaf.verdict[2], leaf.witness, every)
            except Escape:
                symbolic = False
                boxes, plain = joint_part.one_by_one()
                every = not boxes and len(plain) == 1
                failures = {p: (r, w, every) for p, (r, w) in plain.items()}
            for p in sorted(failures):
                rule, witness, every = failures[p]
                node = nodes[p]
                example = ", ".join(
                    f"{names[j]} ∈ {_class_text(classes[j][witness[j]])}" for j in range(n)
                )
                first_sizes = classes[0][witness[0]].sizes
                joint_blocked.append(
                    Blocked(
                        ",".join(names),
                        first_sizes[0] if not every else 1,
                        first_sizes[-1] if not every else size,
                        node.index,
                        node.name,
                        node.type,
                        rule,
                        "" if every else example,
                        node.path,
                        every=every,
                    )
                )
        else:
            boxes = [tuple(tuple(range(len(c))) for c in classes)]
        # a node each axis accepts alone may still refuse a combination (it ties the axes):
        # check the corners of the answer with plain runs
        corner = _check_corners(spec, nodes, joint, classes, boxes, valid_axis, n)
        if corner is not None:
            return corner

    families, total, count, valid, square = _families(boxes, classes, names, size)
    per_axis_product = math.prod(sum(hi - lo + 1 for lo, hi in v) for v in valid)
    notes = _kept_notes(dims)
    return InputSolution(
        spec.name,
        tuple(spec.input[:1]),
        size,
        tuple(dims),
        tuple(families),
        count == per_axis_product,
        valid[names.index("H")] if "H" in names else (),
        valid[names.index("W")] if "W" in names else (),
        square,
        tuple(joint_blocked),
        notes,
        (),
        names,
        tuple(valid),
        count,
        total,
        symbolic,
        tuple(describe([x for lo, hi in v for x in range(lo, hi + 1)], size) for v in valid),
        describe([x for lo, hi in square for x in range(lo, hi + 1)], size),
    )


def _check_corners(
    spec: Spec,
    nodes: Sequence[_Node],
    joint: Sequence[bool],
    classes: Sequence[Sequence[_Class]],
    boxes: Sequence[tuple[tuple[int, ...], ...]],
    valid_axis: Sequence[Sequence[int]],
    n: int,
) -> int | None:
    """A separable node whose plain run refuses a corner input the answer accepts, or None."""
    index = [{x: c for c, cl in enumerate(axis) for x in cl.sizes} for axis in classes]
    accepted = {tuple(box) for box in boxes}
    for corner in {tuple(v[0] for v in valid_axis), tuple(v[-1] for v in valid_axis)}:
        combo = tuple(index[j][x] for j, x in enumerate(corner))
        if not any(all(combo[j] in box[j] for j in range(n)) for box in accepted):
            continue
        first = _run_all(nodes, (*spec.input_shape[:2], *corner)).first
        if first is not None and not joint[first]:
            return first
    return None


def _class_text(cl: _Class) -> str:
    runs = intervals(cl.sizes)
    return f"[{runs[0][0]}, {runs[0][1]}]" if len(runs) == 1 else ranges_text(runs)


def _families(
    boxes: Sequence[tuple[tuple[int, ...], ...]],
    classes: Sequence[Sequence[_Class]],
    names: tuple[str, ...],
    size: int,
) -> tuple[list[Family], int, int, list[Intervals], Intervals]:
    """Boxes of classes as rectangles of size intervals (merged where they touch), the number of
    rectangles, of valid inputs, the per-axis projections and the sizes valid along every axis."""
    n = len(names)
    count = 0
    projections: list[set[int]] = [set() for _ in range(n)]
    square: set[int] = set()
    per_box: list[list[Intervals]] = []
    total = 0
    for box in boxes:
        sets = [sorted(x for c in box[j] for x in classes[j][c].sizes) for j in range(n)]
        count += math.prod(len(s) for s in sets)
        for j in range(n):
            projections[j].update(sets[j])
        common = set(sets[0]).intersection(*sets[1:])
        square |= common
        runs = [intervals(s) for s in sets]
        total += math.prod(len(r) for r in runs)
        per_box.append(runs)
    rects: list[tuple[tuple[int, int], ...]] = []
    for runs in per_box:
        for rect in itertools.product(*runs):
            rects.append(rect)
            if len(rects) > 4 * FAMILY_LIMIT:
                break
    if len(per_box) > 1 and total <= 4 * FAMILY_LIMIT:
        # one box is a product of maximal runs already; several may touch
        rects = _merge(rects, n)
        total = len(rects)
    rects.sort()
    families = [Family(r, names) for r in rects[:FAMILY_LIMIT]]
    return families, total, count, [intervals(p) for p in projections], intervals(square)


def _merge(rects: list[tuple[tuple[int, int], ...]], n: int) -> list[tuple[tuple[int, int], ...]]:
    """Merge boxes equal in every axis but one and touching along it, one axis after another."""
    for _ in range(2):
        for axis in range(n):
            rects.sort(key=lambda r: (*(r[k] for k in range(n) if k != axis), r[axis]))
            merged: list[tuple[tuple[int, int], ...]] = []
            for r in rects:
                last = merged[-1] if merged else None
                if (
                    last is not None
                    and all(last[k] == r[k] for k in range(n) if k != axis)
                    and r[axis][0] == last[axis][1] + 1
                ):
                    merged[-1] = tuple(
                        (last[k][0], r[k][1]) if k == axis else last[k] for k in range(n)
                    )
                else:
                    merged.append(r)
            rects = merged
    return rects


def _blocked_along(a: _Axis, nodes: Sequence[_Node], size: int) -> tuple[Blocked, ...]:
    by_node: dict[int, list[int]] = {}
    for x in range(1, size + 1):
        p = a.failed[x - 1]
        if p is not None:
            by_node.setdefault(p, []).append(x)
    out = []
    for p in sorted(by_node, key=lambda k: by_node[k][0]):
        xs = by_node[p]
        node = nodes[p]
        first, rule = a.reasons[p]
        example = first if first <= size else xs[0]
        out.append(
            Blocked(
                a.name,
                xs[0],
                xs[-1],
                node.index,
                node.name,
                node.type,
                f"{rule} (at {a.name} = {example})",
                field=node.path,
                sizes=intervals(xs),
                sizes_text=describe(xs, size),
            )
        )
    return tuple(out)


def _kept(
    a: _Axis, nodes: Sequence[_Node], j: int, n: int, own: int, analysis: int, target: int, at: str
) -> Kept | None:
    """Which valid sizes keep every row along this axis, stated for all sizes."""
    valid = [x for x in range(1, analysis + 1) if a.failed[x - 1] is None]
    losing = [x for x in valid if a.drops[x - 1]]
    if not losing:
        return None
    unit = UNIT.get(a.name, "position")
    kept = set(valid) - set(losing)
    period, residues, start = _kept_period(valid, kept, a.period)
    cutters = sorted({p for x in losing for ps, _, _ in a.drops[x - 1] for p in ps})
    # the rule reads "<rule> keep every row"
    head = sorted(x for x in kept if x < start) if period else sorted(kept)
    parts = []
    if head:
        parts.append(ranges_text(intervals(head)) if len(head) > 1 else f"{a.name} = {head[0]}")
    if period and residues:
        family = _residues_text(period, residues)
        parts.append(family if start <= valid[0] else f"{family} from {start}")
    elif not period:
        parts[-1:] = [f"{describe(sorted(kept), analysis)} (sizes checked up to {analysis})"]
    rule = "only " + " and ".join(parts) if parts else "no valid size"
    cause = _strides_text(nodes, cutters, j, n)
    x = own if own in losing else next((v for v in losing if v > own), losing[0])
    detail = ", ".join(
        f"{' and '.join(nodes[p].name for p in ps)} drop{'s' if len(ps) == 1 else ''} {d} of {s}"
        for ps, d, s in a.drops[x - 1]
    )
    example = f"{a.name} = {x}: {detail}"
    sizes = a.arrays.get(target)
    if sizes is not None:
        same = next(
            (k for k in range(x - 1, 0, -1) if k in kept and sizes[k - 1] == sizes[x - 1]), None
        )
        if same is not None:
            where = "output" if at == "output" else f"size at {at}"
            example += f"; {a.name} = {same} gives the same {where}"
    text = f"{a.name}: {_kept_text(rule, unit, cause)}"
    return Kept(a.name, text, period, residues, example, rule, cause, start, intervals(head))


def _kept_text(rule: str, units: str, cause: str) -> str:
    """``only multiples of 8 keep every row and column (elsewhere …)``"""
    plural = " and ".join(u + "s" for u in units.split(" and "))
    if rule == "no valid size":
        return f"no valid size keeps every {units}: some {plural} no window reads ({cause})"
    return f"{rule} keep every {units}; the others lose {plural} that no window reads ({cause})"


def _kept_notes(dims: Sequence[DimAnalysis]) -> tuple[str, ...]:
    """One note per distinct rule; axes with the same rule and cause share it."""
    groups: dict[tuple[str, str], list[Kept]] = {}
    for d in dims:
        if d.kept is not None:
            groups.setdefault((d.kept.rule, d.kept.cause), []).append(d.kept)
    notes = []
    for (rule, cause), kept in groups.items():
        axes = ", ".join(k.axis for k in kept)
        units = " and ".join(dict.fromkeys(UNIT.get(k.axis, "position") for k in kept))
        notes.append(f"{axes}: {_kept_text(rule, units, cause)}; e.g. {kept[0].example}")
    return tuple(notes)


def _strides_text(nodes: Sequence[_Node], cutters: Sequence[int], j: int, n: int) -> str:
    """``3 layers of stride 2: maxpool1, maxpool2, maxpool3``"""
    by_stride: dict[int, list[str]] = {}
    for p in cutters:
        op = nodes[p].op
        assert isinstance(op, Layer)
        window = op.window(_layer_axis(op, j, n))
        by_stride.setdefault(window.stride if window is not None else 0, []).append(nodes[p].name)
    parts = []
    for stride, layer_names in sorted(by_stride.items()):
        count = len(layer_names)
        what = f"{count} layer{'s' if count > 1 else ''}"
        if stride > 1:
            what += f" of stride {stride}"
        parts.append(f"{what}: {', '.join(layer_names)}")
    return "; ".join(parts)


def _kept_period(
    valid: Sequence[int], kept: set[int], bound: int
) -> tuple[int, tuple[int, ...], int]:
    """(p, residues, start): from ``start`` on, a valid size keeps every row exactly when its
    residue mod p is in ``residues``; p is the smallest divisor of ``bound`` (a period of the net)
    for which that holds over at least two of the net's periods. (0, (), 0) when none does."""
    if not valid:
        return 0, (), 0
    top = valid[-1]
    for p in sorted(d for d in range(1, min(bound, 1 << 16) + 1) if bound % d == 0):
        # the smallest start from which membership repeats with period p
        start = top
        for x in reversed(valid):
            if x + p <= top and (x in kept) != (x + p in kept) and (x + p) in set(valid):
                break
            start = x
        if top - start < 2 * bound:
            continue  # the pattern repeats with bound: see it twice before stating it
        residues = tuple(sorted({x % p for x in kept if x >= start}))
        if all((x in kept) == (x % p in residues) for x in valid if x >= start):
            return p, residues, start
    return 0, (), 0


__all__ = [
    "Blocked",
    "DimAnalysis",
    "Family",
    "InputSolution",
    "Kept",
    "describe",
    "intervals",
    "solve_input",
]
