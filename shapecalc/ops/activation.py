"""Activations: element-wise functions that keep the shape (Softmax picks a dim)."""

from __future__ import annotations

import math
from typing import Any, Literal

from pydantic import field_validator

from ..formulas import Reach, Whole
from .base import (
    INPUT,
    OUTPUT,
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
)
from .shape import ShapeKept, any_shape


class Activation(ShapeKept):
    """An element-wise activation. Shape: kept (any input shape)."""

    family = "activation"


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

    def saved(
        self, shapes: tuple[Shape, ...], output: Shape, grads: tuple[bool, ...], trainable: bool
    ) -> tuple[Stored, ...]:
        """ReLU's gradient needs only its output."""
        return (OUTPUT,)


@register
class SiLU(InplaceActivation):
    """x·σ(x) (https://pytorch.org/docs/stable/generated/torch.nn.SiLU.html). Shape: kept."""

    type: Literal["SiLU"] = "SiLU"

    def saved(
        self, shapes: tuple[Shape, ...], output: Shape, grads: tuple[bool, ...], trainable: bool
    ) -> tuple[Stored, ...]:
        """The input; in place, a copy of it made before it is overwritten."""
        return (new_tensor(math.prod(shapes[0])),) if self.inplace else (INPUT,)


@register
class LeakyReLU(InplaceActivation):
    """max(0, x) + negative_slope·min(0, x)
    (https://pytorch.org/docs/stable/generated/torch.nn.LeakyReLU.html). Shape: kept."""

    type: Literal["LeakyReLU"] = "LeakyReLU"

    negative_slope: float = 0.01

    def saved(
        self, shapes: tuple[Shape, ...], output: Shape, grads: tuple[bool, ...], trainable: bool
    ) -> tuple[Stored, ...]:
        """The input, or in place the output (the same storage)."""
        return (OUTPUT,) if self.inplace else (INPUT,)

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

    def saved(
        self, shapes: tuple[Shape, ...], output: Shape, grads: tuple[bool, ...], trainable: bool
    ) -> tuple[Stored, ...]:
        """Its gradient is computed from its output."""
        return (OUTPUT,)


@register
class Tanh(Activation):
    """tanh(x) (https://pytorch.org/docs/stable/generated/torch.nn.Tanh.html). Shape: kept."""

    type: Literal["Tanh"] = "Tanh"

    def saved(
        self, shapes: tuple[Shape, ...], output: Shape, grads: tuple[bool, ...], trainable: bool
    ) -> tuple[Stored, ...]:
        """Its gradient is computed from its output."""
        return (OUTPUT,)


class DimActivation(Activation):
    """Softmax and its kin: normalise along ``dim``."""

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

    def saved(
        self, shapes: tuple[Shape, ...], output: Shape, grads: tuple[bool, ...], trainable: bool
    ) -> tuple[Stored, ...]:
        """Its gradient is computed from its output."""
        return (OUTPUT,)

    @classmethod
    def examples(cls, st: Any) -> Any:
        args = st.fixed_dictionaries({}, optional={"dim": st.integers(-4, 4)})
        return st.tuples(args, any_shape(st))


@register
class Softmax(DimActivation):
    """exp(x_i) / Σ_j exp(x_j) along ``dim``
    (https://pytorch.org/docs/stable/generated/torch.nn.Softmax.html). Shape: kept."""

    type: Literal["Softmax"] = "Softmax"
