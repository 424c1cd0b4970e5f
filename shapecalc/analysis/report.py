"""Everything ``check`` can show about a trace, as records: chosen columns, per-row cells, totals.

The table's columns (``check --columns``, like torchinfo's ``col_names``) and every figure are
computed here; renderers only lay out the strings and numbers they are given.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..errors import ShapecalcError
from ..ops import shape_str
from .memory import DTYPES, Memory, format_bytes, memory_use
from .operations import Operations, count_operations
from .receptive import ReceptiveFields, receptive_fields

if TYPE_CHECKING:
    from ..trace import Row, Trace

__all__ = [
    "COLUMNS",
    "DEFAULT_COLUMNS",
    "Analysis",
    "Totals",
    "analyse",
    "parse_columns",
]

#: every column ``check --columns`` knows, in the table's order
COLUMNS = ("input", "output", "params", "mult_adds", "flops", "rf", "memory", "formula")
#: the columns shown when none are chosen
DEFAULT_COLUMNS = ("input", "output", "params", "formula")
HEADERS = {
    "input": "input",
    "output": "output",
    "params": "params",
    "mult_adds": "mult-adds",
    "flops": "FLOPs",
    "rf": "receptive field",
    "memory": "output / saved",
    "formula": "formula",
}


def parse_columns(text: str) -> tuple[str, ...]:
    """``"output,params,rf"`` → the columns in the table's order; ShapecalcError names an unknown
    one with the closest known name.

    >>> parse_columns("rf, params")
    ('params', 'rf')
    """
    chosen = [part.strip() for part in text.split(",") if part.strip()]
    if not chosen:
        raise ShapecalcError(f"--columns needs at least one of {', '.join(COLUMNS)}")
    for name in chosen:
        if name not in COLUMNS:
            close = difflib.get_close_matches(name.replace("-", "_"), COLUMNS, n=1)
            hint = f"; did you mean '{close[0]}'?" if close else ""
            raise ShapecalcError(
                f"--columns: unknown column '{name}'{hint} (known: {', '.join(COLUMNS)})"
            )
    return tuple(c for c in COLUMNS if c in chosen)


@dataclass(frozen=True)
class Totals:
    """The totals block of ``check``: counts, and sizes in bytes with their human text."""

    total_params: int
    trainable_params: int
    non_trainable_params: int
    mult_adds: int
    flops: int
    dtype: str
    batch: int
    param_bytes: int
    buffer_bytes: int
    input_bytes: int
    inference_bytes: int  # peak of live activations of an inference forward, input included
    inference_at: str | None
    training_bytes: int  # activations autograd saves for backward

    def lines(self) -> list[tuple[str, str]]:
        """(label, value) pairs in the order ``check`` prints them."""
        at = f" (at {self.inference_at})" if self.inference_at else ""
        return [
            ("Total params", f"{self.total_params:,}"),
            ("Trainable params", f"{self.trainable_params:,}"),
            ("Non-trainable params", f"{self.non_trainable_params:,}"),
            ("Mult-adds", f"{self.mult_adds:,}"),
            ("FLOPs", f"{self.flops:,}"),
            (f"Params size ({self.dtype})", format_bytes(self.param_bytes)),
            ("Buffers size", format_bytes(self.buffer_bytes)),
            (f"Input size (batch {self.batch})", format_bytes(self.input_bytes)),
            ("Activations, inference peak", format_bytes(self.inference_bytes) + at),
            ("Activations saved for training", format_bytes(self.training_bytes)),
        ]

    def to_dict(self) -> dict[str, object]:
        return {
            "params": self.total_params,
            "trainable_params": self.trainable_params,
            "non_trainable_params": self.non_trainable_params,
            "mult_adds": self.mult_adds,
            "flops": self.flops,
            "dtype": self.dtype,
            "batch": self.batch,
            "param_bytes": self.param_bytes,
            "buffer_bytes": self.buffer_bytes,
            "input_bytes": self.input_bytes,
            "inference_activation_bytes": self.inference_bytes,
            "inference_peak_at": self.inference_at,
            "training_activation_bytes": self.training_bytes,
        }


@dataclass(frozen=True)
class Analysis:
    """A trace with its receptive fields, memory and operations at one dtype."""

    trace: Trace
    memory: Memory
    operations: Operations
    fields: ReceptiveFields | None = None

    def headers(self, columns: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(HEADERS[c] for c in columns)

    def cells(self, row: Row, columns: tuple[str, ...]) -> dict[str, str]:
        """The text of each chosen column for one row (a container's figures are its contents')."""
        out: dict[str, str] = {}
        for column in columns:
            if column == "input":
                out[column] = shape_str(row.input_shape)
            elif column == "output":
                out[column] = shape_str(row.output_shape)
            elif column == "params":
                out[column] = f"{row.params:,}"
            elif column == "mult_adds":
                out[column] = f"{row.macs:,}"
            elif column == "flops":
                out[column] = f"{self._flops(row):,}" if row.kind != "skipped" else "0"
            elif column == "rf":
                node = self.fields.nodes.get(row.returns or row.name) if self.fields else None
                out[column] = node.describe() if node is not None and row.kind != "skipped" else ""
            elif column == "memory":
                out[column] = self._memory(row) if row.kind != "skipped" else ""
            else:
                out[column] = ""  # the formula: drawn by the renderer from the row's formulas
        return out

    def _memory(self, row: Row) -> str:
        """Output / saved for training; a container's output is the node it returns, its saved
        bytes its contents'."""
        if row.is_leaf:
            node = self.memory[row.name]
            text = format_bytes(node.output_bytes) if not node.aliases else "(view)"
            saved = node.saved_bytes
        else:
            text = format_bytes(self.memory[row.returns].output_bytes)
            prefix = row.name + "."
            saved = sum(n.saved_bytes for n in self.memory.nodes if n.name.startswith(prefix))
        return f"{text} / {format_bytes(saved)}" if saved else text

    def _flops(self, row: Row) -> int:
        if row.is_leaf:
            return self.operations[row.name].flops
        prefix = row.name + "."
        return sum(n.flops for n in self.operations.nodes if n.name.startswith(prefix))

    def totals(self) -> Totals:
        m = self.memory
        return Totals(
            total_params=self.trace.total_params,
            trainable_params=m.trainable_params,
            non_trainable_params=m.frozen_params,
            mult_adds=self.operations.mult_adds,
            flops=self.operations.flops,
            dtype=m.dtype,
            batch=m.batch,
            param_bytes=m.param_bytes,
            buffer_bytes=m.buffer_bytes,
            input_bytes=m.input_bytes,
            inference_bytes=m.peak_bytes,
            inference_at=m.peak_node,
            training_bytes=m.saved_bytes,
        )

    def row_dict(self, row: Row) -> dict[str, object]:
        """The figures of one layer or merge for ``--json``, units in the key names."""
        node = self.memory[row.name]
        out: dict[str, object] = {
            "flops": self.operations[row.name].flops,
            **node.to_dict(),
        }
        if self.fields is not None:
            out["receptive_field"] = [a.to_dict() for a in self.fields[row.name].axes]
        return out


def analyse(trace: Trace, dtype: str = "float32", fields: bool = True) -> Analysis:
    """Memory, operations and (unless ``fields`` is false) receptive fields of ``trace``.

    Raises ShapecalcError for an unknown dtype (see :data:`~shapecalc.analysis.DTYPES`).
    """
    if dtype not in DTYPES:
        raise ShapecalcError(f"--dtype must be one of {', '.join(DTYPES)}, but got {dtype!r}")
    return Analysis(
        trace,
        memory_use(trace, dtype),
        count_operations(trace),
        receptive_fields(trace) if fields else None,
    )
