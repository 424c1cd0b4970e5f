"""Activations: element-wise functions that keep the shape (Softmax and its kin pick a dim; GLU
halves one). PReLU is the one with parameters."""

from __future__ import annotations

import math
from typing import Any, ClassVar, Literal

from pydantic import field_validator, model_validator

from ..errors import LayerError
from ..formulas import Reach, Slide, Whole, Window
from .base import (
    INPUT,
    OUTPUT,
    POSITIVE,
    FieldRuleError,
    Flag,
    Outcome,
    Shape,
    Stored,
    check_dim,
    check_int,
    choice,
    new_tensor,
    number,
    register,
    shape_str,
)
from .shape import ShapeKept, any_shape


class Activation(ShapeKept):
    """An element-wise activation. Shape: kept (any input shape).

    What autograd keeps is declared per class: ``keeps`` the input or the output (the latter
    when the gradient is computed from the result, as for ReLU, Sigmoid, Tanh, Softmax), plus
    ``extra`` tensors of the input's size; in place, ``keeps_inplace`` is "output" (the
    overwritten tensor) or "copy" (a copy of the input made before it is overwritten).
    ``scratch`` input-sized temporaries live while an inference forward runs.
    """

    family = "activation"
    keeps: ClassVar[str] = "input"  # "input", "output" or "none"
    keeps_inplace: ClassVar[str] = "copy"  # "copy" or "output"
    extra: ClassVar[int] = 0
    scratch: ClassVar[int] = 0

    def saved(
        self, shapes: tuple[Shape, ...], output: Shape, grads: tuple[bool, ...], trainable: bool
    ) -> tuple[Stored, ...]:
        """What the class declares (``keeps``, ``extra``, ``keeps_inplace``)."""
        n = math.prod(shapes[0])
        extra = (new_tensor(n),) * self.extra
        if getattr(self, "inplace", False):
            return ((OUTPUT,) if self.keeps_inplace == "output" else (new_tensor(n),)) + extra
        kept = {"input": (INPUT,), "output": (OUTPUT,), "none": ()}[self.keeps]
        return kept + extra

    def workspace(self, shapes: tuple[Shape, ...], output: Shape, itemsize: int) -> int:
        return self.scratch * math.prod(shapes[0]) * itemsize


class InplaceActivation(Activation):
    inplace: Flag = False

    def aliases(self, training: bool) -> bool:
        return self.inplace

    @classmethod
    def examples(cls, st: Any) -> Any:
        return st.tuples(
            st.fixed_dictionaries({}, optional={"inplace": st.booleans()}), any_shape(st)
        )


@register
class ReLU(InplaceActivation):
    """max(0, x) (https://pytorch.org/docs/stable/generated/torch.nn.ReLU.html). Shape: kept."""

    type: Literal["ReLU"] = "ReLU"

    keeps = "output"
    keeps_inplace = "output"


@register
class SiLU(InplaceActivation):
    """x·σ(x) (https://pytorch.org/docs/stable/generated/torch.nn.SiLU.html). Shape: kept."""

    type: Literal["SiLU"] = "SiLU"


@register
class LeakyReLU(InplaceActivation):
    """max(0, x) + negative_slope·min(0, x)
    (https://pytorch.org/docs/stable/generated/torch.nn.LeakyReLU.html). Shape: kept."""

    type: Literal["LeakyReLU"] = "LeakyReLU"

    keeps_inplace = "output"

    negative_slope: float = 0.01

    @field_validator("negative_slope", mode="before")
    @classmethod
    def _slope(cls, value: object) -> object:
        return number(value, "a number")


@register
class GELU(Activation):
    """Gaussian error linear unit (https://pytorch.org/docs/stable/generated/torch.nn.GELU.html).
    Shape: kept."""

    type: Literal["GELU"] = "GELU"

    approximate: Literal["none", "tanh"] = "none"

    @field_validator("approximate", mode="before")
    @classmethod
    def _approx(cls, value: object) -> object:
        return choice(value, ("none", "tanh"))


