"""Shape propagation: run a spec's layers over shapes, and record what each one does.

``propagate`` returns a :class:`Trace`, a frozen record; the CLI's table and JSON are renderings of it.

Multiply-adds follow torchinfo's convention, bias included, so the two tools agree exactly:
a convolution costs ``params × N × prod(output spatial dims)``; any other layer with parameters
costs ``N × params``, where N is the first dimension of the output (the batch).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from .errors import LayerError, ShapeError
from .layers import ConvNd, Layer, Shape, shape_str
from .spec import Spec


@dataclass(frozen=True)
class Row:
    """One layer of a trace."""

    index: int
    name: str
    type: str
    input_shape: Shape
    output_shape: Shape
    params: int
    macs: int
    formulas: tuple[str, ...]  # one per spatial dimension, or one line for other layers
    notes: tuple[str, ...] = ()
    inferred: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class Trace:
    """The shapes a spec's input takes through every layer."""

    name: str
    input_shape: Shape
    rows: tuple[Row, ...]

    @property
    def output_shape(self) -> Shape:
        return self.rows[-1].output_shape if self.rows else self.input_shape

    @property
    def total_params(self) -> int:
        return sum(row.params for row in self.rows)

    @property
    def total_macs(self) -> int:
        return sum(row.macs for row in self.rows)

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "input_shape": list(self.input_shape),
            "output_shape": list(self.output_shape),
            "total_params": self.total_params,
            "total_mult_adds": self.total_macs,
            "layers": [
                {
                    "index": row.index,
                    "name": row.name,
                    "type": row.type,
                    "input_shape": list(row.input_shape),
                    "output_shape": list(row.output_shape),
                    "params": row.params,
                    "mult_adds": row.macs,
                    "formulas": list(row.formulas),
                    "notes": list(row.notes),
                }
                for row in self.rows
            ],
        }


def multiply_adds(layer: Layer, output: Shape, params: int) -> int:
    """torchinfo's multiply-add count for one layer (see the module docstring)."""
    if params == 0:
        return 0
    if isinstance(layer, ConvNd):
        return params * output[0] * math.prod(output[2:])
    return output[0] * params


def propagate(spec: Spec, input_shape: Shape | None = None) -> Trace:
    """Compute every layer's output shape, parameters and multiply-adds.

    ``input_shape`` (batch first) overrides ``(spec.batch, *spec.input)``. Raises ShapeError at the
    first layer that cannot take its input; ``error.trace`` holds the layers before it.

    >>> from shapecalc.spec import Spec
    >>> spec = Spec.model_validate({"input": [3, 32, 32], "layers": [
    ...     {"type": "Conv2d", "out_channels": 8, "kernel_size": 3}, {"type": "Flatten"}]})
    >>> propagate(spec).output_shape
    (1, 7200)
    """
    shape = input_shape if input_shape is not None else spec.input_shape
    start = shape
    rows: list[Row] = []
    names = spec.layer_names
    for index, (layer, name) in enumerate(zip(spec.layers, names, strict=True)):
        try:
            outcome = layer.infer(shape)
        except LayerError as exc:
            after = (
                f"from layers[{index - 1}] {rows[-1].type} '{rows[-1].name}'"
                if rows
                else "from the spec's input"
            )
            raise ShapeError(
                exc,
                index=index,
                layer_name=name,
                layer_type=layer.type,
                input_shape=shape,
                after=after,
                trace=Trace(spec.name, start, tuple(rows)),
            ) from None
        formulas = tuple(d.text for d in outcome.dims) or (outcome.formula,)
        rows.append(
            Row(
                index=index,
                name=name,
                type=layer.type,
                input_shape=shape,
                output_shape=outcome.output,
                params=outcome.params,
                macs=multiply_adds(layer, outcome.output, outcome.params),
                formulas=formulas,
                notes=outcome.notes,
                inferred=outcome.inferred,
            )
        )
        shape = outcome.output
    return Trace(spec.name, start, tuple(rows))


__all__ = ["Row", "Trace", "multiply_adds", "propagate", "shape_str"]
