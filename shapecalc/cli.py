"""The ``shapecalc`` command line. Exit codes: 0 success, 1 invalid spec / failed check, 2 usage error."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any, Optional

import typer
from rich.console import Console

from . import loader
from .errors import Diagnostic, ShapecalcError, ShapeError, SpecError
from .render import check_document, print_diagnostics, print_totals, print_trace
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
    Optional[Path],
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
    except ShapeError as exc:
        print_diagnostics(err, [spec_file.diagnose(exc)])
        raise typer.Exit(1) from None


@app.command()
def check(
    specs: Annotated[
        Optional[list[Path]],
        typer.Argument(
            help="Spec files (YAML). Default: the bundled CIFAR10 spec.",
            exists=True,
            dir_okay=False,
            readable=True,
            show_default=False,
        ),
    ] = None,
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
        except ShapeError as exc:
            diagnostics = [spec_file.diagnose(exc)]
            trace = exc.trace
        ok = not diagnostics
        all_ok &= ok
        documents.append(check_document(str(path), trace, diagnostics, ok))
        if not as_json:
            if trace is not None:
                print_trace(out, trace, title=f"{path} ({trace.name})")
            if ok and trace is not None:
                print_totals(out, trace)
            if len(paths) > 1:
                out.print()
        print_diagnostics(err, diagnostics)
    if as_json:
        _emit_json(documents[0] if len(documents) == 1 else documents)
    if not all_ok:
        raise typer.Exit(1)


def main() -> None:
    """Entry point: every error shapecalc raises on purpose becomes one line and exit 1."""
    try:
        app()
    except ShapecalcError as exc:
        err.print(f"error: {exc}", soft_wrap=True, markup=False)
        raise SystemExit(1) from None
