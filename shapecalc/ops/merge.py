"""Merges: operations that read several outputs of a graph and have no module.

``Add`` is ``torch.add`` (a residual connection: equal shapes), ``Multiply`` is ``torch.mul`` (a gate:
torch broadcasting), ``Concat`` is ``torch.cat(dim=...)``. They have no parameters and count no
multiply-adds (as torchinfo and ``FlopCounterMode`` count them).
"""

from __future__ import annotations

import itertools
import math
from typing import Any, Literal

from pydantic import field_validator

from ..errors import LayerError
from ..formulas import Offset, Reach
from .base import (
    INPUT,
    Flag,
    Merge,
    Outcome,
    Shape,
    Stored,
    check_dim,
    check_int,
    new_tensor,
    register,
    shape_str,
)


def broadcast(shapes: tuple[Shape, ...]) -> Shape | None:
    """torch's broadcast of several shapes (aligned from the right), or None when they don't.

    >>> broadcast(((1, 64, 56, 56), (1, 64, 1, 1)))
    (1, 64, 56, 56)
    >>> broadcast(((2, 3), (4, 3))) is None
    True
    """
    out = []
    for column in itertools.zip_longest(*(reversed(s) for s in shapes), fillvalue=1):
        sizes = {size for size in column if size != 1}
        if len(sizes) > 1:
            return None
        out.append(sizes.pop() if sizes else 1)
    return tuple(reversed(out))


def _names(names: tuple[str, ...] | None, count: int) -> tuple[str, ...]:
    return names if names is not None else tuple(f"input {i}" for i in range(count))


def _quoted(name: str) -> str:
    return f"'{name}'"


def _partials(shapes: tuple[Shape, ...]) -> list[Shape]:
    """The running results of folding ``shapes`` left with a binary op, the last one the output."""
    out = [shapes[0]]
    for shape in shapes[1:]:
        out.append(broadcast((out[-1], shape)) or shape)
    return out[1:]


class Elementwise(Merge):
    """A sum or product of two or more inputs: torch.add / torch.mul take two tensors, so more are
    folded left (``add(add(a, b), c)``), each partial result a tensor of its own."""

    family = "merge"

    def workspace(self, shapes: tuple[Shape, ...], output: Shape, itemsize: int) -> int:
        """With three inputs or more: the partial results, two alive at the widest step."""
        partials = [math.prod(s) for s in _partials(shapes)]
        widest = 0
        for k, size in enumerate(partials):
            before = partials[k - 1] if k else 0
            widest = max(widest, before + (size if k < len(partials) - 1 else 0))
        return widest * itemsize

    @classmethod
    def examples(cls, st: Any) -> Any:
        def draw(draw: Any) -> tuple[dict[str, Any], tuple[Shape, ...]]:
            base = tuple(draw(st.lists(st.integers(1, 4), min_size=1, max_size=4)))
            shapes = [base]
            for _ in range(draw(st.integers(1, 2))):
                other = list(base)
                for i in range(len(other)):
                    if draw(st.integers(0, 3)) == 0:
                        other[i] = draw(st.sampled_from([1, other[i] + 1]))
                if draw(st.integers(0, 4)) == 0:
                    other = other[draw(st.integers(0, len(other) - 1)) :]
                shapes.append(tuple(other))
            args: dict[str, Any] = {}
            if "broadcast" in cls.model_fields and draw(st.booleans()):
                args["broadcast"] = True
            return args, tuple(shapes)

        return st.composite(draw)()


@register
class Add(Elementwise):
    """Element-wise sum of its inputs, ``torch.add``
    (https://pytorch.org/docs/stable/generated/torch.add.html).

    Shape: the inputs' common shape. Inputs that differ and only add up by broadcasting are an
    error unless ``broadcast: true`` says that is meant.
    """

    type: Literal["Add"] = "Add"
    function = "add"

    broadcast: Flag = False

    def infer_all(self, shapes: tuple[Shape, ...], names: tuple[str, ...] | None = None) -> Outcome:
        names = _names(names, len(shapes))
        formula = "Add: " + " + ".join(shape_str(s) for s in shapes)
        if all(s == shapes[0] for s in shapes):
            return Outcome(shapes[0], formula=formula)
        out = broadcast(shapes)
        first = next(i for i, s in enumerate(shapes) if s != shapes[0])
        pair = (
            f"{_quoted(names[0])} is {shape_str(shapes[0])} and {_quoted(names[first])} is "
            f"{shape_str(shapes[first])}"
        )
        if out is None:
            raise LayerError(f"the inputs must have equal shapes, but {pair}", field="from")
        if not self.broadcast:
            raise LayerError(
                f"the inputs must have equal shapes, but {pair} (torch would broadcast them to "
                f"{shape_str(out)})",
                "Make the shapes equal, or set broadcast: true if broadcasting is meant",
                field="from",
            )
        return Outcome(out, formula=f"{formula} → {shape_str(out)} (broadcast)")


