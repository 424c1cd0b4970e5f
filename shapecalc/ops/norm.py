"""Normalisation: BatchNorm1d/2d/3d, InstanceNorm1d/2d/3d, GroupNorm, LayerNorm, LocalResponseNorm.

The calculator answers for eval mode (the mode ``verify`` and ``build --summary`` run in); where
training mode refuses what eval mode takes (one value per channel for batch statistics), a note
says so.
"""

from __future__ import annotations

import math
from typing import Any, ClassVar, Literal

from pydantic import field_validator, model_validator

from ..errors import LayerError
from ..formulas import Reach, Whole
from .base import (
    AXES,
    INPUT,
    POSITIVE,
    FieldRuleError,
    Flag,
    Layer,
    Outcome,
    Shape,
    Stored,
    check_int,
    describe,
    new_tensor,
    number,
    positive_or_none,
    register,
    shape_str,
)


def _prod_text(sizes: Shape) -> str:
    return "·".join(map(str, sizes)) if sizes else "1"


class RunningNorm(Layer):
    """The arguments batch and instance normalisation share (torch's ``_NormBase``).

    ``bias`` is torch's keyword-only argument: with ``affine`` true and ``bias`` false only the
    scale is learnt.
    """

    family = "normalisation"
    numbered = True
    inferable = ("num_features",)

    num_features: int | None = None
    eps: float = 1e-5
    momentum: float | None = 0.1
    affine: Flag = True
    track_running_stats: Flag = True
    bias: Flag = True

    @field_validator("num_features", mode="before")
    @classmethod
    def _size(cls, value: object) -> object:
        return positive_or_none(value)

    @field_validator("eps", mode="before")
    @classmethod
    def _eps(cls, value: object) -> object:
        return number(value, "a number")

    @field_validator("momentum", mode="before")
    @classmethod
    def _momentum(cls, value: object) -> object:
        return None if value is None else number(value, "a number or null")

    def buffers(self, shapes: tuple[Shape, ...], output: Shape) -> tuple[Stored, ...]:
        """``running_mean`` and ``running_var`` (one value per channel) and the int64
        ``num_batches_tracked``, when ``track_running_stats``."""
        if not self.track_running_stats:
            return ()
        channels = self.num_features or self.channels(shapes[0])
        return (new_tensor(2 * channels), new_tensor(1, 8))

    def channels(self, shape: Shape) -> int:
        """The channel count of an input (dim 1)."""
        return shape[1]

    def affine_params(self, channels: int) -> int:
        """Learnt scale (and shift) per channel: ``num_features × (1 + bias)`` when affine."""
        return channels * (2 if self.bias else 1) if self.affine else 0

    @classmethod
    def norm_args(cls, draw: Any, st: Any, channels: int) -> dict[str, Any]:
        """Hypothesis: num_features (mostly right), and the flags."""
        args: dict[str, Any] = {
            "num_features": channels if draw(st.integers(0, 3)) else draw(st.integers(1, 4))
        }
        for flag in ("affine", "track_running_stats", "bias"):
            if draw(st.booleans()):
                args[flag] = draw(st.booleans())
        if draw(st.integers(0, 3)) == 0:
            args["momentum"] = draw(st.sampled_from([None, 0.5]))
        return args


