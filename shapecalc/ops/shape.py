"""Layers that reshape or keep the shape: Flatten, Linear, Identity, Dropout, Dropout2d."""

from __future__ import annotations

import math
from typing import Any, Literal

from pydantic import field_validator

from ..errors import LayerError
from ..formulas import Keep, Reach, Whole
from .base import (
    INPUT,
    POSITIVE,
    Flag,
    Layer,
    Outcome,
    Shape,
    Stored,
    check_dim,
    check_int,
    new_tensor,
    positive_or_none,
    probability,
    register,
    shape_str,
)


def any_shape(st: Any, min_rank: int = 1, max_rank: int = 5) -> Any:
    """Hypothesis: a small shape of any rank."""
    return st.lists(st.integers(1, 5), min_size=min_rank, max_size=max_rank).map(tuple)


class ShapeKept(Layer):
    """A layer whose output has its input's shape."""

    def infer(self, shape: Shape) -> Outcome:
        return Outcome(shape, formula="shape kept")

    @classmethod
    def examples(cls, st: Any) -> Any:
        return st.tuples(st.just({}), any_shape(st))


@register
class Flatten(Layer):
    """Flatten dims ``start_dim..end_dim`` into one
    (https://pytorch.org/docs/stable/generated/torch.nn.Flatten.html).

    Shape: (*, S_start, ..., S_end, *) → (*, ∏ S_i, *); by default (N, *) → (N, ∏ *).
    """

    type: Literal["Flatten"] = "Flatten"
    family = "shape"
    separable = False

    start_dim: int = 1
    end_dim: int = -1

    @field_validator("start_dim", "end_dim", mode="before")
    @classmethod
    def _dims(cls, value: object) -> object:
        return check_int(value, None, "an integer")

    def infer(self, shape: Shape) -> Outcome:
        ndim = len(shape)
        start = check_dim(self.start_dim, ndim, "start_dim")
        end = check_dim(self.end_dim, ndim, "end_dim")
        if start > end:
            raise LayerError(
                f"start_dim ({self.start_dim}) comes after end_dim ({self.end_dim}) "
                f"for a {ndim}-D tensor",
                "Swap them",
                field="start_dim",
            )
        merged = shape[start : end + 1]
        size = math.prod(merged)
        formula = "·".join(map(str, merged)) + f" = {size}" if len(merged) > 1 else "shape kept"
        notes: tuple[str, ...] = ()
        if start == 0 and len(merged) > 1:
            notes = (
                "start_dim=0 merges the batch dimension into the others, so the output has no "
                "batch dimension (nn.Flatten's default is start_dim=1)",
            )
        return Outcome((*shape[:start], size, *shape[end + 1 :]), 0, formula=formula, notes=notes)

    def reach(self, dim: int, shapes: tuple[Shape, ...], output: Shape, k: int = 0) -> Reach | None:
        """Every element keeps its value: a dimension merged with others is no longer separable,
        the ones after the merged range move left."""
        ndim = len(shapes[0])
        start, end = self.start_dim % ndim, self.end_dim % ndim
        if start <= dim <= end and end > start:
            return Keep(start, merged=True)
        return Keep(dim - (end - start)) if dim > end else None

    def saved(
        self, shapes: tuple[Shape, ...], output: Shape, grads: tuple[bool, ...], trainable: bool
    ) -> tuple[Stored, ...]:
        """A view: nothing is saved."""
        return ()

    def aliases(self, training: bool) -> bool:
        """A view of its input (torch.flatten of a contiguous tensor)."""
        return True

    @classmethod
    def examples(cls, st: Any) -> Any:
        args = st.fixed_dictionaries(
            {}, optional={"start_dim": st.integers(-4, 4), "end_dim": st.integers(-4, 4)}
        )
        return st.tuples(args, any_shape(st))


