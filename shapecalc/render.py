"""Draw records for people (rich tables) and for programs (JSON-ready dicts). No arithmetic here."""

from __future__ import annotations

import textwrap
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.text import Text

from .errors import Diagnostic
from .layers import shape_str
from .trace import Row, Trace

if TYPE_CHECKING:
    from .runner import LayerCheck, Verification
    from .solvers import InputSolution, PaddingAnswer, PaddingSolution


def shape_text(shape: tuple[int, ...] | list[int]) -> str:
    return shape_str(tuple(shape))


def formula_lines(formulas: tuple[str, ...]) -> list[str]:
    """One line per dimension, or one "H, W: ..." line when every dimension reads the same."""
    split = [f.split(": ", 1) for f in formulas]
    if len(split) > 1 and all(len(p) == 2 for p in split) and len({p[1] for p in split}) == 1:
        return [", ".join(p[0] for p in split) + ": " + split[0][1]]
    return list(formulas)


def grid(
    header: tuple[str, ...],
    rows: Sequence[tuple[str, ...]],
    width: int,
    *,
    right: frozenset[int] = frozenset(),
    styles: dict[int, str] | None = None,
) -> Text:
    """Columns sized to their content, the last one wrapped to ``width`` with a hanging indent.

    Written for speed (on a 10,000-layer trace, several times faster than rich's Table) and for
    byte-stable golden files. A cell of the last column may hold several lines; on a terminal too
    narrow for it, the last column goes under each row.
    """
    styles = styles or {}
    fixed = len(header) - 1
    widths = [max([len(header[i])] + [len(r[i]) for r in rows]) for i in range(fixed)]
    indent = sum(widths) + 3 * fixed
    # too narrow for a last column worth reading: put it under each row instead
    widest = max([0] + [len(text) for r in rows for text in r[-1].split("\n")])
    stacked = width - indent < min(24, widest)
    hang = 4 if stacked else indent
    room = max(width - hang, 16)
    wrapped = [
        [
            piece
            for text in row[-1].split("\n")
            for piece in (textwrap.wrap(text, room, break_on_hyphens=False) or [""])
        ]
        for row in rows
    ]
    longest = max([len(header[-1])] + [len(piece) for pieces in wrapped for piece in pieces])

    def line(values: tuple[str, ...], last: str, style: str | None) -> Text:
        text = Text()
        for i in range(fixed):
            cell = values[i].rjust(widths[i]) if i in right else values[i].ljust(widths[i])
            text.append(cell + "   ", style=style or styles.get(i))
        text.rstrip()
        if last:
            text.append(" " * (hang - len(text)) + last, style=style or styles.get(fixed))
        text.append("\n")
        return text

    blank = ("",) * fixed
    head = header[-1] if not stacked else ""
    out = line(header, head, "bold")
    out.append("─" * min(width, indent if stacked else indent + longest))
    out.append("\n")
    for row, pieces in zip(rows, wrapped, strict=True):
        first = () if stacked else pieces[:1]
        out.append_text(line(row, first[0] if first else "", None))
        for piece in pieces[len(first) :]:
            out.append_text(line(blank, piece, None))
    return out


def visible_rows(trace: Trace, depth: int | None = None) -> list[Row]:
    """The rows a table shows: layers and merges, with containers deeper than ``depth`` folded
    into one row (torchinfo's ``depth``), and left-out entries."""
    shown: list[Row] = []
    folded: str | None = None
    for row in trace.rows:
        if folded is not None and row.name.startswith(folded):
            continue
        folded = None
        if row.kind in ("block", "sequential", "repeat"):
            if depth is not None and row.depth >= depth:
                shown.append(row)
                folded = row.name + "."
            continue
        shown.append(row)
    return shown


def print_trace(
    console: Console, trace: Trace, title: str | None = None, depth: int | None = 3
) -> None:
    if title:
        console.print(title, style="bold", soft_wrap=True, markup=False, highlight=False)
    rows = visible_rows(trace, depth)
    graph = trace.is_graph
    cells = []
    previous = "x"
    for row in rows:
        source = "" if row.inputs == (previous,) else ",".join(row.labels)
        previous = row.name if row.kind != "skipped" else previous
        if row.kind in ("block", "sequential", "repeat"):
            previous = row.returns
        values = [str(row.index), row.name, row.type]
        if graph:
            values.append(source)
        values += [
            shape_text(row.input_shape),
            shape_text(row.output_shape),
            f"{row.params:,}",
            "\n".join(formula_lines(row.formulas)),
        ]
        cells.append(tuple(values))
    header: tuple[str, ...] = (
        "#",
        "name",
        "type",
        *(("from",) if graph else ()),
        "input",
        "output",
        "params",
        "formula",
    )
    shift = 1 if graph else 0
    styles = {0: "dim", 2: "cyan", 4 + shift: "bold"}
    right = frozenset({0, 3 + shift, 4 + shift, 5 + shift})
    text = grid(header, cells, console.width, right=right, styles=styles)
    console.print(text, soft_wrap=True, end="")
    for row in trace.rows:
        for note in row.notes:
            where = (
                f"{row.path} "
                if row.path and row.path != f"layers[{row.index}]"
                else f"layers[{row.index}] "
            )
            console.print(
                Text(f"note: {where}{row.type} '{row.name}': {note}", style="yellow"),
                soft_wrap=True,
            )


