"""Read a spec file safely and validate it, locating every problem at ``file:line:column``.

The YAML is parsed to plain data only: explicit tags are refused (nothing is ever constructed from
a tag, so ``!!python/object/apply`` executes nothing), duplicate keys are errors, nesting is bounded
and aliases may not expand past a fixed budget (alias bombs fail fast). Every value keeps the
position it came from, so errors found later, even during shape propagation, can point at it.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from .errors import Diagnostic, ShapeError, SpecError
from .layers import LAYER_TYPES, FieldRuleError, Layer
from .names import default_names
from .spec import Spec

MAX_DEPTH = 32  # a spec needs 4 levels; anything this deep is an attack or an accident
MAX_NODES = 200_000  # values after alias expansion
MAX_BYTES = 16 * 2**20

_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_TOP_LEVEL = ("name", "input", "batch", "layers")


@dataclass(frozen=True)
class SpecFile:
    """A validated spec with where each of its values came from."""

    spec: Spec
    path: str
    positions: dict[str, tuple[int, int]] = field(default_factory=dict)

    def locate(self, path: str) -> tuple[int | None, int | None]:
        return _locate(self.positions, path)

    def diagnose(self, error: ShapeError) -> Diagnostic:
        line, column = self.locate(error.path)
        return Diagnostic(str(error), self.path, line, column, error.path, error.index)


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


def _closest(word: str, choices: list[str] | tuple[str, ...]) -> str | None:
    lowered = {c.lower(): c for c in choices}
    match = difflib.get_close_matches(word.lower(), list(lowered), n=1, cutoff=0.6)
    return lowered[match[0]] if match else None


def _fields_of(model: type[Layer]) -> list[str]:
    return [f for f in model.model_fields if f != "type"]


class _Collector:
    def __init__(self, file: str, positions: dict[str, tuple[int, int]]) -> None:
        self.file = file
        self.positions = positions
        self.diagnostics: list[Diagnostic] = []

    def add(self, path: str, message: str, layer: int | None = None) -> None:
        line, column = _locate(self.positions, path)
        self.diagnostics.append(Diagnostic(message, self.file, line, column, path or None, layer))

    def pydantic(
        self, exc: ValidationError, prefix: str, label: str, layer: int | None, fields: list[str]
    ) -> None:
        """Turn pydantic's errors into located diagnostics with our wording."""
        for err in exc.errors():
            cause = (err.get("ctx") or {}).get("error")
            if isinstance(cause, FieldRuleError):
                name = cause.field
            else:
                name = str(err["loc"][0]) if err["loc"] else ""
            path = _join(prefix, name) if name else prefix
            kind = err["type"]
            if kind == "missing":
                message = f"{path}{label} is required"
            elif kind == "extra_forbidden":
                hint = _closest(name, fields)
                message = f"{path}{label} is not an argument"
                message += f"; did you mean '{hint}'?" if hint else "."
                message += f" It takes: {', '.join(fields)}"
            elif cause is not None:
                message = f"{path}{label} {cause}"
            else:
                message = f"{path}{label}: {err['msg']}"
            self.add(path, message, layer)


def validate(data: Any, file: str, positions: dict[str, tuple[int, int]]) -> SpecFile:
    """Validate plain data as a spec, reporting every schema problem at once."""
    found = _Collector(file, positions)
    if not isinstance(data, dict):
        found.add(
            "",
            f"a spec is a mapping with 'input' and 'layers', but the file holds {type(data).__name__}",
        )
        raise SpecError(found.diagnostics)

    for key in data:
        if key not in _TOP_LEVEL:
            hint = _closest(str(key), _TOP_LEVEL)
            found.add(
                str(key),
                f"{key} is not a spec key"
                + (f"; did you mean '{hint}'?" if hint else "")
                + f" A spec has: {', '.join(_TOP_LEVEL)}",
            )
    top = {k: v for k, v in data.items() if k in ("name", "input", "batch")}
    raw_layers = data.get("layers")
    # the top-level fields alone: a list of layers is checked item by item below
    stand_in = [{"type": "Identity"}] if isinstance(raw_layers, list) and raw_layers else raw_layers
    try:
        Spec.model_validate({**top, "layers": stand_in} if "layers" in data else top)
    except ValidationError as exc:
        found.pydantic(exc, "", "", None, list(_TOP_LEVEL))

    layers: list[Layer] = []
    if isinstance(raw_layers, list):
        types = [item.get("type") if isinstance(item, dict) else None for item in raw_layers]
        given = [
            item.get("name")
            if isinstance(item, dict) and isinstance(item.get("name"), str)
            else None
            for item in raw_layers
        ]
        names = default_names([t if isinstance(t, str) else "layer" for t in types], given)
        known = sorted(LAYER_TYPES)
        for index, item in enumerate(raw_layers):
            path = f"layers[{index}]"
            if not isinstance(item, dict):
                found.add(path, f"{path} must be a mapping with a 'type', but got {item!r}", index)
                continue
            layer_type = item.get("type")
            if layer_type is None:
                found.add(
                    path, f"{path} has no type; add 'type:' with one of: {', '.join(known)}", index
                )
                continue
            if not isinstance(layer_type, str) or layer_type not in LAYER_TYPES:
                hint = _closest(str(layer_type), known)
                found.add(
                    f"{path}.type",
                    f"{path}.type {layer_type!r} is not a known layer type"
                    + (f"; did you mean '{hint}'?" if hint else "")
                    + f" Known types: {', '.join(known)}",
                    index,
                )
                continue
            model = LAYER_TYPES[layer_type]
            label = f" ({layer_type} '{names[index]}')"
            try:
                layers.append(model.model_validate(item))
            except ValidationError as exc:
                found.pydantic(exc, path, label, index, _fields_of(model))

    if not found.diagnostics:
        try:
            spec = Spec.model_validate({**top, "layers": layers})
        except ValidationError as exc:
            found.pydantic(exc, "", "", None, list(_TOP_LEVEL))
        else:
            return SpecFile(spec, file, positions)
    found.diagnostics.sort(key=lambda d: (d.line or 0, d.column or 0))
    raise SpecError(found.diagnostics)


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