@register
class Sigmoid(Activation):
    """σ(x) (https://pytorch.org/docs/stable/generated/torch.nn.Sigmoid.html). Shape: kept."""

    type: Literal["Sigmoid"] = "Sigmoid"

    keeps = "output"


@register
class Tanh(Activation):
    """tanh(x) (https://pytorch.org/docs/stable/generated/torch.nn.Tanh.html). Shape: kept."""

    type: Literal["Tanh"] = "Tanh"

    keeps = "output"


class DimActivation(Activation):
    """Softmax and its kin: normalise along ``dim``."""

    keeps = "output"

    dim: int | None = None

    @field_validator("dim", mode="before")
    @classmethod
    def _dim(cls, value: object) -> object:
        return None if value is None else check_int(value, None, "an integer")

    def infer(self, shape: Shape) -> Outcome:
        ndim = len(shape)
        if self.dim is None:
            # torch's legacy _get_softmax_dim
            chosen = 0 if ndim in (0, 1, 3) else 1
            return Outcome(
                shape,
                formula="shape kept",
                notes=(f"no dim given: torch picks dim={chosen} and warns; set dim explicitly",),
            )
        check_dim(self.dim, ndim, "dim")
        return Outcome(shape, formula="shape kept")

    def softmax_dim(self, ndim: int) -> int:
        """The dimension it normalises (torch's legacy choice when ``dim`` is not given)."""
        if self.dim is None:
            return 0 if ndim in (0, 1, 3) else 1
        return self.dim % ndim

    def reach(self, dim: int, shapes: tuple[Shape, ...], output: Shape, k: int = 0) -> Reach | None:
        """Each output depends on every position along the normalised dimension."""
        return Whole(self.type) if dim == self.softmax_dim(len(shapes[0])) else None

    @classmethod
    def examples(cls, st: Any) -> Any:
        args = st.fixed_dictionaries({}, optional={"dim": st.integers(-4, 4)})
        return st.tuples(args, any_shape(st))


@register
class Softmax(DimActivation):
    """exp(x_i) / Σ_j exp(x_j) along ``dim``
    (https://pytorch.org/docs/stable/generated/torch.nn.Softmax.html). Shape: kept."""

    type: Literal["Softmax"] = "Softmax"


@register
class Softmin(DimActivation):
    """exp(−x_i) / Σ_j exp(−x_j) along ``dim``
    (https://pytorch.org/docs/stable/generated/torch.nn.Softmin.html). Shape: kept."""

    type: Literal["Softmin"] = "Softmin"

    scratch = 1  # −x


@register
class LogSoftmax(DimActivation):
    """log(softmax(x)) along ``dim``
    (https://pytorch.org/docs/stable/generated/torch.nn.LogSoftmax.html). Shape: kept."""

    type: Literal["LogSoftmax"] = "LogSoftmax"


@register
class Softmax2d(Activation):
    """Softmax over the channels at each spatial position
    (https://pytorch.org/docs/stable/generated/torch.nn.Softmax2d.html).

    Shape: (N, C, H, W) or (C, H, W), kept; torch refuses other ranks.
    """

    type: Literal["Softmax2d"] = "Softmax2d"

    keeps = "output"
    rank = 2

    def infer(self, shape: Shape) -> Outcome:
        if len(shape) not in (3, 4):
            raise LayerError(
                f"Softmax2d expects a 4-D (N, C, H, W) or 3-D (C, H, W) input, but got a "
                f"{len(shape)}-D tensor {shape_str(shape)}",
                "Use Softmax with a dim for other ranks",
            )
        return Outcome(shape, formula="shape kept (softmax over dim -3, the channels)")


# --- element-wise functions with numeric arguments ---------------------------------------------------


@register
class ReLU6(InplaceActivation):
    """min(max(0, x), 6) (https://pytorch.org/docs/stable/generated/torch.nn.ReLU6.html).
    Shape: kept."""

    type: Literal["ReLU6"] = "ReLU6"