def print_totals(console: Console, trace: Trace) -> None:
    console.print()
    console.print(f"Input shape: {shape_text(trace.input_shape)}")
    console.print(f"Output shape: {shape_text(trace.output_shape)}")
    console.print(f"Total params: {trace.total_params:,}")
    console.print(f"Mult-adds: {trace.total_macs:,}")


def print_diagnostics(console: Console, diagnostics: list[Diagnostic]) -> None:
    for diagnostic in diagnostics:
        style = "red" if diagnostic.severity == "error" else "yellow"
        console.print(Text(diagnostic.format(), style=style), soft_wrap=True)


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
        "mult_adds": body.get("mult_adds") if ok else None,
        "output_shapes": body.get("output_shapes") if ok else None,
        "layers": body.get("layers", []),
        "blocks": body.get("blocks", []),
        "errors": [d.to_dict() for d in diagnostics if d.severity == "error"],
        "warnings": [d.to_dict() for d in diagnostics if d.severity != "error"],
    }


def _span(dim: PaddingAnswer) -> str:
    """Paddings as a list, or as an interval when there are many in a row."""
    if dim.count > 3:
        return " ∪ ".join(f"p ∈ [{lo}, {hi}]" for lo, hi in dim.ranges)
    text = ", ".join(map(str, dim.paddings))
    if dim.transposed:
        text += f" (output_padding {', '.join(map(str, dim.output_paddings))})"
    return text


def _values(value: int | list[int] | None) -> str:
    return f"({', '.join(map(str, value))})" if isinstance(value, list) else str(value)


def print_padding(console: Console, solution: PaddingSolution) -> None:
    for dim in solution.dims:
        layer = (
            "transposed convolution" if dim.transposed else "pooling" if dim.pool else "convolution"
        )
        head = f"{dim.axis}: " if dim.axis else ""
        console.print(
            f"{head}{layer} kernel_size={dim.kernel}, stride={dim.stride}, dilation={dim.dilation}"
            + (", ceil_mode=True" if dim.ceil_mode else "")
            + f": {dim.size_in} → {dim.size_out}",
            style="bold",
            soft_wrap=True,
        )
        for line in dim.derivation:
            console.print(f"  {line}", soft_wrap=True)
        if dim.ranges:
            extra = " (the smallest)" if dim.count > 1 else ""
            recommended = f"{dim.recommended}"
            if dim.transposed:
                recommended = (
                    f"padding={dim.recommended}, output_padding={dim.recommended_output_padding}"
                )
            console.print(
                f"  paddings: {_span(dim)}; recommended: {recommended}{extra}", soft_wrap=True
            )
        else:
            console.print(f"  no padding works: {dim.reason}", style="red", soft_wrap=True)
            ops = dim.nearest_output_paddings
            for i, (out, p) in enumerate(dim.nearest):
                tail = f" and output_padding {ops[i]}" if i < len(ops) else ""
                console.print(f"  nearest: {out} with padding {p}{tail}")
            for alternative in dim.alternatives:
                console.print(f"  alternative: {alternative}", soft_wrap=True)
        for note in dim.notes:
            console.print(f"  note: {note}", style="yellow", soft_wrap=True)
    if solution.ok:
        line = f"padding = {_values(solution.recommended)}"
        if solution.transposed:
            line += f", output_padding = {_values(solution.output_padding)}"
        console.print(line, style="bold green")


def _ranges(intervals: tuple[tuple[int, int], ...]) -> str:
    return " ∪ ".join(f"[{lo}, {hi}]" for lo, hi in intervals) if intervals else "∅"


