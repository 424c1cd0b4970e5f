"""Layers that reshape or keep the shape: Flatten, Unflatten, Linear, Identity, ChannelShuffle and
the dropouts (Dropout, Dropout1d/2d/3d, AlphaDropout, FeatureAlphaDropout)."""

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
    describe,
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


def _unflattened_size(value: object) -> tuple[int, ...]:
    what = "a list of positive integers (one of them may be -1)"
    if not isinstance(value, (list, tuple)):
        raise ValueError(f"must be {what}, but got {describe(value)}")
    if not value:
        raise ValueError(f"must be {what}, but got an empty list")
    sizes = tuple(check_int(v, -1, what) for v in value)
    if 0 in sizes:
        raise ValueError(f"must be {what}, but got {list(sizes)}: a size 0 fits no input")
    if sizes.count(-1) > 1:
        raise ValueError(f"may infer only one size with -1, but got {list(sizes)}")
    return sizes


@register
class Unflatten(Layer):
    """Split dimension ``dim`` into ``unflattened_size``
    (https://pytorch.org/docs/stable/generated/torch.nn.Unflatten.html).

    Shape: (*, S_dim, *) → (*, U_1, ..., U_k, *) where ∏ U_i = S_dim; one U_i may be -1, which
    torch fills in as S_dim / ∏ (the others) when that divides evenly.
    """

    type: Literal["Unflatten"] = "Unflatten"
    family = "shape"
    separable = False

    dim: int
    unflattened_size: tuple[int, ...]

    @field_validator("dim", mode="before")
    @classmethod
    def _dim(cls, value: object) -> object:
        return check_int(value, None, "an integer")

    @field_validator("unflattened_size", mode="before")
    @classmethod
    def _sizes(cls, value: object) -> object:
        return _unflattened_size(value)

    def reach(self, dim: int, shapes: tuple[Shape, ...], output: Shape, k: int = 0) -> Reach | None:
        """A view: the split dimension's positions spread over several dims, later dims move."""
        d = self.dim % len(shapes[0])
        extra = len(self.unflattened_size) - 1
        if dim == d and extra:
            return Keep(d, merged=True)
        return Keep(dim + extra) if dim > d and extra else None

    def saved(
        self, shapes: tuple[Shape, ...], output: Shape, grads: tuple[bool, ...], trainable: bool
    ) -> tuple[Stored, ...]:
        return ()

    def aliases(self, training: bool) -> bool:
        """A view of its input."""
        return True

    def infer(self, shape: Shape) -> Outcome:
        d = check_dim(self.dim, len(shape), "dim")
        size = shape[d]
        sizes = self.unflattened_size
        known = math.prod(s for s in sizes if s != -1)
        text = "·".join(map(str, sizes))
        if -1 in sizes:
            text = shape_str(sizes)
            if size % known:
                raise LayerError(
                    f"unflattened_size {list(sizes)} needs dim {self.dim} to be a multiple of "
                    f"{known}, but got size {size}",
                    f"Use sizes whose product divides {size}",
                    field="unflattened_size",
                )
            sizes = tuple(size // known if s == -1 else s for s in sizes)
            text += f" = {'·'.join(map(str, sizes))}"
        elif known != size:
            raise LayerError(
                f"the product of unflattened_size must equal the size of dim {self.dim}, but got "
                f"{text} = {known} for size {size}",
                f"Use sizes whose product is {size}, or -1 for one of them",
                field="unflattened_size",
            )
        return Outcome((*shape[:d], *sizes, *shape[d + 1 :]), formula=f"{size} → {text}")

    @classmethod
    def examples(cls, st: Any) -> Any:
        def draw(draw: Any) -> tuple[dict[str, Any], Shape]:
            shape = draw(any_shape(st, 1, 4))
            dim = draw(st.integers(-len(shape) - 1, len(shape)))
            size = shape[dim] if -len(shape) <= dim < len(shape) else 6
            sizes = [d for d in range(1, size + 1) if size % d == 0]
            first = draw(st.sampled_from(sizes))
            unflattened = [first, size // first]
            if draw(st.integers(0, 3)) == 0:
                unflattened[draw(st.integers(0, 1))] = -1
            if draw(st.integers(0, 4)) == 0:
                unflattened[1] = draw(st.sampled_from([-1, 2, 3]))
            if draw(st.integers(0, 4)) == 0:
                unflattened.insert(0, 1)
            return {"dim": dim, "unflattened_size": unflattened}, shape

        return st.composite(draw)()


@register
class Linear(Layer):
    """Fully connected layer on the last dimension
    (https://pytorch.org/docs/stable/generated/torch.nn.Linear.html).

    Shape: (*, in_features) → (*, out_features). Parameters: in_features × out_features (+
    out_features with ``bias``).

    Multiply-adds follow torchinfo's convention, N × parameters with N the output's first
    dimension: on a 3-D or larger input (N, L, in_features) torchinfo does not multiply by L (nor
    by any other middle dimension), and neither does shapecalc, so that both totals agree.
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
        args = st.fixed_dictionaries(
            {},
            optional={
                "p": st.sampled_from([0.0, 0.25, 1.0, 1.5, -0.5]),
                "inplace": st.booleans(),
            },
        )
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
    rank = 2

    def mask_size(self, shape: Shape) -> int:
        """One per channel of the first two dims (torch takes a 3-D input as (N, C, L))."""
        return math.prod(shape[:2])

    def infer(self, shape: Shape) -> Outcome:
        notes: tuple[str, ...] = ()
        if len(shape) == 3:
            notes = (
                "torch warns that it takes a 3-D input as (N, C, L) and drops channels of a 1-D "
                "signal (Dropout1d's behaviour), not as unbatched (C, H, W)",
            )
        elif len(shape) != 4:
            notes = (f"torch warns that a {len(shape)}-D input to Dropout2d is deprecated",)
            if len(shape) == 1:
                notes += (_FEATURE_1D,)
        return Outcome(shape, formula="shape kept", notes=notes)


_FEATURE_1D = (
    "in training mode torch refuses a 1-D input ('Feature dropout requires at least 2 "
    "dimensions in the input'); eval mode passes it through"
)


def _unbatched_note(shape: Shape, rank: int, layout: str) -> tuple[str, ...]:
    """The trap of a channel dropout given a batched tensor of its unbatched rank."""
    if len(shape) != rank:
        return ()
    return (
        f"a {rank}-D input is taken as unbatched {layout}: dim 0 ({shape[0]}) holds the channels "
        "that are dropped whole, so in a batch whole samples would be dropped",
    )


@register
class Dropout1d(DropoutBase):
    """Channel-wise dropout of (N, C, L) or unbatched (C, L)
    (https://pytorch.org/docs/stable/generated/torch.nn.Dropout1d.html). Shape: kept; torch
    refuses other ranks."""

    type: Literal["Dropout1d"] = "Dropout1d"

    def mask_size(self, shape: Shape) -> int:
        """One per channel: C of an unbatched (C, L) input, N·C of (N, C, L)."""
        return shape[0] if len(shape) == 2 else math.prod(shape[:2])

    rank = 1

    def infer(self, shape: Shape) -> Outcome:
        if len(shape) not in (2, 3):
            raise LayerError(
                f"Dropout1d expects a 3-D (N, C, L) or 2-D unbatched (C, L) input, but got a "
                f"{len(shape)}-D tensor {shape_str(shape)}",
                "Use Dropout for element-wise dropout, or Dropout2d/Dropout3d for feature maps",
            )
        return Outcome(shape, formula="shape kept", notes=_unbatched_note(shape, 2, "(C, L)"))


@register
class Dropout3d(DropoutBase):
    """Channel-wise dropout of (N, C, D, H, W) or unbatched (C, D, H, W)
    (https://pytorch.org/docs/stable/generated/torch.nn.Dropout3d.html). Shape: kept; torch warns
    that other ranks are deprecated."""

    type: Literal["Dropout3d"] = "Dropout3d"

    def mask_size(self, shape: Shape) -> int:
        """One per channel: N·C of a 5-D input; any other rank is taken as unbatched (torch
        prepends a batch of 1), so C = its first dim."""
        return math.prod(shape[:2]) if len(shape) == 5 else shape[0]

    rank = 3

    def infer(self, shape: Shape) -> Outcome:
        notes = _unbatched_note(shape, 4, "(C, D, H, W)")
        if len(shape) not in (4, 5):
            notes = (
                f"torch warns that a {len(shape)}-D input to Dropout3d is deprecated (it expects "
                "(N, C, D, H, W) or (C, D, H, W)); use Dropout",
            )
        return Outcome(shape, formula="shape kept", notes=notes)


@register
class AlphaDropout(DropoutBase):
    """Element-wise dropout that keeps SELU's self-normalisation
    (https://pytorch.org/docs/stable/generated/torch.nn.AlphaDropout.html). Shape: kept."""

    type: Literal["AlphaDropout"] = "AlphaDropout"

    def aliases(self, training: bool) -> bool:
        """It returns its input in eval mode and for p = 0; in training even inplace=True gives
        a new tensor."""
        return not training or self.p == 0


@register
class FeatureAlphaDropout(DropoutBase):
    """Channel-wise alpha dropout, dim 1 being the channels
    (https://pytorch.org/docs/stable/generated/torch.nn.FeatureAlphaDropout.html). Shape: kept."""

    type: Literal["FeatureAlphaDropout"] = "FeatureAlphaDropout"

    def aliases(self, training: bool) -> bool:
        """It returns its input in eval mode and for p = 0; in training even inplace=True gives
        a new tensor."""
        return not training or self.p == 0

    def mask_size(self, shape: Shape) -> int:
        """One per channel of the first two dims."""
        return math.prod(shape[:2])

    def infer(self, shape: Shape) -> Outcome:
        notes = (_FEATURE_1D,) if len(shape) == 1 else ()
        return Outcome(shape, formula="shape kept", notes=notes)


@register
class ChannelShuffle(Layer):
    """Shuffle the channels (dim 1) in ``groups`` groups, as in ShuffleNet
    (https://pytorch.org/docs/stable/generated/torch.nn.ChannelShuffle.html).

    Shape: (N, C, *) → (N, C, *), at least 3-D; C must be divisible by ``groups``. torch has no
    unbatched form: dim 1 is shuffled whatever the rank.
    """

    type: Literal["ChannelShuffle"] = "ChannelShuffle"
    family = "shape"
    stem = "shuffle"

    groups: int

    @field_validator("groups", mode="before")
    @classmethod
    def _groups(cls, value: object) -> object:
        return check_int(value, 1, POSITIVE)

    def saved(
        self, shapes: tuple[Shape, ...], output: Shape, grads: tuple[bool, ...], trainable: bool
    ) -> tuple[Stored, ...]:
        """A permutation of channels: nothing is kept."""
        return ()

    def infer(self, shape: Shape) -> Outcome:
        if len(shape) < 3:
            raise LayerError(
                f"ChannelShuffle expects an input of at least 3 dimensions (N, C, *), but got a "
                f"{len(shape)}-D tensor {shape_str(shape)}",
                "Use it between convolutions, before any Flatten",
            )
        channels = shape[1]
        if channels % self.groups:
            raise LayerError(
                f"the number of channels must be divisible by groups, but the incoming tensor "
                f"{shape_str(shape)} has {channels} channels (dim 1) and groups={self.groups}",
                "Set groups to a divisor of the channel count",
                field="groups",
            )
        return Outcome(
            shape,
            formula=f"{channels} channels: {self.groups} groups of {channels // self.groups}",
        )

    @classmethod
    def examples(cls, st: Any) -> Any:
        args = st.fixed_dictionaries({"groups": st.integers(1, 4)})
        return st.tuples(args, any_shape(st, 1, 5))
