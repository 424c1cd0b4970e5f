"""The ``shapecalc`` command line: parse the arguments, call one function, render, choose the exit code.

Exit codes: 0 success; 1 a spec is invalid or a check disagreed; 2 usage error (including a SPEC
that cannot be read); 3 this environment cannot do it (an optional dependency is missing, no CUDA,
not enough memory). Each command imports what it uses when it runs, so ``--help`` and ``--version``
load neither pydantic nor torch.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn, cast

import typer

from . import __version__

if TYPE_CHECKING:
    from rich.console import Console

    from .errors import Diagnostic
    from .loader import SpecFile
    from .runner import Verification
    from .trace import Trace

OK, INVALID, USAGE, UNAVAILABLE = 0, 1, 2, 3
MAX_SIZE = 2**31 - 1  # the bound on spec sizes (shapecalc.layers.MAX_SIZE), for the options too

EXIT_CODES = """\b
Exit codes:
  0  success
  1  a spec is invalid, or a check disagreed
  2  usage error: an unknown option, a bad value, a SPEC that cannot be read
  3  this environment cannot do it: missing extra, no CUDA, too little memory"""


def _root_help() -> str:
    from ._bundled import names

    return (
        "Shape calculator and architecture-spec tool for PyTorch convolutional networks.\n\n"
        "A SPEC is a YAML file, or the name of a spec shipped with shapecalc "
        f"({', '.join(names())}); without one, commands use cifar10.\n\n"
        "--json documents follow the JSON Schemas in shapecalc/schemas/.\n\n" + EXIT_CODES
    )


app = typer.Typer(
    name="shapecalc",
    help=_root_help(),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    # plain click help: rich markup would swallow "[torch]" and show every flag as "<bool>"
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)


def _version(value: bool) -> None:
    if value:
        print(f"shapecalc {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_version, is_eager=True, help="Show the version and exit."
        ),
    ] = False,
) -> None:
    pass


def _console(stderr: bool = False) -> Console:
    from rich.console import Console

    return Console(stderr=stderr, highlight=False)


# --- argument parsing ------------------------------------------------------------------------------

_DIGITS = re.compile(r"[0-9]+")  # ASCII only: int() would also take "1_1", "３" and "٣"


def _size(text: str | int, lo: int = 1, hi: int = MAX_SIZE) -> int:
    """A size option: ASCII digits only, in [lo, hi] (as solve-padding's sizes)."""
    text = str(text).strip(" ")  # an int: a default
    shown = repr(text) if len(text) <= 40 else repr(text[:40]) + "…"
    if not _DIGITS.fullmatch(text):
        raise typer.BadParameter(
            f"{shown} is not a positive integer: write it with the digits 0-9 only"
        )
    if len(text.lstrip("0")) > len(str(hi)) or int(text) > hi:
        raise typer.BadParameter(f"{shown}: must be at most {hi}")
    if int(text) < lo:
        raise typer.BadParameter(f"{shown}: must be at least {lo}")
    return int(text)


def _batch(text: str | int) -> int:
    return _size(text)


def _columns(text: str | tuple[str, ...]) -> tuple[str, ...]:
    if isinstance(text, tuple):  # a default
        return text
    from .analysis.report import parse_columns
    from .errors import ShapecalcError

    try:
        return parse_columns(text)
    except ShapecalcError as exc:
        raise typer.BadParameter(str(exc).removeprefix("--columns: ")) from None


DTYPE_NAMES = ("float32", "float16", "bfloat16")


def _dtype(text: str) -> str:
    if text not in DTYPE_NAMES:
        raise typer.BadParameter(f"{text[:40]!r}: choose {', '.join(DTYPE_NAMES)}")
    return text


def _input_shape(text: str | tuple[int, ...]) -> tuple[int, ...]:
    if isinstance(text, tuple):  # a default
        return text
    parts = text.split(",")
    if not 1 <= len(parts) <= 5:
        raise typer.BadParameter(f"{text[:40]!r}: give 1 to 5 sizes, e.g. 3,32,32")
    return tuple(_size(part) for part in parts)


def _int_or_pair(text: str | tuple[int, ...]) -> tuple[int, ...]:
    """``N`` or ``H,W``: ASCII digits only (no ``1_1``, no full-width or Arabic-Indic digits, which
    Python's int() would accept), each in [1, 2³¹−1]."""
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


SpecArg = Annotated[
    str | None,
    # described in each docstring: typer would show its type as "<str>"
    typer.Argument(metavar="SPEC", hidden=True, show_default=False),
]
JsonOpt = Annotated[
    bool, typer.Option("--json", help="Print one JSON document to stdout (see the schemas).")
]
BatchOpt = Annotated[
    int | None,
    typer.Option(
        "--batch",
        metavar="N",
        parser=_batch,
        help="Batch size, 1 to 2147483647 (default: the spec's).",
        show_default=False,
    ),
]


# --- loading ---------------------------------------------------------------------------------------


@dataclass
class _Loaded:
    """A spec argument after reading: the spec, or the diagnostics and exit code that stopped it."""

    path: str
    spec_file: SpecFile | None = None
    diagnostics: list[Diagnostic] = field(default_factory=list)
    code: int = OK


def _load(argument: str | None) -> _Loaded:
    """Read one SPEC argument: a file, else a bundled name; never raises for a bad file."""
    from . import _bundled, loader
    from .errors import Diagnostic, SpecError

    names = _bundled.names()
    if argument is None or (argument in names and not os.path.lexists(argument)):
        argument = _shown(loader.bundled(argument or "cifar10"))
    try:
        raw = loader.read_spec_bytes(argument)
    except SpecError as exc:
        return _Loaded(argument, None, exc.diagnostics, USAGE)
    except OSError as exc:
        if isinstance(exc, FileNotFoundError):
            message = "the file does not exist"
            if "/" not in argument and os.sep not in argument and not Path(argument).suffix:
                message += f", and no bundled spec of that name ({', '.join(names)})"
        else:
            message = f"cannot read the file: {exc.strerror or exc}"
        return _Loaded(argument, None, [Diagnostic(message, argument)], USAGE)
    try:
        return _Loaded(argument, loader.loads(raw, argument))
    except SpecError as exc:
        return _Loaded(argument, None, exc.diagnostics, INVALID)


def _followed(spec_file: SpecFile, trace: Trace) -> list[Diagnostic]:
    """check --input: a warning when sizes the spec leaves to inference follow the given input
    where the spec's own input infers others (a module built from the spec keeps those)."""
    from .errors import CompileError, Diagnostic, ShapeError
    from .trace import propagate

    try:
        own = propagate(spec_file.spec)
    except (ShapeError, CompileError):
        return []
    changed = [
        (row, f"{key}={value} for {row.name} ({was.inferred[key]} at the spec's input)")
        for row in trace.layers
        if (was := own.by_name.get(row.name)) is not None
        for key, value in row.inferred.items()
        if was.inferred.get(key, value) != value
    ]
    if not changed:
        return []
    row, first = changed[0]
    more = f" and {len(changed) - 1} more" if len(changed) > 1 else ""
    message = (
        f"sizes the spec infers follow this input {list(trace.input_shape[1:])}: {first}{more}; "
        f"a module built from the spec keeps those of its input {list(spec_file.spec.input)} "
        "and takes only the sizes shapecalc solve-input lists"
    )
    line, column = spec_file.locate(row.path)
    return [Diagnostic(message, spec_file.path, line, column, row.path, None, "warning")]


def _shown(path: Path) -> str:
    """A bundled spec's path as messages show it: relative to the working folder when it lies
    inside it (``specs/unet.yaml`` in a checkout), else absolute."""
    try:
        relative = os.path.relpath(path)
    except ValueError:  # another drive (Windows)
        return path.as_posix()
    return path.as_posix() if relative.startswith("..") else Path(relative).as_posix()


def _emit_json(document: Any, schema: str) -> None:
    """Print a document; ``schema`` names its file in shapecalc/schemas (tests validate it)."""
    # plain print: rich would wrap or colour it
    print(json.dumps(document, indent=2, ensure_ascii=False))


def _fail(message: str, code: int = INVALID) -> NoReturn:
    from .errors import shorten

    print_error(f"error: {shorten(message)}")
    raise typer.Exit(code)


def print_error(line: str) -> None:
    from .render import Painter

    console = _console(stderr=True)
    paint = Painter(console)
    paint.write([paint(line, "red")])


def _load_or_exit(argument: str | None) -> SpecFile:
    """Load a spec for commands that need a valid one: diagnostics and the exit code otherwise."""
    from .render import print_diagnostics

    loaded = _load(argument)
    if loaded.spec_file is None:
        print_diagnostics(_console(stderr=True), loaded.diagnostics)
        raise typer.Exit(loaded.code)
    return loaded.spec_file


# --- check -----------------------------------------------------------------------------------------


@app.command(short_help="Check specs statically: every layer's shape, with its formula.")
def check(
    specs: Annotated[
        list[str] | None,
        # described in the docstring: typer would show its type as "<list[str]>"
        typer.Argument(metavar="SPEC", hidden=True, show_default=False),
    ] = None,
    batch: BatchOpt = None,
    input_text: Annotated[
        # parsed to a tuple of ints; typer would read a tuple annotation as several values
        str | None,
        typer.Option(
            "--input",
            metavar="C,H,W",
            parser=_input_shape,
            help="Per-sample input shape to check with instead of the spec's, batch excluded "
            "(C,H,W for images, F for features).",
            show_default=False,
        ),
    ] = None,
    depth: Annotated[
        int,
        typer.Option(
            "--depth",
            metavar="N",
            parser=_size,
            help="Fold blocks and Sequentials nested deeper than N into one row (as torchinfo).",
        ),
    ] = 3,
    columns_text: Annotated[
        # parsed to a tuple of names; typer would read a tuple annotation as several values
        str,
        typer.Option(
            "--columns",
            metavar="A,B,…",
            parser=_columns,
            help="The table's columns, from input, output, params, mult_adds, flops, rf "
            "(receptive field), memory (output / saved for training) and formula "
            "(as torchinfo's col_names). Default: input,output,params,formula.",
            show_default=False,
        ),
    ] = "input,output,params,formula",
    dtype: Annotated[
        str,
        typer.Option(
            "--dtype",
            metavar="DTYPE",
            parser=_dtype,
            help="The dtype the memory figures assume: float32, float16 or bfloat16.",
        ),
    ] = "float32",
    as_json: JsonOpt = False,
) -> None:
    """Check specs without running anything: every layer's input and output shape, parameter
    count and formula with the numbers substituted, then the totals (trainable parameters,
    mult-adds and FLOPs, parameter and activation sizes at the batch, for inference and for
    training).

    Each SPEC (a YAML file or a bundled spec name; default: cifar10) is checked on its own, and
    one that cannot be read does not stop the others.
    Problems go to stderr as FILE:LINE:COLUMN: error: MESSAGE. With --json, stdout holds a list
    with one document per SPEC (schema: check.schema.json), whatever their number.

    Exits 0 when every spec is valid, 1 when one is not, 2 when a SPEC cannot be read.
    """
    from .analysis.report import analyse
    from .errors import CompileError, ShapeError
    from .render import check_document, print_diagnostics, print_totals, print_trace
    from .trace import propagate

    input_shape = cast(tuple[int, ...] | None, input_text)
    columns = _columns(columns_text)

    out, err = _console(), _console(stderr=True)
    arguments: list[str | None] = list(specs) if specs else [None]
    documents = []
    code = OK
    for number, argument in enumerate(arguments):
        loaded = _load(argument)
        trace = None
        diagnostics = loaded.diagnostics
        if loaded.spec_file is not None:
            spec = loaded.spec_file.spec
            shape = (
                (batch or spec.batch, *(input_shape or spec.input))
                if batch is not None or input_shape is not None
                else None
            )
            try:
                trace = propagate(spec, shape)
            except (ShapeError, CompileError) as exc:
                diagnostics = loaded.spec_file.diagnose(exc)
                loaded.code = INVALID
                trace = exc.trace
            else:
                diagnostics = loaded.spec_file.warnings(trace)
                if input_shape is not None:
                    diagnostics += _followed(loaded.spec_file, trace)
        ok = not any(d.severity == "error" for d in diagnostics)
        code = max(code, loaded.code)
        # receptive fields only when shown: the other figures are one pass over the rows
        fields = as_json or "rf" in columns
        analysis = analyse(trace, dtype, fields) if ok and trace is not None else None
        if as_json:  # a 10,000-layer document costs as much as drawing its table
            documents.append(check_document(loaded.path, trace, diagnostics, ok, analysis))
        else:
            if number:
                out.file.write("\n")
            if trace is not None:
                title = f"{loaded.path} ({trace.name})"
                print_trace(out, trace, title, depth, columns, analysis)
                if analysis is not None:
                    print_totals(out, trace, analysis.totals())
        print_diagnostics(err, diagnostics)
    if as_json:
        _emit_json(documents, "check")
    raise typer.Exit(code)


# --- solvers ---------------------------------------------------------------------------------------


def _pair_option(flag: str, help_text: str) -> Any:
    return typer.Option(flag, callback=_int_or_pair, metavar="N|H,W", help=help_text)


@app.command(
    "solve-padding", short_help="Find every padding that maps an input size to an output size."
)
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

    Example: shapecalc solve-padding --k 5 --in 32 --out 32 (answer: padding 2). Each size is an
    integer from 1 to 2147483647, or a pair H,W solved per dimension.

    Exits 0 when a padding works, 1 when none does (the reason and the nearest sizes are shown).
    """
    from .render import print_padding
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
    failures = [
        f"no padding maps {dim.size_in} to {dim.size_out}"
        + (f" along {dim.axis}" if dim.axis else "")
        + f": {dim.reason}"
        for dim in solution.dims
        if not dim.ranges
    ]
    if as_json:
        document = solution.to_dict()
        from .errors import Diagnostic

        document["errors"] = [Diagnostic(message).to_dict() for message in failures]
        _emit_json(document, "solve-padding")
    else:
        print_padding(_console(), solution)
    for message in failures:
        print_error(f"error: {message}")
    raise typer.Exit(INVALID if failures else OK)


def _max_size(text: str | int) -> int:
    return _size(text, hi=16384)


@app.command("solve-input", short_help="Find every input height and width the net accepts.")
def solve_input_cmd(
    spec: SpecArg = None,
    max_size: Annotated[
        int | None,
        typer.Option(
            "--max",
            metavar="N",
            parser=_max_size,
            help="Largest size to try along each spatial axis, 1 to 16384 (default: 1024, or the "
            "spec's own size when larger).",
            show_default=False,
        ),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Find every input size (1 to --max along each spatial axis) for which the whole net of SPEC
    (a YAML file or a bundled spec name; default: cifar10) is valid.

    Works on chains and graphs, with 1-D, 2-D and 3-D inputs. Channels are fixed by the spec, and
    so are inferred sizes (in_features of a Linear after Flatten, ...). Shows each axis's size as an
    expression of the input, the valid sizes as intervals or periodic families, the layer or merge
    that rules out each range, and which sizes keep every row.

    Exits 0 when some size works, 1 when none does or the spec is invalid.
    """
    from .errors import CompileError, ShapeError
    from .render import error_documents, print_diagnostics, print_input_solution
    from .solvers import solve_input

    def stop(diagnostics: list[Diagnostic], code: int) -> NoReturn:
        if as_json:
            document = {"ok": False, "spec": loaded.path, "errors": error_documents(diagnostics)}
            _emit_json(document, "solve-input")
        print_diagnostics(_console(stderr=True), diagnostics)
        raise typer.Exit(code)

    loaded = _load(spec)
    if loaded.spec_file is None:
        stop(loaded.diagnostics, loaded.code)
    spec_file = loaded.spec_file
    try:
        solution = solve_input(spec_file.spec, max_size)
    except (CompileError, ShapeError) as exc:
        stop(spec_file.diagnose(exc), INVALID)
    except ValueError as exc:
        _fail(str(exc))
    if as_json:
        _emit_json({**solution.to_dict(), "spec": loaded.path, "errors": []}, "solve-input")
    else:
        print_input_solution(_console(), solution)
    if not solution.ok:
        print_error(f"error: no input size in 1..{solution.max_size} works for {spec_file.path}")
        raise typer.Exit(INVALID)


# --- torch-backed commands -------------------------------------------------------------------------


class Style(str, Enum):
    sequential = "sequential"
    cls = "class"


class Device(str, Enum):
    cpu = "cpu"
    cuda = "cuda"
    meta = "meta"
    auto = "auto"


@contextmanager
def _torch_errors(
    device: str,
    alternative: str | None = "--device meta",
    report: Callable[[str, int], NoReturn] = _fail,
) -> Iterator[None]:
    """What torch and the machine refuse becomes one line and an exit code: 3 when the environment
    cannot do it (a missing extra, no CUDA, not enough memory, a folder it cannot write), 1 when
    torch refuses what the calculator accepted. ``report`` prints the line and exits."""
    from .errors import ShapecalcError, UnavailableError

    try:
        yield
    except UnavailableError as exc:
        report(str(exc), UNAVAILABLE)
    except ShapecalcError as exc:
        report(str(exc), INVALID)
    except (MemoryError, RuntimeError, ValueError) as exc:
        from .runner import is_out_of_memory

        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        if is_out_of_memory(exc):
            hint = f"; it may fit with {alternative} (shapes only)"
            report(
                f"torch ran out of memory: {first}"
                + (hint if alternative and device != "meta" else ""),
                UNAVAILABLE,
            )
        report(f"torch failed: {first}", INVALID)
    except OSError as exc:
        where = f": {exc.filename}" if exc.filename else ""
        report(f"{exc.strerror or exc}{where}", UNAVAILABLE)


def _trace_or_exit(spec_file: SpecFile, input_shape: tuple[int, ...] | None = None) -> Any:
    from .errors import CompileError, ShapeError
    from .render import print_diagnostics
    from .trace import propagate

    try:
        return propagate(spec_file.spec, input_shape)
    except (ShapeError, CompileError) as exc:
        print_diagnostics(_console(stderr=True), spec_file.diagnose(exc))
        raise typer.Exit(INVALID) from None


DeviceOpt = Annotated[
    Device,
    typer.Option(
        "--device",
        metavar="[cpu|cuda|meta|auto]",
        help="Where to allocate: cpu, cuda, meta (shapes only: no tensor memory, so a large net "
        "at a large batch fits a small machine) or auto (cuda when available).",
    ),
]


@app.command(short_help="Build the spec as a torch module and print it (needs torch).")
def build(
    spec: SpecArg = None,
    style: Annotated[
        Style | None,
        typer.Option(
            "--style",
            metavar="[sequential|class]",
            help="nn.Sequential, or a module class named after the spec (default: sequential "
            "for a chain, class for a graph).",
            show_default=False,
        ),
    ] = None,
    summary: Annotated[
        bool, typer.Option("--summary", help="Add a torchinfo summary and check its totals.")
    ] = False,
    device: DeviceOpt = Device.cpu,
) -> None:
    """Build SPEC (a YAML file or a bundled spec name; default: cifar10) as a torch module and
    print it as torch prints it.

    With --summary, torchinfo's totals (parameters, mult-adds, output shape) are compared with the
    calculator's. Needs torch and torchinfo:

    \b
      pip install 'torch-shapecalc[torch]'

    Exits 0 when the module is built (and the totals agree), 1 when the spec is invalid or the
    totals disagree, 3 when torch is missing or the module does not fit in memory.
    """
    spec_file = _load_or_exit(spec)
    trace = _trace_or_exit(spec_file)
    if style is Style.sequential and trace.is_graph:
        from .builder import not_sequential
        from .errors import Diagnostic
        from .render import print_diagnostics

        message, path = not_sequential(spec_file.spec, trace)
        located = Diagnostic(message, spec_file.path, *spec_file.locate(path), path)
        print_diagnostics(_console(stderr=True), [located])
        raise typer.Exit(INVALID)
    with _torch_errors(device.value):
        from .builder import build as build_module
        from .runner import ensure_memory, resolve_device, summarise

        where = resolve_device(device.value)
        ensure_memory(trace, where, forward=summary)
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
        out = _console()
        out.print(
            f"shapecalc agrees with torchinfo: {trace.total_params:,} parameters, "
            f"{trace.total_macs:,} mult-adds, output {list(trace.output_shape)}",
            style="green",
            soft_wrap=True,
        )
        return
    for what, ours, theirs in mismatches:
        print_error(f"error: {what} disagree: shapecalc {ours}, torchinfo {theirs}")
    raise typer.Exit(INVALID)


@app.command(short_help="Run a real forward pass and compare every layer's shape (needs torch).")
def verify(
    spec: SpecArg = None,
    device: DeviceOpt = Device.cpu,
    batch: BatchOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Run a real forward pass of torch.ones((batch, *input)) through SPEC (a YAML file or a
    bundled spec name; default: cifar10) and compare every layer's output shape with the
    calculator's.

    Before allocating on cpu or cuda, the memory the pass needs (parameters plus the largest input
    and output of one layer, float32) is compared with the memory available. With --json, stdout
    holds one document (schema: verify.schema.json), also when the spec is invalid. Needs torch:

    \b
      pip install 'torch-shapecalc[torch]'

    Exits 0 when all layers agree, 1 on a disagreement, a failed forward pass or an invalid spec,
    3 when torch or CUDA is missing or the pass does not fit in memory.
    """
    from .errors import CompileError, Diagnostic, ShapeError
    from .render import (
        print_diagnostics,
        print_verification,
        verification_problem,
        verify_document,
    )
    from .trace import propagate

    loaded = _load(spec)
    spec_file = loaded.spec_file
    diagnostics = loaded.diagnostics
    input_shape = None
    if spec_file is not None:
        input_shape = (batch or spec_file.spec.batch, *spec_file.spec.input)
        try:
            trace = propagate(spec_file.spec, input_shape)
        except (ShapeError, CompileError) as exc:
            diagnostics = spec_file.diagnose(exc)
            loaded.code = INVALID

    def document(result: Verification | None, errors: list[Diagnostic]) -> None:
        name = spec_file.spec.name if spec_file is not None else None
        shape = result.input_shape if result is not None else input_shape
        where = result.device if result is not None else device.value
        _emit_json(
            verify_document(loaded.path, name, result, errors, device=where, input_shape=shape),
            "verify",
        )

    if spec_file is None or diagnostics:
        if as_json:
            document(None, diagnostics)
        print_diagnostics(_console(stderr=True), diagnostics)
        raise typer.Exit(loaded.code)

    def report(message: str, code: int) -> NoReturn:
        if as_json:
            document(None, [Diagnostic(message, loaded.path)])
        _fail(message, code)

    with _torch_errors(device.value, report=report):
        from .runner import ensure_memory, resolve_device
        from .runner import verify as run_verify

        where = resolve_device(device.value)
        ensure_memory(trace, where)
        result = run_verify(spec_file.spec, where, batch)
    problems: list[Diagnostic] = []
    problem = verification_problem(result)
    if problem is not None:
        node = result.failed_at or result.broke_at
        field = (node.field or f"layers[{node.index}]") if node is not None else None
        line, column = spec_file.locate(field) if field else (None, None)
        index = node.index if node is not None else None
        problems.append(Diagnostic(problem, loaded.path, line, column, field, index))
    if as_json:
        document(result, problems)
    else:
        print_verification(_console(), result)
    for entry in problems:  # one line without the file: the table names the node
        print_error(f"error: {entry.message}")
    raise typer.Exit(INVALID if problems or not result.ok else OK)


@app.command(short_help="Write the TensorBoard graph of the built module (needs tensorboard).")
def graph(
    spec: SpecArg = None,
    logdir: Annotated[
        Path | None,
        typer.Option("--logdir", metavar="DIR", help="Where to write (default: runs/<spec name>)."),
    ] = None,
) -> None:
    """Write the TensorBoard graph of SPEC (a YAML file or a bundled spec name; default: cifar10)
    built as a module class, traced on the CPU.

    The events file is written in a temporary folder and moved into place only when complete; it
    replaces the graph of an earlier run in the same folder. Needs torch and tensorboard:

    \b
      pip install 'torch-shapecalc[tensorboard]'

    Exits 0 when the graph is written, 1 when the spec is invalid or torch cannot run it, 3 when
    an extra is missing, memory is short or the folder cannot be written.
    """
    spec_file = _load_or_exit(spec)
    trace = _trace_or_exit(spec_file)
    with _torch_errors("cpu", alternative=None):
        from .runner import ensure_memory, write_graph

        ensure_memory(trace, "cpu", alternative=None)
        where = write_graph(spec_file.spec, logdir or Path("runs") / spec_file.spec.name)
    out = _console()
    # soft_wrap: a path or a command must stay on one line to be copied
    out.print(f"wrote the graph of {spec_file.spec.name} to {where}", soft_wrap=True, markup=False)
    out.print(f"open it with: tensorboard --logdir {where}", soft_wrap=True, markup=False)


# --- the spec format and pictures of a net -----------------------------------------------------------


@app.command("schema")
def schema_cmd(
    output: Annotated[
        Path | None,
        typer.Option(
            "-o",
            "--output",
            metavar="FILE",
            help="Write the schema to this file instead of stdout.",
        ),
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
        _fail(f"cannot write {output}: {exc.strerror or exc}", UNAVAILABLE)
    _console(stderr=True).print(f"wrote {output}", soft_wrap=True, markup=False)


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


def _deliver(data: bytes, output: Path | None, made: str = "") -> None:
    """Print ``data`` (UTF-8 text) to stdout, or write it to ``output`` whole and say so."""
    if output is None:
        print(data.decode("utf-8"), end="")
        return
    try:
        _write_atomically(output, data)
    except OSError as exc:
        _fail(f"cannot write {output}: {exc.strerror or exc}", UNAVAILABLE)
    _console(stderr=True).print(f"wrote {output}{made}", soft_wrap=True, markup=False)


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
            metavar="FILE",
            help="Write to this file; its suffix picks the format (.svg, .png, .dot, .mmd). "
            "Default: stdout.",
        ),
    ] = None,
    fmt: Annotated[
        DiagramFormat | None,
        typer.Option(
            "--format",
            metavar="[svg|png|dot|mermaid]",
            help="svg (default), png (needs a converter), dot or mermaid (text, no dependencies).",
        ),
    ] = None,
    depth: Annotated[
        int,
        typer.Option(
            "--depth",
            metavar="N",
            parser=_size,
            help="Fold blocks and Sequentials nested deeper than N into one node.",
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
    and the dot program (apt-get install graphviz, brew install graphviz). Without them, --format
    dot or --format mermaid writes the graph as text. The package:

    \b
      pip install 'torch-shapecalc[diagram]'

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
    spec_file = _load_or_exit(spec)
    trace = _trace_or_exit(spec_file)
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
        _fail(str(exc), UNAVAILABLE)
    _deliver(data, output, f" (converted by {converted})" if converted else "")


# --- a spec as Python, and Python as a spec ----------------------------------------------------------


class ExportFormat(str, Enum):
    python = "python"


@app.command("export", short_help="Write the spec as a standalone Python module of nn.Modules.")
def export_cmd(
    spec: SpecArg = None,
    fmt: Annotated[
        ExportFormat,
        typer.Option(
            "--format",
            metavar="[python]",
            help="What to write: python, a module of nn.Module classes (the default).",
        ),
    ] = ExportFormat.python,
    output: Annotated[
        Path | None,
        typer.Option(
            "-o", "--output", metavar="FILE", help="Write to this file instead of stdout."
        ),
    ] = None,
) -> None:
    """Write SPEC (a YAML file or a bundled spec name; default: cifar10) as a standalone Python
    module to paste into a project; it needs only torch.

    One nn.Module class per block and one for the net: __init__ creates the layers with their
    arguments as a person writes them (nn.Conv2d(3, 32, 5, padding=2): torch's required arguments
    by position, the rest by keyword, defaults left out), forward has one line per node with its
    output shape as a comment, merges are torch.add, torch.mul and torch.cat. The module has the
    state_dict keys of `shapecalc build --style class`, so weights saved from one load into the
    other. Writing it imports and runs nothing.

    Exits 0 when written, 1 when the spec is invalid, 2 on a usage error; nothing is written then.
    """
    from .export import ExportError, export_python

    spec_file = _load_or_exit(spec)
    trace = _trace_or_exit(spec_file)
    try:
        text = export_python(spec_file.spec, trace, Path(spec_file.path).name)
    except ExportError as exc:
        _fail(str(exc))
    _deliver(text.encode("utf-8"), output)


@app.command("import", short_help="Write the spec of an existing nn.Module (runs your code).")
def import_cmd(
    target: Annotated[
        str,
        typer.Argument(
            metavar="MODULE:ATTR",
            help="The model: package.module:factory_or_class, or path/to/file.py:Class "
            "(called with no arguments).",
            show_default=False,
        ),
    ],
    input_text: Annotated[
        # parsed to a tuple of ints; typer would read a tuple annotation as several values
        str | None,
        typer.Option(
            "--input",
            metavar="C,H,W",
            parser=_input_shape,
            help="The per-sample input shape the model is read on (batch excluded), e.g. "
            "3,224,224.",
            show_default=False,
        ),
    ] = None,
    output: Annotated[
        Path | None,
        typer.Option(
            "-o", "--output", metavar="FILE", help="Write the spec to this file instead of stdout."
        ),
    ] = None,
) -> None:
    """Write the spec of an existing nn.Module, traced with torch.fx.

    This IMPORTS AND RUNS YOUR PYTHON CODE, on purpose: the module you name, the class or
    factory (called with no arguments) and its forward (on the meta device, so no memory is
    spent on activations). Import only models you trust. A spec never runs code; only this
    command does.

    torch.nn layers become entries with their arguments, +, torch.add, torch.mul and torch.cat
    merges, F.relu, torch.flatten and the like the layers they stand for, submodules Sequentials
    or blocks (one block per module class, with parameters where its uses differ). The spec builds
    a module with the model's state_dict keys and shapes, so the model's weights load into
    `shapecalc build --style class`'s module. Needs torch:

    \b
      pip install 'torch-shapecalc[torch]'

    Exits 1 when the model cannot be imported or traced or holds something a spec cannot express
    (named with its place in the model's code), 2 on a usage error, 3 without torch; nothing is
    written then.
    """
    from .errors import MissingExtraError
    from .importer import ImportError_, TargetError, import_model, load_target, split_target

    input_shape = cast(tuple[int, ...] | None, input_text)
    try:
        split_target(target)
    except TargetError as exc:
        raise typer.BadParameter(str(exc), param_hint="MODULE:ATTR") from None
    try:
        import torch  # noqa: F401
    except ImportError:
        _fail(str(MissingExtraError("torch", "torch")), UNAVAILABLE)
    try:
        model = load_target(target)
        if input_shape is None:
            raise typer.BadParameter(
                f"give the input the model takes, per sample: --input C,H,W "
                f"({_first_input(model)})",
                param_hint="--input",
            )
        where = output.parent if output is not None else Path.cwd()
        text = import_model(model, input_shape, schema=_schema_path(where), source=target)
    except ImportError_ as exc:
        _fail(str(exc))
    _deliver(text.encode("utf-8"), output)


def _first_input(model: Any) -> str:
    """What the first layer says about the input: ``its first layer, Conv2d, takes 3 channels``."""
    for module in model.modules():
        for key in ("in_channels", "in_features", "num_features"):
            if isinstance(getattr(module, key, None), int):
                what = "channels" if key != "in_features" else "features"
                count = getattr(module, key)
                return f"its first layer, {type(module).__name__}, takes {count} {what}"
    return "e.g. --input 3,224,224"


def _schema_path(where: Path) -> str:
    """The shipped schema, as a path relative to the folder the spec is written to."""
    from .schema import SCHEMA_FILE

    try:
        return Path(os.path.relpath(SCHEMA_FILE, where.resolve())).as_posix()
    except ValueError:  # another drive (Windows)
        return SCHEMA_FILE.as_uri()


def main() -> None:
    """Entry point: an error shapecalc raises on purpose becomes one line and exit 1 (3 when the
    environment cannot do it)."""
    import signal

    from .errors import ShapecalcError, UnavailableError

    if hasattr(signal, "SIGPIPE"):
        # a reader that stops early (`shapecalc check | head`) ends the process quietly, as it
        # ends `cat`: killed by SIGPIPE, not an "invalid spec" exit 1 on a closed pipe
        signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    try:
        app()
    except ShapecalcError as exc:
        code = UNAVAILABLE if isinstance(exc, UnavailableError) else INVALID
        print_error(f"error: {exc}")
        raise SystemExit(code) from None