def print_input_solution(console: Console, solution: InputSolution, limit: int = 20) -> None:
    channels = ", ".join(map(str, solution.channels))
    console.print(
        f"{solution.name}: input [{channels}, H, W] with H, W in 1..{solution.max_size}",
        style="bold",
    )
    if solution.pinned:
        console.print(
            f"  inferred sizes fixed by the spec's input: {', '.join(solution.pinned)}",
            soft_wrap=True,
        )
    for dim in solution.dims:
        console.print(f"  {dim.axis} → {dim.expression}", soft_wrap=True)
    if any("*" in dim.expression for dim in solution.dims):
        console.print("  (* less one where the last ceil_mode window would start in the padding)")
    if solution.ok and solution.separable:
        console.print(
            f"valid: H ∈ {_ranges(solution.valid_h)}, W ∈ {_ranges(solution.valid_w)}",
            style="bold green",
            soft_wrap=True,
        )
    elif solution.ok:
        console.print(
            "H and W constrain each other (only through their product after Flatten, for "
            "instance), so a non-square input can work. Valid (H, W) families:",
            style="bold green",
            soft_wrap=True,
        )
        for family in solution.families[:limit]:
            console.print(
                f"  H ∈ [{family.h_lo}, {family.h_hi}], W ∈ [{family.w_lo}, {family.w_hi}]"
            )
        if len(solution.families) > limit:
            console.print(f"  … {len(solution.families) - limit} more (see --json)")
        console.print(f"square inputs: H = W ∈ {_ranges(solution.square)}", style="bold")
    else:
        console.print("no input size works", style="bold red")
    blocked = [b for dim in solution.dims for b in dim.blocked] + list(solution.joint_blocked)
    if blocked:
        console.print("ruled out:")
        for b in blocked:
            where = (
                f"other (H, W), e.g. {b.example}" if b.example else f"{b.axis} ∈ [{b.lo}, {b.hi}]"
            )
            console.print(
                f"  {where}: layers[{b.layer}] {b.layer_type} '{b.layer_name}': {b.reason}",
                soft_wrap=True,
            )
    for note in solution.ignored:
        console.print(f"warning: {note}", style="yellow", soft_wrap=True)


def print_verification(console: Console, result: Verification) -> None:
    console.print(
        f"forward pass of {shape_text(result.input_shape)} on {result.device}",
        style="bold",
        soft_wrap=True,
        markup=False,
    )
    checks = sorted((*result.layers, *result.blocks), key=lambda c: c.index)
    rows = [
        (
            str(c.index),
            c.name,
            c.type,
            shape_text(c.computed),
            shape_text(c.actual) if c.actual is not None else "—",
            "✓" if c.ok else "✗",
        )
        for c in checks
    ]
    header = ("#", "name", "type", "computed", "real", "")
    text = grid(
        header, rows, console.width, right=frozenset({0, 3, 4}), styles={0: "dim", 2: "cyan"}
    )
    console.print(text, soft_wrap=True, end="")
    if result.ok:
        containers = f" and {len(result.blocks)} containers" if result.blocks else ""
        console.print(
            f"all {len(result.layers)} layers{containers} agree with torch", style="green"
        )


def verification_problem(result: Verification) -> str | None:
    """One line saying where a verification went wrong: the node that failed (what torch said, the
    real input shapes, the calculator's prediction) and the first shape that disagrees. None when
    everything agrees."""
    if result.ok:
        return None
    broke, failed = result.broke_at, result.failed_at
    disagrees = None
    if broke is not None and broke.actual is not None:
        disagrees = (
            f"{_where(broke)}: shapecalc predicted {shape_text(broke.computed)}, "
            f"torch gave {shape_text(broke.actual)}"
        )
    if failed is None or result.failure is None:
        if disagrees is not None:
            return disagrees.replace(": shapecalc", ": the shapes disagree; shapecalc", 1)
        if broke is None:
            return f"the forward pass failed ({result.error})"
        reason = f" ({result.error})" if result.error else ""
        return (
            f"{_where(broke)}: the forward pass failed{reason}; shapecalc predicted "
            f"{shape_text(broke.computed)}"
        )
    failure = result.failure
    real = ", ".join(shape_text(s) for s in failure.input_shapes)
    ours = ", ".join(shape_text(s) for s in result.expected_inputs.get(failed.name, ()))
    noun = "input was" if len(failure.input_shapes) == 1 else "inputs were"
    text = (
        f"{_where(failed)}: the forward pass failed ({failure.message}); its {noun} {real} "
        f"(shapecalc: {ours}); shapecalc predicted {shape_text(failed.computed)}"
    )
    if disagrees is not None and broke is not failed:
        text += f"; the first shape that disagrees: {disagrees}"
    return text


def _where(check: LayerCheck) -> str:
    named = f"{check.type} '{check.name}'"
    return f"{check.field} {named}" if check.field else named