class BatchNormNd(RunningNorm):
    """Batch normalisation over the channel dim (dim 1).

    Shape (https://pytorch.org/docs/stable/generated/torch.nn.BatchNorm2d.html): kept. torch refuses
    one value per channel (N·spatial = 1) when it uses batch statistics: in training mode, and in
    eval mode too when ``track_running_stats`` is false. The channel count must equal
    ``num_features`` unless the layer has neither weights (``affine``) nor running statistics.
    Parameters: ``num_features × (1 + bias)`` when ``affine``; multiply-adds N × parameters
    (torchinfo's convention).
    """

    stem = "bn"
    ranks: ClassVar[tuple[int, ...]] = (4,)  # the input ranks torch accepts

    def infer(self, shape: Shape) -> Outcome:
        if len(shape) not in self.ranks:
            dims = " or ".join(f"{r}-D" for r in self.ranks)
            raise LayerError(
                f"{self.type_name()} expects a {dims} input, but got a {len(shape)}-D tensor "
                f"{shape_str(shape)}",
                self._rank_fix(len(shape)),
            )
        channels = shape[1]
        # without weights and running statistics torch never looks at num_features
        checked = self.affine or self.track_running_stats
        if checked and self.num_features is not None and self.num_features != channels:
            raise LayerError(
                f"num_features is {self.num_features}, but the incoming tensor has {channels} channels",
                f"Set num_features: {channels}, or leave it out to infer it",
                field="num_features",
            )
        values = shape[0] * math.prod(shape[2:])
        notes: list[str] = []
        if values == 1:
            what = {2: "N", 3: "N·L", 4: "N·H·W", 5: "N·D·H·W"}[len(shape)]
            rule = (
                f"one value per channel ({what} = 1 for input {shape_str(shape)}): torch refuses "
                "this when it computes batch statistics"
            )
            if not self.track_running_stats:
                raise LayerError(
                    rule + " (track_running_stats is false, so eval mode uses them too)",
                    "Use a larger batch or input, or track_running_stats: true",
                )
            notes.append(
                rule + ", which it does in training mode ('Expected more than 1 value per "
                "channel when training'); eval mode works"
            )
        inferred = {"num_features": self.num_features or channels}
        return Outcome(
            shape,
            self.affine_params(channels),
            formula="shape kept",
            notes=tuple(notes),
            inferred=inferred,
        )

    def reach(self, dim: int, shapes: tuple[Shape, ...], output: Shape, k: int = 0) -> Reach | None:
        """Eval mode normalises with the running statistics: position by position. Without them
        it uses the batch's, over every position."""
        return Whole(self.type) if dim >= 2 and not self.track_running_stats else None

    def saved(
        self, shapes: tuple[Shape, ...], output: Shape, grads: tuple[bool, ...], trainable: bool
    ) -> tuple[Stored, ...]:
        """The input, and the batch mean and inverse standard deviation of each channel (in the
        activations' dtype on the CPU); the weight and running statistics are module tensors."""
        return (INPUT, new_tensor(2 * shapes[0][1]))

    def workspace(self, shapes: tuple[Shape, ...], output: Shape, itemsize: int) -> int:
        """Without running statistics eval mode computes the batch's, and drops them."""
        return 0 if self.track_running_stats else 2 * shapes[0][1] * itemsize

    def _rank_fix(self, rank: int) -> str:
        by_rank = {2: "BatchNorm1d", 3: "BatchNorm1d", 4: "BatchNorm2d", 5: "BatchNorm3d"}
        other = by_rank.get(rank)
        return f"Use {other} for a {rank}-D input" if other else "Use it after a convolution"

    @classmethod
    def examples(cls, st: Any) -> Any:
        ranks = cls.ranks

        def draw(draw: Any) -> tuple[dict[str, Any], Shape]:
            rank = draw(st.sampled_from((*ranks, *ranks, 3, 4, 5)))
            shape = tuple(draw(st.integers(1, 4)) for _ in range(rank))
            return cls.norm_args(draw, st, shape[1]), shape

        return st.composite(draw)()


@register
class BatchNorm1d(BatchNormNd):
    """Batch normalisation of (N, C) or (N, C, L)
    (https://pytorch.org/docs/stable/generated/torch.nn.BatchNorm1d.html). Shape: kept."""

    type: Literal["BatchNorm1d"] = "BatchNorm1d"
    rank = 1
    ranks = (2, 3)


@register
class BatchNorm2d(BatchNormNd):
    """Batch normalisation of (N, C, H, W)
    (https://pytorch.org/docs/stable/generated/torch.nn.BatchNorm2d.html). Shape: kept."""

    type: Literal["BatchNorm2d"] = "BatchNorm2d"
    rank = 2
    ranks = (4,)


@register
class BatchNorm3d(BatchNormNd):
    """Batch normalisation of (N, C, D, H, W)
    (https://pytorch.org/docs/stable/generated/torch.nn.BatchNorm3d.html). Shape: kept."""

    type: Literal["BatchNorm3d"] = "BatchNorm3d"
    rank = 3
    ranks = (5,)


