"""Pooling: MaxPool1d/2d/3d and AvgPool1d/2d/3d."""

from __future__ import annotations

import math
from typing import Any, ClassVar, Literal

from pydantic import Field, field_validator, model_validator

from ..errors import LayerError
from ..formulas import DimStep, Window, check_pool_padding, dropped_note, pool_dim
from .base import (
    INPUT,
    NON_NEGATIVE,
    POSITIVE,
    FieldRuleError,
    Flag,
    Outcome,
    Shape,
    Stored,
    int_tuple_validator,
    new_tensor,
    positive_or_none,
    register,
    shape_str,
    strict_bool,
)
from .spatial import Spatial, int_or_tuple, spatial_shape


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
        if 0 in shape:
            raise LayerError(
                f"{self.type_name()} expects a non-empty input, but got {shape_str(shape)}"
            )
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
        if strict_bool(value):
            raise ValueError(
                "return_indices: true makes the layer return a pair (output, indices), which "
                "the next layer cannot take; leave it false (MaxUnpool is not supported)"
            )
        return value

    def dilations(self) -> tuple[int, ...]:
        return self.dilation

    def saved(
        self, shapes: tuple[Shape, ...], output: Shape, grads: tuple[bool, ...], trainable: bool
    ) -> tuple[Stored, ...]:
        """``max_pool*_with_indices`` keeps its input and the int64 index of every maximum."""
        return (INPUT, new_tensor(math.prod(output), 8))

    def workspace(self, shapes: tuple[Shape, ...], output: Shape) -> tuple[Stored, ...]:
        """On the CPU an inference forward computes the indices too, and drops them."""
        return (new_tensor(math.prod(output), 8),)


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
