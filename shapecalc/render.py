"""Draw records for people (rich tables) and for programs (JSON-ready dicts). No arithmetic here."""

from __future__ import annotations

from typing import Any

from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

from .errors import Diagnostic
from .trace import Trace


def shape_text(shape: tuple[int, ...] | list[int]) -> str:
    return "[" + ", ".join(map(str, shape)) + "]"


def trace_table(trace: Trace, title: str | None = None) -> Table:
    table = Table(title=title, box=box.SIMPLE_HEAD, show_footer=False, title_justify="left")
    table.add_column("#", justify="right", style="dim", no_wrap=True)
    table.add_column("name", no_wrap=True)
    table.add_column("type", style="cyan", no_wrap=True)
    table.add_column("input", justify="right", no_wrap=True)
    table.add_column("output", justify="right", style="bold", no_wrap=True)
    table.add_column("params", justify="right", no_wrap=True)
    table.add_column("formula", min_width=24)
    for row in trace.rows:
        table.add_row(
            str(row.index),
            row.name,
            row.type,
            shape_text(row.input_shape),
            shape_text(row.output_shape),
            f"{row.params:,}",
            "\n".join(row.formulas),
        )
    return table


def print_trace(console: Console, trace: Trace, title: str | None = None) -> None:
    console.print(trace_table(trace, title))
    for row in trace.rows:
        for note in row.notes:
            console.print(Text(f"note: layers[{row.index}] {row.type} '{row.name}': {note}", style="yellow"))


def print_totals(console: Console, trace: Trace) -> None:
    console.print(f"Input shape: {shape_text(trace.input_shape)}")
    console.print(f"Output shape: {shape_text(trace.output_shape)}")
    console.print(f"Total params: {trace.total_params:,}")
    console.print(f"Mult-adds: {trace.total_macs:,}")


def print_diagnostics(console: Console, diagnostics: list[Diagnostic]) -> None:
    for diagnostic in diagnostics:
        console.print(Text(diagnostic.format(), style="red"), soft_wrap=True)


def check_document(
    spec_path: str, trace: Trace | None, diagnostics: list[Diagnostic], ok: bool
) -> dict[str, Any]:
    """The ``check --json`` document for one spec."""
    body = trace.to_dict() if trace is not None else {}
    return {
        "ok": ok,
        "spec": spec_path,
        "name": body.get("name"),
        "input_shape": body.get("input_shape"),
        "output_shape": body.get("output_shape") if ok else None,
        "total_params": body.get("total_params") if ok else None,
        "total_mult_adds": body.get("total_mult_adds") if ok else None,
        "layers": body.get("layers", []),
        "errors": [d.to_dict() for d in diagnostics],
    }
