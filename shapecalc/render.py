"""Draw records for people (text tables) and for programs (JSON-ready dicts). No arithmetic here.

Tables are built as plain strings, a line at a time, and written in one piece: a 10,000-layer trace
draws in a few tens of milliseconds (rich's Text objects, cell by cell, took seconds). Colour is
added per cell only when the console has colours (a terminal, or FORCE_COLOR), as ANSI codes rich
renders once per style; rich is used for the rest (width, NO_COLOR, the solvers' short reports).
"""

from __future__ import annotations

import textwrap
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from .analysis.report import DEFAULT_COLUMNS, HEADERS
from .errors import Diagnostic
from .layers import shape_str
from .trace import Row, Trace

if TYPE_CHECKING:
    from rich.console import Console

    from .analysis.report import Analysis, Totals
    from .runner import LayerCheck, Verification
    from .solvers import InputSolution, PaddingAnswer, PaddingSolution

#: diagnostics shown per file; the rest are counted ("… and 19,950 more"), --json lists them all
MAX_DIAGNOSTICS = 50


def shape_text(shape: tuple[int, ...] | list[int]) -> str:
    return shape_str(tuple(shape))


def formula_lines(formulas: tuple[str, ...]) -> list[str]:
    """One line per dimension, or one "H, W: ..." line when every dimension reads the same."""
    split = [f.split(": ", 1) for f in formulas]
    if len(split) > 1 and all(len(p) == 2 for p in split) and len({p[1] for p in split}) == 1:
        return [", ".join(p[0] for p in split) + ": " + split[0][1]]
    return list(formulas)


class Painter:
    """Wraps text in the ANSI codes of a rich style, or leaves it alone on a console without colour."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self.colour = console.color_system is not None and not console.no_color
        self._codes: dict[str, tuple[str, str]] = {}

    def __call__(self, text: str, style: str | None) -> str:
        if not (self.colour and style and text):
            return text
        if style not in self._codes:
            with self.console.capture() as capture:
                self.console.print("\0", style=style, end="", markup=False, highlight=False)
            before, _, after = capture.get().partition("\0")
            self._codes[style] = (before, after)
        before, after = self._codes[style]
        return f"{before}{text}{after}"

    def write(self, lines: Sequence[str]) -> None:
        """Write whole lines at once, bypassing rich's per-line layout."""
        if lines:
            self.console.file.write("\n".join(lines) + "\n")
            self.console.file.flush()


