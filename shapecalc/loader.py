"""Read a spec file safely and validate it, locating every problem at ``file:line:column``.

The YAML is parsed to plain data only: explicit tags are refused (nothing is ever constructed from
a tag, so ``!!python/object/apply`` executes nothing), duplicate keys are errors, nesting is bounded
and aliases may not expand past a fixed budget (alias bombs fail fast). Every value keeps the
position it came from, so errors found later, even during shape propagation, can point at it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from .errors import CompileError, Diagnostic, Note, ShapeError, SpecError
from .spec import Spec, StructureError
from .trace import Trace

MAX_DEPTH = 32  # a spec needs 4 levels; anything this deep is an attack or an accident
MAX_NODES = 200_000  # values after alias expansion
MAX_BYTES = 16 * 2**20

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
                    details=error.details,
                    notes=notes,
                )
            ]
        return [
            Diagnostic(message, self.path, *self.locate(path), path, error.index, notes=notes)
            for path, message in error.problems
        ]

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
    def __init__(self, message: str, mark: Any = None) -> None:
        super().__init__(message)
        self.message = message
        self.mark = mark


def _pos(mark: Any) -> tuple[int, int]:
    return mark.line + 1, mark.column + 1


# --- YAML to plain data ----------------------------------------------------------------------------


class _Composer:
    """Builds plain values straight from the parser's events, in one pass, recording positions.

    Refuses what a spec never needs before it costs anything: explicit tags, nesting deeper than
    MAX_DEPTH, several documents, and aliases that would expand past MAX_NODES values (each use of
    an anchor counts its whole size, so an alias bomb stops after a few events).
    """

    def __init__(self, text: str) -> None:
        self.events = yaml.parse(text, Loader=_Loader)
        self.positions: dict[str, tuple[int, int]] = {}
        self.anchors: dict[str, tuple[Any, int]] = {}
        self.nodes = 0
        self._resolver = yaml.resolver.Resolver()
        self._constructor = yaml.SafeLoader("")  # only its scalar constructors are used
        self._scalars: dict[tuple[str, bool], tuple[str, Any]] = {}

    def document(self) -> tuple[Any, Any]:
        """The single document's value and its start mark; (None, None) for an empty stream."""
        next(self.events)  # StreamStartEvent
        event = next(self.events)
        if isinstance(event, yaml.StreamEndEvent):
            return None, None
        root = next(self.events)
        value, _ = self._node(root, "", 0)
        next(self.events)  # DocumentEndEvent
        event = next(self.events)
        if isinstance(event, yaml.DocumentStartEvent):
            raise _Problem(
                "the file holds several YAML documents ('---'); a spec is one document",
                event.start_mark,
            )
        return value, root.start_mark

    def _count(self, size: int, mark: Any) -> None:
        self.nodes += size
        if self.nodes > MAX_NODES:
            raise _Problem(
                f"the document expands to more than {MAX_NODES} values (aliases nested in aliases?)",
                mark,
            )

    def _scalar(self, event: yaml.ScalarEvent) -> tuple[str, Any]:
        """(resolved tag, value) of a scalar; repeated scalars come from a cache."""
        plain = bool(event.implicit[0])
        key = (event.value, plain)
        if key not in self._scalars:
            tag = self._resolver.resolve(yaml.ScalarNode, event.value, event.implicit)
            if tag == "tag:yaml.org,2002:merge":
                self._scalars[key] = (tag, "<<")
            else:
                node = yaml.ScalarNode(tag, event.value, style=event.style)
                constructor = self._constructor.yaml_constructors[tag]
                self._scalars[key] = (tag, constructor(self._constructor, node))
        return self._scalars[key]

    def _node(self, event: Any, path: str, depth: int) -> tuple[Any, int]:
        """Value and size (values, aliases expanded) of the node that starts with ``event``."""
        if isinstance(event, yaml.AliasEvent):
            if event.anchor not in self.anchors:
                raise _Problem(f"unknown alias *{event.anchor}", event.start_mark)
            value, size = self.anchors[event.anchor]
            self._count(size, event.start_mark)
            return value, size
        tag = event.tag
        if tag is not None and tag != "!":
            raise _Problem(
                f"explicit YAML tags are not allowed, but found {tag}; a spec holds plain "
                "values only (nothing in it is ever evaluated)",
                event.start_mark,
            )
        self._count(1, event.start_mark)
        if isinstance(event, yaml.ScalarEvent):
            value, size = self._scalar(event)[1], 1
        else:
            if depth >= MAX_DEPTH:
                raise _Problem(
                    f"values are nested more than {MAX_DEPTH} levels deep", event.start_mark
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
        for event in self.events:
            if isinstance(event, yaml.SequenceEndEvent):
                return items, size
            child = f"{path}[{len(items)}]"
            self.positions.setdefault(child, _pos(event.start_mark))
            value, child_size = self._node(event, child, depth)
            items.append(value)
            size += child_size
        raise AssertionError("unterminated sequence")  # pragma: no cover - the parser refuses it

    def _mapping(self, path: str, depth: int) -> tuple[dict[Any, Any], int]:
        result: dict[Any, Any] = {}
        first_seen: dict[Any, Any] = {}
        merged: dict[Any, Any] = {}
        size = 1
        for event in self.events:
            if isinstance(event, yaml.MappingEndEvent):
                for k, v in merged.items():
                    result.setdefault(k, v)
                return result, size
            mark = event.start_mark
            if isinstance(event, yaml.ScalarEvent) and event.tag is None:
                tag, key = self._scalar(event)
            else:
                tag, key = None, self._node(event, path, depth)[0]
            value_event = next(self.events)
            if tag == "tag:yaml.org,2002:merge":
                # `<<: *defaults` merges a mapping (or a list of them); explicit keys win
                data, child_size = self._node(value_event, path, depth)
                sources = data if isinstance(data, list) else [data]
                for source in sources:
                    if not isinstance(source, dict):
                        raise _Problem("a merge key '<<' needs a mapping", value_event.start_mark)
                    for k, v in source.items():
                        merged.setdefault(k, v)
                        self.positions.setdefault(_join(path, k), _pos(value_event.start_mark))
                size += child_size
                continue
            if not isinstance(key, (str, int)) or isinstance(key, bool):
                raise _Problem(f"keys must be plain names, but got {key!r}", mark)
            if key in first_seen:
                line = first_seen[key].line + 1
                raise _Problem(f"duplicate key '{key}' (first given on line {line})", mark)
            first_seen[key] = mark
            child = _join(path, key)
            self.positions[child] = _pos(mark)
            result[key], child_size = self._node(value_event, child, depth)
            size += child_size
        raise AssertionError("unterminated mapping")  # pragma: no cover - the parser refuses it


def _join(path: str, key: object) -> str:
    return f"{path}.{key}" if path else str(key)


def _decode(raw: bytes) -> str:
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        before = raw[: exc.start]
        line = before.count(b"\n") + 1
        column = exc.start - (before.rfind(b"\n") + 1) + 1
        raise _Problem(
            f"the file is not valid UTF-8 (byte 0x{raw[exc.start]:02x} at line {line}, column "
            f"{column}); save it as UTF-8",
            _Mark(line - 1, column - 1),
        ) from None


@dataclass
class _Mark:
    line: int
    column: int


def _char_at(text: str, mark: Any) -> str:
    lines = text.splitlines()
    if mark.line < len(lines) and mark.column < len(lines[mark.line]):
        return str(lines[mark.line][mark.column])
    return ""


def parse_yaml(raw: bytes) -> tuple[Any, dict[str, tuple[int, int]]]:
    """Plain data and positions from YAML bytes; raises _Problem with a mark."""
    if len(raw) > MAX_BYTES:
        raise _Problem(
            f"the file is larger than {MAX_BYTES // 2**20} MiB; a spec is far smaller", _Mark(0, 0)
        )
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
    except yaml.YAMLError as exc:
        raise _Problem(f"invalid YAML: {exc}") from None
    if data is None:
        raise _Problem(
            "the file is empty; a spec is a mapping with 'input' and 'layers'", _Mark(0, 0)
        )
    composer.positions[""] = _pos(start)
    return data, composer.positions


# --- validation ------------------------------------------------------------------------------------


def _entry_index(path: str) -> int | None:
    if not path.startswith("layers["):
        return None
    return int(path[len("layers[") : path.index("]")])


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
        raise SpecError([Diagnostic(problem.message, file, line, column)]) from None
    return validate(data, file, positions)


def load(path: str | Path) -> SpecFile:
    """Read and validate a spec file. Raises SpecError (OSError for a missing file)."""
    return loads(Path(path).read_bytes(), str(path))


def bundled(name: str = "cifar10") -> Path:
    """Path of a spec shipped inside the package."""
    return Path(__file__).parent / "specs" / f"{name}.yaml"