@register
class SELU(InplaceActivation):
    """scale·(max(0, x) + min(0, α·(exp(x) − 1)))
    (https://pytorch.org/docs/stable/generated/torch.nn.SELU.html). Shape: kept."""

    type: Literal["SELU"] = "SELU"

    keeps_inplace = "output"


@register
class Mish(InplaceActivation):
    """x·tanh(softplus(x)) (https://pytorch.org/docs/stable/generated/torch.nn.Mish.html).
    Shape: kept."""

    type: Literal["Mish"] = "Mish"


@register
class Hardswish(InplaceActivation):
    """x·ReLU6(x + 3)/6 (https://pytorch.org/docs/stable/generated/torch.nn.Hardswish.html).
    Shape: kept."""

    type: Literal["Hardswish"] = "Hardswish"


@register
class Hardsigmoid(InplaceActivation):
    """ReLU6(x + 3)/6 (https://pytorch.org/docs/stable/generated/torch.nn.Hardsigmoid.html).
    Shape: kept."""

    type: Literal["Hardsigmoid"] = "Hardsigmoid"


@register
class Tanhshrink(Activation):
    """x − tanh(x) (https://pytorch.org/docs/stable/generated/torch.nn.Tanhshrink.html).
    Shape: kept."""

    type: Literal["Tanhshrink"] = "Tanhshrink"

    keeps = "none"
    extra = 1  # tanh(x)
    scratch = 1


@register
class LogSigmoid(Activation):
    """log(σ(x)) (https://pytorch.org/docs/stable/generated/torch.nn.LogSigmoid.html).
    Shape: kept."""

    type: Literal["LogSigmoid"] = "LogSigmoid"

    extra = 1  # the buffer log_sigmoid_forward returns
    scratch = 1


@register
class Softsign(Activation):
    """x / (1 + |x|) (https://pytorch.org/docs/stable/generated/torch.nn.Softsign.html).
    Shape: kept."""

    type: Literal["Softsign"] = "Softsign"

    extra = 1  # 1 + |x|
    scratch = 1


def _number_args(
    st: Any, *names: str, required: tuple[str, ...] = (), flags: tuple[str, ...] = ()
) -> Any:
    """Hypothesis: numeric arguments, each an int or float, some negative, some zero."""
    values = st.sampled_from([-2.0, -0.5, 0, 0.5, 1, 3.0])
    optional = {name: values for name in names} | {flag: st.booleans() for flag in flags}
    return st.fixed_dictionaries({name: values for name in required}, optional=optional)


class AlphaActivation(InplaceActivation):
    keeps_inplace: ClassVar[str] = "output"

    alpha: float = 1.0

    @field_validator("alpha", mode="before")
    @classmethod
    def _alpha(cls, value: object) -> object:
        return number(value, "a number")

    def infer(self, shape: Shape) -> Outcome:
        notes: tuple[str, ...] = ()
        if self.inplace and self.alpha < 0:
            notes = (
                f"inplace with a negative alpha ({self.alpha:g}): the forward pass works, but "
                "torch refuses the backward pass ('In-place elu backward calculation is "
                "triggered with a negative slope'); set inplace: false to train",
            )
        return Outcome(shape, formula="shape kept", notes=notes)

    @classmethod
    def examples(cls, st: Any) -> Any:
        return st.tuples(_number_args(st, "alpha", flags=("inplace",)), any_shape(st))


@register
class ELU(AlphaActivation):
    """x for x > 0, α·(exp(x) − 1) otherwise
    (https://pytorch.org/docs/stable/generated/torch.nn.ELU.html). Shape: kept."""

    type: Literal["ELU"] = "ELU"


@register
class CELU(AlphaActivation):
    """max(0, x) + min(0, α·(exp(x/α) − 1))
    (https://pytorch.org/docs/stable/generated/torch.nn.CELU.html). Shape: kept; torch refuses
    ``alpha: 0`` (it divides by α)."""

    type: Literal["CELU"] = "CELU"

    @model_validator(mode="after")
    def _nonzero(self) -> CELU:
        if self.alpha == 0:
            raise FieldRuleError(
                "alpha", "alpha cannot be 0 for CELU (it divides by alpha), but got alpha=0"
            )
        return self


