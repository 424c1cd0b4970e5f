"""The ``shapecalc`` command line. Exit codes: 0 success, 1 invalid spec / failed check, 2 usage error."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from enum import Enum
from pathlib import Path
from typing import Annotated, Any, cast

import typer
from rich.console import Console

from . import loader
from .errors import CompileError, Diagnostic, ShapecalcError, ShapeError, SpecError
from .render import (
    check_document,
    print_diagnostics,
    print_input_solution,
    print_padding,
    print_totals,
    print_trace,
    print_verification,
    verification_problem,
)
from .trace import Trace, propagate

app = typer.Typer(
    name="shapecalc",
    help="Shape calculator and architecture-spec tool for PyTorch convolutional networks.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@app.callback()
def _root() -> None:
    """Shape calculator and architecture-spec tool for PyTorch convolutional networks."""


out = Console(highlight=False)
err = Console(stderr=True, highlight=False)

SpecArg = Annotated[
    Path | None,
    typer.Argument(
        help="Spec file (YAML). Default: the bundled CIFAR10 spec.",
        exists=True,
        dir_okay=False,
        readable=True,
        show_default=False,
    ),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON document to stdout.")]


def _emit_json(document: Any) -> None:
    # plain print: rich would wrap or colour it
    print(json.dumps(document, indent=2, ensure_ascii=False))


def _fail(message: str) -> typer.Exit:
    err.print(f"error: {message}", soft_wrap=True, markup=False)
    return typer.Exit(1)


def load_or_exit(spec: Path | None) -> loader.SpecFile:
    """Load a spec for commands that need a valid one: diagnostics and exit 1 on errors."""
    path = spec if spec is not None else loader.bundled()
    try:
        return loader.load(path)
    except SpecError as exc:
        print_diagnostics(err, exc.diagnostics)
        raise typer.Exit(1) from None


def trace_or_exit(spec_file: loader.SpecFile, input_shape: tuple[int, ...] | None = None) -> Trace:
    try:
        return propagate(spec_file.spec, input_shape)
    except (ShapeError, CompileError) as exc:
        print_diagnostics(err, spec_file.diagnose(exc))
        raise typer.Exit(1) from None


@app.command()
def check(
    specs: Annotated[
        list[Path] | None,
        typer.Argument(
            help="Spec files (YAML). Default: the bundled CIFAR10 spec.",
            exists=True,
            dir_okay=False,
            readable=True,
            show_default=False,
        ),
    ] = None,
    depth: Annotated[
        int,
        typer.Option(
            "--depth",
            min=1,
            help="Fold blocks and Sequentials nested deeper than this into one row (as torchinfo).",
        ),
    ] = 3,
    as_json: JsonOpt = False,
) -> None:
    """Check specs without running anything: every layer's shape, with its formula.

    Exits 0 when every spec is valid, 1 when one is not (diagnostics on stderr).
    """
    paths = specs or [loader.bundled()]
    documents = []
    all_ok = True
    for path in paths:
        trace: Trace | None = None
        diagnostics: list[Diagnostic] = []
        try:
            spec_file = loader.load(path)
            trace = propagate(spec_file.spec)
        except SpecError as exc:
            diagnostics = exc.diagnostics
        except (ShapeError, CompileError) as exc:
            diagnostics = spec_file.diagnose(exc)
            trace = exc.trace
        else:
            diagnostics = spec_file.warnings(trace)
        ok = not any(d.severity == "error" for d in diagnostics)
        all_ok &= ok
        documents.append(check_document(str(path), trace, diagnostics, ok))
        if not as_json:
            if trace is not None:
                print_trace(out, trace, title=f"{path} ({trace.name})", depth=depth)
            if ok and trace is not None:
                print_totals(out, trace)
            if len(paths) > 1:
                out.print()
        print_diagnostics(err, diagnostics)
    if as_json:
        _emit_json(documents[0] if len(documents) == 1 else documents)
    if not all_ok:
        raise typer.Exit(1)


# --- solvers ---------------------------------------------------------------------------------------


def _int_or_pair(text: str | tuple[int, ...]) -> tuple[int, ...]:
    """``N`` or ``H,W``: ASCII digits only (no ``1_1``, no full-width or Arabic-Indic digits, which
    Python's int() would accept), each in [1, 2³¹−1]."""
    from .ops.base import MAX_SIZE

    if isinstance(text, tuple):  # a default
        return text
    shown = repr(text) if len(text) <= 40 else repr(text[:40]) + "…"
    parts = [part.strip(" ") for part in str(text).split(",")]
    if len(parts) not in (1, 2):
        raise typer.BadParameter(f"{shown}: give one integer or a pair H,W")
    values = []
    for part in parts:
        if not part.isascii() or not part.isdigit():
            raise typer.BadParameter(
                f"{shown} is not an integer or a pair H,W of integers: write each size with the "
                "digits 0-9 only"
            )
        if len(part.lstrip("0")) > len(str(MAX_SIZE)) or int(part) > MAX_SIZE:
            raise typer.BadParameter(f"{shown}: must be at most {MAX_SIZE}")
        if int(part) < 1:
            raise typer.BadParameter(f"{shown}: must be at least 1")
        values.append(int(part))
    return tuple(values)


def _pair_option(flag: str, help_text: str) -> Any:
    return typer.Option(flag, callback=_int_or_pair, metavar="N|H,W", help=help_text)


@app.command("solve-padding")
def solve_padding_cmd(
    kernel: Annotated[str, _pair_option("--k", "Kernel size.")],
    size_in: Annotated[str, _pair_option("--in", "Input size.")],
    size_out: Annotated[str, _pair_option("--out", "Wanted output size.")],
    stride: Annotated[str, _pair_option("--stride", "Stride.")] = "1",
    dilation: Annotated[str, _pair_option("--dilation", "Dilation.")] = "1",
    pool: Annotated[
        bool, typer.Option("--pool", help="A pooling layer: padding at most half the kernel.")
    ] = False,
    ceil_mode: Annotated[
        bool, typer.Option("--ceil-mode", help="Pooling with ceil_mode=True (needs --pool).")
    ] = False,
    transposed: Annotated[
        bool,
        typer.Option(
            "--transposed", help="A transposed convolution: find padding and output_padding."
        ),
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """Find every padding that maps an input size to an output size, with the derivation.

    Example: shapecalc solve-padding --k 5 --in 32 --out 32   (answer: padding 2).
    Each size also takes a pair H,W, solved per dimension; every value is at most 2147483647.
    Exits 1 when no padding works, 2 on a usage error.
    """
    from .solvers import solve_padding

    if transposed and (pool or ceil_mode):
        raise typer.BadParameter(
            "a transposed convolution has no pooling options; drop --pool and --ceil-mode",
            param_hint="--transposed",
        )
    if ceil_mode and not pool:
        raise typer.BadParameter(
            "--ceil-mode applies to pooling; add --pool", param_hint="--ceil-mode"
        )
    # the option callbacks have already turned each value into a tuple of ints
    k, n, m, s, d = (
        cast(tuple[int, ...], v) for v in (kernel, size_in, size_out, stride, dilation)
    )
    solution = solve_padding(k, n, m, s, d, pool=pool, ceil_mode=ceil_mode, transposed=transposed)
    if as_json:
        _emit_json(solution.to_dict())
    else:
        print_padding(out, solution)
    if not solution.ok:
        for dim in solution.dims:
            if not dim.ranges:
                err.print(
                    f"error: no padding maps {dim.size_in} to {dim.size_out}"
                    + (f" along {dim.axis}" if dim.axis else "")
                    + f": {dim.reason}",
                    soft_wrap=True,
                    markup=False,
                )
        raise typer.Exit(1)


@app.command("solve-input")
def solve_input_cmd(
    spec: SpecArg = None,
    max_size: Annotated[
        int, typer.Option("--max", min=1, max=16384, help="Largest height and width to consider.")
    ] = 1024,
    as_json: JsonOpt = False,
) -> None:
    """Find every input height and width (1..--max) for which the whole net is valid.

    Channels are fixed by the spec. Shows each dimension's output as an expression of the input,
    the layer that rules out each range, and warns where input rows or columns are never read.
    Exits 1 when no size works.
    """
    from .solvers import solve_input

    spec_file = load_or_exit(spec)
    try:
        solution = solve_input(spec_file.spec, max_size)
    except ValueError as exc:
        raise _fail(str(exc)) from None
    if as_json:
        _emit_json(solution.to_dict())
    else:
        print_input_solution(out, solution)
    if not solution.ok:
        err.print(
            f"error: no input size in 1..{max_size} works for {spec_file.path}",
            soft_wrap=True,
            markup=False,
        )
        raise typer.Exit(1)


# --- torch-backed commands ---------------------------------------------------------------------------


class Style(str, Enum):
    sequential = "sequential"
    cls = "class"


class Device(str, Enum):
    cpu = "cpu"
    cuda = "cuda"
    meta = "meta"
    auto = "auto"


@contextmanager
def _clean_errors() -> Iterator[None]:
    """Errors shapecalc raises on purpose (a missing extra, no CUDA) become one line and exit 1;
    so do the machine's limits (torch out of memory, a folder that cannot be written)."""
    try:
        yield
    except ShapecalcError as exc:
        raise _fail(str(exc)) from None
    except (MemoryError, RuntimeError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise _fail(
            f"torch failed: {first}. A net this large may fit with --device meta (shapes only)"
        ) from None
    except OSError as exc:
        raise _fail(f"{exc.strerror or exc}: {exc.filename}") from None


@app.command()
def build(
    spec: SpecArg = None,
    style: Annotated[
        Style | None,
        typer.Option(
            "--style",
            help="nn.Sequential, or a module class named after the spec (default: sequential "
            "for a chain, class for a graph).",
            show_default=False,
        ),
    ] = None,
    summary: Annotated[
        bool, typer.Option("--summary", help="Add a torchinfo summary and check its totals.")
    ] = False,
    device: Annotated[
        Device, typer.Option("--device", help="Where to build the module.")
    ] = Device.cpu,
) -> None:
    """Build the spec as a torch module and print it as torch prints it (needs shapecalc[torch]).

    With --summary, torchinfo's totals (parameters, mult-adds, output shape) are compared with the
    calculator's; exit 1 if they ever disagree.
    """
    spec_file = load_or_exit(spec)
    trace = trace_or_exit(spec_file)
    if style is Style.sequential and trace.is_graph:
        from .builder import not_sequential

        message, path = not_sequential(spec_file.spec, trace)
        located = Diagnostic(message, spec_file.path, *spec_file.locate(path), path)
        print_diagnostics(err, [located])
        raise typer.Exit(1)
    with _clean_errors():
        from .builder import build as build_module
        from .runner import resolve_device, summarise

        where = resolve_device(device.value)
        model = build_module(
            spec_file.spec, style.value if style else None, trace=trace, device=where
        )
        print(model)
        if not summary:
            return
        result = summarise(spec_file.spec, model, where, trace)
    print(result.stats)
    mismatches = result.disagreements
    if not mismatches:
        out.print(
            f"shapecalc agrees with torchinfo: {trace.total_params:,} parameters, "
            f"{trace.total_macs:,} mult-adds, output {list(trace.output_shape)}",
            style="green",
            soft_wrap=True,
        )
        return
    for what, ours, theirs in mismatches:
        err.print(f"error: {what} disagree: shapecalc {ours}, torchinfo {theirs}", markup=False)
    raise typer.Exit(1)


@app.command()
def verify(
    spec: SpecArg = None,
    device: Annotated[
        Device,
        typer.Option(
            "--device",
            help="cpu, cuda, meta (shapes only: no tensor memory is allocated, so a large net at a "
            "large batch can be verified on a small machine) or auto (CUDA when available).",
        ),
    ] = Device.cpu,
    batch: Annotated[
        int | None, typer.Option("--batch", min=1, help="Batch size (default: the spec's).")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Run a real forward pass and compare every layer's shape with the calculator's.

    Exit 0 when all agree; 1 on a disagreement or a failed forward pass (needs shapecalc[torch]).
    """
    spec_file = load_or_exit(spec)
    input_shape = (batch or spec_file.spec.batch, *spec_file.spec.input)
    trace_or_exit(spec_file, input_shape)
    with _clean_errors():
        from .runner import verify as run_verify

        result = run_verify(spec_file.spec, device.value, batch)
    if as_json:
        _emit_json(result.to_dict())
    else:
        print_verification(out, result)
    if not result.ok:
        problem = verification_problem(result)
        if problem is not None:
            err.print(f"error: {problem}", soft_wrap=True, markup=False)
        raise typer.Exit(1)


@app.command()
def graph(
    spec: SpecArg = None,
    logdir: Annotated[
        Path | None, typer.Option("--logdir", help="Where to write (default: runs/<name>).")
    ] = None,
) -> None:
    """Write the TensorBoard graph of the built module (needs shapecalc[tensorboard])."""
    spec_file = load_or_exit(spec)
    trace_or_exit(spec_file)
    with _clean_errors():
        from .runner import write_graph

        where = write_graph(spec_file.spec, logdir or Path("runs") / spec_file.spec.name)
    # soft_wrap: a path or a command must stay on one line to be copied
    out.print(f"wrote the graph of {spec_file.spec.name} to {where}", soft_wrap=True, markup=False)
    out.print(f"open it with: tensorboard --logdir {where}", soft_wrap=True, markup=False)


# --- the spec format and pictures of a net -----------------------------------------------------------


@app.command("schema")
def schema_cmd(
    output: Annotated[
        Path | None,
        typer.Option("-o", "--output", help="Write the schema to this file instead of stdout."),
    ] = None,
) -> None:
    """Print the JSON Schema (draft 7) of the spec format, for editors.

    It names every key, layer type and argument with its value types, so an editor completes them
    and underlines a misspelt key or a wrong type as you type. Checks that need the whole file
    (from: names, block parameters) or shapes stay with `shapecalc check`.

    The same schema ships in the package as shapecalc/schemas/spec.schema.json. To use it, put
    this first line in a spec (VS Code with the YAML extension, or any yaml-language-server editor):

    \b
        # yaml-language-server: $schema=<path or URL of spec.schema.json>
    """
    from .schema import dumps, spec_schema

    text = dumps(spec_schema())
    if output is None:
        print(text, end="")
        return
    try:
        output.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise _fail(f"cannot write {output}: {exc.strerror or exc}") from None
    err.print(f"wrote {output}", soft_wrap=True, markup=False)


class DiagramFormat(str, Enum):
    svg = "svg"
    png = "png"
    dot = "dot"
    mermaid = "mermaid"


_SUFFIXES = {
    ".svg": DiagramFormat.svg,
    ".png": DiagramFormat.png,
    ".dot": DiagramFormat.dot,
    ".gv": DiagramFormat.dot,
    ".mmd": DiagramFormat.mermaid,
    ".mermaid": DiagramFormat.mermaid,
}
UNAVAILABLE = 3  # exit code: this environment cannot do it (a program or an extra is missing)


def _write_atomically(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` whole or not at all (a temporary file, then a rename)."""
    import os
    import tempfile

    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


@app.command("diagram")
def diagram_cmd(
    spec: SpecArg = None,
    output: Annotated[
        Path | None,
        typer.Option(
            "-o",
            "--output",
            help="Write to this file; its suffix picks the format (.svg, .png, .dot, .mmd). "
            "Default: stdout.",
        ),
    ] = None,
    fmt: Annotated[
        DiagramFormat | None,
        typer.Option(
            "--format",
            help="svg (default), png (needs a converter), dot or mermaid (text, no dependencies).",
        ),
    ] = None,
    depth: Annotated[
        int,
        typer.Option(
            "--depth", min=1, help="Fold blocks and Sequentials nested deeper into one node."
        ),
    ] = 3,
    graph: Annotated[
        bool,
        typer.Option("--graph", help="Draw a chain as a graph too (needs Graphviz's dot)."),
    ] = False,
) -> None:
    """Draw the net: the classic feature-map figure for a chain, a layered graph otherwise.

    A chain (each layer reads the one before) is drawn as the classic figure: one stack of sheets
    per feature map, labelled 32@16×16, the operation on the arrow between maps (conv 5×5, p=2,
    max-pool 2×2), flatten and fully-connected layers as bars. This needs nothing installed.

    A graph (branches, merges) is drawn as layered nodes with the shapes on the edges and blocks
    as frames, folded below --depth. Its layout is Graphviz's: it needs Graphviz's Python package
    (pip install graphviz, or shapecalc's extra named diagram) and the dot program (apt-get install
    graphviz, brew install graphviz). Without them, --format dot or --format mermaid writes the
    graph as text.

    PNG is converted from the SVG by rsvg-convert, cairosvg or ImageMagick, whichever is
    installed. Exits 1 on an invalid spec, 2 on a usage error, 3 when a needed program is missing;
    nothing is written then.
    """
    from .diagram import (
        UnavailableError,
        build_graph,
        is_linear,
        layout,
        render_dot,
        svg_to_png,
        to_dot,
        to_mermaid,
        to_svg,
    )
    from .errors import MissingExtraError

    if fmt is None:
        fmt = DiagramFormat.svg
        if output is not None:
            if output.suffix.lower() not in _SUFFIXES:
                raise typer.BadParameter(
                    f"cannot tell the format from {output.name!r}: name the file .svg, .png, "
                    ".dot or .mmd, or give --format",
                    param_hint="-o",
                )
            fmt = _SUFFIXES[output.suffix.lower()]
    if fmt is DiagramFormat.png and output is None:
        raise typer.BadParameter(
            "PNG is written to a file: give -o FILE.png", param_hint="--format"
        )
    spec_file = load_or_exit(spec)
    trace = trace_or_exit(spec_file)
    converted = ""
    try:
        if fmt is DiagramFormat.dot:
            data = to_dot(build_graph(trace, depth)).encode("utf-8")
        elif fmt is DiagramFormat.mermaid:
            data = to_mermaid(build_graph(trace, depth)).encode("utf-8")
        else:
            if is_linear(trace) and not graph:
                svg = to_svg(layout(trace))
            else:
                svg = render_dot(to_dot(build_graph(trace, depth)))
            data = svg.encode("utf-8")
            if fmt is DiagramFormat.png:
                data, converted = svg_to_png(svg)
    except (UnavailableError, MissingExtraError) as exc:
        err.print(f"error: {exc}", soft_wrap=True, markup=False)
        raise typer.Exit(UNAVAILABLE) from None
    if output is None:
        print(data.decode("utf-8"), end="")
        return
    try:
        _write_atomically(output, data)
    except OSError as exc:
        raise _fail(f"cannot write {output}: {exc.strerror or exc}") from None
    made = f" (converted by {converted})" if converted else ""
    err.print(f"wrote {output}{made}", soft_wrap=True, markup=False)


def main() -> None:
    """Entry point: every error shapecalc raises on purpose becomes one line and exit 1."""
    try:
        app()
    except ShapecalcError as exc:
        err.print(f"error: {exc}", soft_wrap=True, markup=False)
        raise SystemExit(1) from None
