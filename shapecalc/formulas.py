"""Output-size formulas of convolution and pooling, one spatial dimension at a time.

Each function mirrors the ``Shape:`` section of a PyTorch layer doc and the checks ATen makes before
it runs the layer (``aten/src/ATen/native/Pool.h``, ``ConvUtils.h``). They work on plain integers, so
1-d, 2-d and 3-d layers share them, and return a :class:`DimStep` that explains the number.

The :class:`Reach` records say which input positions one output position reads along a dimension
(a sliding window, a transposed convolution, adaptive pooling…); layers declare them and the
receptive-field analysis composes them.
"""

from __future__ import annotations

import math
import struct
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction

from .errors import LayerError

__all__ = [
    "Adaptive",
    "Broadcast",
    "DimStep",
    "Keep",
    "Offset",
    "PaddedSlide",
    "Reach",
    "Resample",
    "Shift",
    "Slide",
    "Spread",
    "Whole",
    "Window",
    "conv_dim",
    "conv_size",
    "conv_transpose_dim",
    "conv_transpose_size",
    "effective_kernel",
    "padded_index",
    "pool_dim",
    "pool_size",
    "same_padding",
]


@dataclass(frozen=True)
class DimStep:
    """How one spatial dimension changes in one layer."""

    axis: str
    size_in: int
    size_out: int
    text: str  # the formula with the numbers substituted, e.g. "H: ⌊(32 + 2·2 − 1·(5−1) − 1)/1⌋ + 1 = 32"
    dropped: int = 0  # trailing input positions no window reads (floor mode cuts them)

    def note(self) -> str | None:
        """A note when the layer leaves trailing input rows/columns unread, else None."""
        return dropped_note((self,))


UNIT = {"H": "row", "W": "column", "L": "position", "D": "plane"}


def dropped_note(dims: tuple[DimStep, ...]) -> str | None:
    """One note for the dims whose floor-mode windows leave trailing input positions unread.

    >>> step = DimStep("H", 75, 37, "", dropped=1)
    >>> dropped_note((step, DimStep("W", 75, 37, "", dropped=1)))
    'H, W: 75 → 37: ⌊⌋ drops the last row and column (75), which no window reads; an input of 74 gives the same output'
    """
    cut = [d for d in dims if d.dropped]
    if not cut:
        return None
    if len({(d.size_in, d.size_out, d.dropped) for d in cut}) > 1:
        return "; ".join(n for d in cut if (n := dropped_note((d,))))
    d = cut[0]
    units = [UNIT.get(c.axis, "position") for c in cut]
    first = d.size_in - d.dropped + 1
    if d.dropped == 1:
        which = f"the last {' and '.join(units)} ({d.size_in})"
    else:
        which = (
            f"the last {d.dropped} {' and '.join(u + 's' for u in units)} ({first}..{d.size_in})"
        )
    axes = ", ".join(c.axis for c in cut)
    return (
        f"{axes}: {d.size_in} → {d.size_out}: ⌊⌋ drops {which}, which no window reads; an "
        f"input of {d.size_in - d.dropped} gives the same output"
    )


@dataclass(frozen=True)
class Window:
    """How a convolution or pooling layer slides along one dimension (kernel, stride, padding)."""

    kernel: int
    stride: int
    left: int
    right: int
    dilation: int
    ceil_mode: bool = False

    @property
    def span(self) -> int:
        """The dilated kernel's extent, ``d·(k−1) + 1``."""
        return effective_kernel(self.kernel, self.dilation)

    def last_read(self, size_in: int, size_out: int) -> int:
        """The last input position (0-based) that some window reads."""
        return min(size_in - 1, (size_out - 1) * self.stride - self.left + self.span - 1)

    def dropped(self, size_in: int, size_out: int) -> int:
        """How many trailing input positions no window reads, when the windows cover the input
        without gaps (with a stride larger than the window, skipping rows is the design)."""
        if self.stride > self.span:
            return 0
        return max(0, size_in - 1 - self.last_read(size_in, size_out))


def effective_kernel(kernel: int, dilation: int) -> int:
    """Span of a dilated kernel: ``d·(k−1) + 1``.

    >>> effective_kernel(3, 2)
    5
    """
    return dilation * (kernel - 1) + 1


