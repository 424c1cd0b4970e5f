"""Pooling: MaxPool1d/2d/3d, AvgPool1d/2d/3d, LPPool1d/2d/3d, AdaptiveAvgPool1d/2d/3d and
AdaptiveMaxPool1d/2d/3d."""

from __future__ import annotations

import math
from dataclasses import replace
from typing import Any, ClassVar, Literal

from pydantic import Field, field_validator, model_validator

from ..errors import LayerError
from ..formulas import (
    Adaptive,
    DimStep,
    Reach,
    Window,
    check_pool_padding,
    dropped_note,
    pool_dim,
)
from .base import (
    INPUT,
    NON_NEGATIVE,
    POSITIVE,
    FieldRuleError,
    Flag,
    Outcome,
    Shape,
    Stored,
    check_int,
    describe,
    int_tuple_validator,
    new_tensor,
    positive_or_none,
    register,
    shape_str,
    strict_bool,
)
from .spatial import Spatial, int_or_tuple, spatial_shape


def no_indices(value: object) -> bool:
    """``return_indices`` of the max poolings: only false, since true returns a pair."""
    if strict_bool(value):
        raise ValueError(
            "return_indices: true makes the layer return a pair (output, indices), which "
            "the next layer cannot take; leave it false (MaxUnpool is not supported)"
        )
    return False


def non_empty(layer: Spatial, shape: Shape) -> None:
    """Pooling layers take no empty tensors."""
    if 0 in shape:
        raise LayerError(
            f"{layer.type_name()} expects a non-empty input, but got {shape_str(shape)}"
        )


class PoolNd(Spatial):
    """Max or average pooling over ``n`` spatial dims.

    Shape (https://pytorch.org/docs/stable/generated/torch.nn.MaxPool2d.html): per spatial dim
    ``S_out = ⌊(S + 2·padding − dilation·(kernel_size − 1) − 1) / stride⌋ + 1`` (⌈⌉ with
    ceil_mode, where a last window that would start in the right padding is dropped).
    """

    family = "pooling"
    collapsible = ("kernel_size", "stride", "padding", "dilation")

    kernel_size: tuple[int, ...]
    stride: tuple[int, ...] | None = None
    padding: tuple[int, ...] = Field(default=0, validate_default=True)
    ceil_mode: Flag = False

    _positive = int_tuple_validator("kernel_size", "stride", minimum=1, what=POSITIVE)
    _padding = int_tuple_validator("padding", minimum=0, what=NON_NEGATIVE)

    @model_validator(mode="after")
    def _padding_limit(self) -> PoolNd:
        for axis, k, p, d in zip(
            self.axes(), self.kernel_size, self.padding, self.dilations(), strict=True
        ):
            try:
                check_pool_padding(axis, k, p, d)
            except LayerError as exc:
                raise FieldRuleError("padding", f"{exc.rule}. {exc.fix}") from None
        return self

    def dilations(self) -> tuple[int, ...]:
        return (1,) * self.n

    def strides(self) -> tuple[int, ...]:
        """torch's default stride is the kernel size."""
        return self.stride or self.kernel_size

    def window(self, i: int) -> Window:
        p = self.padding[i]
        return Window(
            self.kernel_size[i], self.strides()[i], p, p, self.dilations()[i], self.ceil_mode
        )

    def dim_step(self, i: int, size: int) -> DimStep:
        """Spatial dimension ``i`` of size ``size``: the pooling formula and its checks."""
        return pool_dim(
            self.axes()[i],
            size,
            self.kernel_size[i],
            self.strides()[i],
            self.padding[i],
            self.dilations()[i],
            self.ceil_mode,
        )

    def infer(self, shape: Shape) -> Outcome:
        lead, spatial = self.split(shape)
        non_empty(self, shape)
        dims = tuple(self.dim_step(i, size) for i, size in enumerate(spatial))
        notes = tuple(n for n in (dropped_note(dims),) if n)
        return Outcome((*lead, *(d.size_out for d in dims)), 0, dims, notes=notes)

    @classmethod
    def examples(cls, st: Any) -> Any:
        n = cls.n
        fields = cls.model_fields

        def draw(draw: Any) -> tuple[dict[str, Any], Shape]:
            args: dict[str, Any] = {"kernel_size": draw(int_or_tuple(st, n, 1, 6))}
            if draw(st.booleans()):
                args["stride"] = draw(int_or_tuple(st, n, 1, 4))
            if draw(st.booleans()):
                args["padding"] = draw(int_or_tuple(st, n, 0, 3))
            if "dilation" in fields and draw(st.booleans()):
                args["dilation"] = draw(int_or_tuple(st, n, 1, 3))
            if draw(st.booleans()):
                args["ceil_mode"] = draw(st.booleans())
            if "count_include_pad" in fields and draw(st.booleans()):
                args["count_include_pad"] = draw(st.booleans())
            if "divisor_override" in fields and draw(st.integers(0, 4)) == 0:
                args["divisor_override"] = draw(st.integers(1, 5))
            return args, draw(spatial_shape(st, n))

        return st.composite(draw)()


