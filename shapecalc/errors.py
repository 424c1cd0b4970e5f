"""Errors raised by shapecalc.

One root, a small tree under it::

    ShapecalcError
     ├── SpecError              a spec file cannot be read or fails validation (carries Diagnostics)
     ├── LayerError             a layer cannot take the tensor that reaches it
     │    └── ShapeError        ... raised by propagate(), with the node's name, place and input
     ├── CompileError           an argument computed from an expression is invalid (propagate())
     ├── UnknownSpecError       no bundled spec has that name (also a LookupError)
     ├── ForwardError           torch refused a forward pass the calculator accepted (runner)
     └── UnavailableError       this environment cannot do it (the command line exits 3)
          ├── MissingExtraError an optional dependency (torch, torchinfo, tensorboard) is not installed
          ├── DeviceError       the device asked for is absent (shapecalc.runner)
          └── MemoryLimitError  the forward pass needs more memory than the device has free

Formula functions raise a terse ``LayerError`` (the rule and the user's numbers); ``propagate`` adds the
node's context and raises ``ShapeError``; the loader adds ``file:line:column`` and the field path.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .trace import Trace, Use

# Messages echo the user's values; these bounds keep one line readable whatever the value.
MAX_ECHO = 80  # characters of one unbroken value
MAX_MESSAGE = 600  # characters of one message
_LONG_RUN = re.compile(rf"\S{{{MAX_ECHO + 1},}}")


def shorten(message: str) -> str:
    """``message`` with over-long values cut in the middle, and at most MAX_MESSAGE characters.

    >>> shorten("name must be an identifier, but got '" + "x" * 1000 + "'; rename it")
    "name must be an identifier, but got 'xxxxxxxxxxxxxxx…xxxxx' (1,002 characters); rename it"
    """
    if len(message) <= MAX_MESSAGE:
        return message

    def cut(match: re.Match[str]) -> str:
        run = match.group()
        core = run.rstrip(",;:.")
        return f"{core[:16]}…{core[-6:]} ({len(core):,} characters){run[len(core) :]}"

    message = _LONG_RUN.sub(cut, message)
    if len(message) > MAX_MESSAGE:
        left = len(message) - 450
        message = f"{message[:300]} … ({left:,} characters left out) … {message[-150:]}"
    return message


class ShapecalcError(Exception):
    """Root of every error shapecalc raises on purpose."""


@dataclass(frozen=True)
class Note:
    """A located line that follows a diagnostic (``note: in layer2.0 = BasicBlock(...)``)."""

    message: str
    line: int | None = None
    column: int | None = None


@dataclass(frozen=True)
class Diagnostic:
    """One problem found in a spec, located in its file."""

    message: str
    file: str | None = None
    line: int | None = None  # 1-based
    column: int | None = None  # 1-based
    field: str | None = None  # e.g. "layers[7].in_features"
    layer: int | None = None  # index into the top-level layers, or None
    severity: str = "error"  # or "warning"
    details: tuple[str, ...] = ()  # indented lines that explain the message
    notes: tuple[Note, ...] = ()  # the block instances it happened in, innermost first

    def where(self, line: int | None = None, column: int | None = None) -> str:
        place = self.file or "<spec>"
        if line is not None:
            place += f":{line}"
            if column is not None:
                place += f":{column}"
        return place

    def __post_init__(self) -> None:
        # a message quotes the user's values: bound it (see ``shorten``)
        object.__setattr__(self, "message", shorten(self.message))
        object.__setattr__(self, "details", tuple(shorten(d) for d in self.details))

    def format(self) -> str:
        """``file:line:col: error: message``, the form compilers and editors understand."""
        lines = [f"{self.where(self.line, self.column)}: {self.severity}: {self.message}"]
        lines += [f"  {detail}" for detail in self.details]
        lines += [f"{self.where(n.line, n.column)}: note: {n.message}" for n in self.notes]
        return "\n".join(lines)

    def to_dict(self) -> dict[str, object]:
        return {
            "message": self.message,
            "severity": self.severity,
            "layer": self.layer,
            "field": self.field,
            "line": self.line,
            "column": self.column,
            "details": list(self.details),
            "trace": [{"line": n.line, "column": n.column, "note": n.message} for n in self.notes],
        }


class SpecError(ShapecalcError):
    """A spec is invalid; ``diagnostics`` lists every problem found, in file order."""

    def __init__(self, diagnostics: list[Diagnostic]) -> None:
        self.diagnostics = diagnostics
        super().__init__("\n".join(d.format() for d in diagnostics))


class LayerError(ShapecalcError):
    """A layer rule is broken: ``rule`` states it with the numbers, ``fix`` says what to change.

    ``field`` names the argument at fault (used to point at its line), or None for the layer itself.
    """

    def __init__(self, rule: str, fix: str | None = None, field: str | None = None) -> None:
        self.rule = rule
        self.fix = fix
        self.field = field
        super().__init__(rule if fix is None else f"{rule}. {fix}")


class ShapeError(LayerError):
    """A node of a spec cannot take its incoming tensor(s).

    ``layer_name``, ``layer_type``, ``path`` (the spec field at fault, e.g. ``layers[7].in_features``)
    and ``input_shape`` locate it; ``index`` is the top-level entry it is (in); ``chain`` the block
    instances it is in; ``details`` explain it (for a merge: how each input got its shape);
    ``trace`` holds the nodes that did work out before it.
    """

    def __init__(
        self,
        cause: LayerError,
        *,
        index: int | None,
        layer_name: str,
        layer_type: str,
        input_shape: tuple[int, ...],
        after: str,
        trace: Trace | None = None,
        path: str | None = None,
        chain: tuple[Use, ...] = (),
        details: tuple[str, ...] = (),
        show_input: bool = True,
    ) -> None:
        self.index = index
        self.layer_name = layer_name
        self.layer_type = layer_type
        self.input_shape = input_shape
        self.trace = trace
        self.cause = cause
        self.chain = chain
        self.details = details
        entry = path if path is not None else f"layers[{index}]"
        field = entry + (f".{cause.field}" if cause.field else "")
        message = f"{field} ({layer_type} '{layer_name}'): {cause.rule}"
        if show_input:
            shape = "[" + ", ".join(map(str, input_shape)) + "]"
            message += f" (input {shape} {after})"
        if cause.fix:
            message += f". {cause.fix}"
        super().__init__(message, None, cause.field)
        self.path = field


class CompileError(ShapecalcError):
    """Arguments computed from expressions are invalid, found while a spec is compiled.

    ``problems`` holds (field path, message) pairs; ``chain`` the block instances they are in.
    """

    def __init__(
        self,
        problems: list[tuple[str, str]],
        chain: tuple[Use, ...] = (),
        trace: Trace | None = None,
        index: int | None = None,
    ) -> None:
        self.problems = problems
        self.chain = chain
        self.trace = trace
        self.index = index
        super().__init__("; ".join(message for _, message in problems))


class UnknownSpecError(ShapecalcError, LookupError):
    """No spec of that name is bundled; ``names`` lists those that are."""

    def __init__(self, name: str, names: list[str]) -> None:
        self.name = name
        self.names = names
        super().__init__(
            f"no spec named {shorten(repr(name))} is bundled; bundled specs: {', '.join(names)}"
        )

    def __str__(self) -> str:  # LookupError would quote the message like a key
        return str(self.args[0])


class UnavailableError(ShapecalcError):
    """This environment cannot do what was asked: a dependency, a device or memory is missing."""


DISTRIBUTION = "torch-shapecalc"  # the name on PyPI; the import package and command are `shapecalc`


class MissingExtraError(UnavailableError):
    """An optional dependency is missing; the message says what to install."""

    def __init__(self, module: str, extra: str) -> None:
        self.module = module
        self.extra = extra
        super().__init__(
            f"{module} is not installed; this command needs it. "
            f"Install it with: pip install '{DISTRIBUTION}[{extra}]'"
        )


class MemoryLimitError(UnavailableError):
    """A forward pass would need more memory than the device has free."""
