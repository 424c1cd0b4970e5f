"""The JSON Schema (draft 7) of the spec format, generated from the layer registry.

Editors that speak JSON Schema (VS Code and others through yaml-language-server) use it to complete
keys, layer types and arguments and to underline mistakes while a spec is typed. The schema states
what the structure check (:mod:`shapecalc.spec.structure`) checks without shapes and without
looking across the file: the keys of a spec, a block and an entry; each layer type's arguments and
the JSON types of their values; ``$`` expressions wherever a value may be computed; merges, which
need ``from:`` with two names or more. What needs the whole file (``from:`` names defined above,
unique names, the block a ``type:`` names, its parameters) or shapes is left to ``shapecalc check``.

A layer's pydantic model cannot say this itself: its "int or list" arguments are tuples normalised
by before-validators, so ``model_json_schema()`` says "array" where a spec writes ``kernel_size: 2``.
Instead each argument is probed: the model validates a value of each JSON type (integers, numbers,
booleans, null, lists of each length, the strings the annotation names) and the schema lists the
types it takes, with an integer's minimum (0 or 1) where it refuses -1. So a layer type added to the registry needs nothing here.

>>> schema = spec_schema()
>>> schema["definitions"]["Conv2d"]["properties"]["kernel_size"]["anyOf"][0]
{'type': 'integer', 'minimum': 1}
>>> schema["definitions"]["Conv2d"]["required"]
['type', 'out_channels', 'kernel_size']
"""

from __future__ import annotations

import copy
import functools
import json
import keyword
import typing
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from pydantic_core import PydanticUndefined

from .names import RESERVED_NAMES
from .ops import REGISTRY, Op
from .spec.model import BLOCK_KEYS, ENTRY_KEYS, REQUIRED, SEQUENTIAL, SPEC_KEYS

DRAFT = "http://json-schema.org/draft-07/schema#"
#: the schema shipped in the package; ``shapecalc schema -o`` this path regenerates it
SCHEMA_FILE = Path(__file__).parent / "schemas" / "spec.schema.json"

# Python identifiers; letters beyond ASCII are let through (Python takes most of them)
IDENTIFIER = "^[A-Za-z\u0080-\uffff][A-Za-z0-9_\u0080-\uffff]*$"
EXPRESSION = r"\$[A-Za-z_][A-Za-z0-9_]*"

# the values each JSON type is probed with; a type is taken when one of its values is
_INTEGERS = (1, 2, 3, 0, -1, 4, 8, 16, 64)
_NUMBERS = (0.5, 0.25, 1.5, 2.5, 1e-5)
_BOOLEANS = (False, True)
_LONGEST = 8  # lists are probed up to this length; a model taking it takes any length
# the item types lists are probed with (an int or a pair of sizes, (7, None) "keep this size")
_ITEMS = (("integer", (1, 2)), ("number", (0.5,)), ("null", (None,)), ("boolean", (True, False)))


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/definitions/{name}"}


def _present(key: str) -> dict[str, Any]:
    """``key`` is given and not null (the structure check reads null as absent)."""
    return {"required": [key], "properties": {key: {"not": {"type": "null"}}}}


# --- probing a layer model ---------------------------------------------------------------------------