class MaxPoolNd(PoolNd):
    stem = "maxpool"
    numbered = True

    dilation: tuple[int, ...] = Field(default=1, validate_default=True)
    return_indices: Flag = False

    _dil = int_tuple_validator("dilation", minimum=1, what=POSITIVE)

    @field_validator("return_indices", mode="before")
    @classmethod
    def _return_indices(cls, value: object) -> object:
        return no_indices(value)

    def dilations(self) -> tuple[int, ...]:
        return self.dilation

    def saved(
        self, shapes: tuple[Shape, ...], output: Shape, grads: tuple[bool, ...], trainable: bool
    ) -> tuple[Stored, ...]:
        """``max_pool*_with_indices`` keeps its input and the int64 index of every maximum."""
        return (INPUT, new_tensor(math.prod(output), 8))

    def workspace(self, shapes: tuple[Shape, ...], output: Shape, itemsize: int) -> int:
        """On the CPU an inference forward computes the int64 indices too, and drops them."""
        return math.prod(output) * 8


class AvgPoolNd(PoolNd):
    stem = "avgpool"
    numbered = True

    count_include_pad: Flag = True


class _Divisor(AvgPoolNd):
    divisor_override: int | None = None

    @field_validator("divisor_override", mode="before")
    @classmethod
    def _divisor(cls, value: object) -> object:
        return positive_or_none(value)


@register
class MaxPool1d(MaxPoolNd):
    """1-D max pooling (https://pytorch.org/docs/stable/generated/torch.nn.MaxPool1d.html).

    Shape: (N, C, L) or (C, L) → (N, C, L_out),
    ``L_out = ⌊(L + 2·padding − dilation·(kernel_size − 1) − 1) / stride⌋ + 1`` (⌈⌉ with ceil_mode).
    """

    n: ClassVar[int] = 1
    type: Literal["MaxPool1d"] = "MaxPool1d"


@register
class MaxPool2d(MaxPoolNd):
    """2-D max pooling (https://pytorch.org/docs/stable/generated/torch.nn.MaxPool2d.html).

    Shape: (N, C, H, W) or (C, H, W) → (N, C, H_out, W_out), per dim
    ``H_out = ⌊(H + 2·padding − dilation·(kernel_size − 1) − 1) / stride⌋ + 1`` (⌈⌉ with ceil_mode).
    """

    n: ClassVar[int] = 2
    type: Literal["MaxPool2d"] = "MaxPool2d"


@register
class MaxPool3d(MaxPoolNd):
    """3-D max pooling (https://pytorch.org/docs/stable/generated/torch.nn.MaxPool3d.html).

    Shape: (N, C, D, H, W) or (C, D, H, W) → (N, C, D_out, H_out, W_out), per dim
    ``D_out = ⌊(D + 2·padding − dilation·(kernel_size − 1) − 1) / stride⌋ + 1`` (⌈⌉ with ceil_mode).
    """

    n: ClassVar[int] = 3
    type: Literal["MaxPool3d"] = "MaxPool3d"