class InstanceNormNd(RunningNorm):
    """Instance normalisation: each channel of each sample over its ``n`` spatial dims.

    Shape (https://pytorch.org/docs/stable/generated/torch.nn.InstanceNorm2d.html): (N, C, *S) or
    unbatched (C, *S), kept. Unlike batch normalisation, ``affine`` and ``track_running_stats``
    default to false. torch refuses:

    - a channel count other than ``num_features`` when ``affine`` (ValueError) or
      ``track_running_stats`` (the running statistics have the wrong size) is true; with both
      false it only warns, and ``num_features`` is unused;
    - one spatial element per channel (∏ S = 1) when it uses the input's statistics: in training
      mode, and in eval mode when ``track_running_stats`` is false ("Expected more than 1
      spatial element when training").

    Parameters: ``num_features × (1 + bias)`` when ``affine``; multiply-adds N × parameters
    (torchinfo's convention).
    """

    stem = "inorm"
    n: ClassVar[int] = 2

    affine: Flag = False
    track_running_stats: Flag = False

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        super().__pydantic_init_subclass__(**kwargs)
        cls.rank = cls.n

    def reach(self, dim: int, shapes: tuple[Shape, ...], output: Shape, k: int = 0) -> Reach | None:
        """Each plane is normalised by its own statistics, over all its positions, unless the
        running statistics are used (eval mode with ``track_running_stats``)."""
        spatial = dim >= len(shapes[0]) - self.n
        return Whole(self.type) if spatial and not self.track_running_stats else None

    def channels(self, shape: Shape) -> int:
        return shape[-self.n - 1]

    def _planes(self, shape: Shape) -> int:
        """N·C: torch normalises (1, N·C, *S) with batch_norm (C for an unbatched input)."""
        return math.prod(shape[: -self.n])

    def _repeats(self) -> int:
        """Per-plane copies ATen's instance_norm makes of weight, bias, running statistics."""
        affine = (1 + self.bias) if self.affine else 0
        return affine + (2 if self.track_running_stats else 0)

    def saved(
        self, shapes: tuple[Shape, ...], output: Shape, grads: tuple[bool, ...], trainable: bool
    ) -> tuple[Stored, ...]:
        """The input, the batch mean and inverse deviation of each plane, and the per-plane
        copies batch_norm keeps: the weight's and the running statistics'."""
        planes = self._planes(shapes[0])
        copies = (1 if self.affine else 0) + (2 if self.track_running_stats else 0)
        return (INPUT, new_tensor(planes * (2 + copies)))

    def workspace(self, shapes: tuple[Shape, ...], output: Shape, itemsize: int) -> int:
        """The per-plane copies, and the batch statistics unless running ones are used."""
        stats = 0 if self.track_running_stats else 2
        return self._planes(shapes[0]) * (self._repeats() + stats) * itemsize

    def infer(self, shape: Shape) -> Outcome:
        n = self.n
        axes = AXES[n]
        if len(shape) not in (n + 1, n + 2):
            by_rank = {2: "InstanceNorm1d", 3: "InstanceNorm1d", 4: "InstanceNorm2d"}
            fix = {**by_rank, 5: "InstanceNorm3d"}.get(len(shape))
            raise LayerError(
                f"{self.type_name()} expects a {n + 2}-D (N, C, {', '.join(axes)}) or {n + 1}-D "
                f"unbatched (C, {', '.join(axes)}) input, but got a {len(shape)}-D tensor "
                f"{shape_str(shape)}",
                f"Use {fix} for a {len(shape)}-D input" if fix else "Use it after a convolution",
            )
        feature_dim = len(shape) - n - 1
        channels = shape[feature_dim]
        spatial = shape[feature_dim + 1 :]
        notes: list[str] = []
        if feature_dim == 0 and n == 1:
            notes.append(
                f"a 2-D input is taken as unbatched (C, L): its first dimension ({channels}) "
                "holds the channels, not the batch (after a Linear, BatchNorm1d or LayerNorm "
                "normalise the features)"
            )
        if self.num_features is not None and self.num_features != channels:
            if self.affine or self.track_running_stats:
                why = "affine is true" if self.affine else "track_running_stats is true"
                raise LayerError(
                    f"num_features is {self.num_features}, but the incoming tensor "
                    f"{shape_str(shape)} has {channels} channels (dim {feature_dim}) and {why}",
                    f"Set num_features: {channels}, or leave it out to infer it",
                    field="num_features",
                )
            notes.append(
                f"num_features is {self.num_features}, but the incoming tensor has {channels} "
                "channels: torch only warns, because without affine or track_running_stats it "
                f"never uses num_features (set num_features: {channels})"
            )
        if math.prod(spatial) == 1:
            rule = (
                f"one spatial element per channel ({' · '.join(axes)} = {_prod_text(spatial)} = 1 "
                f"for input {shape_str(shape)}): torch refuses this when it uses the input's "
                "statistics"
            )
            if not self.track_running_stats:
                raise LayerError(
                    rule + " (track_running_stats is false, so eval mode uses them too)",
                    "Normalise a larger input, or use another normalisation here",
                )
            notes.append(
                rule + ", which it does in training mode ('Expected more than 1 spatial element "
                "when training'); eval mode works"
            )
        return Outcome(
            shape,
            self.affine_params(channels),
            formula="shape kept",
            notes=tuple(notes),
            inferred={"num_features": self.num_features or channels},
        )

    @classmethod
    def examples(cls, st: Any) -> Any:
        n = cls.n

        def draw(draw: Any) -> tuple[dict[str, Any], Shape]:
            rank = draw(st.sampled_from((n + 1, n + 2, n + 2, 2, 3, 4, 5)))
            shape = tuple(draw(st.integers(1, 3)) for _ in range(rank))
            feature = rank - n - 1 if rank - n - 1 >= 0 else 0
            args = cls.norm_args(draw, st, shape[feature])
            args.setdefault("affine", False)  # the defaults differ from BatchNorm's
            return args, shape

        return st.composite(draw)()