def grid(
    header: tuple[str, ...],
    rows: Sequence[tuple[str, ...]],
    width: int,
    *,
    right: frozenset[int] = frozenset(),
    styles: dict[int, str] | None = None,
    paint: Callable[[str, str | None], str] | None = None,
) -> list[str]:
    """Lines of a table: columns sized to their content, the last one wrapped to ``width`` with a
    hanging indent.

    Plain strings, for speed and for byte-stable golden files; ``paint`` (a Painter) colours the
    cells named in ``styles`` and the header. A cell of the last column may hold several lines; on a
    terminal too narrow for it, the last column goes under each row.
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
    wrap = textwrap.TextWrapper(room, break_on_hyphens=False)

    def pieces(text: str) -> list[str]:
        if len(text) <= room and "\n" not in text:
            return [text]  # most formulas fit
        return [
            piece
            for part in text.split("\n")
            for piece in ([part] if len(part) <= room else wrap.wrap(part) or [""])
        ]

    wrapped = [pieces(row[-1]) for row in rows]
    longest = max([len(header[-1])] + [len(piece) for ps in wrapped for piece in ps])
    starts = [sum(widths[:i]) + 3 * i for i in range(fixed)] + [hang]
    spans: list[tuple[int, int | None, str | None]] = [
        (starts[i], starts[i] + widths[i], styles.get(i)) for i in range(fixed)
    ]
    spans.append((hang, None, styles.get(fixed)))

    justify = [str.rjust if i in right else str.ljust for i in range(fixed)]
    columns = list(zip(justify, widths, strict=True))

    def line(values: Sequence[str], last: str) -> str:
        # values may carry the last column too: zip stops at the fixed ones
        text = "   ".join(
            [just(v, w) for (just, w), v in zip(columns, values, strict=False)]
        ).rstrip()
        return text.ljust(hang) + last if last else text

    def painted(text: str) -> str:
        if paint is None:
            return text
        out, end = [], 0
        for start, stop, style in spans:
            out.append(text[end:start])
            out.append(paint(text[start:stop], style))
            end = len(text) if stop is None else stop
        return "".join(out)

    blank = ("",) * fixed
    top = line(header, header[-1] if not stacked else "")
    # a stacked last column keeps its name, on a line of its own
    heads = [top] + ([" " * hang + header[-1]] if stacked else [])
    lines = [paint(h, "bold") if paint is not None else h for h in heads]
    lines.append("─" * min(width, indent if stacked else max(indent + longest, len(heads[-1]))))
    for row, ps in zip(rows, wrapped, strict=True):
        lines.append(painted(line(row, ps[0] if not stacked else "")))
        for piece in ps[0 if stacked else 1 :]:
            lines.append(painted(line(blank, piece)))
    return lines


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
    console: Console,
    trace: Trace,
    title: str | None = None,
    depth: int | None = 3,
    columns: tuple[str, ...] = DEFAULT_COLUMNS,
    analysis: Analysis | None = None,
) -> None:
    """The trace as a table (nothing when it has no rows), then its notes.

    ``columns`` (see :data:`shapecalc.analysis.report.COLUMNS`) after #, name, type and, for a
    graph, from; the figures other than shapes and parameters come from ``analysis``.
    """
    paint = Painter(console)
    lines = []
    rows = visible_rows(trace, depth)
    if rows:
        if title:
            lines.append(paint(title, "bold"))
        graph = trace.is_graph
        # a deep net repeats its shapes and formulas: draw each once
        shapes: dict[tuple[int, ...], str] = {}
        formulas: dict[tuple[str, ...], str] = {}
        extra = [c for c in columns if c not in ("input", "output", "params", "formula")]
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
            figures = analysis.cells(row, tuple(extra)) if analysis is not None and extra else {}
            for column in columns:
                if column == "input":
                    values.append(
                        shapes.get(row.input_shape)
                        or shapes.setdefault(row.input_shape, shape_text(row.input_shape))
                    )
                elif column == "output":
                    values.append(
                        shapes.get(row.output_shape)
                        or shapes.setdefault(row.output_shape, shape_text(row.output_shape))
                    )
                elif column == "params":
                    values.append(f"{row.params:,}")
                elif column == "formula":
                    formula = formulas.get(row.formulas)
                    if formula is None:
                        formula = formulas[row.formulas] = "\n".join(formula_lines(row.formulas))
                    values.append(formula)
                else:
                    values.append(figures.get(column, ""))
            cells.append(tuple(values))
        first = 4 if graph else 3
        header = ("#", "name", "type", *(("from",) if graph else ()), *map(HEADERS.get, columns))
        styles = {0: "dim", 2: "cyan"}
        if "output" in columns:
            styles[first + columns.index("output")] = "bold"
        numeric = ("input", "output", "params", "mult_adds", "flops", "memory")
        right = frozenset({0} | {first + i for i, c in enumerate(columns[:-1]) if c in numeric})
        lines += grid(
            tuple(h or "" for h in header),
            cells,
            console.width,
            right=right,
            styles=styles,
            paint=paint if paint.colour else None,
        )
    for row in trace.rows:
        for note in row.notes:
            where = (
                f"{row.path} "
                if row.path and row.path != f"layers[{row.index}]"
                else f"layers[{row.index}] "
            )
            lines.append(paint(f"note: {where}{row.type} '{row.name}': {note}", "yellow"))
    paint.write(lines)


def print_totals(console: Console, trace: Trace, totals: Totals | None = None) -> None:
    """Shapes and counts, and with ``totals`` the parameter split, FLOPs and memory sizes."""
    lines = [
        "",
        f"Input shape: {shape_text(trace.input_shape)}",
        f"Output shape: {shape_text(trace.output_shape)}"
        if len(trace.output_shapes) == 1
        # a spec with `output: [a, b]` returns a tuple, as its module's forward does
        else "Output shapes: " + ", ".join(shape_text(s) for s in trace.output_shapes),
    ]
    if totals is None:
        lines += [f"Total params: {trace.total_params:,}", f"Mult-adds: {trace.total_macs:,}"]
    else:
        lines += [f"{label}: {value}" for label, value in totals.lines()]
    Painter(console).write(lines)


def print_diagnostics(
    console: Console, diagnostics: list[Diagnostic], limit: int = MAX_DIAGNOSTICS
) -> None:
    """One ``file:line:col: error: ...`` line each, at most ``limit`` per file, then a count."""
    paint = Painter(console)
    lines = [
        paint(d.format(), "red" if d.severity == "error" else "yellow") for d in diagnostics[:limit]
    ]
    if len(diagnostics) > limit:
        where = diagnostics[0].file or "<spec>"
        rest = diagnostics[limit:]
        kinds = " and ".join(
            f"{kind}s" for kind in ("error", "warning") if any(d.severity == kind for d in rest)
        )
        lines.append(
            paint(f"{where}: … and {len(rest):,} more {kinds} (--json lists them all)", "red")
        )
    paint.write(lines)


def error_documents(diagnostics: Sequence[Diagnostic]) -> list[dict[str, object]]:
    return [d.to_dict() for d in diagnostics]


def check_document(
    spec_path: str,
    trace: Trace | None,
    diagnostics: list[Diagnostic],
    ok: bool,
    analysis: Analysis | None = None,
) -> dict[str, Any]:
    """The ``check --json`` document for one spec (schemas/check.schema.json).

    ``params`` and ``mult_adds`` are the totals, named as in each layer's row; ``total_params`` and
    ``total_mult_adds`` are the same numbers under their first names, kept for existing readers.
    """
    body = trace.to_dict() if trace is not None else {}
    params = body.get("total_params") if ok else None
    mult_adds = body.get("total_mult_adds") if ok else None
    return {
        "ok": ok,
        "spec": spec_path,
        "name": body.get("name"),
        "input_shape": body.get("input_shape"),
        "output_shape": body.get("output_shape") if ok else None,
        "output_shapes": body.get("output_shapes") if ok else None,
        "params": params,
        "mult_adds": mult_adds,
        "total_params": params,
        "total_mult_adds": mult_adds,
        **_totals_document(analysis.totals() if analysis is not None else None),
        "layers": _with_figures(body.get("layers", []), analysis),
        "blocks": body.get("blocks", []),
        "errors": error_documents([d for d in diagnostics if d.severity == "error"]),
        "warnings": error_documents([d for d in diagnostics if d.severity != "error"]),
    }


def _totals_document(totals: Totals | None) -> dict[str, Any]:
    """The totals beyond shapes and counts, units in the key names; null when not computed."""
    if totals is None:
        return dict.fromkeys(TOTAL_KEYS)
    figures = totals.to_dict()
    return {key: figures[key] for key in TOTAL_KEYS}


TOTAL_KEYS = (
    "dtype",
    "trainable_params",
    "non_trainable_params",
    "flops",
    "param_bytes",
    "buffer_bytes",
    "input_bytes",
    "inference_activation_bytes",
    "inference_peak_at",
    "training_activation_bytes",
)


def _with_figures(layers: list[dict[str, Any]], analysis: Analysis | None) -> list[dict[str, Any]]:
    """Each layer's document with its FLOPs, bytes and receptive field, when they were computed."""
    if analysis is None:
        return layers
    rows = analysis.trace.by_name
    return [{**layer, **analysis.row_dict(rows[layer["name"]])} for layer in layers]


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