@register
class AvgPool1d(AvgPoolNd):
    """1-D average pooling (https://pytorch.org/docs/stable/generated/torch.nn.AvgPool1d.html).

    Shape: (N, C, L) or (C, L) → (N, C, L_out),
    ``L_out = ⌊(L + 2·padding − kernel_size) / stride⌋ + 1`` (⌈⌉ with ceil_mode).
    """

    n: ClassVar[int] = 1
    type: Literal["AvgPool1d"] = "AvgPool1d"


@register
class AvgPool2d(_Divisor):
    """2-D average pooling (https://pytorch.org/docs/stable/generated/torch.nn.AvgPool2d.html).

    Shape: (N, C, H, W) or (C, H, W) → (N, C, H_out, W_out), per dim
    ``H_out = ⌊(H + 2·padding − kernel_size) / stride⌋ + 1`` (⌈⌉ with ceil_mode).
    """

    n: ClassVar[int] = 2
    type: Literal["AvgPool2d"] = "AvgPool2d"


@register
class AvgPool3d(_Divisor):
    """3-D average pooling (https://pytorch.org/docs/stable/generated/torch.nn.AvgPool3d.html).

    Shape: (N, C, D, H, W) or (C, D, H, W) → (N, C, D_out, H_out, W_out), per dim
    ``D_out = ⌊(D + 2·padding − kernel_size) / stride⌋ + 1`` (⌈⌉ with ceil_mode).
    """

    n: ClassVar[int] = 3
    type: Literal["AvgPool3d"] = "AvgPool3d"

    def dim_step(self, i: int, size: int) -> DimStep:
        # ATen's pool3d_shape_check(check_input_size=true), for average pooling only
        if size < self.kernel_size[i]:
            axis = self.axes()[i]
            raise LayerError(
                f"AvgPool3d needs every input dim at least as large as the kernel (torch checks "
                f"before padding), but got {axis} = {size} with kernel_size {self.kernel_size[i]}",
                "Use a smaller kernel_size or a larger input",
            )
        return super().dim_step(i, size)


# --- power-average pooling ---------------------------------------------------------------------------