@register
class InstanceNorm1d(InstanceNormNd):
    """Instance normalisation of (N, C, L) or unbatched (C, L)
    (https://pytorch.org/docs/stable/generated/torch.nn.InstanceNorm1d.html). Shape: kept.

    A 2-D input is (C, L), not (N, C): after a Linear, use BatchNorm1d or LayerNorm instead.
    """

    type: Literal["InstanceNorm1d"] = "InstanceNorm1d"
    n = 1


@register
class InstanceNorm2d(InstanceNormNd):
    """Instance normalisation of (N, C, H, W) or unbatched (C, H, W)
    (https://pytorch.org/docs/stable/generated/torch.nn.InstanceNorm2d.html). Shape: kept."""

    type: Literal["InstanceNorm2d"] = "InstanceNorm2d"
    n = 2


@register
class InstanceNorm3d(InstanceNormNd):
    """Instance normalisation of (N, C, D, H, W) or unbatched (C, D, H, W)
    (https://pytorch.org/docs/stable/generated/torch.nn.InstanceNorm3d.html). Shape: kept."""

    type: Literal["InstanceNorm3d"] = "InstanceNorm3d"
    n = 3


@register
class GroupNorm(Layer):
    """Group normalisation: the channels in ``num_groups`` groups, each normalised per sample.

    Shape (https://pytorch.org/docs/stable/generated/torch.nn.GroupNorm.html): (N, C, *), kept.
    ``num_channels`` (C) must be divisible by ``num_groups``; it is inferred from dim 1 when left
    out. torch refuses, in eval mode too, an input where N·(C / num_groups)·∏ * = 1 ("Expected more
    than 1 value per channel when training"). With ``affine`` false torch never compares
    ``num_channels`` with the input. Parameters: ``num_channels × (1 + bias)`` when ``affine``;
    multiply-adds N × parameters (torchinfo's convention).
    """

    type: Literal["GroupNorm"] = "GroupNorm"
    family = "normalisation"
    stem = "gn"
    numbered = True
    inferable = ("num_channels",)

    num_groups: int
    num_channels: int | None = None
    eps: float = 1e-5
    affine: Flag = True
    bias: Flag = True

    @field_validator("num_groups", mode="before")
    @classmethod
    def _groups(cls, value: object) -> object:
        return check_int(value, 1, POSITIVE)

    @field_validator("num_channels", mode="before")
    @classmethod
    def _channels(cls, value: object) -> object:
        return positive_or_none(value)

    @field_validator("eps", mode="before")
    @classmethod
    def _eps(cls, value: object) -> object:
        return number(value, "a number")

    @model_validator(mode="after")
    def _divisible(self) -> GroupNorm:
        if self.num_channels is not None and self.num_channels % self.num_groups:
            raise FieldRuleError(
                "num_groups",
                f"num_channels must be divisible by num_groups, but got num_channels="
                f"{self.num_channels} and num_groups={self.num_groups}; use a divisor of "
                f"{self.num_channels}",
            )
        return self

    def reach(self, dim: int, shapes: tuple[Shape, ...], output: Shape, k: int = 0) -> Reach | None:
        """Each (sample, group) is normalised by statistics over all its positions."""
        return Whole(self.type) if dim >= 2 else None

    def saved(
        self, shapes: tuple[Shape, ...], output: Shape, grads: tuple[bool, ...], trainable: bool
    ) -> tuple[Stored, ...]:
        """The input, and the mean and inverse deviation of each (sample, group)."""
        return (INPUT, new_tensor(2 * shapes[0][0] * self.num_groups))

    def workspace(self, shapes: tuple[Shape, ...], output: Shape, itemsize: int) -> int:
        return 2 * shapes[0][0] * self.num_groups * itemsize

    def infer(self, shape: Shape) -> Outcome:
        if len(shape) < 2:
            raise LayerError(
                f"GroupNorm expects an input of at least 2 dimensions (N, C, *), but got a "
                f"{len(shape)}-D tensor {shape_str(shape)}"
            )
        channels = shape[1]
        notes: list[str] = []
        if self.num_channels is not None and self.num_channels != channels:
            if self.affine:
                raise LayerError(
                    f"num_channels is {self.num_channels}, but the incoming tensor has "
                    f"{channels} channels",
                    f"Set num_channels: {channels}, or leave it out to infer it",
                    field="num_channels",
                )
            notes.append(
                f"num_channels is {self.num_channels}, but the incoming tensor has {channels} "
                "channels; without affine torch does not use num_channels"
            )
        if channels % self.num_groups:
            raise LayerError(
                f"the number of channels must be divisible by num_groups, but the incoming "
                f"tensor has {channels} channels and num_groups={self.num_groups}",
                "Set num_groups to a divisor of the channel count",
                field="num_groups",
            )
        per_group = channels // self.num_groups
        values = shape[0] * per_group * math.prod(shape[2:])
        if values == 1:
            raise LayerError(
                f"torch refuses one value per group (N·(C / num_groups)·{_prod_text(shape[2:])} = 1 "
                f"for input {shape_str(shape)} and num_groups={self.num_groups}), in eval mode too",
                "Use fewer groups, or a larger batch or input",
                field="num_groups",
            )
        params = channels * (2 if self.bias else 1) if self.affine else 0
        return Outcome(
            shape,
            params,
            formula=f"{channels} channels in {self.num_groups} groups of {per_group}",
            notes=tuple(notes),
            inferred={"num_channels": self.num_channels or channels},
        )

    @classmethod
    def examples(cls, st: Any) -> Any:
        def draw(draw: Any) -> tuple[dict[str, Any], Shape]:
            rank = draw(st.sampled_from([1, 2, 3, 4, 4, 5]))
            shape = tuple(draw(st.integers(1, 3)) for _ in range(rank))
            channels = draw(st.sampled_from([1, 2, 3, 4, 4, 6, 8, 12]))
            if rank >= 2:
                shape = (shape[0], channels, *shape[2:])
            groups = draw(st.sampled_from([1, 2, 3, 4]))
            args: dict[str, Any] = {"num_groups": groups}
            num_channels = channels if draw(st.integers(0, 3)) else draw(st.integers(1, 8))
            if num_channels % groups == 0 or draw(st.integers(0, 3)) == 0:
                args["num_channels"] = num_channels
            else:
                args["num_channels"] = groups * draw(st.integers(1, 3))
            for flag in ("affine", "bias"):
                if draw(st.booleans()):
                    args[flag] = draw(st.booleans())
            return args, shape

        return st.composite(draw)()