def _axis_set(axis: str, text: str) -> str:
    """``H ∈ [2, 11]`` for intervals, ``H: multiples of 8 in [16, 1024]`` for a family."""
    return f"{axis} ∈ {text}" if text.startswith(("[", "∅")) else f"{axis}: {text}"


def print_input_solution(console: Console, solution: InputSolution, limit: int = 20) -> None:
    axes = solution.axes
    names = ", ".join(axes)
    pair = f"({names})"
    channels = ", ".join(map(str, solution.channels))
    console.print(
        f"{solution.name}: input [{channels}, {names}] with {names} in 1..{solution.max_size}",
        style="bold",
        soft_wrap=True,
    )
    if solution.pinned_sizes:
        fixed = len(solution.pinned) - len(solution.pinned_sizes)
        rest = f" (and {fixed} more that no input size changes)" if fixed else ""
        console.print(
            f"  inferred sizes fixed by the spec's input: {', '.join(solution.pinned_sizes)}{rest}",
            soft_wrap=True,
        )
    for dim in solution.dims:
        where = "at the output" if dim.at == "output" else f"reaching {dim.at}"
        console.print(f"  {dim.axis} → {dim.expression}  ({where})", soft_wrap=True)
    if any("*" in dim.expression for dim in solution.dims):
        console.print("  (* less one where the last ceil_mode window would start in the padding)")
    if solution.ok and solution.separable:
        line = ", ".join(_axis_set(a, t) for a, t in zip(axes, solution.valid_texts, strict=True))
        console.print(f"valid: {line}", style="bold green", soft_wrap=True)
    elif solution.ok:
        together = ", ".join(axes[:-1]) + f" and {axes[-1]}"
        console.print(
            f"{together} constrain each other (only through their product after Flatten, for "
            f"instance), so a non-{'square' if len(axes) == 2 else 'cubic'} input can work. "
            f"Valid {pair} families:",
            style="bold green",
            soft_wrap=True,
        )
        for family in solution.families[:limit]:
            console.print(
                "  "
                + ", ".join(
                    f"{a} ∈ [{lo}, {hi}]" for a, (lo, hi) in zip(axes, family.ranges, strict=True)
                )
            )
        if solution.families_total > limit:
            console.print(f"  … {solution.families_total - limit} more (see --json)")
    else:
        console.print("no input size works", style="bold red")
    if solution.ok and len(axes) > 1:
        console.print(
            f"{'square' if len(axes) == 2 else 'cubic'} inputs: "
            + _axis_set(" = ".join(axes), solution.square_text),
            style="bold",
            soft_wrap=True,
        )
    blocked = [b for dim in solution.dims for b in dim.blocked] + list(solution.joint_blocked)
    if blocked:
        console.print("ruled out:")
        for b in blocked:
            if b.every:
                where = f"every {pair} that gets this far"
            elif b.example:
                where = f"other {pair}, e.g. {b.example}"
            else:
                where = _axis_set(b.axis, b.sizes_text or _ranges(((b.lo, b.hi),)))
            console.print(
                f"  {where}: {b.field} {b.layer_type} '{b.layer_name}': {b.reason}",
                soft_wrap=True,
                markup=False,
            )
    for note in solution.ignored:
        console.print(f"note: {note}", style="yellow", soft_wrap=True, markup=False)