def same_padding(kernel: int, dilation: int) -> tuple[int, int]:
    """Left and right padding of ``padding='same'``: ``d·(k−1)`` split with the extra one on the right.

    Mirrors ``torch.nn.modules.conv._ConvNd``: for an even effective kernel the padding is asymmetric.

    >>> same_padding(5, 1), same_padding(4, 1)
    ((2, 2), (1, 2))
    """
    total = dilation * (kernel - 1)
    left = total // 2
    return left, total - left


def _pad_text(pad_l: int, pad_r: int) -> str:
    return f"2·{pad_l}" if pad_l == pad_r else f"{pad_l} + {pad_r}"


def conv_size(size: int, kernel: int, stride: int, pad_l: int, pad_r: int, dilation: int) -> int:
    """``⌊(N + p_l + p_r − d·(k−1) − 1)/s⌋ + 1``, or -1 when the kernel does not fit.

    >>> conv_size(32, 5, 1, 2, 2, 1)
    32
    >>> conv_size(4, 5, 1, 0, 0, 1)
    -1
    """
    padded = size + pad_l + pad_r
    if padded < dilation * (kernel - 1) + 1:
        return -1
    return (padded - dilation * (kernel - 1) - 1) // stride + 1


def conv_dim(
    axis: str, size: int, kernel: int, stride: int, pad_l: int, pad_r: int, dilation: int
) -> DimStep:
    """One dimension of Conv1d/2d/3d.

    Formula (https://pytorch.org/docs/stable/generated/torch.nn.Conv2d.html)::

        out = ⌊(in + 2·padding − dilation·(kernel_size − 1) − 1) / stride⌋ + 1

    torch refuses a kernel wider than the padded input ("Kernel size can't be greater than actual
    input size").

    >>> conv_dim("H", 32, 5, 1, 2, 2, 1).text
    'H: ⌊(32 + 2·2 − 1·(5−1) − 1)/1⌋ + 1 = 32'
    """
    out = conv_size(size, kernel, stride, pad_l, pad_r, dilation)
    span = effective_kernel(kernel, dilation)
    if out < 0:
        raise LayerError(
            f"the kernel spans {span} along {axis} (dilation·(kernel_size−1) + 1 = "
            f"{dilation}·({kernel}−1) + 1), more than the padded input "
            f"{size} + {pad_l + pad_r} = {size + pad_l + pad_r}",
            "Use a smaller kernel_size or dilation, more padding, or a larger input",
        )
    text = (
        f"{axis}: ⌊({size} + {_pad_text(pad_l, pad_r)} − {dilation}·({kernel}−1) − 1)/{stride}⌋"
        f" + 1 = {out}"
    )
    window = Window(kernel, stride, pad_l, pad_r, dilation)
    return DimStep(axis, size, out, text, window.dropped(size, out))


def conv_transpose_size(
    size: int, kernel: int, stride: int, pad: int, output_padding: int, dilation: int
) -> int:
    """``(N − 1)·s − 2·p + d·(k − 1) + output_padding + 1`` (may be below 1: no checks).

    >>> conv_transpose_size(16, 3, 2, 1, 0, 1), conv_transpose_size(16, 3, 2, 1, 1, 1)
    (31, 32)
    """
    return (size - 1) * stride - 2 * pad + dilation * (kernel - 1) + output_padding + 1


def conv_transpose_dim(
    axis: str, size: int, kernel: int, stride: int, pad: int, output_padding: int, dilation: int
) -> DimStep:
    """One dimension of ConvTranspose1d/2d/3d.

    Formula (https://pytorch.org/docs/stable/generated/torch.nn.ConvTranspose2d.html)::

        out = (in − 1)·stride − 2·padding + dilation·(kernel_size − 1) + output_padding + 1

    torch refuses an output below 1 ("Output size is too small").

    >>> conv_transpose_dim("H", 16, 3, 2, 1, 1, 1).text
    'H: (16 − 1)·2 − 2·1 + 1·(3−1) + 1 + 1 = 32'
    """
    out = conv_transpose_size(size, kernel, stride, pad, output_padding, dilation)
    body = f"({size} − 1)·{stride} − 2·{pad} + {dilation}·({kernel}−1) + {output_padding} + 1"
    if out < 1:
        raise LayerError(
            f"output size is too small: {body} = {_signed_number(out)} along {axis}",
            "Use less padding, or a larger kernel_size, stride, dilation or input",
        )
    return DimStep(axis, size, out, f"{axis}: {body} = {out}")