@register
class Linear(Layer):
    """Fully connected layer on the last dimension
    (https://pytorch.org/docs/stable/generated/torch.nn.Linear.html).

    Shape: (*, in_features) → (*, out_features).
    """

    type: Literal["Linear"] = "Linear"
    family = "shape"
    numbered = True
    separable = False
    inferable = ("in_features",)

    in_features: int | None = None
    out_features: int
    bias: Flag = True

    @field_validator("in_features", mode="before")
    @classmethod
    def _in(cls, value: object) -> object:
        return positive_or_none(value)

    @field_validator("out_features", mode="before")
    @classmethod
    def _out(cls, value: object) -> object:
        return check_int(value, 1, POSITIVE)

    def infer(self, shape: Shape) -> Outcome:
        features = shape[-1]
        unflattened = len(shape) > 2
        flat = math.prod(shape[1:])
        if self.in_features is not None and self.in_features != features:
            if unflattened and flat == self.in_features:
                product = "·".join(map(str, shape[1:]))
                raise LayerError(
                    f"in_features is {self.in_features}, but the incoming tensor "
                    f"{shape_str(shape)} has {features} features in its last dimension; "
                    f"it has not been flattened ({product} = {flat} = in_features)",
                    "Add {type: Flatten} before this layer",
                    field="in_features",
                )
            fix = f"Set in_features: {features}, or leave it out to infer it"
            if unflattened:
                fix += f" (or add a Flatten before it, which gives {flat} features)"
            raise LayerError(
                f"in_features is {self.in_features}, but the incoming tensor has {features} "
                "features in its last dimension",
                fix,
                field="in_features",
            )
        notes: tuple[str, ...] = ()
        if unflattened and self.in_features is None:
            notes = (
                f"Linear acts on the last dimension only ({features} features of "
                f"{shape_str(shape)}); did a Flatten go missing before it?",
            )
        params = features * self.out_features + (self.out_features if self.bias else 0)
        return Outcome(
            (*shape[:-1], self.out_features),
            params,
            formula=f"features: {features} → {self.out_features}",
            notes=notes,
            inferred={"in_features": features},
        )

    def flops(self, shapes: tuple[Shape, ...], output: Shape) -> int:
        """``mm`` / ``addmm`` of the flattened input: 2 · rows · in_features · out_features (bias
        not counted)."""
        return 2 * math.prod(shapes[0]) * self.out_features

    def reach(self, dim: int, shapes: tuple[Shape, ...], output: Shape, k: int = 0) -> Reach | None:
        """Every output feature reads every input feature of the last dimension."""
        return Whole("Linear") if dim == len(shapes[0]) - 1 else None

    def saved(
        self, shapes: tuple[Shape, ...], output: Shape, grads: tuple[bool, ...], trainable: bool
    ) -> tuple[Stored, ...]:
        """The input, which the weight's gradient needs (the weight itself, for the input's
        gradient, is a parameter)."""
        return (INPUT,) if trainable else ()

    @classmethod
    def examples(cls, st: Any) -> Any:
        def draw(draw: Any) -> tuple[dict[str, Any], Shape]:
            shape = draw(any_shape(st, 1, 4))
            args: dict[str, Any] = {"out_features": draw(st.integers(1, 6))}
            args["in_features"] = shape[-1] if draw(st.integers(0, 4)) else draw(st.integers(1, 9))
            if draw(st.booleans()):
                args["bias"] = draw(st.booleans())
            return args, shape

        return st.composite(draw)()


@register
class Identity(ShapeKept):
    """The identity (https://pytorch.org/docs/stable/generated/torch.nn.Identity.html).
    Shape: kept."""

    type: Literal["Identity"] = "Identity"
    family = "shape"

    def saved(
        self, shapes: tuple[Shape, ...], output: Shape, grads: tuple[bool, ...], trainable: bool
    ) -> tuple[Stored, ...]:
        return ()

    def aliases(self, training: bool) -> bool:
        """It returns its input."""
        return True


class DropoutBase(ShapeKept):
    family = "shape"
    stem = "dropout"

    p: float = 0.5
    inplace: Flag = False

    @field_validator("p", mode="before")
    @classmethod
    def _p(cls, value: object) -> object:
        return probability(value)

    def aliases(self, training: bool) -> bool:
        """It returns its input in eval mode and for p = 0, and works in place with inplace."""
        return not training or self.p == 0 or self.inplace

    def saved(
        self, shapes: tuple[Shape, ...], output: Shape, grads: tuple[bool, ...], trainable: bool
    ) -> tuple[Stored, ...]:
        """The scaled mask it multiplied by (in the activations' dtype); for p = 1 a zero scalar."""
        if self.p == 0:
            return ()
        if self.p == 1:
            return (new_tensor(1),)
        return (new_tensor(self.mask_size(shapes[0])),)

    def mask_size(self, shape: Shape) -> int:
        """Elements of the mask: one per element."""
        return math.prod(shape)

    @classmethod
    def examples(cls, st: Any) -> Any:
        args = st.fixed_dictionaries({}, optional={"p": st.sampled_from([0.0, 0.25, 1.0])})
        return st.tuples(args, any_shape(st))


@register
class Dropout(DropoutBase):
    """Element-wise dropout (https://pytorch.org/docs/stable/generated/torch.nn.Dropout.html).
    Shape: kept."""

    type: Literal["Dropout"] = "Dropout"


@register
class Dropout2d(DropoutBase):
    """Channel-wise dropout of (N, C, H, W) or (C, H, W)
    (https://pytorch.org/docs/stable/generated/torch.nn.Dropout2d.html). Shape: kept."""

    type: Literal["Dropout2d"] = "Dropout2d"

    def mask_size(self, shape: Shape) -> int:
        """One per channel of the first two dims (torch takes a 3-D input as (N, C, L))."""
        return math.prod(shape[:2])

    def infer(self, shape: Shape) -> Outcome:
        notes: tuple[str, ...] = ()
        if len(shape) == 3:
            notes = ("a 3-D input is taken as unbatched (C, H, W); torch warns about this",)
        elif len(shape) != 4:
            notes = (f"torch warns that a {len(shape)}-D input to Dropout2d is deprecated",)
        return Outcome(shape, formula="shape kept", notes=notes)
