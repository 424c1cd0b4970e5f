"""The compiled network: one row per node with its shapes, parameters and formulas.

``propagate`` compiles a spec (blocks instantiated, repeats unrolled, expressions evaluated, inferred
sizes filled in) and runs every node over shapes. It returns a :class:`Trace`, a frozen record that
every other part reads: the CLI's table and JSON, the solvers, the builder, the analyses.

A chain's trace has one row per layer. A graph's trace has, in file order, a row per layer and merge
(``kind`` "layer" or "merge"), a row per container (a block instance, a ``Sequential``, a ``repeat``)
before the rows inside it, and a row per left-out entry (``if:`` false). Hierarchical names are
the names torch gives the built modules (``layer2.0.conv1``).

Multiply-adds follow torchinfo's convention, bias included, so the two tools agree exactly:
a convolution costs ``params × N × prod(output spatial dims)``; any other layer with parameters
costs ``N × params``, where N is the first dimension of the output (the batch). Merges cost 0.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from .ops import Op, Shape, shape_str

LEAF_KINDS = ("layer", "merge")
CONTAINER_KINDS = ("block", "sequential", "repeat")


@dataclass(frozen=True)
class Use:
    """One block instance in the chain that produced a node (outermost first)."""

    name: str  # the instance's row name, "layer2.0"
    block: str  # "BasicBlock"
    args: tuple[tuple[str, Any], ...]  # the parameters it was given, evaluated
    path: str  # the entry that used the block, "layers[5]"

    def describe(self) -> str:
        """``layer2.0 = BasicBlock(out_channels=128, stride=2)``"""
        given = ", ".join(f"{k}={v}" for k, v in self.args)
        return f"{self.name} = {self.block}({given})"


@dataclass(frozen=True)
class Row:
    """One node of a trace."""

    index: int
    name: str  # hierarchical: "conv1", "layer2.0.conv1"
    type: str
    input_shape: Shape  # the first input's shape
    output_shape: Shape
    params: int
    macs: int
    formulas: tuple[str, ...]  # one per spatial dimension, or one line for other nodes
    notes: tuple[str, ...] = ()
    inferred: dict[str, Any] = field(default_factory=dict)
    kind: str = "layer"  # layer, merge, block, sequential, repeat, skipped
    op: Op | None = None  # the validated layer or merge (None for containers)
    inputs: tuple[str, ...] = ()  # the rows (or graph inputs, "x") it reads
    labels: tuple[str, ...] = ()  # those inputs as the spec names them in its scope
    input_shapes: tuple[Shape, ...] = ()
    parent: str | None = None  # the enclosing container's row name
    depth: int = 1  # 1 at the top level
    path: str = ""  # the spec entry it comes from, "blocks.BasicBlock.layers[0]"
    chain: tuple[Use, ...] = ()
    local: str = ""  # its name inside its parent (the module attribute)
    trainable: bool = True
    returns: str = ""  # a container's: the row whose output it returns

    @property
    def is_leaf(self) -> bool:
        return self.kind in LEAF_KINDS


@dataclass(frozen=True)
class Trace:
    """The shapes a spec's input takes through every node."""

    name: str
    input_shape: Shape
    rows: tuple[Row, ...]
    outputs: tuple[str, ...] = ()  # the rows whose outputs the network returns
    warnings: tuple[tuple[str, str], ...] = ()  # (spec path, message): hazards the graph shows

    @cached_property
    def layers(self) -> tuple[Row, ...]:
        """The rows that compute something: layers and merges (no containers)."""
        return tuple(row for row in self.rows if row.is_leaf)

    @cached_property
    def by_name(self) -> dict[str, Row]:
        return {row.name: row for row in self.rows}

    @property
    def is_graph(self) -> bool:
        """False for a plain chain: layers only, each reading the one above, the last returned."""
        previous = "x"
        for row in self.rows:
            if row.kind != "layer" or row.inputs != (previous,):
                return True
            previous = row.name
        return bool(self.outputs) and self.outputs != (previous,)

    @property
    def output_shapes(self) -> tuple[Shape, ...]:
        if not self.outputs:
            last = self.layers[-1].output_shape if self.layers else self.input_shape
            return (last,)
        return tuple(
            self.input_shape if name == "x" else self.by_name[name].output_shape
            for name in self.outputs
        )

    @property
    def output_shape(self) -> Shape:
        """The output shape (the first one, when the network returns several)."""
        return self.output_shapes[0]

    @property
    def total_params(self) -> int:
        return sum(row.params for row in self.layers)

    @property
    def trainable_params(self) -> int:
        return sum(row.params for row in self.layers if row.trainable)

    @property
    def total_macs(self) -> int:
        return sum(row.macs for row in self.layers)

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "input_shape": list(self.input_shape),
            "output_shape": list(self.output_shape),
            "output_shapes": [list(s) for s in self.output_shapes],
            "total_params": self.total_params,
            "total_mult_adds": self.total_macs,
            "mult_adds": self.total_macs,
            "layers": [_row_dict(row) for row in self.layers],
            "blocks": [
                _row_dict(row) for row in self.rows if row.kind in (*CONTAINER_KINDS, "skipped")
            ],
            "warnings": [{"field": path, "message": message} for path, message in self.warnings],
        }


def _row_dict(row: Row) -> dict[str, Any]:
    return {
        "index": row.index,
        "name": row.name,
        "type": row.type,
        "kind": row.kind,
        "from": list(row.inputs),
        "input_shape": list(row.input_shape),
        "input_shapes": [list(s) for s in row.input_shapes],
        "output_shape": list(row.output_shape),
        "params": row.params,
        "mult_adds": row.macs,
        "formulas": list(row.formulas),
        "notes": list(row.notes),
        "depth": row.depth,
        "parent": row.parent,
        "field": row.path,
    }


def propagate(spec: Any, input_shape: Shape | None = None) -> Trace:
    """Compile ``spec`` and compute every node's output shape, parameters and multiply-adds.

    ``input_shape`` (batch first) overrides ``(spec.batch, *spec.input)``. Raises ShapeError at the
    first node that cannot take its input (``error.trace`` holds the rows before it), CompileError
    when an argument computed from an expression is invalid.

    >>> from shapecalc.spec import Spec
    >>> spec = Spec.model_validate({"input": [3, 32, 32], "layers": [
    ...     {"type": "Conv2d", "out_channels": 8, "kernel_size": 3}, {"type": "Flatten"}]})
    >>> propagate(spec).output_shape
    (1, 7200)
    """
    from .spec.compile import compile_spec

    return compile_spec(spec, input_shape)


__all__ = ["Row", "Trace", "Use", "propagate", "shape_str"]