class _Probe:
    """Which values one layer type's model takes for each argument, found by validating them."""

    def __init__(self, cls: type[Op]) -> None:
        self.cls = cls
        self.kind = cls.type_name()
        # values for the required arguments, so validators that read earlier fields find them
        self.base: dict[str, Any] = {}
        for name in cls.arguments():
            if cls.model_fields[name].is_required():
                found = next((v for v in self._candidates(name) if self.takes(name, v)), None)
                if found is not None:
                    self.base[name] = found

    def takes(self, name: str, value: Any) -> bool:
        """True when validation raises no error located at argument ``name``."""
        try:
            self.cls.model_validate({**self.base, "type": self.kind, name: value})
        except ValidationError as exc:
            return not any(err["loc"][:1] == (name,) for err in exc.errors())
        except Exception:  # a validator that fails outright takes nothing
            return False
        return True

    def strings(self, name: str) -> list[str]:
        """The strings the argument's annotation names (its Literal members)."""
        found: list[str] = []

        def walk(annotation: Any) -> None:
            if typing.get_origin(annotation) is typing.Literal:
                found.extend(a for a in typing.get_args(annotation) if isinstance(a, str))
            for arg in typing.get_args(annotation):
                walk(arg)

        walk(self.cls.model_fields[name].annotation)
        return found

    def _candidates(self, name: str) -> list[Any]:
        lists = [[v] * n for n in range(1, _LONGEST + 1) for v in (1, 2, 0.5)]
        return [*_INTEGERS, *_NUMBERS, *self.strings(name), *_BOOLEANS, *lists]

    def argument(self, name: str) -> dict[str, Any]:
        """The schema of one argument's value, expressions included."""
        options: list[dict[str, Any]] = []
        integer = any(self.takes(name, v) for v in _INTEGERS)
        number = any(self.takes(name, v) for v in _NUMBERS)
        if number:
            options.append({"type": "number"})
        elif integer:
            options.append({"type": "integer", **self.minimum(name, lambda v: v)})
        if any(self.takes(name, v) for v in _BOOLEANS):
            options.append({"type": "boolean"})
        strings = [s for s in self.strings(name) if self.takes(name, s)]
        annotation = self.cls.model_fields[name].annotation
        if strings:
            options.append({"enum": strings})
        elif self.takes(name, "text") or (annotation is str):
            options.append({"type": "string"})
        options += self.arrays(name)
        if self.takes(name, None):
            options.append({"type": "null"})
        options.append(_ref("expression"))
        schema: dict[str, Any] = {"anyOf": options} if len(options) > 1 else options[0]
        default = self.cls.model_fields[name].default
        if default is not PydanticUndefined and isinstance(default, (bool, int, float, str)):
            schema["default"] = default
        return schema

    def minimum(self, name: str, form: Callable[[int], Any]) -> dict[str, int]:
        """``{"minimum": 0 or 1}`` for an integer argument that refuses -1 (sizes, paddings),
        probed with the values ``form`` makes of an int."""
        if self.takes(name, form(-1)):
            return {}
        for low in (0, 1):
            if self.takes(name, form(low)):
                return {"minimum": low}
        return {}

    def arrays(self, name: str) -> list[dict[str, Any]]:
        """List forms: the item types and the lengths taken (items may be expressions too)."""
        lengths: dict[str, list[int]] = {
            kind: [n for n in range(_LONGEST + 1) if any(self.takes(name, [v] * n) for v in values)]
            for kind, values in _ITEMS
        }
        taken = sorted({n for found in lengths.values() for n in found})
        kinds = [kind for kind, _ in _ITEMS if lengths[kind] and lengths[kind] != [0]]
        if not taken or not kinds:
            return []
        if "number" in kinds and "integer" in kinds:
            kinds.remove("integer")  # JSON Schema's numbers include the integers
        items = [
            {
                "type": kind,
                **(
                    self.minimum(name, lambda v: [v, *[1] * (taken[-1] - 1)])
                    if kind == "integer"
                    else {}
                ),
            }
            for kind in kinds
        ]
        array: dict[str, Any] = {
            "type": "array",
            "items": {"anyOf": [*items, _ref("expression")]},
        }
        if taken[0] > 0:
            array["minItems"] = taken[0]
        if taken[-1] < _LONGEST:
            array["maxItems"] = taken[-1]
        if taken != list(range(taken[0], taken[-1] + 1)):  # e.g. 1 or 3, not 2
            return [{**array, "minItems": n, "maxItems": n} for n in taken]
        return [array]


# --- the schema -------------------------------------------------------------------------------------


def _entry_keys(kind: str, merge: bool) -> dict[str, Any]:
    """The properties every entry may have besides a layer's arguments."""
    keys: dict[str, Any] = {
        "type": {"const": kind},
        "name": {"anyOf": [_ref("name"), {"type": "null"}]},
        "from": _ref("from"),
        "if": _ref("condition"),
        "repeat": _ref("repeat"),
        "first": {"type": ["object", "null"]},
        "repeat_name": _ref("repeat_name"),
        "splice": {"type": "boolean"},
        "trainable": {"type": "boolean"},
    }
    if merge:
        keys["from"] = {
            "type": "array",
            "items": _ref("name"),
            "minItems": 2,
            "description": "the names of the outputs it merges",
        }
    if set(keys) != set(ENTRY_KEYS) - {"layers"}:  # pragma: no cover - a new key needs a schema
        raise RuntimeError(f"describe the entry keys {sorted(set(ENTRY_KEYS) - set(keys))}")
    return keys


