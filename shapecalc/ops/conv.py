"""Convolution: Conv1d, Conv2d, Conv3d and the transposed ConvTranspose1d, ConvTranspose2d, ConvTranspose3d."""

from __future__ import annotations

import math
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from ..errors import LayerError
from ..formulas import (
    DimStep,
    PaddedSlide,
    Reach,
    Slide,
    Spread,
    Window,
    conv_dim,
    conv_transpose_dim,
    dropped_note,
    same_padding,
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
    choice,
    int_tuple,
    int_tuple_validator,
    new_tensor,
    positive_or_none,
    register,
)
from .spatial import Spatial, int_or_tuple, spatial_shape

PADDING_MODES = ("zeros", "reflect", "replicate", "circular")


class ConvNd(Spatial):
    """Convolution over ``n`` spatial dims.

    Shape (https://pytorch.org/docs/stable/generated/torch.nn.Conv2d.html): input (N, C_in, *S) or
    (C_in, *S), output (N, C_out, *S_out) with, per spatial dim,
    ``S_out = ⌊(S + 2·padding − dilation·(kernel_size − 1) − 1) / stride⌋ + 1``.
    """

    family = "convolution"
    stem = "conv"
    numbered = True
    inferable = ("in_channels",)
    collapsible = ("kernel_size", "stride", "padding", "dilation")

    in_channels: int | None = None
    out_channels: int
    kernel_size: tuple[int, ...]
    # int defaults, made n-tuples by the validators, so each rank needs no defaults of its own
    stride: tuple[int, ...] = Field(default=1, validate_default=True)
    padding: tuple[int, ...] | Literal["same", "valid"] = Field(default=0, validate_default=True)
    dilation: tuple[int, ...] = Field(default=1, validate_default=True)
    groups: int = 1
    bias: Flag = True
    padding_mode: Literal["zeros", "reflect", "replicate", "circular"] = "zeros"

    _positive = int_tuple_validator("kernel_size", "stride", "dilation", minimum=1, what=POSITIVE)

    @field_validator("padding", mode="before")
    @classmethod
    def _padding(cls, value: object) -> object:
        if isinstance(value, str):
            if value not in ("same", "valid"):
                raise ValueError(
                    f"must be 'same', 'valid' or a non-negative integer, but got {value!r}"
                )
            return value
        return int_tuple(value, cls.n, 0, NON_NEGATIVE)

    @field_validator("in_channels", mode="before")
    @classmethod
    def _in_channels(cls, value: object) -> object:
        return positive_or_none(value)

    @field_validator("out_channels", "groups", mode="before")
    @classmethod
    def _sizes(cls, value: object) -> object:
        return check_int(value, 1, POSITIVE)

    @field_validator("padding_mode", mode="before")
    @classmethod
    def _padding_mode(cls, value: object) -> object:
        return choice(value, PADDING_MODES)

    @model_validator(mode="after")
    def _torch_constructor_rules(self) -> ConvNd:
        # the rules torch's _ConvNd.__init__ enforces with a ValueError
        if self.padding == "same" and any(s != 1 for s in self.stride):
            raise FieldRuleError(
                "padding",
                f"padding='same' is not supported for strided convolutions (stride="
                f"{list(self.stride)}); use stride 1, or an explicit padding (shapecalc "
                "solve-padding finds one)",
            )
        if self.out_channels % self.groups:
            raise FieldRuleError(
                "groups",
                f"out_channels must be divisible by groups, but got out_channels="
                f"{self.out_channels} and groups={self.groups}",
            )
        if self.in_channels is not None and self.in_channels % self.groups:
            raise FieldRuleError(
                "groups",
                f"in_channels must be divisible by groups, but got in_channels="
                f"{self.in_channels} and groups={self.groups}",
            )
        return self

    def pads(self) -> list[tuple[int, int]]:
        """(left, right) padding per spatial dim; 'same' pads the extra one on the right."""
        if self.padding == "same":
            return [
                same_padding(k, d) for k, d in zip(self.kernel_size, self.dilation, strict=True)
            ]
        if self.padding == "valid":
            return [(0, 0)] * self.n
        return [(p, p) for p in self.padding]

    def window(self, i: int) -> Window:
        left, right = self.pads()[i]
        return Window(self.kernel_size[i], self.stride[i], left, right, self.dilation[i])

    def reach(self, dim: int, shapes: tuple[Shape, ...], output: Shape, k: int = 0) -> Reach | None:
        """The window; with a padding_mode other than 'zeros' the padding copies input values."""
        i = dim - (len(shapes[0]) - self.n)
        if not 0 <= i < self.n:
            return None
        if self.padding_mode == "zeros":
            return Slide(self.window(i))
        return PaddedSlide(self.window(i), self.padding_mode)

    def dim_step(self, i: int, size: int) -> DimStep:
        """Spatial dimension ``i`` of size ``size``: the conv formula and the padding-mode limits."""
        axis = self.axes()[i]
        left, right = self.pads()[i]
        big = max(left, right)
        if self.padding_mode == "reflect" and big >= size:
            raise LayerError(
                f"padding_mode='reflect' needs padding smaller than the input, but got "
                f"padding {big} for {axis} = {size}",
                "Use a smaller padding, padding_mode 'replicate' or 'zeros', or a larger input",
                field="padding",
            )
        if self.padding_mode == "circular" and big > size:
            raise LayerError(
                f"padding_mode='circular' needs padding at most the input size, but got "
                f"padding {big} for {axis} = {size} (it would wrap around more than once)",
                "Use a smaller padding, another padding_mode, or a larger input",
                field="padding",
            )
        return conv_dim(
            axis, size, self.kernel_size[i], self.stride[i], left, right, self.dilation[i]
        )

    def infer(self, shape: Shape) -> Outcome:
        lead, spatial = self.split(shape)
        channels = lead[-1]
        notes: list[str] = []
        if self.in_channels is not None and self.in_channels != channels:
            raise LayerError(
                f"in_channels is {self.in_channels}, but the incoming tensor has {channels} channels",
                f"Set in_channels: {channels}, or leave it out to infer it",
                field="in_channels",
            )
        if channels % self.groups:
            raise LayerError(
                f"in_channels must be divisible by groups, but the incoming tensor has {channels} "
                f"channels and groups={self.groups}",
                "Change groups to a divisor of the channel count",
                field="groups",
            )
        if self.padding == "same" and any(left != right for left, right in self.pads()):
            notes.append(
                "padding='same' with an even effective kernel pads one more on the right/bottom "
                "(torch warns that it may need a zero-padded copy of the input)"
            )
        dims = tuple(self.dim_step(i, size) for i, size in enumerate(spatial))
        if note := dropped_note(dims):
            notes.append(note)
        weights = self.out_channels * (channels // self.groups) * math.prod(self.kernel_size)
        params = weights + (self.out_channels if self.bias else 0)
        output = (*lead[:-1], self.out_channels, *(d.size_out for d in dims))
        return Outcome(output, params, dims, notes=tuple(notes), inferred={"in_channels": channels})

    def mult_adds(self, input_shapes: tuple[Shape, ...], outcome: Outcome) -> int:
        """torchinfo's convention for convolutions: params × N × the output's spatial positions."""
        out = outcome.output
        return outcome.params * out[0] * math.prod(out[2:])

    def saved(
        self, shapes: tuple[Shape, ...], output: Shape, grads: tuple[bool, ...], trainable: bool
    ) -> tuple[Stored, ...]:
        """The input, or the padded copy of it the convolution reads when torch pads first:
        padding_mode other than 'zeros' (F.pad; 'reflect' and 'replicate' keep their input too
        when it needs a gradient), or padding='same' with an even effective kernel
        (``constant_pad_nd`` of the one extra position on the right)."""
        padded = self._padded(shapes[0])
        if padded is None:
            return (INPUT,)
        copies = self.padding_mode in ("reflect", "replicate")
        kept = (INPUT,) if grads[0] and copies else ()
        return (*kept, padded)

    def workspace(self, shapes: tuple[Shape, ...], output: Shape, itemsize: int) -> int:
        """The padded copy of the input, when torch pads before convolving."""
        padded = self._padded(shapes[0])
        return 0 if padded is None else padded.nbytes(itemsize)

    def _padded(self, shape: Shape) -> Stored | None:
        """The copy torch pads the input into before convolving, if it does."""
        lead, spatial = self.split(shape)
        pads = self.pads()
        if self.padding_mode != "zeros":
            sizes = [n + left + right for n, (left, right) in zip(spatial, pads, strict=True)]
        elif any(left != right for left, right in pads):
            sizes = [n + right - left for n, (left, right) in zip(spatial, pads, strict=True)]
        else:
            return None
        batch = lead[0] if len(lead) == 2 else 1
        return new_tensor(batch * lead[-1] * math.prod(sizes))

    def flops(self, shapes: tuple[Shape, ...], output: Shape) -> int:
        """FlopCounterMode's ``conv_flop_count``: 2 · N · output positions · C_out · C_in/groups ·
        kernel elements (bias not counted)."""
        lead, spatial = self.split(output)
        batch = lead[0] if len(lead) == 2 else 1
        c_in = shapes[0][-self.n - 1] // self.groups
        return (
            2 * batch * math.prod(spatial) * self.out_channels * c_in * math.prod(self.kernel_size)
        )

    @classmethod
    def examples(cls, st: Any) -> Any:
        n = cls.n

        def draw(draw: Any) -> tuple[dict[str, Any], Shape]:
            shape = draw(spatial_shape(st, n))
            channels = shape[-n - 1]
            args: dict[str, Any] = {
                "out_channels": draw(st.integers(1, 6)),
                "kernel_size": draw(int_or_tuple(st, n, 1, 7)),
            }
            # mostly the right channel count, sometimes a wrong one
            args["in_channels"] = channels if draw(st.integers(0, 5)) else draw(st.integers(1, 6))
            if draw(st.booleans()):
                args["stride"] = draw(int_or_tuple(st, n, 1, 4))
            if draw(st.booleans()):
                args["padding"] = draw(
                    st.one_of(int_or_tuple(st, n, 0, 5), st.sampled_from(["same", "valid"]))
                )
            if draw(st.booleans()):
                args["dilation"] = draw(int_or_tuple(st, n, 1, 3))
            if draw(st.booleans()):
                args["groups"] = draw(st.integers(1, 4))
            if draw(st.booleans()):
                args["padding_mode"] = draw(st.sampled_from(PADDING_MODES))
            if draw(st.booleans()):
                args["bias"] = draw(st.booleans())
            return args, shape

        return st.composite(draw)()


@register
class Conv1d(ConvNd):
    """1-D convolution (https://pytorch.org/docs/stable/generated/torch.nn.Conv1d.html).

    Shape: (N, C_in, L) or (C_in, L) → (N, C_out, L_out),
    ``L_out = ⌊(L + 2·padding − dilation·(kernel_size − 1) − 1) / stride⌋ + 1``.
    """

    n = 1
    type: Literal["Conv1d"] = "Conv1d"


@register
class Conv2d(ConvNd):
    """2-D convolution (https://pytorch.org/docs/stable/generated/torch.nn.Conv2d.html).

    Shape: (N, C_in, H, W) or (C_in, H, W) → (N, C_out, H_out, W_out), per dim
    ``H_out = ⌊(H + 2·padding − dilation·(kernel_size − 1) − 1) / stride⌋ + 1``.
    """

    n = 2
    type: Literal["Conv2d"] = "Conv2d"


@register
class Conv3d(ConvNd):
    """3-D convolution (https://pytorch.org/docs/stable/generated/torch.nn.Conv3d.html).

    Shape: (N, C_in, D, H, W) or (C_in, D, H, W) → (N, C_out, D_out, H_out, W_out), per dim
    ``D_out = ⌊(D + 2·padding − dilation·(kernel_size − 1) − 1) / stride⌋ + 1``.
    """

    n = 3
    type: Literal["Conv3d"] = "Conv3d"


class ConvTransposeNd(Spatial):
    """Transposed convolution over ``n`` spatial dims (the gradient of a convolution).

    Shape (https://pytorch.org/docs/stable/generated/torch.nn.ConvTranspose2d.html): input
    (N, C_in, *S) or (C_in, *S), output (N, C_out, *S_out) with, per spatial dim,
    ``S_out = (S − 1)·stride − 2·padding + dilation·(kernel_size − 1) + output_padding + 1``.
    Weight (C_in, C_out / groups, *kernel_size), plus a bias of C_out.
    """

    family = "convolution"
    stem = "convt"
    numbered = True
    inferable = ("in_channels",)
    collapsible = ("kernel_size", "stride", "padding", "output_padding", "dilation")

    # torch's argument order: dilation comes after bias here
    in_channels: int | None = None
    out_channels: int
    kernel_size: tuple[int, ...]
    stride: tuple[int, ...] = Field(default=1, validate_default=True)
    padding: tuple[int, ...] = Field(default=0, validate_default=True)
    output_padding: tuple[int, ...] = Field(default=0, validate_default=True)
    groups: int = 1
    bias: Flag = True
    dilation: tuple[int, ...] = Field(default=1, validate_default=True)
    padding_mode: Literal["zeros"] = "zeros"

    _positive = int_tuple_validator("kernel_size", "stride", "dilation", minimum=1, what=POSITIVE)
    _output_padding = int_tuple_validator("output_padding", minimum=0, what=NON_NEGATIVE)

    @field_validator("padding", mode="before")
    @classmethod
    def _padding(cls, value: object) -> object:
        if isinstance(value, str):
            raise ValueError(
                f"must be a non-negative integer or a list of {cls.n} such integers, but got "
                f"{value!r} (transposed convolutions take no 'same' or 'valid')"
            )
        return int_tuple(value, cls.n, 0, NON_NEGATIVE)

    @field_validator("in_channels", mode="before")
    @classmethod
    def _in_channels(cls, value: object) -> object:
        return positive_or_none(value)

    @field_validator("out_channels", "groups", mode="before")
    @classmethod
    def _sizes(cls, value: object) -> object:
        return check_int(value, 1, POSITIVE)

    @field_validator("padding_mode", mode="before")
    @classmethod
    def _padding_mode(cls, value: object) -> object:
        if choice(value, PADDING_MODES) != "zeros":
            raise ValueError(
                f"only 'zeros' padding mode is supported for {cls.type_name()}, but got "
                f"{value!r}; leave padding_mode out"
            )
        return value

    @model_validator(mode="after")
    def _torch_constructor_rules(self) -> ConvTransposeNd:
        if self.out_channels % self.groups:
            raise FieldRuleError(
                "groups",
                f"out_channels must be divisible by groups, but got out_channels="
                f"{self.out_channels} and groups={self.groups}",
            )
        if self.in_channels is not None and self.in_channels % self.groups:
            raise FieldRuleError(
                "groups",
                f"in_channels must be divisible by groups, but got in_channels="
                f"{self.in_channels} and groups={self.groups}",
            )
        # ATen's slow_conv_transpose shape check (torch raises it on the first forward pass)
        for axis, op, s, d in zip(
            self.axes(), self.output_padding, self.stride, self.dilation, strict=True
        ):
            if op >= s and op >= d:
                raise FieldRuleError(
                    "output_padding",
                    f"output padding must be smaller than either stride or dilation, but got "
                    f"output_padding={op} with stride={s} and dilation={d} along {axis}; use "
                    f"output_padding at most {max(s, d) - 1}, or a larger stride",
                )
        return self

    def dim_step(self, i: int, size: int) -> DimStep:
        """Spatial dimension ``i`` of size ``size``: the transposed-convolution formula."""
        return conv_transpose_dim(
            self.axes()[i],
            size,
            self.kernel_size[i],
            self.stride[i],
            self.padding[i],
            self.output_padding[i],
            self.dilation[i],
        )

    def infer(self, shape: Shape) -> Outcome:
        lead, spatial = self.split(shape)
        channels = lead[-1]
        if self.in_channels is not None and self.in_channels != channels:
            raise LayerError(
                f"in_channels is {self.in_channels}, but the incoming tensor has {channels} channels",
                f"Set in_channels: {channels}, or leave it out to infer it",
                field="in_channels",
            )
        if channels % self.groups:
            raise LayerError(
                f"in_channels must be divisible by groups, but the incoming tensor has {channels} "
                f"channels and groups={self.groups}",
                "Change groups to a divisor of the channel count",
                field="groups",
            )
        dims = tuple(self.dim_step(i, size) for i, size in enumerate(spatial))
        weights = channels * (self.out_channels // self.groups) * math.prod(self.kernel_size)
        params = weights + (self.out_channels if self.bias else 0)
        output = (*lead[:-1], self.out_channels, *(d.size_out for d in dims))
        return Outcome(output, params, dims, inferred={"in_channels": channels})

    def reach(self, dim: int, shapes: tuple[Shape, ...], output: Shape, k: int = 0) -> Reach | None:
        """Output o receives input i when ``o = i·stride − padding + t·dilation``, t < kernel."""
        i = dim - (len(shapes[0]) - self.n)
        if not 0 <= i < self.n:
            return None
        return Spread(self.kernel_size[i], self.stride[i], self.padding[i], self.dilation[i])

    def flops(self, shapes: tuple[Shape, ...], output: Shape) -> int:
        """FlopCounterMode's transposed ``conv_flop_count``: 2 · N · *input* positions · C_in ·
        C_out/groups · kernel elements (bias not counted)."""
        lead, spatial = self.split(shapes[0])
        batch = lead[0] if len(lead) == 2 else 1
        per = lead[-1] * (self.out_channels // self.groups) * math.prod(self.kernel_size)
        return 2 * batch * math.prod(spatial) * per

    def mult_adds(self, input_shapes: tuple[Shape, ...], outcome: Outcome) -> int:
        """torchinfo's convention for every class named Conv*: params × N × output positions."""
        out = outcome.output
        return outcome.params * out[0] * math.prod(out[2:])

    @classmethod
    def examples(cls, st: Any) -> Any:
        n = cls.n

        def draw(draw: Any) -> tuple[dict[str, Any], Shape]:
            shape = draw(spatial_shape(st, n, 1, 8))
            channels = shape[-n - 1]
            args: dict[str, Any] = {
                "out_channels": draw(st.integers(1, 6)),
                "kernel_size": draw(int_or_tuple(st, n, 1, 5)),
            }
            args["in_channels"] = channels if draw(st.integers(0, 5)) else draw(st.integers(1, 6))
            if draw(st.booleans()):
                args["stride"] = draw(int_or_tuple(st, n, 1, 3))
            if draw(st.booleans()):
                args["padding"] = draw(int_or_tuple(st, n, 0, 4))
            if draw(st.booleans()):
                args["output_padding"] = draw(int_or_tuple(st, n, 0, 3))
            if draw(st.booleans()):
                args["dilation"] = draw(int_or_tuple(st, n, 1, 3))
            if draw(st.booleans()):
                args["groups"] = draw(st.integers(1, 4))
            if draw(st.integers(0, 5)) == 0:
                args["padding_mode"] = draw(st.sampled_from(PADDING_MODES))
            if draw(st.booleans()):
                args["bias"] = draw(st.booleans())
            return args, shape

        return st.composite(draw)()


@register
class ConvTranspose1d(ConvTransposeNd):
    """1-D transposed convolution
    (https://pytorch.org/docs/stable/generated/torch.nn.ConvTranspose1d.html).

    Shape: (N, C_in, L) or (C_in, L) → (N, C_out, L_out),
    ``L_out = (L − 1)·stride − 2·padding + dilation·(kernel_size − 1) + output_padding + 1``.
    """

    n = 1
    type: Literal["ConvTranspose1d"] = "ConvTranspose1d"


@register
class ConvTranspose2d(ConvTransposeNd):
    """2-D transposed convolution, the learned upsampling of decoders and GAN generators
    (https://pytorch.org/docs/stable/generated/torch.nn.ConvTranspose2d.html).

    Shape: (N, C_in, H, W) or (C_in, H, W) → (N, C_out, H_out, W_out), per dim
    ``H_out = (H − 1)·stride − 2·padding + dilation·(kernel_size − 1) + output_padding + 1``.
    """

    n = 2
    type: Literal["ConvTranspose2d"] = "ConvTranspose2d"


@register
class ConvTranspose3d(ConvTransposeNd):
    """3-D transposed convolution
    (https://pytorch.org/docs/stable/generated/torch.nn.ConvTranspose3d.html).

    Shape: (N, C_in, D, H, W) or (C_in, D, H, W) → (N, C_out, D_out, H_out, W_out), per dim
    ``D_out = (D − 1)·stride − 2·padding + dilation·(kernel_size − 1) + output_padding + 1``.
    """

    n = 3
    type: Literal["ConvTranspose3d"] = "ConvTranspose3d"