def _normalized_shape(value: object) -> tuple[int, ...] | None:
    if value is None:
        return None
    if isinstance(value, (list, tuple)):
        if not value:
            raise ValueError(
                "must name at least one dimension, but got an empty list (torch needs "
                "normalized_shape to be at least 1-dimensional)"
            )
        return tuple(check_int(v, 1, "a list of positive integers") for v in value)
    if isinstance(value, int) and not isinstance(value, bool):
        return (check_int(value, 1, "a positive integer or a list of them"),)
    raise ValueError(f"must be a positive integer or a list of them, but got {describe(value)}")


@register
class LayerNorm(Layer):
    """Layer normalisation of each sample over its last ``len(normalized_shape)`` dimensions.

    Shape (https://pytorch.org/docs/stable/generated/torch.nn.LayerNorm.html): (*, *normalized_shape),
    kept; the input's trailing dimensions must equal ``normalized_shape``.

    ``normalized_shape`` left out is inferred as the last dimension only (``nn.LayerNorm(d)`` on
    (N, L, d) in a transformer, or channels-last in ConvNeXt). To normalise a CNN's feature map
    over all of (C, H, W), write the list: ``normalized_shape: [64, 8, 8]``; a list stays a list
    in the built module. Parameters: ``2 × ∏ normalized_shape`` with ``elementwise_affine`` (one
    for weight and one for ``bias``); multiply-adds N × parameters (torchinfo's convention).
    """

    type: Literal["LayerNorm"] = "LayerNorm"
    family = "normalisation"
    stem = "ln"
    numbered = True
    inferable = ("normalized_shape",)
    # the trailing dims are checked against fixed sizes, so spatial dims are not free
    separable = False

    normalized_shape: tuple[int, ...] | None = None
    eps: float = 1e-5
    elementwise_affine: Flag = True
    bias: Flag = True

    @field_validator("normalized_shape", mode="before")
    @classmethod
    def _shape(cls, value: object) -> object:
        return _normalized_shape(value)

    @field_validator("eps", mode="before")
    @classmethod
    def _eps(cls, value: object) -> object:
        return number(value, "a number")

    def reach(self, dim: int, shapes: tuple[Shape, ...], output: Shape, k: int = 0) -> Reach | None:
        """Each slice is normalised by statistics over the ``normalized_shape`` dims."""
        count = len(self.normalized_shape) if self.normalized_shape else 1
        return Whole(self.type) if dim >= len(shapes[0]) - count else None

    def _rows(self, shape: Shape) -> int:
        """How many slices are normalised: the elements over those of ``normalized_shape``."""
        count = len(self.normalized_shape) if self.normalized_shape else 1
        return math.prod(shape[: len(shape) - count])

    def saved(
        self, shapes: tuple[Shape, ...], output: Shape, grads: tuple[bool, ...], trainable: bool
    ) -> tuple[Stored, ...]:
        """The input, and the mean and inverse deviation of each normalised slice."""
        return (INPUT, new_tensor(2 * self._rows(shapes[0])))

    def workspace(self, shapes: tuple[Shape, ...], output: Shape, itemsize: int) -> int:
        return 2 * self._rows(shapes[0]) * itemsize

    def infer(self, shape: Shape) -> Outcome:
        notes: tuple[str, ...] = ()
        if self.normalized_shape is None:
            normalized: Shape = shape[-1:]
            if len(shape) >= 4:
                notes = (
                    f"normalized_shape inferred as [{shape[-1]}], the last dimension only; to "
                    f"normalise over {shape_str(shape[1:])} write normalized_shape: "
                    f"{shape_str(shape[1:])}",
                )
        else:
            normalized = self.normalized_shape
            k = len(normalized)
            if len(shape) < k or shape[-k:] != normalized:
                star = ", ".join(["*", *map(str, normalized)])
                trailing = shape[-k:] if len(shape) >= k else shape
                raise LayerError(
                    f"given normalized_shape={shape_str(normalized)}, torch expects an input of "
                    f"shape [{star}], but got {shape_str(shape)}",
                    f"Set normalized_shape: {shape_str(trailing)}, or leave it out to normalise "
                    "over the last dimension",
                    field="normalized_shape",
                )
        size = math.prod(normalized)
        params = size * (2 if self.bias else 1) if self.elementwise_affine else 0
        return Outcome(
            shape,
            params,
            formula=f"normalised over {shape_str(normalized)}, the last "
            + (f"{len(normalized)} dims" if len(normalized) > 1 else "dim"),
            notes=notes,
            inferred={"normalized_shape": normalized},
        )

    @classmethod
    def examples(cls, st: Any) -> Any:
        def draw(draw: Any) -> tuple[dict[str, Any], Shape]:
            shape = tuple(draw(st.lists(st.integers(1, 4), min_size=1, max_size=4)))
            k = draw(st.integers(1, len(shape) + 1))
            trailing = list(shape[-k:]) if k <= len(shape) else [1, *shape]
            if draw(st.integers(0, 4)) == 0:
                trailing[0] = trailing[0] % 4 + 1  # a wrong size
            args: dict[str, Any] = {
                "normalized_shape": trailing[0]
                if len(trailing) == 1 and draw(st.booleans())
                else trailing
            }
            for flag in ("elementwise_affine", "bias"):
                if draw(st.booleans()):
                    args[flag] = draw(st.booleans())
            return args, shape

        return st.composite(draw)()