def _layer(cls: type[Op]) -> dict[str, Any]:
    """One layer type: its entry keys and arguments, nothing else."""
    kind = cls.type_name()
    probe = _Probe(cls)
    arguments = {name: probe.argument(name) for name in cls.arguments()}
    properties = _entry_keys(kind, cls.merge)
    if not cls.merge:
        one = {"type": "array", "items": _ref("name"), "minItems": 1, "maxItems": 1}
        properties["from"] = {
            "description": "the name of the entry above it that it reads (default: the one above)",
            "anyOf": [_ref("name"), one, {"type": "null"}],
        }
    properties["first"] = {
        "type": ["object", "null"],
        "description": "argument overrides for copy 0 of a repeat",
        "properties": {
            name: {"$ref": f"#/definitions/{kind}/properties/{name}"} for name in arguments
        },
        "additionalProperties": False,
    }
    properties.update(arguments)
    required = ["type"] + [n for n in cls.arguments() if cls.model_fields[n].is_required()]
    if cls.merge:
        required.insert(1, "from")
    doc = " ".join((cls.__doc__ or kind).split("\n\n")[0].split())
    return {
        "type": "object",
        "description": doc,
        "properties": properties,
        "required": required,
        "additionalProperties": False,
    }


def _sequential() -> dict[str, Any]:
    properties = _entry_keys(SEQUENTIAL, merge=False)
    properties["layers"] = {
        "type": "array",
        "minItems": 1,
        "items": _ref("chain_entry"),
        "description": "a chain of entries (no from: inside), built as nn.Sequential",
    }
    return {
        "type": "object",
        "description": "torch.nn.Sequential: a chain of entries, children named 0, 1, ...",
        "properties": properties,
        "required": ["type", "layers"],
        "additionalProperties": False,
    }


def _block_use() -> dict[str, Any]:
    properties = _entry_keys("", merge=False)
    properties["type"] = {"$ref": "#/definitions/block_name"}
    properties["first"] = {
        "type": ["object", "null"],
        "additionalProperties": _ref("value"),
        "description": "parameter overrides for copy 0 of a repeat",
    }
    properties["layers"] = {"not": {}}  # only a Sequential has layers
    return {
        "type": "object",
        "description": "a block under blocks:, used with its parameters",
        "properties": properties,
        "additionalProperties": _ref("value"),
    }


def _entry_body(types: tuple[str, ...]) -> dict[str, Any]:
    """An entry of any type: the type picks the schema of the rest."""
    cases: list[dict[str, Any]] = [
        {
            "if": {"properties": {"type": {"const": kind}}, "required": ["type"]},
            "then": _ref(kind),
        }
        for kind in [*types, SEQUENTIAL]
    ]
    cases.append(
        {
            "if": {"properties": {"type": {"enum": [*types, SEQUENTIAL]}}, "required": ["type"]},
            "else": _ref("block_use"),
        }
    )
    return {
        "type": "object",
        "required": ["type"],
        "properties": {
            "type": {
                "description": "a torch.nn layer, a merge, Sequential or a block name",
                "anyOf": [{"enum": [*types, SEQUENTIAL]}, _ref("block_name")],
            }
        },
        "allOf": [
            *cases,
            {"if": _present("first"), "then": _present("repeat")},
            {"if": _present("repeat_name"), "then": _present("repeat")},
            {
                "if": {"properties": {"splice": {"const": True}}, "required": ["splice"]},
                "then": _present("repeat"),
            },
        ],
    }


def _params(block: bool) -> dict[str, Any]:
    """``params:`` of the spec (plain values) or of a block (defaults, or ``required``)."""
    if block:
        return {
            "type": "object",
            "propertyNames": {"allOf": [_ref("name"), {"not": {"const": "in_channels"}}]},
            "additionalProperties": {
                "not": _ref("expression"),
                "description": f"the default value, or '{REQUIRED}'",
            },
            "description": "its parameters, used as $name inside it ($in_channels is given)",
        }
    return {
        "type": "object",
        "propertyNames": _ref("name"),
        "additionalProperties": {"not": {"anyOf": [_ref("expression"), {"const": REQUIRED}]}},
        "description": "named values, used as $name in layers",
    }


def spec_schema() -> dict[str, Any]:
    """The JSON Schema (draft 7) of a spec file, from the registry's layer types (a fresh copy)."""
    return copy.deepcopy(_schema(tuple(sorted(REGISTRY))))


