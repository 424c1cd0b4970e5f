"""Output-size formulas of convolution and pooling, one spatial dimension at a time.

Each function mirrors the ``Shape:`` section of a PyTorch layer doc and the checks ATen makes before
it runs the layer (``aten/src/ATen/native/Pool.h``, ``ConvUtils.h``). They work on plain integers, so
1-d, 2-d and 3-d layers share them, and return a :class:`DimStep` that explains the number.
"""

from __future__ import annotations

from dataclasses import dataclass

from .errors import LayerError

__all__ = [
    "DimStep",
    "Window",
    "conv_dim",
    "conv_size",
    "conv_transpose_dim",
    "conv_transpose_size",
    "effective_kernel",
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
