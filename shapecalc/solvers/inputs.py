"""``solve_input``: which input sizes a whole net accepts.

Each spatial dimension is treated on its own through the separable part of the net (convolutions,
pooling and shape-keeping layers), then the joint (H, W) classes are checked against the rest
(Flatten, Linear).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from ..errors import LayerError, ShapeError
from ..ops import Layer, Shape
from ..spec import Spec
from ..trace import propagate


@dataclass(frozen=True)
class Blocked:
    """Inputs ruled out: [lo, hi] along an axis (or joint classes), by one layer."""

    axis: str
    lo: int
    hi: int
    layer: int
    layer_name: str
    layer_type: str
    reason: str
    example: str = ""  # for joint (H, W) failures: one pair of ranges that fails this way


@dataclass(frozen=True)
class DimAnalysis:
    """What the separable part of the net does to one spatial dimension."""

    axis: str
    expression: str  # output size as an expression of the input, e.g. ⌊⌊⌊H/2⌋/2⌋/2⌋
    valid: tuple[tuple[int, int], ...]  # inputs that survive the separable layers, as intervals
    blocked: tuple[Blocked, ...]


@dataclass(frozen=True)
class Family:
    """A rectangle of valid inputs: every H in [h_lo, h_hi] with every W in [w_lo, w_hi]."""

    h_lo: int
    h_hi: int
    w_lo: int
    w_hi: int


@dataclass(frozen=True)
class InputSolution:
    """Every input height and width in 1..max_size for which the whole net is valid."""

    name: str
    channels: Shape
    max_size: int
    dims: tuple[DimAnalysis, ...]
    families: tuple[Family, ...]
    separable: bool  # valid set = product of per-dimension intervals
    valid_h: tuple[tuple[int, int], ...]
    valid_w: tuple[tuple[int, int], ...]
    square: tuple[tuple[int, int], ...]  # sizes S for which an S×S input works
    joint_blocked: tuple[Blocked, ...] = ()
    ignored: tuple[str, ...] = field(default=())
    pinned: tuple[str, ...] = field(default=())  # inferred sizes fixed by the spec's own input

    @property
    def ok(self) -> bool:
        return bool(self.families)

    def to_dict(self) -> dict[str, object]:
        return {
            "ok": self.ok,
            "name": self.name,
            "max": self.max_size,
            "separable": self.separable,
            "H": [list(i) for i in self.valid_h],
            "W": [list(i) for i in self.valid_w],
            "square": [list(i) for i in self.square],
            "families": [{"H": [f.h_lo, f.h_hi], "W": [f.w_lo, f.w_hi]} for f in self.families],
            "expressions": {d.axis: d.expression for d in self.dims},
            "blocked": [
                {
                    "axis": b.axis,
                    "range": [b.lo, b.hi],
                    "layer": b.layer,
                    "name": b.layer_name,
                    "type": b.layer_type,
                    "reason": b.reason,
                    "example": b.example or None,
                }
                for b in (*[b for d in self.dims for b in d.blocked], *self.joint_blocked)
            ],
            "ignored": list(self.ignored),
            "pinned": list(self.pinned),
        }


def _intervals(values: Sequence[int]) -> tuple[tuple[int, int], ...]:
    """Sorted ints as maximal runs.

    >>> _intervals([1, 2, 3, 7, 9, 10])
    ((1, 3), (7, 7), (9, 10))
    """
    runs: list[tuple[int, int]] = []
    for v in sorted(values):
        if runs and v == runs[-1][1] + 1:
            runs[-1] = (runs[-1][0], v)
        else:
            runs.append((v, v))
    return tuple(runs)


def _signed(base: str, offset: int) -> str:
    if offset == 0:
        return base
    return f"{base} + {offset}" if offset > 0 else f"{base} − {-offset}"


def _expression(axis: str, layers: Sequence[Layer], i: int) -> str:
    """The output size of dimension i as an expression of the input, offsets folded together."""
    base, offset = axis, 0
    for layer in layers:
        window = layer.window(i)
        if window is None:
            continue
        s, pad2, e = window.stride, window.left + window.right, window.span
        if window.ceil_mode:
            # ⌈(x + 2p − e)/s⌉ + 1, less one when the last window starts in the padding
            base, offset = f"⌈({_signed(base, offset + pad2 - e)})/{s}⌉*", 1
        elif s == 1:
            offset += pad2 - e + 1
        else:
            # ⌊(x + 2p − e)/s⌋ + 1 = ⌊(x + 2p − e + s)/s⌋
            inner = _signed(base, offset + pad2 - e + s)
            base, offset = (f"⌊{inner}/{s}⌋" if inner == base else f"⌊({inner})/{s}⌋"), 0
    return _signed(base, offset)


def unread(layers: Sequence[Layer], i: int, size: int) -> list[int]:
    """Input positions (0-based) along dimension i that no output position depends on."""
    sizes = [size]
    for layer in layers:
        step = layer.dim_step(i, sizes[-1])
        sizes.append(step.size_out if step else sizes[-1])
    needed = [True] * sizes[-1]
    for layer, size_in in zip(reversed(layers), reversed(sizes[:-1]), strict=True):
        window = layer.window(i)
        if window is None:
            continue
        read = [False] * size_in
        for o, wanted in enumerate(needed):
            if wanted:
                for j in range(window.kernel):
                    r = o * window.stride - window.left + j * window.dilation
                    if 0 <= r < size_in:
                        read[r] = True
        needed = read
    return [r for r, used in enumerate(needed) if not used]


def pin_inferred(spec: Spec) -> tuple[tuple[Layer, ...], tuple[str, ...]]:
    """The spec's layers with inferred sizes fixed at the values the spec's own input gives.

    A built module has concrete in_features/in_channels; other inputs must fit those. Where the
    spec's input itself fails, the layers before the failure are pinned and the rest stay free.
    """
    if not spec.is_chain:
        raise ValueError("solve-input takes a chain of layers; this spec is a graph")
    try:
        rows = propagate(spec).rows
    except ShapeError as exc:
        rows = exc.trace.rows if exc.trace else ()
    layers: list[Layer] = [entry.op for entry in spec.layers]  # type: ignore[misc]
    pinned: list[str] = []
    for row, layer in zip(rows, list(layers), strict=False):
        update = {k: v for k, v in row.inferred.items() if getattr(layer, k) is None}
        if update:
            layers[row.index] = layer.model_copy(update=update)
            pinned.extend(f"{k}={v} for {row.name}" for k, v in update.items())
    return tuple(layers), tuple(pinned)


def solve_input(spec: Spec, max_size: int = 1024) -> InputSolution:
    """Every input height and width in 1..max_size for which the whole net is valid.

    Spatial dimensions are independent through the separable layers, so each is solved alone there
    (max_size values × layers). The joint (H, W) question is then asked once per pair of classes
    of inputs that reach the first non-separable layer with the same shape.
    """
    if len(spec.input) != 3:
        raise ValueError(
            f"solve-input needs a [C, H, W] input, but the spec's input is {list(spec.input)}"
        )
    names = spec.layer_names
    layers, pinned = pin_inferred(spec)
    cut = next((j for j, layer in enumerate(layers) if not layer.separable), len(layers))
    prefix, tail = layers[:cut], layers[cut:]
    axes = ("H", "W")

    dims = []
    classes: list[dict[int, list[int]]] = []  # per axis: prefix output -> inputs that give it
    for i, axis in enumerate(axes):
        current = {x: x for x in range(1, max_size + 1)}
        failures: dict[int, tuple[int, str]] = {}
        for index, layer in enumerate(prefix):
            memo: dict[int, int | str] = {}
            for x, size in list(current.items()):
                if size not in memo:
                    try:
                        step = layer.dim_step(i, size)
                        memo[size] = step.size_out if step else size
                    except LayerError as exc:
                        memo[size] = f"{exc.rule} (at {axis} = {x})"
                result = memo[size]
                if isinstance(result, str):
                    failures[x] = (index, result)
                    del current[x]
                else:
                    current[x] = result
        grouped: dict[int, list[int]] = {}
        for x, size in current.items():
            grouped.setdefault(size, []).append(x)
        classes.append(grouped)
        blocked = _blocked_ranges(axis, failures, spec, names)
        dims.append(
            DimAnalysis(axis, _expression(axis, prefix, i), _intervals(list(current)), blocked)
        )

    families: list[Family] = []
    joint_blocked: list[Blocked] = []
    channels = spec.input[:1]
    valid_pairs: list[tuple[list[int], list[int]]] = []
    if classes[0] and classes[1]:
        # channels and other non-spatial rules of the prefix: one representative tells
        h0, w0 = min(classes[0].values())[0], min(classes[1].values())[0]
        prefix_out, failure = _run_layers(prefix, (spec.batch, spec.input[0], h0, w0), 0, {})
        if failure is not None:
            index, reason = failure
            joint_blocked.append(
                Blocked("H,W", 1, max_size, index, names[index], spec.layers[index].type, reason)
            )
        if prefix_out is not None:
            lead = prefix_out[:-2]
            cache: dict[tuple[int, Shape], _Result] = {}
            for h_out, hs in sorted(classes[0].items()):
                for w_out, ws in sorted(classes[1].items()):
                    _, failure = _run_layers(tail, (*lead, h_out, w_out), cut, cache)
                    if failure is None:
                        valid_pairs.append((hs, ws))
                    else:
                        index, reason = failure
                        example = f"H ∈ [{min(hs)}, {max(hs)}], W ∈ [{min(ws)}, {max(ws)}]"
                        joint_blocked.append(
                            Blocked(
                                "H,W",
                                min(hs),
                                max(hs),
                                index,
                                names[index],
                                spec.layers[index].type,
                                reason,
                                example,
                            )
                        )
    for hs, ws in valid_pairs:
        for h_lo, h_hi in _intervals(hs):
            for w_lo, w_hi in _intervals(ws):
                families.append(Family(h_lo, h_hi, w_lo, w_hi))
    families = _merge(families)
    valid_h = _intervals(sorted({h for f in families for h in range(f.h_lo, f.h_hi + 1)}))
    valid_w = _intervals(sorted({w for f in families for w in range(f.w_lo, f.w_hi + 1)}))
    count = sum((f.h_hi - f.h_lo + 1) * (f.w_hi - f.w_lo + 1) for f in families)
    product = sum(hi - lo + 1 for lo, hi in valid_h) * sum(hi - lo + 1 for lo, hi in valid_w)
    ignored = _ignored(prefix, names, families)
    square = _intervals(
        sorted({v for f in families for v in range(max(f.h_lo, f.w_lo), min(f.h_hi, f.w_hi) + 1)})
    )
    return InputSolution(
        spec.name,
        channels,
        max_size,
        tuple(dims),
        tuple(families),
        count == product,
        valid_h,
        valid_w,
        square,
        tuple(_summarise(joint_blocked)),
        ignored,
        pinned,
    )


_Result = tuple[Shape | None, tuple[int, str] | None]  # (output shape, or (layer index, reason))


def _run_layers(
    layers: Sequence[Layer], shape: Shape, start: int, cache: dict[tuple[int, Shape], _Result]
) -> _Result:
    """Run ``layers`` (the first is layers[start] of the spec) over ``shape``.

    ``cache`` remembers the outcome from every (position, shape) visited, so inputs that meet
    in one shape (after Flatten, say) are worked out once.
    """
    visited = []
    result: _Result = (shape, None)
    for offset, layer in enumerate(layers):
        key = (offset, shape)
        if key in cache:
            result = cache[key]
            break
        visited.append(key)
        try:
            shape = layer.infer(shape).output
        except LayerError as exc:
            result = (None, (start + offset, exc.rule))
            break
        result = (shape, None)
    for key in visited:
        cache[key] = result
    return result


def _merge(families: list[Family]) -> list[Family]:
    """Merge rectangles that share a W range and touch along H, then the reverse."""
    for _ in range(2):
        families.sort(key=lambda f: (f.w_lo, f.w_hi, f.h_lo))
        merged: list[Family] = []
        for f in families:
            last = merged[-1] if merged else None
            if last and (last.w_lo, last.w_hi) == (f.w_lo, f.w_hi) and f.h_lo == last.h_hi + 1:
                merged[-1] = Family(last.h_lo, f.h_hi, last.w_lo, last.w_hi)
            else:
                merged.append(f)
        families = [Family(f.w_lo, f.w_hi, f.h_lo, f.h_hi) for f in merged]  # transpose
    return sorted(families, key=lambda f: (f.h_lo, f.w_lo))


def _blocked_ranges(
    axis: str, failures: dict[int, tuple[int, str]], spec: Spec, names: list[str]
) -> tuple[Blocked, ...]:
    out: list[Blocked] = []
    for x in sorted(failures):
        index, reason = failures[x]
        last = out[-1] if out else None
        if last and last.layer == index and last.hi == x - 1:
            out[-1] = Blocked(
                axis, last.lo, x, index, last.layer_name, last.layer_type, last.reason
            )
        else:
            out.append(Blocked(axis, x, x, index, names[index], spec.layers[index].type, reason))
    return tuple(out)


def _summarise(blocked: list[Blocked]) -> list[Blocked]:
    """Joint failures grouped by layer: the first example of each, with the H span it covers."""
    by_layer: dict[int, Blocked] = {}
    for b in blocked:
        if b.layer in by_layer:
            first = by_layer[b.layer]
            by_layer[b.layer] = Blocked(
                first.axis,
                min(first.lo, b.lo),
                max(first.hi, b.hi),
                first.layer,
                first.layer_name,
                first.layer_type,
                first.reason,
                first.example,
            )
        else:
            by_layer[b.layer] = b
    return [by_layer[k] for k in sorted(by_layer)]


def dropped(layers: Sequence[Layer], i: int, size: int) -> list[tuple[int, int, int]]:
    """(layer position, rows dropped, rows in) for each windowed layer whose windows miss the
    trailing positions of its own input along dimension i."""
    found = []
    for position, layer in enumerate(layers):
        step = layer.dim_step(i, size)
        window = layer.window(i)
        if step is not None and window is not None:
            last = (step.size_out - 1) * window.stride - window.left + window.span - 1
            if last < size - 1:
                found.append((position, size - 1 - last, size))
        size = step.size_out if step else size
    return found


def _ignored(
    prefix: Sequence[Layer], names: Sequence[str], families: Sequence[Family]
) -> tuple[str, ...]:
    """Warn where the largest input of a range of same-shaped inputs loses rows or columns."""
    notes = []
    for i, (axis, what) in enumerate((("H", "rows"), ("W", "columns"))):
        ranges = sorted({(f.h_lo, f.h_hi) if i == 0 else (f.w_lo, f.w_hi) for f in families})
        for lo, hi in ranges:
            if hi == lo:
                continue
            skipped = unread(prefix, i, hi)
            if skipped:
                shown = ", ".join(str(r + 1) for r in skipped[:8]) + (
                    " …" if len(skipped) > 8 else ""
                )
                notes.append(
                    f"{axis} = {hi}: {len(skipped)} input {what} never reach the output ({shown}); "
                    f"{axis} ∈ [{lo}, {hi}] all give the output shape of {axis} = {lo}"
                )
                continue
            losses = dropped(prefix, i, hi)
            if losses:
                detail = ", ".join(f"{names[p]} drops {n} of {size}" for p, n, size in losses)
                notes.append(
                    f"{axis} ∈ [{lo}, {hi}] all give the output shape of {axis} = {lo}; at {axis} = "
                    f"{hi} trailing {what} are cut inside the net ({detail})"
                )
    return tuple(notes)