def lp_norm(value: object) -> float:
    """LPPool's ``norm_type``: any real number but 0 (torch takes the 1/norm_type-th root); ±inf
    (YAML ``.inf``) makes it a max pooling of absolute values."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or math.isnan(value):
        raise ValueError(f"must be a number (p of the p-norm), but got {describe(value)}")
    if value == 0:
        raise ValueError(
            "must not be 0, but got 0 (torch takes the 1/norm_type-th root and raises "
            "ZeroDivisionError); use 1 for sum pooling, 2 for the Euclidean norm"
        )
    return value


class LPPoolNd(Spatial):
    """Power-average pooling: ``(Σ x^p)^(1/p)`` over each window, an average pooling of ``x^p``
    without padding (a max pooling of ``|x|`` for ``norm_type`` ±inf).

    Shape (https://pytorch.org/docs/stable/generated/torch.nn.LPPool2d.html): per spatial dim
    ``S_out = ⌊(S − kernel_size) / stride⌋ + 1`` (⌈⌉ with ceil_mode).
    """

    family = "pooling"
    stem = "lppool"
    numbered = True
    collapsible = ("kernel_size", "stride")

    norm_type: int | float  # an int stays one, so the module prints as torch's would
    kernel_size: tuple[int, ...]
    stride: tuple[int, ...] | None = None
    ceil_mode: Flag = False

    _positive = int_tuple_validator("kernel_size", "stride", minimum=1, what=POSITIVE)

    @field_validator("norm_type", mode="before")
    @classmethod
    def _norm_type(cls, value: object) -> object:
        return lp_norm(value)

    def strides(self) -> tuple[int, ...]:
        """torch's default stride is the kernel size."""
        return self.stride or self.kernel_size

    def window(self, i: int) -> Window:
        return Window(self.kernel_size[i], self.strides()[i], 0, 0, 1, self.ceil_mode)

    def saved(
        self, shapes: tuple[Shape, ...], output: Shape, grads: tuple[bool, ...], trainable: bool
    ) -> tuple[Stored, ...]:
        """F.lp_pool: the input and x^p (input-sized), then four output-sized tensors: the
        average, its sign, relu(|average|) and their scaled product; for ±inf a max-pool of |x|
        (|x| and its int64 indices)."""
        n, o = math.prod(shapes[0]), math.prod(output)
        if math.isinf(self.norm_type):
            return (INPUT, new_tensor(n), new_tensor(o, 8))
        return (INPUT, new_tensor(n), *(new_tensor(o),) * 4)

    def workspace(self, shapes: tuple[Shape, ...], output: Shape, itemsize: int) -> int:
        """Inference temporaries: x^p with the pooled average, then three output-sized results;
        for inf |x| with the indices, for −inf also −|x|."""
        n, o = math.prod(shapes[0]), math.prod(output)
        if self.norm_type == math.inf:
            return n * itemsize + o * 8
        if self.norm_type == -math.inf:
            return max((2 * n - o) * itemsize, n * itemsize + o * 8)
        return max(n, 3 * o) * itemsize

    def dim_step(self, i: int, size: int) -> DimStep:
        """Spatial dimension ``i`` of size ``size``: the pooling formula without padding."""
        k, s = self.kernel_size[i], self.strides()[i]
        # torch's LPPool docs write the formula without padding and dilation
        left, right = ("⌈", "⌉") if self.ceil_mode else ("⌊", "⌋")
        general = f"{left}({size} + 2·0 − 1·({k}−1) − 1)/{s}{right}"
        plain = f"{left}({size} − {k})/{s}{right}"
        try:
            step = pool_dim(self.axes()[i], size, k, s, 0, 1, self.ceil_mode)
        except LayerError as exc:
            fix = "Use a smaller kernel_size or stride, or a larger input"
            raise LayerError(exc.rule.replace(general, plain), fix, exc.field) from None
        return replace(step, text=step.text.replace(general, plain))

    def infer(self, shape: Shape) -> Outcome:
        lead, spatial = self.split(shape)
        non_empty(self, shape)
        dims = tuple(self.dim_step(i, size) for i, size in enumerate(spatial))
        notes = tuple(n for n in (dropped_note(dims),) if n)
        return Outcome((*lead, *(d.size_out for d in dims)), 0, dims, notes=notes)

    @classmethod
    def examples(cls, st: Any) -> Any:
        n = cls.n

        def draw(draw: Any) -> tuple[dict[str, Any], Shape]:
            norm = draw(st.sampled_from([1, 2, 3, 1.5, -1, float("inf"), float("-inf")]))
            kernel = draw(st.integers(1, 6)) if n == 1 else draw(int_or_tuple(st, n, 1, 6))
            args: dict[str, Any] = {"norm_type": norm, "kernel_size": kernel}
            if draw(st.booleans()):
                args["stride"] = draw(int_or_tuple(st, n, 1, 4))
            if draw(st.booleans()):
                args["ceil_mode"] = draw(st.booleans())
            return args, draw(spatial_shape(st, n, 1, 12))

        return st.composite(draw)()


@register
class LPPool1d(LPPoolNd):
    """1-D power-average pooling (https://pytorch.org/docs/stable/generated/torch.nn.LPPool1d.html).

    Shape: (N, C, L) or (C, L) → (N, C, L_out), ``L_out = ⌊(L − kernel_size) / stride⌋ + 1``
    (⌈⌉ with ceil_mode). kernel_size is one integer: torch multiplies the output by it.
    """

    n: ClassVar[int] = 1
    type: Literal["LPPool1d"] = "LPPool1d"

    @field_validator("kernel_size", mode="before")
    @classmethod
    def _one_kernel(cls, value: object) -> object:
        if isinstance(value, (list, tuple)):
            raise ValueError(
                f"must be a positive integer (LPPool1d multiplies its output by kernel_size, so "
                f"torch refuses a list), but got {describe(value)}"
            )
        return (check_int(value, 1, POSITIVE),)


@register
class LPPool2d(LPPoolNd):
    """2-D power-average pooling (https://pytorch.org/docs/stable/generated/torch.nn.LPPool2d.html).

    Shape: (N, C, H, W) or (C, H, W) → (N, C, H_out, W_out), per dim
    ``H_out = ⌊(H − kernel_size) / stride⌋ + 1`` (⌈⌉ with ceil_mode).
    """

    n: ClassVar[int] = 2
    type: Literal["LPPool2d"] = "LPPool2d"


@register
class LPPool3d(LPPoolNd):
    """3-D power-average pooling (https://pytorch.org/docs/stable/generated/torch.nn.LPPool3d.html).

    Shape: (N, C, D, H, W) or (C, D, H, W) → (N, C, D_out, H_out, W_out), per dim
    ``D_out = ⌊(D − kernel_size) / stride⌋ + 1`` (⌈⌉ with ceil_mode).
    """

    n: ClassVar[int] = 3
    type: Literal["LPPool3d"] = "LPPool3d"

    def dim_step(self, i: int, size: int) -> DimStep:
        # avg_pool3d's pool3d_shape_check(check_input_size=true); ±inf goes to max_pool3d instead
        if math.isfinite(self.norm_type) and size < self.kernel_size[i]:
            axis = self.axes()[i]
            raise LayerError(
                f"LPPool3d needs every input dim at least as large as the kernel (it runs "
                f"avg_pool3d, which checks this even with ceil_mode), but got {axis} = {size} "
                f"with kernel_size {self.kernel_size[i]}",
                "Use a smaller kernel_size or a larger input",
            )
        return super().dim_step(i, size)


# --- adaptive pooling --------------------------------------------------------------------------------


def adaptive_windows(size: int, out: int) -> tuple[int, int]:
    """Smallest and largest window of an adaptive pooling from ``size`` to ``out`` positions.

    Window ``i`` covers ``⌊i·size/out⌋ .. ⌈(i+1)·size/out⌉ − 1`` (ATen's ``start_index`` and
    ``end_index`` in AdaptivePooling.h).

    >>> adaptive_windows(13, 7), adaptive_windows(3, 5), adaptive_windows(32, 1)
    ((2, 3), (1, 2), (32, 32))
    """
    lengths = {-(-(i + 1) * size // out) - i * size // out for i in range(out)}
    return min(lengths), max(lengths)


def size_entry(value: object, what: str) -> int:
    """A positive output size; 0 is refused with the reason (torch returns an empty tensor)."""
    if value == 0 and isinstance(value, int) and not isinstance(value, bool):
        raise ValueError(
            f"must be {what}, but got 0 (torch returns an empty tensor, which no later layer "
            "can use)"
        )
    return check_int(value, 1, what)


class AdaptivePoolNd(Spatial):
    """Adaptive pooling: the windows are chosen to give ``output_size`` whatever the input.

    Shape (https://pytorch.org/docs/stable/generated/torch.nn.AdaptiveAvgPool2d.html): (N, C, *S)
    or (C, *S) → (N, C, *output_size); a ``None`` entry keeps that input size.
    """

    family = "pooling"

    # kept as written (an int or a list): torch treats the two forms differently (see infer)
    output_size: int | tuple[int | None, ...]

    @field_validator("output_size", mode="before")
    @classmethod
    def _output_size(cls, value: object) -> object:
        n = cls.n
        entry = POSITIVE if n == 1 else f"{POSITIVE} or null"
        if value is None and n > 1:
            nulls = ", ".join(["null"] * n)
            raise ValueError(
                f"must be a positive integer or a list of {n} entries, but got null (a null "
                f"entry inside the list keeps that input size: [{nulls}])"
            )
        if not isinstance(value, (list, tuple)):
            return size_entry(value, POSITIVE)
        if len(value) != n:
            each = POSITIVE if n == 1 else f"each {POSITIVE}, or null to keep that input size"
            raise ValueError(
                f"must be a positive integer or a list of {n} entries ({each}), but got a "
                f"list of {len(value)}"
            )
        return tuple(None if v is None and n > 1 else size_entry(v, entry) for v in value)

    def sizes(self) -> tuple[int | None, ...]:
        """``output_size`` as one entry per spatial dim."""
        if isinstance(self.output_size, tuple):
            return self.output_size
        return (self.output_size,) * self.n

    def _target(self, i: int, size: int) -> int:
        wanted = self.sizes()[i]
        return size if wanted is None else wanted

    def dim_size(self, i: int, size: int) -> int:
        return self._target(i, size)

    def reach(self, dim: int, shapes: tuple[Shape, ...], output: Shape, k: int = 0) -> Reach | None:
        """ATen's adaptive windows: output u reads ⌊u·n/m⌋ … ⌈(u+1)·n/m⌉ − 1."""
        if dim < len(shapes[0]) - self.n:
            return None
        return Adaptive(shapes[0][dim], output[dim])

    def dim_step(self, i: int, size: int) -> DimStep:
        """Spatial dimension ``i``: ``output_size[i]``, or ``size`` kept for a null entry."""
        axis = self.axes()[i]
        if self.sizes()[i] is None:
            return DimStep(axis, size, size, f"{axis}: {size} (output_size null keeps it)")
        out = self._target(i, size)
        low, high = adaptive_windows(size, out)
        windows = f"windows of {low}" if low == high else f"windows of {low} to {high}"
        return DimStep(axis, size, out, f"{axis}: {size} → {out} (output_size; {windows})")

    def _split_any(self, shape: Shape) -> tuple[Shape, Shape, str | None]:
        """Leading and spatial dims, and a note when torch takes a rank it otherwise refuses."""
        return (*self.split(shape), None)

    def infer(self, shape: Shape) -> Outcome:
        lead, spatial, note = self._split_any(shape)
        non_empty(self, shape)
        dims = tuple(self.dim_step(i, size) for i, size in enumerate(spatial))
        grown = [d for d in dims if d.size_out > d.size_in]
        notes = [note] if note else []
        if grown:
            which = ", ".join(f"{d.axis} {d.size_in} → {d.size_out}" for d in grown)
            notes.append(
                f"output_size is larger than the input ({which}): windows overlap and repeat "
                "input values, so this layer upsamples"
            )
        return Outcome((*lead, *(d.size_out for d in dims)), 0, dims, notes=tuple(notes))

    @classmethod
    def examples(cls, st: Any) -> Any:
        n = cls.n
        entry = st.integers(1, 8) if n == 1 else st.one_of(st.integers(1, 8), st.none())

        def draw(draw: Any) -> tuple[dict[str, Any], Shape]:
            # sometimes a list of another length, a 0 (an empty output) or a tensor of wrong rank
            length = n if draw(st.integers(0, 5)) else draw(st.integers(1, 4))
            size = draw(
                st.one_of(
                    st.integers(1, 8),
                    st.lists(entry, min_size=length, max_size=length),
                    st.integers(0, draw(st.sampled_from([0, 0, 0, 8]))),
                )
            )
            args: dict[str, Any] = {"output_size": size}
            if "return_indices" in cls.model_fields and draw(st.integers(0, 5)) == 0:
                args["return_indices"] = draw(st.booleans())
            if draw(st.integers(0, 7)) == 0:
                rank = draw(st.sampled_from([n, n + 3]))
                return args, tuple(draw(st.integers(1, 6)) for _ in range(rank))
            return args, draw(spatial_shape(st, n, 1, 12))

        return st.composite(draw)()


class AdaptiveAvgPoolNd(AdaptivePoolNd):
    stem = "avgpool"

    def saved(
        self, shapes: tuple[Shape, ...], output: Shape, grads: tuple[bool, ...], trainable: bool
    ) -> tuple[Stored, ...]:
        """The input, except for an output of 1s: ATen takes a mean, which keeps nothing."""
        return () if all(size == 1 for size in output[-self.n :]) else (INPUT,)

    def _split_any(self, shape: Shape) -> tuple[Shape, Shape, str | None]:
        # ATen's adaptive_avg_pool2d/3d compute an output of all 1s as a mean over the last n
        # dims, skipping their rank check: any rank from n (output_size an int) or n + 1 (a list,
        # which F.adaptive_avg_pool2d first matches against the input's dims)
        n = self.n
        lowest = n if isinstance(self.output_size, int) else n + 1
        if n > 1 and len(shape) >= lowest and len(shape) not in (n + 1, n + 2):
            spatial = shape[-n:]
            if all(self._target(i, size) == 1 for i, size in enumerate(spatial)):
                note = (
                    f"torch computes an output of 1s as a mean over the last {n} dims, so it "
                    f"takes this {len(shape)}-D input, which other output sizes refuse"
                )
                return shape[:-n], spatial, note
        return super()._split_any(shape)


class AdaptiveMaxPoolNd(AdaptivePoolNd):
    stem = "maxpool"

    def saved(
        self, shapes: tuple[Shape, ...], output: Shape, grads: tuple[bool, ...], trainable: bool
    ) -> tuple[Stored, ...]:
        """The input and the int64 index of every maximum."""
        return (INPUT, new_tensor(math.prod(output), 8))

    def workspace(self, shapes: tuple[Shape, ...], output: Shape, itemsize: int) -> int:
        """The indices, computed and dropped in inference too."""
        return math.prod(output) * 8

    return_indices: Flag = False

    @field_validator("return_indices", mode="before")
    @classmethod
    def _return_indices(cls, value: object) -> object:
        return no_indices(value)


@register
class AdaptiveAvgPool1d(AdaptiveAvgPoolNd):
    """1-D adaptive average pooling
    (https://pytorch.org/docs/stable/generated/torch.nn.AdaptiveAvgPool1d.html).

    Shape: (N, C, L) or (C, L) → (N, C, output_size).
    """

    n: ClassVar[int] = 1
    type: Literal["AdaptiveAvgPool1d"] = "AdaptiveAvgPool1d"


@register
class AdaptiveAvgPool2d(AdaptiveAvgPoolNd):
    """2-D adaptive average pooling, the head of VGG, ResNet and MobileNet
    (https://pytorch.org/docs/stable/generated/torch.nn.AdaptiveAvgPool2d.html).

    Shape: (N, C, H, W) or (C, H, W) → (N, C, *output_size); a null entry keeps that size.
    """

    n: ClassVar[int] = 2
    type: Literal["AdaptiveAvgPool2d"] = "AdaptiveAvgPool2d"


@register
class AdaptiveAvgPool3d(AdaptiveAvgPoolNd):
    """3-D adaptive average pooling
    (https://pytorch.org/docs/stable/generated/torch.nn.AdaptiveAvgPool3d.html).

    Shape: (N, C, D, H, W) or (C, D, H, W) → (N, C, *output_size); a null entry keeps that size.
    """

    n: ClassVar[int] = 3
    type: Literal["AdaptiveAvgPool3d"] = "AdaptiveAvgPool3d"


@register
class AdaptiveMaxPool1d(AdaptiveMaxPoolNd):
    """1-D adaptive max pooling
    (https://pytorch.org/docs/stable/generated/torch.nn.AdaptiveMaxPool1d.html).

    Shape: (N, C, L) or (C, L) → (N, C, output_size).
    """

    n: ClassVar[int] = 1
    type: Literal["AdaptiveMaxPool1d"] = "AdaptiveMaxPool1d"


@register
class AdaptiveMaxPool2d(AdaptiveMaxPoolNd):
    """2-D adaptive max pooling
    (https://pytorch.org/docs/stable/generated/torch.nn.AdaptiveMaxPool2d.html).

    Shape: (N, C, H, W) or (C, H, W) → (N, C, *output_size); a null entry keeps that size.
    """

    n: ClassVar[int] = 2
    type: Literal["AdaptiveMaxPool2d"] = "AdaptiveMaxPool2d"


@register
class AdaptiveMaxPool3d(AdaptiveMaxPoolNd):
    """3-D adaptive max pooling
    (https://pytorch.org/docs/stable/generated/torch.nn.AdaptiveMaxPool3d.html).

    Shape: (N, C, D, H, W) or (C, D, H, W) → (N, C, *output_size); a null entry keeps that size.
    """

    n: ClassVar[int] = 3
    type: Literal["AdaptiveMaxPool3d"] = "AdaptiveMaxPool3d"
