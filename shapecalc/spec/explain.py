"""Why a merge's inputs disagree: each input's path back to where the paths split, and a fix."""

from __future__ import annotations

from ..ops import AXES, Op, Shape, shape_str
from ..trace import Row, Trace


def _lineage(trace: Trace, name: str) -> list[str]:
    """``name`` and the rows it came from through first inputs, newest first, ending with "x"."""
    out = []
    seen = set()
    while name in trace.by_name and name not in seen:
        seen.add(name)
        out.append(name)
        row = trace.by_name[name]
        if not row.inputs:
            break
        name = row.inputs[0]
    out.append(name)
    return out


def _ancestors(trace: Trace, name: str) -> list[str]:
    out = []
    row = trace.by_name.get(name)
    while row is not None and row.parent is not None:
        out.append(row.parent)
        row = trace.by_name.get(row.parent)
    return out


def _args(op: Op | None) -> str:
    """The arguments that decide a layer's shape (sizes, strides, ...), where not the default."""
    if op is None:
        return ""
    parts = []
    for key in op.arguments():
        if key in op.inferable:
            continue
        value = getattr(op, key)
        default = type(op).model_fields[key].default
        if isinstance(value, (bool, float)) or value is None:
            continue
        if isinstance(value, tuple) and len(set(value)) == 1:
            value = value[0]
        if value == default:
            continue
        parts.append(f"{key}={value}")
    return " ".join(parts)


def _change(before: Shape, after: Shape) -> str:
    parts = []
    if len(before) > 1 and len(after) > 1 and before[1] != after[1]:
        parts.append(f"C {before[1]}→{after[1]}")
    if len(before) == len(after) and len(before) > 2 and before[2:] != after[2:]:
        axes = ",".join(AXES.get(len(before) - 2, ()))
        parts.append(f"{axes} {'×'.join(map(str, before[2:]))}→{'×'.join(map(str, after[2:]))}")
    elif len(before) != len(after):
        parts.append(f"{shape_str(before)}→{shape_str(after)}")
    return ", ".join(parts)


def _describe(row: Row) -> str:
    if row.kind == "block" and row.formulas:
        signature = row.formulas[0].replace("(", " ", 1).removesuffix(")").replace(", ", " ")
        head = f"{row.name} ({signature.strip()})"
    else:
        args = _args(row.op)
        head = f"{row.name} ({row.type}{' ' + args if args else ''})"
    text = f"{head}: {_change(row.input_shape, row.output_shape)}"
    if _drops(row):
        text += " (⌊⌋ drops a row/column)"
    return text


def _drops(row: Row) -> bool:
    return any("⌊⌋ drops" in note for note in row.notes)


def _steps(trace: Trace, lineage: list[str], split: str) -> list[Row]:
    """The rows between the split and the input that changed the shape, oldest first, with
    rows inside a finished container shown as that container. (The trace of a failed merge holds
    finished containers only: the ones still open are those the merge itself is in.)"""
    rows: list[Row] = []
    for name in reversed(lineage[: lineage.index(split)]):
        row = trace.by_name[name]
        shown = row
        for parent in _ancestors(trace, name):
            if parent not in trace.by_name:
                break
            shown = trace.by_name[parent]
        if rows and rows[-1].name == shown.name:
            continue
        if shown.kind in ("layer", "merge", "block", "sequential", "repeat"):
            rows.append(shown)
    return [r for r in rows if r.input_shape != r.output_shape or _drops(r)]


def explain_merge(trace: Trace, sources: list[str], labels: list[str], op: Op) -> tuple[str, ...]:
    """Indented lines: where each input of a merge got its shape, and what to change."""
    lineages = [_lineage(trace, s) for s in sources]
    others = [set(line) for line in lineages[1:]]
    split = next((n for n in lineages[0] if all(n in o for o in others)), "x")
    split_shape = trace.input_shape if split == "x" else trace.by_name[split].output_shape
    lines = [f"both come from '{split}' {shape_str(split_shape)}; since then:"]
    paths = []
    for label, source, lineage in zip(labels, sources, lineages, strict=True):
        steps = _steps(trace, lineage, split) if split in lineage else []
        paths.append(steps)
        shown = f"'{label}'" if label == source.rsplit(".", 1)[-1] else f"'{label}' ({source})"
        if not steps:
            lines.append(f"{shown}: unchanged")
            continue
        lines.append(f"{shown}:")
        lines.extend(f"    → {_describe(row)}" for row in steps)
    lines.extend(_fixes(trace, op, sources, paths))
    return tuple(lines)


# the fix for a merge whose paths lost rows; the loader names the sizes that work in its place
LOST_ROWS_FIX = (
    "fix: use an input size that every pooling divides evenly (shapecalc solve-input lists them)"
)


def _fixes(trace: Trace, op: Op, sources: list[str], paths: list[list[Row]]) -> list[str]:
    shapes = [trace.input_shape if s == "x" else trace.by_name[s].output_shape for s in sources]
    lossy = [row.name for steps in paths for row in steps if _drops(row)]
    out = []
    if lossy:
        out.append(f"rows and columns are lost at: {', '.join(dict.fromkeys(lossy))}")
    if op.type_name() in ("Add", "Multiply") and len(shapes) == 2 and any(not p for p in paths):
        short, main = (shapes[0], shapes[1]) if not paths[0] else (shapes[1], shapes[0])
        if len(short) == len(main) > 2:
            stride = short[2] // main[2] if main[2] and short[2] % main[2] == 0 else None
            if short[1] != main[1] or stride not in (None, 1):
                projection = f"{short[1]}→{main[1]} channels"
                if stride and stride > 1:
                    projection += f", stride {stride}"
                out.append(
                    f"fix: a residual {op.type_name()} needs equal shapes: project the shortcut "
                    f"with a 1×1 Conv2d ({projection}) and a BatchNorm2d"
                )
                return out
    if lossy:
        out.append(f"{LOST_ROWS_FIX}, or ceil_mode on {lossy[0]}, or crop or pad the other input")
    elif op.type_name() == "Concat":
        out.append("fix: make the inputs agree in every dim but the one they are joined on")
    else:
        out.append("fix: make the inputs' shapes equal")
    return out