@functools.cache
def _schema(types: tuple[str, ...]) -> dict[str, Any]:
    # probing ~100 layer types takes a second or two: once per registry
    reserved = sorted({*RESERVED_NAMES, *keyword.kwlist})
    definitions: dict[str, Any] = {
        "name": {
            "type": "string",
            "pattern": IDENTIFIER,
            "not": {"enum": reserved},
            "description": "a Python identifier that is no keyword or torch.nn.Module attribute",
        },
        "block_name": {
            "allOf": [_ref("name"), {"not": {"enum": [*types, SEQUENTIAL]}}],
        },
        "expression": {
            "type": "string",
            "pattern": EXPRESSION,
            "description": "computed from $names: integers, + - * // %, comparisons, and/or/not, "
            "parentheses, min(), max()",
        },
        "value": {
            "description": "a value or an expression",
            "anyOf": [
                {"type": ["integer", "number", "boolean", "null", "object"]},
                {"type": "string"},
                {"type": "array", "items": _ref("value")},
            ],
        },
        "from": {
            "description": "the name(s) of the entries above it that it reads (default: the one above)",
            "anyOf": [
                _ref("name"),
                {"type": "array", "items": _ref("name"), "minItems": 1},
                {"type": "null"},
            ],
        },
        "condition": {
            "description": "when false, the entry is left out and its name stands for its first input",
            "anyOf": [{"type": ["boolean", "null"]}, _ref("expression")],
        },
        "repeat": {
            "description": "n chained copies, built as an nn.Sequential",
            "anyOf": [{"type": "integer", "minimum": 1}, {"type": "null"}, _ref("expression")],
        },
        "repeat_name": {
            "description": "names of the copies: a pattern with {n} (from 1) or {i} (from 0)",
            "anyOf": [
                {
                    "type": "string",
                    "pattern": r"^(?:[A-Za-z0-9_\u0080-\uffff]|\{[ni]\})*\{[ni]\}"
                    r"(?:[A-Za-z0-9_\u0080-\uffff]|\{[ni]\})*$",
                },
                {"type": "null"},
            ],
        },
        "entry": {
            "allOf": [
                _ref("entry_body"),
                {"properties": {"splice": {"const": False}}},
            ],
        },
        "chain_entry": {
            "allOf": [_ref("entry_body"), {"properties": {"from": {"type": "null"}}}],
        },
        "entry_body": _entry_body(types),
        "layers": {"type": "array", "minItems": 1, "items": _ref("entry")},
        "block": {
            "type": "object",
            "properties": {
                "params": _params(block=True),
                "inputs": {
                    "type": "array",
                    "minItems": 1,
                    "uniqueItems": True,
                    "items": _ref("name"),
                    "description": "the names of its inputs (default [x])",
                },
                "layers": _ref("layers"),
                "output": {"anyOf": [_ref("name"), {"type": "null"}]},
            },
            "required": ["layers"],
            "additionalProperties": False,
        },
        "block_use": _block_use(),
        SEQUENTIAL: _sequential(),
    }
    for kind in types:
        definitions[kind] = _layer(REGISTRY[kind])
    properties: dict[str, Any] = {
        "name": {**_ref("name"), "description": "the class name of the built module"},
        "input": {
            "type": "array",
            "minItems": 1,
            "maxItems": 5,
            "items": {"type": "integer", "minimum": 1},
            "description": "the per-sample input shape, batch excluded, e.g. [3, 32, 32]",
        },
        "batch": {"type": "integer", "minimum": 1, "default": 1},
        "params": _params(block=False),
        "blocks": {
            "type": "object",
            "propertyNames": _ref("block_name"),
            "additionalProperties": _ref("block"),
            "description": "reusable sub-networks, by class name",
        },
        "layers": _ref("layers"),
        "output": {
            "description": "the entry (or entries) returned; default: the last",
            "anyOf": [
                _ref("name"),
                {"type": "array", "items": _ref("name")},
                {"type": "null"},
            ],
        },
    }
    for keys, known in ((properties, SPEC_KEYS), (definitions["block"]["properties"], BLOCK_KEYS)):
        if set(keys) != set(known):  # pragma: no cover - a new key needs a schema
            raise RuntimeError(f"describe the keys {sorted(set(known) ^ set(keys))}")
    return {
        "$schema": DRAFT,
        "title": "shapecalc spec",
        "description": "A network for shapecalc: input shape, layers in order, blocks, params.",
        "type": "object",
        "properties": properties,
        "required": ["input", "layers"],
        "additionalProperties": False,
        "definitions": definitions,
    }


def dumps(schema: dict[str, Any]) -> str:
    """The schema as the shipped file holds it: indented JSON and a final newline."""
    return json.dumps(schema, indent=2, ensure_ascii=False) + "\n"


def shipped() -> str:
    """The text of the schema file shipped in the package."""
    return SCHEMA_FILE.read_text(encoding="utf-8")