@register
class LocalResponseNorm(Layer):
    """Local response normalisation across channels (AlexNet's), ``size`` neighbouring channels.

    Shape (https://pytorch.org/docs/stable/generated/torch.nn.LocalResponseNorm.html): (N, C, *),
    at least 3-D, kept. No parameters.
    """

    type: Literal["LocalResponseNorm"] = "LocalResponseNorm"
    family = "normalisation"
    stem = "lrn"

    size: int
    alpha: float = 1e-4
    beta: float = 0.75
    k: float = 1.0

    @field_validator("size", mode="before")
    @classmethod
    def _size(cls, value: object) -> object:
        return check_int(value, 1, POSITIVE)

    @field_validator("alpha", "beta", "k", mode="before")
    @classmethod
    def _numbers(cls, value: object) -> object:
        return number(value, "a number")

    def _padded(self, shape: Shape) -> int:
        """F.local_response_norm's x² padded with size − 1 channels."""
        return shape[0] * (shape[1] + self.size - 1) * math.prod(shape[2:])

    def saved(
        self, shapes: tuple[Shape, ...], output: Shape, grads: tuple[bool, ...], trainable: bool
    ) -> tuple[Stored, ...]:
        """The input, the padded x² the average pooling keeps, and two input-sized results
        (k + α·avg, and its power β) the power and the division keep."""
        n = math.prod(shapes[0])
        return (INPUT, new_tensor(self._padded(shapes[0])), new_tensor(2 * n))

    def workspace(self, shapes: tuple[Shape, ...], output: Shape, itemsize: int) -> int:
        """The padded x² beside x², or two of the chained temporaries."""
        return max(self._padded(shapes[0]), 2 * math.prod(shapes[0])) * itemsize

    def infer(self, shape: Shape) -> Outcome:
        if len(shape) < 3:
            raise LayerError(
                f"LocalResponseNorm expects an input of at least 3 dimensions (N, C, *), but got "
                f"a {len(shape)}-D tensor {shape_str(shape)}",
                "Use it after a convolution, before any Flatten",
            )
        return Outcome(shape, formula=f"shape kept (over {self.size} neighbouring channels)")

    @classmethod
    def examples(cls, st: Any) -> Any:
        args = st.fixed_dictionaries(
            {"size": st.integers(1, 6)},
            optional={"alpha": st.sampled_from([1e-4, 1.0]), "k": st.sampled_from([1.0, 2])},
        )
        shapes = st.lists(st.integers(1, 4), min_size=2, max_size=5).map(tuple)
        return st.tuples(args, shapes)