@register
class Hardtanh(InplaceActivation):
    """x clamped to [min_val, max_val]
    (https://pytorch.org/docs/stable/generated/torch.nn.Hardtanh.html). Shape: kept; torch
    requires ``max_val > min_val``."""

    type: Literal["Hardtanh"] = "Hardtanh"

    min_val: float = -1.0
    max_val: float = 1.0

    @field_validator("min_val", "max_val", mode="before")
    @classmethod
    def _bounds(cls, value: object) -> object:
        return number(value, "a number")

    @model_validator(mode="after")
    def _ordered(self) -> Hardtanh:
        if self.max_val <= self.min_val:
            raise FieldRuleError(
                "max_val",
                f"max_val must be greater than min_val, but got max_val={self.max_val:g} and "
                f"min_val={self.min_val:g}",
            )
        return self

    @classmethod
    def examples(cls, st: Any) -> Any:
        return st.tuples(_number_args(st, "min_val", "max_val", flags=("inplace",)), any_shape(st))


class ShrinkActivation(Activation):
    lambd: float = 0.5

    @field_validator("lambd", mode="before")
    @classmethod
    def _lambd(cls, value: object) -> object:
        return number(value, "a number")

    @classmethod
    def examples(cls, st: Any) -> Any:
        return st.tuples(_number_args(st, "lambd"), any_shape(st))


@register
class Hardshrink(ShrinkActivation):
    """x where |x| > λ, else 0 (https://pytorch.org/docs/stable/generated/torch.nn.Hardshrink.html).
    Shape: kept."""

    type: Literal["Hardshrink"] = "Hardshrink"


# float32's largest value: torch checks lambd against the input's dtype
FLOAT32_MAX = 3.4028234663852886e38


@register
class Softshrink(ShrinkActivation):
    """x − λ·sign(x) where |x| > λ, else 0
    (https://pytorch.org/docs/stable/generated/torch.nn.Softshrink.html). Shape: kept; torch
    requires ``lambd`` ≥ 0 (at the forward pass, for any input)."""

    type: Literal["Softshrink"] = "Softshrink"

    @model_validator(mode="after")
    def _non_negative(self) -> Softshrink:
        if not 0 <= self.lambd <= FLOAT32_MAX:
            raise FieldRuleError(
                "lambd",
                f"lambd must be in [0, {FLOAT32_MAX:g}] (float32's range), but got "
                f"lambd={self.lambd:g}",
            )
        return self


@register
class Threshold(InplaceActivation):
    """x where x > threshold, else ``value``
    (https://pytorch.org/docs/stable/generated/torch.nn.Threshold.html). Shape: kept."""

    type: Literal["Threshold"] = "Threshold"

    threshold: float
    value: float

    @field_validator("threshold", "value", mode="before")
    @classmethod
    def _numbers(cls, value: object) -> object:
        return number(value, "a number")

    @classmethod
    def examples(cls, st: Any) -> Any:
        return st.tuples(
            _number_args(st, required=("threshold", "value"), flags=("inplace",)), any_shape(st)
        )


@register
class Softplus(Activation):
    """(1/β)·log(1 + exp(β·x)), linear above ``threshold``
    (https://pytorch.org/docs/stable/generated/torch.nn.Softplus.html). Shape: kept."""

    type: Literal["Softplus"] = "Softplus"

    beta: float = 1.0
    threshold: float = 20.0

    @field_validator("beta", "threshold", mode="before")
    @classmethod
    def _numbers(cls, value: object) -> object:
        return number(value, "a number")

    @classmethod
    def examples(cls, st: Any) -> Any:
        return st.tuples(_number_args(st, "beta", "threshold"), any_shape(st))


# --- activations with parameters or a shape rule ----------------------------------------------------


