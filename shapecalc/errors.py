"""Errors raised by shapecalc.

One root, a small tree under it::

    ShapecalcError
     ├── SpecError          a spec file cannot be read or fails validation (carries Diagnostics)
     ├── LayerError         a layer cannot take the tensor that reaches it
     │    └── ShapeError    ... raised by propagate(), with the layer's index, name and incoming shape
     └── MissingExtraError  an optional dependency (torch, torchinfo, tensorboard) is not installed

Formula functions raise a terse ``LayerError`` (the rule and the user's numbers); ``propagate`` adds the
layer context and raises ``ShapeError``; the loader adds ``file:line:column`` and the field path.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .trace import Trace


class ShapecalcError(Exception):
    """Root of every error shapecalc raises on purpose."""


@dataclass(frozen=True)
class Diagnostic:
    """One problem found in a spec, located in its file."""

    message: str
    file: str | None = None
    line: int | None = None  # 1-based
    column: int | None = None  # 1-based
    field: str | None = None  # e.g. "layers[7].in_features"
    layer: int | None = None  # index into layers, or None

    def format(self) -> str:
        """``file:line:col: error: message``, the form compilers and editors understand."""
        where = self.file or "<spec>"
        if self.line is not None:
            where += f":{self.line}"
            if self.column is not None:
                where += f":{self.column}"
        return f"{where}: error: {self.message}"

    def to_dict(self) -> dict[str, object]:
        return {
            "message": self.message,
            "layer": self.layer,
            "field": self.field,
            "line": self.line,
            "column": self.column,
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
    """A layer of a spec cannot take its incoming tensor.

    ``index``, ``layer_name``, ``layer_type`` and ``input_shape`` locate it; ``trace`` holds the layers
    that did work out before it.
    """

    def __init__(
        self,
        cause: LayerError,
        *,
        index: int,
        layer_name: str,
        layer_type: str,
        input_shape: tuple[int, ...],
        after: str,
        trace: Trace | None = None,
    ) -> None:
        self.index = index
        self.layer_name = layer_name
        self.layer_type = layer_type
        self.input_shape = input_shape
        self.trace = trace
        self.cause = cause
        field = f"layers[{index}]" + (f".{cause.field}" if cause.field else "")
        shape = "[" + ", ".join(map(str, input_shape)) + "]"
        message = f"{field} ({layer_type} '{layer_name}'): {cause.rule} (input {shape} {after})"
        if cause.fix:
            message += f". {cause.fix}"
        super().__init__(message, None, cause.field)
        self.path = field


class MissingExtraError(ShapecalcError):
    """An optional dependency is missing; the message says what to install."""

    def __init__(self, module: str, extra: str) -> None:
        self.module = module
        self.extra = extra
        super().__init__(
            f"{module} is not installed; this command needs it. "
            f"Install it with: pip install 'shapecalc[{extra}]'"
        )
