"""Read a spec file safely and validate it, locating every problem at ``file:line:column``.

The YAML is parsed to plain data only: explicit tags are refused (nothing is ever constructed from
a tag, so ``!!python/object/apply`` executes nothing), duplicate keys are errors, nesting is bounded
and aliases may not expand past a fixed budget (alias bombs fail fast). Every value keeps the
position it came from, so errors found later, even during shape propagation, can point at it.

Plain (unquoted) scalars are read with YAML 1.2's core rules, not PyYAML's YAML 1.1 ones, and every
scalar the two versions read differently is refused with a message that shows both readings:

- ``~``, ``null`` and an empty value are null; ``true`` and ``false`` are booleans, and so are
  ``yes``/``no``/``on``/``off`` (as YAML 1.1 reads them: a size refuses a boolean and says so);
- integers are decimal (``32``, ``-1``); floats are decimal with a point or an exponent (``0.5``,
  ``1e-3``);
- refused: a leading zero (``032``, octal 26 in YAML 1.1), ``0x``/``0o``/``0b`` numbers, digits
  with underscores (``1_000``), base-60 numbers (``1:30``, 90 in YAML 1.1), ``.inf`` and ``.nan``,
  integers of more than 30 digits and floats beyond the float range;
- everything else is a string, dates (``2001-02-03``) and ``=`` included. Quoting always gives a string.

Bounds: a file is at most 16 MiB (``MAX_BYTES``), holds at most 2,000,000 values (``MAX_VALUES``),
a scalar at most 10,000 characters, nesting 32 levels, and aliases expand by at most 1,000,000 values
(``MAX_ALIAS_VALUES``). Control characters and NUL bytes are refused at their line and column.
"""

from __future__ import annotations

import math
import os
import re
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from . import _bundled
from .errors import (
    CompileError,
    Diagnostic,
    Note,
    ShapecalcError,
    ShapeError,
    SpecError,
    UnknownSpecError,
)
from .spec import Spec, StructureError
from .spec.explain import LOST_ROWS_FIX
from .trace import Trace

MAX_DEPTH = 32  # a spec needs 4 levels; anything this deep is an attack or an accident
MAX_VALUES = 2_000_000  # values written out in the file (a 100,000-layer spec holds ~600,000)
MAX_ALIAS_VALUES = 1_000_000  # values added by expanding aliases
MAX_BYTES = 16 * 2**20
MAX_SCALAR = 10_000  # characters in one scalar
MAX_DIGITS = 30  # digits in one integer (sizes are at most 2**31 - 1, ten digits)

_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@dataclass(frozen=True)
class SpecFile:
    """A validated spec with where each of its values came from."""

    spec: Spec
    path: str
    positions: dict[str, tuple[int, int]] = field(default_factory=dict)

    def locate(self, path: str) -> tuple[int | None, int | None]:
        return _locate(self.positions, path)

    def diagnose(self, error: ShapeError | CompileError) -> list[Diagnostic]:
        """Located diagnostics for an error found while compiling this spec."""
        notes = tuple(
            Note(f"in {use.describe()}, instantiated here", *self.locate(use.path))
            for use in reversed(error.chain)
        )
        if isinstance(error, ShapeError):
            line, column = self.locate(error.path)
            return [
                Diagnostic(
                    str(error),
                    self.path,
                    line,
                    column,
                    error.path,
                    error.index,
                    details=self._sizes_that_work(error),
                    notes=notes,
                )
            ]
        return [
            Diagnostic(message, self.path, *self.locate(path), path, error.index, notes=notes)
            for path, message in error.problems
        ]

    def _sizes_that_work(self, error: ShapeError) -> tuple[str, ...]:
        """A merge that fails because a floor-mode layer lost rows: name the input sizes that
        work (solve-input's answer) and the nearest ones, in place of the pointer to solve-input."""
        details = error.details
        fix = next((i for i, d in enumerate(details) if d.startswith(LOST_ROWS_FIX)), None)
        if fix is None:
            return details
        from .solvers.inputs import solve_input  # only on this error path

        spec = self.spec
        if error.trace is not None and error.trace.input_shape[1:] != tuple(spec.input):
            spec = spec.model_copy(update={"input": list(error.trace.input_shape[1:])})
        try:
            solution = solve_input(spec)
        except (ShapecalcError, ValueError, RecursionError):
            return details
        works = []
        for dim, size in zip(solution.dims, spec.input[1:], strict=True):
            if not dim.valid or not dim.valid_text:
                return details
            near = sorted(
                {n for lo, hi in dim.valid for n in (lo, hi)}, key=lambda n: abs(n - size)
            )
            nearest = sorted(near[:2] if size not in near else [size])
            works.append((dim.axis, dim.valid_text, nearest))
        if len({(text, tuple(n)) for _, text, n in works}) == 1:
            works = [(", ".join(axis for axis, _, _ in works), works[0][1], works[0][2])]
        sizes = "; ".join(
            f"{axis} {text} (nearest: {' or '.join(map(str, near))})" for axis, text, near in works
        )
        rest = details[fix][len(LOST_ROWS_FIX) :]
        return (
            *details[:fix],
            f"fix: use an input size that works: {sizes}{rest}",
            *details[fix + 1 :],
        )

    def warnings(self, trace: Trace) -> list[Diagnostic]:
        """The trace's warnings, located."""
        return [
            Diagnostic(message, self.path, *self.locate(path), path, _entry_index(path), "warning")
            for path, message in trace.warnings
        ]