@register
class Multiply(Elementwise):
    """Element-wise product with torch broadcasting, ``torch.mul``
    (https://pytorch.org/docs/stable/generated/torch.mul.html): a squeeze-and-excitation gate
    [N, C, 1, 1] times [N, C, H, W]. Shape: the broadcast shape."""

    type: Literal["Multiply"] = "Multiply"
    function = "mul"

    def saved(
        self, shapes: tuple[Shape, ...], output: Shape, grads: tuple[bool, ...], trainable: bool
    ) -> tuple[Stored, ...]:
        """Each product keeps one factor for the other's gradient: the left one (an input, or a
        partial product) when the right needs a gradient, the right one when the left does."""
        kept: list[Stored] = []
        partials = _partials(shapes)
        for k in range(1, len(shapes)):
            left_grad = any(grads[:k])
            if grads[k]:
                kept.append(INPUT if k == 1 else new_tensor(math.prod(partials[k - 2])))
            if left_grad:
                kept.append(Stored("input", k))
        return tuple(kept)

    def infer_all(self, shapes: tuple[Shape, ...], names: tuple[str, ...] | None = None) -> Outcome:
        names = _names(names, len(shapes))
        out = broadcast(shapes)
        formula = " · ".join(shape_str(s) for s in shapes)
        if out is None:
            listed = ", ".join(
                f"{_quoted(n)} {shape_str(s)}" for n, s in zip(names, shapes, strict=True)
            )
            raise LayerError(
                f"the inputs must broadcast (each dim, aligned from the right, equal or 1), but "
                f"got {listed}",
                field="from",
            )
        if any(s != out for s in shapes):
            formula += f" → {shape_str(out)} (broadcast)"
        return Outcome(out, formula=formula)


@register
class Concat(Merge):
    """Concatenation along ``dim``, ``torch.cat``
    (https://pytorch.org/docs/stable/generated/torch.cat.html).

    Shape: the inputs must have equal rank and agree in every dim but ``dim``; the output's ``dim``
    is the sum of theirs.
    """

    type: Literal["Concat"] = "Concat"
    family = "merge"
    stem = "cat"
    function = "cat"
    takes_list = True

    dim: int = 1

    @field_validator("dim", mode="before")
    @classmethod
    def _dim(cls, value: object) -> object:
        return check_int(value, None, "an integer")

    def infer_all(self, shapes: tuple[Shape, ...], names: tuple[str, ...] | None = None) -> Outcome:
        names = _names(names, len(shapes))
        rank = len(shapes[0])
        for name, shape in zip(names, shapes, strict=True):
            if len(shape) != rank:
                raise LayerError(
                    f"the inputs must have the same number of dims, but {_quoted(names[0])} is "
                    f"{shape_str(shapes[0])} and {_quoted(name)} is {shape_str(shape)}",
                    field="from",
                )
        try:
            dim = check_dim(self.dim, rank, "dim")
        except LayerError as exc:
            joins = {2: "; dim=1 joins their features"}.get(rank, "; dim=1 joins their channels")
            raise LayerError(
                exc.rule,
                f"{exc.fix} for the {rank}-D inputs ({_quoted(names[0])} is "
                f"{shape_str(shapes[0])}){joins if rank > 1 else ''}",
                field="dim",
            ) from None
        for name, shape in zip(names, shapes, strict=True):
            other = [i for i in range(rank) if i != dim and shape[i] != shapes[0][i]]
            if other:
                raise LayerError(
                    f"the inputs must agree in every dim but {dim}, but {_quoted(names[0])} is "
                    f"{shape_str(shapes[0])} and {_quoted(name)} is {shape_str(shape)}",
                    field="from",
                )
        total = sum(s[dim] for s in shapes)
        axis = "C" if dim == 1 else f"dim {dim}"
        formula = f"{axis}: " + " + ".join(str(s[dim]) for s in shapes) + f" = {total}"
        return Outcome((*shapes[0][:dim], total, *shapes[0][dim + 1 :]), formula=formula)

    def reach(self, dim: int, shapes: tuple[Shape, ...], output: Shape, k: int = 0) -> Reach | None:
        """Along the concatenated dimension input k fills its own range of positions."""
        if dim != self.dim % len(output):
            return None
        offset = sum(s[dim] for s in shapes[:k])
        return Offset(offset, shapes[k][dim])

    def function_kwargs(self) -> dict[str, Any]:
        return {"dim": self.dim}

    @classmethod
    def examples(cls, st: Any) -> Any:
        def draw(draw: Any) -> tuple[dict[str, Any], tuple[Shape, ...]]:
            rank = draw(st.integers(1, 4))
            dim = draw(st.integers(-rank, rank - 1))
            base = [draw(st.integers(1, 4)) for _ in range(rank)]
            shapes = []
            for _ in range(draw(st.integers(2, 3))):
                shape = list(base)
                shape[dim] = draw(st.integers(1, 4))
                if draw(st.integers(0, 5)) == 0:
                    j = draw(st.integers(0, rank - 1))
                    shape[j] += 1
                shapes.append(tuple(shape))
            args = {"dim": dim} if dim != 1 or draw(st.booleans()) else {}
            if draw(st.integers(0, 8)) == 0:
                args["dim"] = draw(st.integers(-6, 6))
            return args, tuple(shapes)

        return st.composite(draw)()
