"""The shared base of layers that slide over 1, 2 or 3 spatial dimensions."""

from __future__ import annotations

from dataclasses import replace
from typing import Any, ClassVar

from ..errors import LayerError
from .base import AXES, REGISTRY, Layer, Outcome, Shape, shape_str


class Spatial(Layer):
    """A layer over ``n`` spatial dims: input (N, C, *spatial) or unbatched (C, *spatial)."""

    n: ClassVar[int] = 2

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        super().__pydantic_init_subclass__(**kwargs)
        cls.rank = cls.n

    @classmethod
    def axes(cls) -> tuple[str, ...]:
        return AXES[cls.n]

    @classmethod
    def split(cls, shape: Shape) -> tuple[Shape, Shape]:
        """Leading dims (batch?, channels) and the n spatial dims; torch takes n+1 or n+2 dims."""
        if len(shape) not in (cls.n + 1, cls.n + 2):
            raise LayerError(
                f"{cls.type_name()} expects a {cls.n + 2}-D (batch, channels, "
                f"{', '.join(cls.axes())}) or {cls.n + 1}-D unbatched input, but got a "
                f"{len(shape)}-D tensor {shape_str(shape)}",
                "Put Flatten after the last convolution or pooling layer"
                if len(shape) < cls.n + 1
                else None,
            )
        return shape[: -cls.n], shape[-cls.n :]

    def infer_all(self, shapes: tuple[Shape, ...], names: tuple[str, ...] | None = None) -> Outcome:
        outcome = self.infer(shapes[0])
        if len(shapes[0]) == self.n + 1:
            outcome = replace(outcome, notes=(*outcome.notes, self.unbatched_note(shapes[0])))
        return outcome

    @classmethod
    def unbatched_note(cls, shape: Shape) -> str:
        """What a designer should know when torch reads ``shape`` as one unbatched sample: the
        leading dim, which a spec makes the batch, becomes the channels."""
        name = cls.type_name()
        note = (
            f"{name} reads the {len(shape)}-D tensor {shape_str(shape)} as one unbatched "
            f"(C, {', '.join(cls.axes())}) sample, so its first dim ({shape[0]}, the batch) "
            "becomes the channels"
        )
        other = name.replace(f"{cls.n}d", f"{cls.n - 1}d")
        if other != name and other in REGISTRY:
            note += f"; for a per-sample input {shape_str(shape[1:])} use {other}"
        return note


def spatial_shape(st: Any, n: int, lo: int = 1, hi: int = 20) -> Any:
    """Hypothesis: a batched or unbatched (N, C, *n sizes) input shape."""
    batched = st.tuples(st.integers(1, 3), st.integers(1, 6), *[st.integers(lo, hi)] * n)
    unbatched = st.tuples(st.integers(1, 6), *[st.integers(lo, hi)] * n)
    return st.one_of(batched, batched, unbatched)


def int_or_tuple(st: Any, n: int, lo: int, hi: int) -> Any:
    """Hypothesis: an int, or a list of ``n`` ints (as a spec writes it)."""
    return st.one_of(st.integers(lo, hi), st.lists(st.integers(lo, hi), min_size=n, max_size=n))