def _locate(positions: dict[str, tuple[int, int]], path: str) -> tuple[int | None, int | None]:
    """Line and column of a field path, or of its nearest enclosing value."""
    while path and path not in positions:
        cut = max(path.rfind("."), path.rfind("["))
        path = path[:cut] if cut > 0 else ""
    return positions.get(path, (None, None))


class _Problem(Exception):
    def __init__(self, message: str, mark: Any = None, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.mark = mark
        self.field = field or None


def _pos(mark: Any) -> tuple[int, int]:
    return mark.line + 1, mark.column + 1


# --- scalars ---------------------------------------------------------------------------------------

_NULLS = frozenset({"", "~", "null", "Null", "NULL"})
_BOOLS = {
    **dict.fromkeys(("true", "True", "TRUE"), True),
    **dict.fromkeys(("false", "False", "FALSE"), False),
    # YAML 1.1's other booleans, read as PyYAML reads them; a size refuses them with a message
    # that says so (`kernel_size: yes` is an error, not 1), a flag takes them (`bias: no`)
    **dict.fromkeys(("yes", "Yes", "YES", "on", "On", "ON"), True),
    **dict.fromkeys(("no", "No", "NO", "off", "Off", "OFF"), False),
}
_INT = re.compile(r"[-+]?(?:0|[1-9][0-9]*)\Z")
# a point or an exponent: a run of digits alone is an int (or, with a leading zero, refused)
_FLOAT = re.compile(r"[-+]?(?:\.[0-9]+|[0-9]+\.[0-9]*|[0-9]+(?=[eE]))(?:[eE][-+]?[0-9]+)?\Z")
_INFINITE = re.compile(r"[-+]?\.(?:inf|Inf|INF)\Z|\.(?:nan|NaN|NAN)\Z")
# what YAML 1.1 or 1.2 reads as a number in another form than plain decimal
_OTHER_NUMBER = re.compile(
    r"[-+]?(?:0[xX][0-9a-fA-F_]+|0[oO][0-7_]+|0[bB][01_]+|[0-9][0-9_]*(?::[0-9_]+)*(?:\.[0-9_]*)?"
    r"(?:[eE][-+]?[0-9]+)?|\.[0-9_]+(?:[eE][-+]?[0-9]+)?)\Z"
)


def _yaml11_reading(text: str) -> tuple[str, int | float | None]:
    """How PyYAML (YAML 1.1) reads a plain scalar: in words, and the number if it is one."""
    tag = yaml.resolver.Resolver().resolve(yaml.ScalarNode, text, (True, False))
    if not tag.endswith(("int", "float")):
        return f"the text '{text}'", None
    try:
        value = yaml.safe_load(text)
    except ValueError:  # PyYAML resolves '0b_' as an int that it then cannot construct
        return f"an error ('{text}' looks like a number but is none)", None
    digits = text.lstrip("+-").replace("_", "")
    if ":" in text:
        return f"the base-60 number {value}", value
    base = {"0x": "hexadecimal ", "0b": "binary "}.get(digits[:2].lower(), "")
    if not base and isinstance(value, int) and digits.startswith("0") and len(digits) > 1:
        base = "octal "
    return f"the {base}number {value}", value


def _yaml12_reading(text: str) -> tuple[str, int | float | None]:
    """How the YAML 1.2 core schema reads a plain scalar: in words, and the number if it is one."""
    bare = text.lstrip("+-")
    sign = -1 if text.startswith("-") else 1
    for prefix, base in (("0x", 16), ("0o", 8)):
        if bare[:2].lower() == prefix and "_" not in bare and text[:1] not in "+-":
            value = int(bare[2:], base)
            return f"the {'hexadecimal' if base == 16 else 'octal'} number {value}", value
    if re.fullmatch(r"[-+]?[0-9]+", text):
        value = sign * int(bare)  # a leading zero changes nothing in YAML 1.2
        return f"the number {value}", value
    if _FLOAT.match(text):
        return f"the number {float(text)}", float(text)
    return f"the text '{text}'", None


def _refuse_number(text: str) -> str | None:
    """Why a number written in another form than plain decimal is refused, with its readings;
    None when both YAML versions read it as text."""
    old, old_value = _yaml11_reading(text)
    new, new_value = _yaml12_reading(text)
    if old_value is None and new_value is None:
        return None
    if old == new:  # both versions agree (0x10): only the form is refused
        return f"{text} is {old}; a spec takes decimal numbers: write {old_value}, or quote '{text}' for text"
    numbers = list(dict.fromkeys(str(v) for v in (old_value, new_value) if v is not None))
    fix = "write " + " or ".join(numbers)
    if re.match(r"[-+]?0[0-9]", text):
        fix += " without the leading zero"
    return f"{text} is read as {old} by YAML 1.1 but as {new} by YAML 1.2; {fix}, or quote '{text}' for text"


def resolve_plain(text: str) -> Any:
    """The value of a plain (unquoted) scalar, by the rules in the module docstring.

    Raises ValueError, saying how YAML would read it, for the forms a spec refuses.

    >>> [resolve_plain(t) for t in ("32", "-1", "0.5", "1e-3", "true", "off", "~", "2001-02-30", "=")]
    [32, -1, 0.5, 0.001, True, False, None, '2001-02-30', '=']
    >>> resolve_plain("032")
    Traceback (most recent call last):
    ValueError: 032 is read as the octal number 26 by YAML 1.1 but as the number 32 by YAML 1.2; write 26 or 32 without the leading zero, or quote '032' for text
    >>> resolve_plain("1:30")
    Traceback (most recent call last):
    ValueError: 1:30 is read as the base-60 number 90 by YAML 1.1 but as the text '1:30' by YAML 1.2; write 90, or quote '1:30' for text
    """
    if text in _NULLS:
        return None
    if text in _BOOLS:
        return _BOOLS[text]
    head = text[:1]
    if not (head.isdigit() or head in "+-."):
        return text  # the common case: a name
    if _INT.match(text):
        digits = len(text.lstrip("+-"))
        if digits > MAX_DIGITS:
            raise ValueError(
                f"an integer of {digits:,} digits ({text[:12]}…) is far larger than any value a "
                "spec holds (sizes are at most 2147483647)"
            )
        return int(text)
    if _FLOAT.match(text):
        value = float(text)
        if math.isinf(value):
            raise ValueError(
                f"{_short(text)} is beyond the range of a float (it would read as infinity)"
            )
        return value
    if _INFINITE.match(text):
        meaning = "not a number" if "nan" in text.lower() else "infinity"
        raise ValueError(
            f"{text} is read as {meaning} by YAML; no spec value may be infinite or NaN "
            f"(quote '{text}' for text)"
        )
    if len(text) <= 100 and _OTHER_NUMBER.match(text):
        why = _refuse_number(text)
        if why is not None:
            raise ValueError(why)
    return text


def _short(text: str, keep: int = 40) -> str:
    return text if len(text) <= keep else f"{text[:keep]}… ({len(text):,} characters)"


# --- YAML to plain data ----------------------------------------------------------------------------


class _Composer:
    """Builds plain values straight from the parser's events, in one pass, recording positions.

    Refuses what a spec never needs before it costs anything: explicit tags, nesting deeper than
    MAX_DEPTH, several documents, more than MAX_VALUES values, and aliases that would add more than
    MAX_ALIAS_VALUES (each use of an anchor counts its whole size, so an alias bomb stops after a
    few events, while a long plain spec is never mistaken for one).
    """

    def __init__(self, text: str) -> None:
        # the parser's own get_event, without yaml.parse's generator around it: one call per event
        self._parser = _Loader(text)
        self.positions: dict[str, tuple[int, int]] = {}
        self.anchors: dict[str, tuple[Any, int]] = {}
        self.values = 0
        self.expanded = 0
        self._scalars: dict[str, Any] = {}

    def next_event(self) -> Any:
        event = self._parser.get_event()
        if event is None:  # pragma: no cover - the parser raises before the stream ends early
            raise _Problem("invalid YAML: the document ends in the middle of a value")
        return event

    def document(self) -> tuple[Any, Any]:
        """The single document's value and its start mark; (None, None) for an empty stream."""
        try:
            return self._document()
        finally:
            self._parser.dispose()

    def _document(self) -> tuple[Any, Any]:
        self.next_event()  # StreamStartEvent
        event = self.next_event()
        if isinstance(event, yaml.StreamEndEvent):
            return None, None
        root = self.next_event()
        value, _ = self._node(root, "", 0)
        self.next_event()  # DocumentEndEvent
        event = self.next_event()
        if isinstance(event, yaml.DocumentStartEvent):
            raise _Problem(
                "the file holds several YAML documents ('---'); a spec is one document",
                event.start_mark,
            )
        return value, root.start_mark

    def _scalar(self, event: yaml.ScalarEvent, path: str, what: str) -> Any:
        """The value of a scalar; plain ones are resolved once per distinct text."""
        text = event.value
        if len(text) > MAX_SCALAR:
            raise _Problem(
                f"{what} is {len(text):,} characters long ({text[:20]!r}…); no value in a spec is "
                f"longer than {MAX_SCALAR:,} characters",
                event.start_mark,
                path,
            )
        if event.style or event.tag is not None:
            return text  # quoted, a block scalar, or tagged '!': a string (plain style is '')
        try:
            return self._scalars[text]
        except KeyError:
            pass
        try:
            value = resolve_plain(text)
        except ValueError as exc:
            raise _Problem(f"{what}: {exc}", event.start_mark, path) from None
        self._scalars[text] = value
        return value

    def _node(self, event: Any, path: str, depth: int) -> tuple[Any, int]:
        """Value and size (values, aliases expanded) of the node that starts with ``event``."""
        if isinstance(event, yaml.AliasEvent):
            if event.anchor not in self.anchors:
                raise _Problem(f"unknown alias *{event.anchor}", event.start_mark, path)
            value, size = self.anchors[event.anchor]
            self.expanded += size
            if self.expanded > MAX_ALIAS_VALUES:
                raise _Problem(
                    f"aliases expand the document by more than {MAX_ALIAS_VALUES:,} values "
                    "(aliases nested in aliases?); a spec needs far fewer",
                    event.start_mark,
                    path,
                )
            return value, size
        tag = event.tag
        if tag is not None and tag != "!":
            raise _Problem(
                f"explicit YAML tags are not allowed, but found {_short(tag, 100)}; a spec holds plain "
                "values only (nothing in it is ever evaluated)",
                event.start_mark,
                path,
            )
        self.values += 1
        if self.values > MAX_VALUES:
            raise _Problem(
                f"the document holds more than {MAX_VALUES:,} values; a spec needs far fewer",
                event.start_mark,
                path,
            )
        if isinstance(event, yaml.ScalarEvent):
            value, size = self._scalar(event, path, path or "the document"), 1
        else:
            if depth >= MAX_DEPTH:
                raise _Problem(
                    f"values are nested more than {MAX_DEPTH} levels deep", event.start_mark, path
                )
            if isinstance(event, yaml.SequenceStartEvent):
                value, size = self._sequence(path, depth + 1)
            else:
                value, size = self._mapping(path, depth + 1)
        if event.anchor is not None:
            self.anchors[event.anchor] = (value, size)
        return value, size

    def _sequence(self, path: str, depth: int) -> tuple[list[Any], int]:
        items: list[Any] = []
        size = 1
        positions = self.positions
        while True:
            event = self.next_event()
            if event.__class__ is yaml.SequenceEndEvent:
                return items, size
            child = f"{path}[{len(items)}]"
            mark = event.start_mark
            positions.setdefault(child, (mark.line + 1, mark.column + 1))
            value, child_size = self._node(event, child, depth)
            items.append(value)
            size += child_size

    def _mapping(self, path: str, depth: int) -> tuple[dict[Any, Any], int]:
        result: dict[Any, Any] = {}
        first_seen: dict[Any, Any] = {}
        merged: dict[Any, Any] = {}
        size = 1
        where = f" in {path}" if path else ""
        while True:
            event = self.next_event()
            if event.__class__ is yaml.MappingEndEvent:
                for k, v in merged.items():
                    result.setdefault(k, v)
                return result, size
            mark = event.start_mark
            merge = False
            if event.__class__ is yaml.ScalarEvent and event.tag is None:
                merge = event.value == "<<" and not event.style
                key = "<<" if merge else self._scalar(event, path, f"a key{where}")
            else:
                key = self._node(event, path, depth)[0]
            value_event = self.next_event()
            if merge:
                # `<<: *defaults` merges a mapping (or a list of them); explicit keys win
                data, child_size = self._node(value_event, path, depth)
                sources = data if isinstance(data, list) else [data]
                for source in sources:
                    if not isinstance(source, dict):
                        raise _Problem(
                            "a merge key '<<' needs a mapping", value_event.start_mark, path
                        )
                    for k, v in source.items():
                        merged.setdefault(k, v)
                        self.positions.setdefault(_join(path, k), _pos(value_event.start_mark))
                size += child_size
                continue
            if not isinstance(key, (str, int)) or isinstance(key, bool):
                shown = _short(repr(key), 60)
                raise _Problem(f"keys must be plain names, but got {shown}{where}", mark, path)
            if key in first_seen:
                line = first_seen[key].line + 1
                raise _Problem(
                    f"duplicate key '{_short(str(key))}' (first given on line {line})",
                    mark,
                    _join(path, key),
                )
            first_seen[key] = mark
            child = f"{path}.{key}" if path else str(key)
            self.positions[child] = (mark.line + 1, mark.column + 1)
            result[key], child_size = self._node(value_event, child, depth)
            size += child_size


def _join(path: str, key: object) -> str:
    return f"{path}.{key}" if path else str(key)


@dataclass
class _Mark:
    line: int
    column: int


_LINE_BREAK = re.compile(r"\r\n|[\n\r\x85\u2028\u2029]")
# what YAML allows in a stream (PyYAML's reader and libyaml agree on it)
_NOT_PRINTABLE = re.compile(
    "[^\x09\x0a\x0d\x20-\x7e\x85\xa0-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]"
)


def _mark_at(text: str, index: int) -> _Mark:
    """Line and column (0-based, in characters) of ``text[index]``, counting breaks as YAML does."""
    line, start = 0, 0
    for match in _LINE_BREAK.finditer(text, 0, index):
        line, start = line + 1, match.end()
    return _Mark(line, index - start)


def _decode(raw: bytes) -> str:
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        before = raw[: exc.start]
        line = before.count(b"\n") + 1
        column = exc.start - (before.rfind(b"\n") + 1) + 1
        raise _Problem(
            f"the file is not valid UTF-8 (byte 0x{raw[exc.start]:02x} at line {line}, column "
            f"{column}); save it as UTF-8",
            _Mark(line - 1, column - 1),
        ) from None
    bad = _NOT_PRINTABLE.search(text)
    if bad is not None:
        mark = _mark_at(text, bad.start())
        code = ord(bad.group())
        if code == 0:
            what = "a NUL byte (U+0000)"
            fix = "a spec is a text file; is this one binary?"
        else:
            what = f"the control character U+{code:04X}"
            fix = "remove it (or write it as an escape inside double quotes)"
        raise _Problem(
            f"{what} at line {mark.line + 1}, column {mark.column + 1} is not allowed in YAML; {fix}",
            mark,
        )
    return text


def _char_at(text: str, mark: Any) -> str:
    lines = text.splitlines()
    if mark.line < len(lines) and mark.column < len(lines[mark.line]):
        return str(lines[mark.line][mark.column])
    return ""


def parse_yaml(raw: bytes) -> tuple[Any, dict[str, tuple[int, int]]]:
    """Plain data and positions from YAML bytes; raises _Problem with a mark."""
    if len(raw) > MAX_BYTES:
        raise _Problem(_too_large(len(raw)), _Mark(0, 0))
    text = _decode(raw)
    composer = _Composer(text)
    try:
        data, start = composer.document()
    except yaml.MarkedYAMLError as exc:
        problem = exc.problem or str(exc)
        mark = exc.problem_mark or exc.context_mark
        if mark is not None and _char_at(text, mark) == "\t":
            problem += " (YAML does not allow tabs for indentation; indent with spaces)"
        if exc.context:
            problem = f"{exc.context}: {problem}"
        raise _Problem(f"invalid YAML: {problem}", mark) from None
    except yaml.reader.ReaderError as exc:  # pragma: no cover - _decode refuses these first
        raise _Problem(f"invalid YAML: {exc.reason}", _mark_at(text, exc.position)) from None
    except yaml.YAMLError as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise _Problem(f"invalid YAML: {first}") from None
    if data is None:
        raise _Problem(
            "the file is empty; a spec is a mapping with 'input' and 'layers'", _Mark(0, 0)
        )
    composer.positions[""] = _pos(start)
    return data, composer.positions


def _too_large(size: int | None) -> str:
    got = f" ({size:,} bytes)" if size is not None else ""
    return f"the file is larger than {MAX_BYTES // 2**20} MiB{got}; a spec is far smaller"


# --- validation ------------------------------------------------------------------------------------


def _entry_index(path: str) -> int | None:
    # a path may start with a key that only looks like an entry: 'layers[' or 'layers[x]'
    match = re.match(r"layers\[([0-9]+)\]", path)
    return int(match.group(1)) if match else None


def validate(data: Any, file: str, positions: dict[str, tuple[int, int]]) -> SpecFile:
    """Validate plain data as a spec, reporting every structural problem at once."""
    try:
        spec = Spec.model_validate(data)
    except ValidationError as exc:
        diagnostics = []
        for err in exc.errors():
            cause = (err.get("ctx") or {}).get("error")
            problems = cause.problems if isinstance(cause, StructureError) else []
            for problem in problems:
                line, column = _locate(positions, problem.path)
                diagnostics.append(
                    Diagnostic(
                        problem.message,
                        file,
                        line,
                        column,
                        problem.path or None,
                        _entry_index(problem.path),
                    )
                )
        diagnostics.sort(key=lambda d: (d.line or 0, d.column or 0))
        raise SpecError(diagnostics) from None
    return SpecFile(spec, file, positions)


def loads(raw: bytes | str, file: str = "<string>") -> SpecFile:
    """Parse and validate spec text; raises SpecError with located diagnostics."""
    if isinstance(raw, str):
        raw = raw.encode("utf-8")
    try:
        data, positions = parse_yaml(raw)
    except _Problem as problem:
        line, column = _pos(problem.mark) if problem.mark is not None else (None, None)
        raise SpecError([Diagnostic(problem.message, file, line, column, problem.field)]) from None
    return validate(data, file, positions)


_KINDS = (
    (stat.S_ISDIR, "a folder"),
    (stat.S_ISFIFO, "a pipe (FIFO)"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)


def read_spec_bytes(path: str | Path) -> bytes:
    """The bytes of a spec file: a regular file of at most MAX_BYTES, read without blocking.

    Raises OSError when the file cannot be opened, SpecError (located at the file) for a device,
    a pipe or a folder, or for a file larger than MAX_BYTES; never reads more than MAX_BYTES + 1.
    """
    # O_NONBLOCK: opening a pipe with no writer must not hang; it changes nothing for a regular file
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)
    fd = os.open(path, flags)
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            kind = next((name for test, name in _KINDS if test(info.st_mode)), "not a regular file")
            raise _file_error(path, f"{path} is {kind}, not a spec file; name a YAML file")
        if info.st_size > MAX_BYTES:
            raise _file_error(path, _too_large(info.st_size))
        chunks, left = [], MAX_BYTES + 1
        while left > 0:
            chunk = os.read(fd, min(left, 2**20))
            if not chunk:
                break
            chunks.append(chunk)
            left -= len(chunk)
        raw = b"".join(chunks)
    finally:
        os.close(fd)
    if len(raw) > MAX_BYTES:  # the file grew while it was read
        raise _file_error(path, _too_large(None))
    return raw


def _file_error(path: str | Path, message: str) -> SpecError:
    return SpecError([Diagnostic(message, str(path), 1, 1)])


def load(path: str | Path) -> SpecFile:
    """Read and validate a spec file.

    Raises SpecError (located diagnostics, also for a file that is not a regular file or is larger
    than 16 MiB), or OSError when the file cannot be opened (missing, no permission).
    """
    return loads(read_spec_bytes(path), str(path))


def bundled_names() -> list[str]:
    """Names of the specs shipped with shapecalc, sorted (``cifar10``, ``lenet5``, ...)."""
    return _bundled.names()


def bundled(name: str = "cifar10") -> Path:
    """Path of a spec shipped with shapecalc; UnknownSpecError (listing them) for another name.

    >>> bundled("cifar10").name
    'cifar10.yaml'
    """
    names = _bundled.names()
    if name not in names:
        raise UnknownSpecError(name, names)
    return _bundled.folder() / f"{name}.yaml"