@register
class PReLU(Activation):
    """max(0, x) + a·min(0, x) with a learnt slope ``a``, one, or one per channel
    (https://pytorch.org/docs/stable/generated/torch.nn.PReLU.html).

    Shape: kept. ``num_parameters`` is 1 (one slope shared) or the channel count, which torch
    reads at dim 1 whatever the rank (1 for a 1-D input): an unbatched (C, H, W) tensor has H
    channels for PReLU. As in torch it is never inferred. Parameters: ``num_parameters``;
    multiply-adds N × parameters (torchinfo's convention).
    """

    type: Literal["PReLU"] = "PReLU"
    numbered = True

    num_parameters: int = 1
    init: float = 0.25

    @field_validator("num_parameters", mode="before")
    @classmethod
    def _count(cls, value: object) -> object:
        return check_int(value, 1, POSITIVE)

    @field_validator("init", mode="before")
    @classmethod
    def _init(cls, value: object) -> object:
        return number(value, "a number")

    def infer(self, shape: Shape) -> Outcome:
        channels = shape[1] if len(shape) >= 2 else 1
        if self.num_parameters not in (1, channels):
            where = "dim 1" if len(shape) >= 2 else "a 1-D input has one"
            fix = f"Set num_parameters: {channels} (one slope per channel) or 1 (one shared)"
            if len(shape) == 3 and shape[0] == self.num_parameters:
                fix += "; torch reads channels at dim 1 even for an unbatched (C, H, W) input"
            raise LayerError(
                f"num_parameters must be 1 or the number of channels, but got "
                f"num_parameters={self.num_parameters} for input {shape_str(shape)} with "
                f"{channels} channels ({where})",
                fix,
                field="num_parameters",
            )
        return Outcome(shape, self.num_parameters, formula="shape kept")

    @classmethod
    def examples(cls, st: Any) -> Any:
        def draw(draw: Any) -> tuple[dict[str, Any], Shape]:
            shape = draw(any_shape(st))
            args: dict[str, Any] = {}
            choice = draw(st.integers(0, 3))
            if choice == 1:
                args["num_parameters"] = shape[1] if len(shape) >= 2 else 1
            elif choice == 2:
                args["num_parameters"] = draw(st.integers(1, 5))
            if draw(st.booleans()):
                args["init"] = draw(st.sampled_from([0.0, 0.25, -1]))
            return args, shape

        return st.composite(draw)()


@register
class GLU(Activation):
    """Gated linear unit: the first half of ``dim`` times σ(the second half)
    (https://pytorch.org/docs/stable/generated/torch.nn.GLU.html).

    Shape: (*, S, *) → (*, S/2, *) along ``dim`` (default -1, the last); S must be even.
    """

    type: Literal["GLU"] = "GLU"
    separable = False  # it halves a dimension, which may be a spatial one

    dim: int = -1

    @field_validator("dim", mode="before")
    @classmethod
    def _dim(cls, value: object) -> object:
        return check_int(value, None, "an integer")

    def reach(self, dim: int, shapes: tuple[Shape, ...], output: Shape, k: int = 0) -> Reach | None:
        """Along ``dim`` output u reads u and u + half (the value and its gate)."""
        if dim != self.dim % len(shapes[0]):
            return None
        return Slide(Window(2, 1, 0, 0, shapes[0][dim] // 2))

    def infer(self, shape: Shape) -> Outcome:
        d = check_dim(self.dim, len(shape), "dim")
        size = shape[d]
        if size % 2:
            raise LayerError(
                f"GLU halves dim {self.dim}, which must be even, but got size {size}",
                "Give that dimension an even size, or choose another dim",
                field="dim",
            )
        return Outcome(
            (*shape[:d], size // 2, *shape[d + 1 :]), formula=f"{size} → {size}/2 = {size // 2}"
        )

    @classmethod
    def examples(cls, st: Any) -> Any:
        args = st.fixed_dictionaries({}, optional={"dim": st.integers(-4, 4)})
        return st.tuples(args, any_shape(st))
