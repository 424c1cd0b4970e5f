"""Normalisation: BatchNorm1d, BatchNorm2d, BatchNorm3d."""

from __future__ import annotations

import math
from typing import Any, ClassVar, Literal

from pydantic import field_validator

from ..errors import LayerError
from .base import (
    INPUT,
    Flag,
    Layer,
    Outcome,
    Shape,
    Stored,
    new_tensor,
    number,
    positive_or_none,
    register,
    shape_str,
)


class BatchNormNd(Layer):
    """Batch normalisation over the channel dim (dim 1).

    Shape (https://pytorch.org/docs/stable/generated/torch.nn.BatchNorm2d.html): kept. torch refuses
    one value per channel (N·spatial = 1) when it uses batch statistics: in training mode, and in
    eval mode too when ``track_running_stats`` is false.
    """

    family = "normalisation"
    stem = "bn"
    numbered = True
    inferable = ("num_features",)
    ranks: ClassVar[tuple[int, ...]] = (4,)  # the input ranks torch accepts

    num_features: int | None = None
    eps: float = 1e-5
    momentum: float | None = 0.1
    affine: Flag = True
    track_running_stats: Flag = True

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
        params = 2 * channels if self.affine else 0
        inferred = {"num_features": self.num_features or channels}
        return Outcome(shape, params, formula="shape kept", notes=tuple(notes), inferred=inferred)

    def saved(
        self, shapes: tuple[Shape, ...], output: Shape, grads: tuple[bool, ...], trainable: bool
    ) -> tuple[Stored, ...]:
        """The input, and the batch mean and inverse standard deviation of each channel (in the
        activations' dtype on the CPU); the weight and running statistics are module tensors."""
        return (INPUT, new_tensor(2 * shapes[0][1]))

    def buffers(self, shapes: tuple[Shape, ...], output: Shape) -> tuple[Stored, ...]:
        """``running_mean``, ``running_var`` and the int64 ``num_batches_tracked``."""
        if not self.track_running_stats:
            return ()
        return (new_tensor(2 * shapes[0][1]), new_tensor(1, 8))

    def workspace(self, shapes: tuple[Shape, ...], output: Shape) -> tuple[Stored, ...]:
        """Without running statistics eval mode computes the batch's, and drops them."""
        return () if self.track_running_stats else (new_tensor(2 * shapes[0][1]),)

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
            args: dict[str, Any] = {}
            if draw(st.booleans()):
                args["num_features"] = shape[1] if draw(st.booleans()) else draw(st.integers(1, 4))
            if draw(st.booleans()):
                args["affine"] = draw(st.booleans())
            if draw(st.booleans()):
                args["track_running_stats"] = draw(st.booleans())
            args.setdefault("num_features", shape[1] if len(shape) > 1 else 1)
            return args, shape

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