def print_verification(console: Console, result: Verification) -> None:
    paint = Painter(console)
    lines = [paint(f"forward pass of {shape_text(result.input_shape)} on {result.device}", "bold")]
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
    lines += grid(
        header,
        rows,
        console.width,
        right=frozenset({0, 3, 4}),
        styles={0: "dim", 2: "cyan"},
        paint=paint if paint.colour else None,
    )
    if result.ok:
        count = len(result.layers)
        agree = "the 1 layer" if count == 1 else f"all {count:,} layers"
        if result.blocks:
            containers = len(result.blocks)
            agree += " and 1 container" if containers == 1 else f" and {containers:,} containers"
        verb = "agrees" if count == 1 and not result.blocks else "agree"
        lines.append(paint(f"{agree} {verb} with torch", "green"))
    paint.write(lines)


def verify_document(
    spec_path: str,
    name: str | None,
    result: Verification | None,
    diagnostics: Sequence[Diagnostic],
    *,
    device: str,
    input_shape: Sequence[int] | None,
) -> dict[str, Any]:
    """The ``verify --json`` document (schemas/verify.schema.json): the forward pass compared layer
    by layer, or, when there was none, ``ok: false`` and the ``errors`` that stopped it."""
    if result is not None:
        body = result.to_dict()
    else:
        shape = list(input_shape) if input_shape is not None else None
        body = {
            "ok": False,
            "device": device,
            "input_shape": shape,
            "error": None,
            "failure": None,
            "layers": [],
            "blocks": [],
        }
    return {
        **body,
        "ok": bool(body["ok"]) and not diagnostics,
        "spec": spec_path,
        "name": name,
        "errors": error_documents(diagnostics),
    }


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