def _signed_number(value: int) -> str:
    """An integer with a typographic minus: ``−1``."""
    return f"−{-value}" if value < 0 else str(value)


def pool_size(size: int, kernel: int, stride: int, pad: int, dilation: int, ceil_mode: bool) -> int:
    """Pooling output size exactly as ATen's ``pooling_output_shape`` computes it (no checks).

    >>> pool_size(5, 2, 2, 1, 1, True)  # the ceil_mode window that would start in the padding is dropped
    3
    """
    numerator = size + 2 * pad - dilation * (kernel - 1) - 1 + (stride - 1 if ceil_mode else 0)
    out = numerator // stride + 1
    # ceil_mode: a last window that would start in the right padding (or past it) is dropped.
    if ceil_mode and (out - 1) * stride >= size + pad:
        out -= 1
    return out


def check_pool_padding(axis: str, kernel: int, pad: int, dilation: int) -> None:
    """Pooling padding may be at most half the kernel (both of ATen's checks)."""
    span = effective_kernel(kernel, dilation)
    # Pool.h checks pad <= span/2 in pooling_output_shape and pad <= k/2 in pool2d_shape_check.
    limit = min(span // 2, kernel // 2)
    if pad > limit:
        raise LayerError(
            f"padding must be at most half the kernel, but got padding={pad} along {axis} with "
            f"kernel_size={kernel} and dilation={dilation}",
            f"Set padding to at most {limit}",
            field="padding",
        )


def pool_dim(
    axis: str, size: int, kernel: int, stride: int, pad: int, dilation: int, ceil_mode: bool
) -> DimStep:
    """One dimension of MaxPool/AvgPool 1d/2d/3d.

    Formula (https://pytorch.org/docs/stable/generated/torch.nn.MaxPool2d.html)::

        out = ⌊(in + 2·padding − dilation·(kernel_size − 1) − 1) / stride⌋ + 1   (⌈⌉ with ceil_mode)

    With ``ceil_mode`` a last window that would start in the right padding is dropped, so
    MaxPool2d(2, stride=2, padding=1, ceil_mode=True) maps 5 to 3, not 4.

    >>> pool_dim("H", 32, 2, 2, 0, 1, False).text
    'H: ⌊(32 + 2·0 − 1·(2−1) − 1)/2⌋ + 1 = 16'
    >>> pool_dim("H", 5, 2, 2, 1, 1, True).text
    'H: ⌈(5 + 2·1 − 1·(2−1) − 1)/2⌉ + 1 = 4 → 3 (the last window would start in the padding)'
    >>> pool_dim("H", 5, 2, 2, 0, 1, True).text
    'H: ⌈(5 + 2·0 − 1·(2−1) − 1)/2⌉ + 1 = 3'
    >>> pool_dim("H", 75, 2, 2, 0, 1, False).dropped
    1
    """
    check_pool_padding(axis, kernel, pad, dilation)
    out = pool_size(size, kernel, stride, pad, dilation, ceil_mode)
    left, right = ("⌈", "⌉") if ceil_mode else ("⌊", "⌋")
    body = f"{left}({size} + 2·{pad} − {dilation}·({kernel}−1) − 1)/{stride}{right} + 1"
    raw = (
        size + 2 * pad - dilation * (kernel - 1) - 1 + (stride - 1 if ceil_mode else 0)
    ) // stride + 1
    if raw != out:
        where = "in the padding" if pad else "past the input"
        text = f"{axis}: {body} = {raw} → {out} (the last window would start {where})"
    else:
        text = f"{axis}: {body} = {out}"
    if out < 1:
        raise LayerError(
            f"output size is too small: {body} = {out} along {axis}",
            "Use a smaller kernel_size or stride, more padding, or a larger input",
        )
    window = Window(kernel, stride, pad, pad, dilation, ceil_mode)
    return DimStep(axis, size, out, text, window.dropped(size, out))


# --- receptive fields: which input positions one output position reads ------------------------------


class Reach:
    """Which positions of an input one output position reads, along one dimension.

    A layer answers with one of these for each spatial dimension (``Op.reach``); the receptive-field
    analysis composes them. Positions are 0-based and may lie outside the input: a negative position,
    or one at or past the input size, is padding (the convention of Araujo, Norris & Sim, "Computing
    Receptive Fields of Convolutional Neural Networks", Distill 2019, https://distill.pub/2019/computing-receptive-fields/).
    ``positions(u)`` is defined for every integer ``u``, so a later layer's padding can ask for
    positions before the first output.
    """

    # input positions per output position (stride; 1/s when upsampling): an int when whole
    jump: Fraction | int = 1
    whole: bool = False  # every output position reads the whole input, whatever its size
    dim: int | None = None  # the dimension the positions move to in the output (None: the same one)
    merged: bool = False  # the dimension is merged with others (Flatten): positions are not kept

    def positions(self, u: int) -> Sequence[int]:
        """The input positions output position ``u`` reads (empty when it reads none)."""
        return (u,)

    def reads(self, u: int, size: int) -> Sequence[int]:
        """The real positions of an input of ``size`` whose values output ``u`` uses: those of
        ``positions(u)`` inside the input (zero padding reads nothing), unless the layer pads by
        copying (reflect, replicate, circular)."""
        return [p for p in self.positions(u) if 0 <= p < size]

    def bounds(self, u: int, size: int) -> tuple[tuple[int, int] | None, tuple[int, int] | None]:
        """The first and last of ``positions(u)`` and of ``reads(u, size)`` (None when empty);
        layers override it with arithmetic where that is faster."""
        positions, reads = self.positions(u), self.reads(u, size)
        return (
            (positions[0], positions[-1]) if positions else None,
            (reads[0], reads[-1]) if reads else None,
        )

    def formula(self, r: int, j: Fraction | int, start: Fraction) -> tuple[str, int | None]:
        """The rule as text, given the input's field size ``r``, jump ``j`` and start, and the size
        it predicts (None when the rule has no closed form)."""
        return "r kept", r


class Keep(Reach):
    """Output position u reads input position u (element-wise layers, normalisation, merges)."""

    def __init__(self, dim: int | None = None, merged: bool = False) -> None:
        self.dim = dim
        self.merged = merged

    def __repr__(self) -> str:
        return f"Keep(dim={self.dim}, merged={self.merged})"


class Whole(Reach):
    """Every output position reads every input position, whatever the input size (global pooling,
    Linear along this dimension)."""

    whole = True
    jump: Fraction | int = 0

    def __init__(self, why: str = "") -> None:
        self.why = why

    def positions(self, u: int) -> Sequence[int]:  # pragma: no cover - never enumerated
        raise NotImplementedError("a whole-input reach has no finite positions")

    def formula(self, r: int, j: Fraction | int, start: Fraction) -> tuple[str, int | None]:
        return f"whole input ({self.why})" if self.why else "whole input", None

    def __repr__(self) -> str:
        return "Whole()"


class Broadcast(Reach):
    """An input of size 1 broadcast over the output: every output position reads position 0."""

    jump: Fraction | int = 0

    def __init__(self, dim: int | None = None) -> None:
        self.dim = dim

    def positions(self, u: int) -> Sequence[int]:
        return (0,)

    def formula(self, r: int, j: Fraction | int, start: Fraction) -> tuple[str, int | None]:
        return "broadcast: every position reads position 0", r


class Slide(Reach):
    """A sliding window (convolution, pooling): output u reads ``u·s − left + t·d`` for t < k.

    The receptive field grows as ``r_out = r_in + (k_eff − 1)·j_in`` with ``k_eff = d·(k − 1) + 1``,
    and ``j_out = j_in·s`` (Araujo et al. 2019, eq. 2 and 3).

    >>> slide = Slide(Window(kernel=3, stride=2, left=1, right=1, dilation=2))
    >>> list(slide.positions(0)), list(slide.positions(1))
    ([-1, 1, 3], [1, 3, 5])
    >>> slide.formula(6, Fraction(2), Fraction(1, 2))[0]
    'r = 6 + (5−1)·2 = 14, j = 2·2 = 4, start = 0.5 + ((5−1)/2 − 1)·2 = 2.5'
    >>> slide.formula(6, Fraction(2), Fraction(1, 2))[1]
    14
    """

    def __init__(self, window: Window) -> None:
        self.window = window
        self.jump = window.stride
        self._stride, self._left, self._dilation = window.stride, window.left, window.dilation
        self._last = window.dilation * (window.kernel - 1)  # from the first tap to the last

    def positions(self, u: int) -> Sequence[int]:
        first = u * self._stride - self._left
        return range(first, first + self._last + 1, self._dilation)

    def bounds(self, u: int, size: int) -> tuple[tuple[int, int] | None, tuple[int, int] | None]:
        first = u * self._stride - self._left
        last = first + self._last
        d = self._dilation
        lo = first if first >= 0 else first + (-first + d - 1) // d * d
        hi = last if last < size else last - (last - size + d) // d * d
        return (first, last), ((lo, hi) if lo <= hi else None)

    def formula(self, r: int, j: Fraction | int, start: Fraction) -> tuple[str, int | None]:
        w = self.window
        span = w.span
        grown = r + (span - 1) * j
        moved = start + (Fraction(span - 1, 2) - w.left) * j
        out = int(grown) if isinstance(grown, int) or grown.denominator == 1 else None
        return (
            f"r = {r} + ({span}−1)·{_num(j)} = {_num(grown)}, j = {_num(j)}·{w.stride} = "
            f"{_num(j * w.stride)}, start = {_num(start)} + (({span}−1)/2 − {w.left})·{_num(j)} = "
            f"{_num(moved)}"
        ), out

    def __repr__(self) -> str:
        return f"Slide({self.window})"


def padded_index(i: int, size: int, mode: str) -> int:
    """The input position a padding position ``i`` copies (torch.nn.functional.pad's modes).

    >>> [padded_index(i, 4, "reflect") for i in (-2, -1, 4, 5)]
    [2, 1, 2, 1]
    >>> [padded_index(i, 4, "replicate") for i in (-2, 5)], [padded_index(i, 4, "circular") for i in (-1, 4)]
    ([0, 3], [3, 0])
    """
    if 0 <= i < size:
        return i
    if mode == "reflect":
        period = 2 * (size - 1)
        i = abs(i) % period if period else 0
        return period - i if i >= size else i
    if mode == "replicate":
        return min(max(i, 0), size - 1)
    return i % size  # circular


class PaddedSlide(Slide):
    """A sliding window over an input padded by copying its own values (``padding_mode``
    reflect, replicate or circular): the extent is the window's, but a padding position reads the
    input position it copies."""

    def __init__(self, window: Window, mode: str) -> None:
        super().__init__(window)
        self.mode = mode

    def reads(self, u: int, size: int) -> Sequence[int]:
        return sorted({padded_index(p, size, self.mode) for p in self.positions(u)})


class Spread(Reach):
    """A transposed convolution: output o receives input i when ``o = i·s − p + t·d`` for some t < k.

    Each output position reads at most ⌈k·d / s⌉ inputs, and which ones depends on o mod s, so the
    field's size can vary from one output position to the next; the jump is ``j_in / s``.

    >>> spread = Spread(kernel=3, stride=2, padding=1, dilation=1)
    >>> [list(spread.positions(o)) for o in range(4)]
    [[0], [0, 1], [1], [1, 2]]
    """

    def __init__(self, kernel: int, stride: int, padding: int, dilation: int) -> None:
        self.kernel, self.stride, self.padding, self.dilation = kernel, stride, padding, dilation
        self.jump = _ratio(1, stride)

    def positions(self, u: int) -> Sequence[int]:
        full = u + self.padding
        found = [
            (full - t * self.dilation) // self.stride
            for t in range(self.kernel)
            if (full - t * self.dilation) % self.stride == 0
        ]
        return sorted(found)

    def formula(self, r: int, j: Fraction | int, start: Fraction) -> tuple[str, int | None]:
        k, s, d = self.kernel, self.stride, self.dilation
        return (
            f"transposed: each output reads input i with o = i·{s} − {self.padding} + t·{d}, t < {k}",
            None,
        )

    def __repr__(self) -> str:
        return f"Spread(k={self.kernel}, s={self.stride}, p={self.padding}, d={self.dilation})"


class Adaptive(Reach):
    """Adaptive pooling from ``size_in`` to ``size_out``: output u reads
    ``⌊u·n/m⌋ … ⌈(u+1)·n/m⌉ − 1`` (ATen's ``start_index`` / ``end_index``); output size 1 reads
    the whole input.

    >>> [list(Adaptive(5, 3).positions(u)) for u in range(3)]
    [[0, 1], [1, 2, 3], [3, 4]]
    >>> Adaptive(7, 1).whole
    True
    """

    def __init__(self, size_in: int, size_out: int) -> None:
        self.size_in, self.size_out = size_in, size_out
        self.jump = _ratio(size_in, size_out)
        self.whole = size_out == 1

    def positions(self, u: int) -> Sequence[int]:
        n, m = self.size_in, self.size_out
        return range((u * n) // m, -((-(u + 1) * n) // m))

    def formula(self, r: int, j: Fraction | int, start: Fraction) -> tuple[str, int | None]:
        n, m = self.size_in, self.size_out
        if self.whole:
            return "whole input (global pooling)", None
        if n % m == 0:
            k = n // m
            text, out = Slide(Window(k, k, 0, 0, 1)).formula(r, j, start)
            return f"adaptive {n}→{m} is a window of {k}: {text}", out
        return f"adaptive {n}→{m}: windows ⌊u·{n}/{m}⌋ … ⌈(u+1)·{n}/{m}⌉−1 (sizes vary)", None

    def __repr__(self) -> str:
        return f"Adaptive({self.size_in}, {self.size_out})"


class Offset(Reach):
    """One input of a concatenation along this dimension: output u reads its position u − offset
    when that lies inside it (``size`` positions), nothing otherwise."""

    def __init__(self, offset: int, size: int) -> None:
        self.offset, self.size = offset, size

    def positions(self, u: int) -> Sequence[int]:
        i = u - self.offset
        return (i,) if 0 <= i < self.size else ()

    def formula(self, r: int, j: Fraction | int, start: Fraction) -> tuple[str, int | None]:
        return f"concatenated at offset {self.offset}", r


class Shift(Reach):
    """A padding layer: output u reads input position ``u − before`` (a negative ``before``
    crops). Constant padding reads nothing there; reflect, replicate and circular padding copy an
    input position.

    >>> list(Shift(2, "reflect").reads(0, 4)), list(Shift(2, "constant").reads(0, 4))
    ([2], [])
    """

    def __init__(self, before: int, mode: str = "constant", after: int = 0) -> None:
        self.before, self.mode, self.after = before, mode, after

    def positions(self, u: int) -> Sequence[int]:
        return (u - self.before,)

    def reads(self, u: int, size: int) -> Sequence[int]:
        i = u - self.before
        if self.mode == "constant":
            return (i,) if 0 <= i < size else ()
        if self.mode != "circular":
            return (padded_index(i, size, self.mode),)
        # circular padding crops first (negative sides), then wraps what is left
        lo, hi = max(0, -self.before), size - max(0, -self.after)
        return (lo + padded_index(i - lo, hi - lo, self.mode),)

    def formula(self, r: int, j: Fraction | int, start: Fraction) -> tuple[str, int | None]:
        moved = start - self.before * j
        return f"r kept, start = {_num(start)} − {self.before}·{_num(j)} = {_num(moved)}", r


def _f32(value: float) -> float:
    """``value`` rounded to float32, as ATen computes resampling indices for float32 tensors."""
    return float(struct.unpack("f", struct.pack("f", value))[0])


# a resampling weight this small is what rounding the source index leaves (1e-8 in float32 where
# the CPU fuses the multiply-add, 1e-15 in float64, 0 otherwise): not a read
RESIDUE = 1e-6


class Resample(Reach):
    """Upsample / interpolate along one dimension: the input positions each output reads with a
    weight above RESIDUE, computed as ATen's CPU kernels do in float32 (``UpSample.h``:
    ``nearest_idx``, ``area_pixel_compute_source_index``, ``guard_index_and_lambda``; bicubic
    reads 4 clamped neighbours with the A = −0.75 cubic convolution weights). ``scale`` is the
    scale_factor torch passes on (None when the size was given or recomputed).

    >>> up = Resample(4, 8, "nearest")
    >>> [list(up.positions(u)) for u in range(3)]
    [[0], [0], [1]]
    >>> [list(Resample(4, 8, "bilinear").positions(u)) for u in range(3)]
    [[0], [0, 1], [0, 1]]
    """

    def __init__(
        self,
        size_in: int,
        size_out: int,
        mode: str,
        align_corners: bool = False,
        scale: float | None = None,
    ) -> None:
        self.size_in, self.size_out, self.mode = size_in, size_out, mode
        self.align_corners, self.scale = align_corners, scale
        self.jump = _ratio(size_in, size_out)

    def positions(self, u: int) -> Sequence[int]:
        n, m = self.size_in, self.size_out
        if not 0 <= u < m:  # past the output: a later layer's padding, continued at the mean step
            return ((u * n) // m,)
        if self.mode in ("nearest", "nearest-exact"):
            return (self._nearest(u),)
        if self.mode == "area":
            return Adaptive(n, m).positions(u)
        if self.mode == "bicubic":
            return self._cubic(u)
        return self._linear(u)

    def _ratio(self) -> float:
        n, m = self.size_in, self.size_out
        if self.align_corners:
            return _f32(_f32(n - 1) / (m - 1)) if m > 1 else 0.0
        if self.scale is not None and self.scale > 0:
            return _f32(1.0 / self.scale)
        return _f32(_f32(n) / m)

    def _nearest(self, u: int) -> int:
        n, m = self.size_in, self.size_out
        if self.mode == "nearest":
            if m == n:
                return u
            if m == 2 * n:
                return u >> 1
            return min(math.floor(_f32(u * self._ratio())), n - 1)
        return min(math.floor(_f32(_f32(u + 0.5) * self._ratio())), n - 1)

    def _source(self, u: int, cubic: bool) -> float:
        ratio = self._ratio()
        if self.align_corners:
            return _f32(ratio * u)
        src = _f32(_f32(ratio * _f32(u + 0.5)) - 0.5)
        return 0.0 if not cubic and src < 0 else src

    def _linear(self, u: int) -> Sequence[int]:
        n = self.size_in
        if self.size_out == n:
            return (u,)
        real = self._source(u, False)
        i0 = min(math.floor(real), n - 1)
        lambda1 = min(max(_f32(real - i0), 0.0), 1.0)
        i1 = i0 + (1 if i0 < n - 1 else 0)
        taps = {i0} if lambda1 < 1.0 - RESIDUE else set()
        if lambda1 > RESIDUE:
            taps.add(i1)
        return sorted(taps)

    def _cubic(self, u: int) -> Sequence[int]:
        n, a = self.size_in, -0.75
        real = self._source(u, True)
        i = math.floor(real)
        t = _f32(real - i)

        def near(x: float) -> float:  # |x| <= 1
            return _f32(_f32(_f32(_f32((a + 2) * x) - (a + 3)) * x) * x + 1)

        def far(x: float) -> float:  # 1 < |x| < 2
            inner = _f32(_f32(_f32(a * x) - 5 * a) * x + 8 * a)
            return _f32(_f32(inner * x) - 4 * a)

        weights = (far(_f32(t + 1)), near(t), near(_f32(1 - t)), far(_f32(2 - t)))
        total: dict[int, float] = {}
        for k, w in enumerate(weights):
            j = min(max(i - 1 + k, 0), n - 1)
            total[j] = total.get(j, 0.0) + w
        return sorted(j for j, w in total.items() if abs(w) > RESIDUE)

    def formula(self, r: int, j: Fraction | int, start: Fraction) -> tuple[str, int | None]:
        return f"{self.mode} {self.size_in}→{self.size_out}: j = {_num(j)}·{_num(self.jump)}", None

    def __repr__(self) -> str:
        return f"Resample({self.size_in}, {self.size_out}, {self.mode!r})"


def _ratio(a: int, b: int) -> Fraction | int:
    """a/b, as an int when it is one."""
    return a // b if a % b == 0 else Fraction(a, b)


def _num(value: Fraction | int) -> str:
    """A fraction as a person writes it: 4, 0.5, 1/3."""
    if isinstance(value, int) or value.denominator == 1:
        return str(value.numerator)
    if value.denominator in (2, 4, 5, 8, 10):
        return f"{float(value):g}"
    return f"{value.numerator}/{value.denominator}"
