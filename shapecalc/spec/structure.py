"""Reading a spec's structure (pass 1): every problem that needs no shapes, all at once.

Keys, names and their scopes, ``from:`` references, block parameters, expressions' syntax and the
``$names`` they use, and every layer whose arguments are literal. Each problem carries the field
path it is about (``blocks.BasicBlock.layers[6].from[1]``); the loader turns paths into
``file:line:column``. What needs shapes waits for :mod:`shapecalc.spec.compile`.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from ..names import RESERVED_NAMES, check_identifier, closest, did_you_mean
from ..ops import REGISTRY, FieldRuleError, Op, check_int, describe
from .expr import ExprError, is_expression, parse, references, unclosed, unknown_message
from .model import (
    BLOCK_KEYS,
    ENTRY_KEYS,
    REQUIRED,
    SEQUENTIAL,
    SPEC_KEYS,
    Block,
    Entry,
)
from .naming import default_names

MERGE_TYPES = tuple(sorted(t for t, cls in REGISTRY.items() if cls.merge))


@dataclass(frozen=True)
class Problem:
    """One structural problem, at a field path."""

    path: str
    message: str


class StructureError(ValueError):
    """A spec's structure is invalid; ``problems`` lists every problem found."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("; ".join(p.message for p in problems[:3]))


def join(path: str, key: object) -> str:
    return f"{path}.{key}" if path else str(key)


@dataclass
class _Scope:
    """What names an entry list can see."""

    path: str  # "" for the top level, "blocks.X" for a block, the Sequential's path for one
    inputs: tuple[str, ...]
    params: tuple[str, ...]  # the $names that may be used
    positional: bool = False  # a Sequential: entries are a chain, children numbered
    owner: str | None = None  # the block whose entries these are


@dataclass
class _Reader:
    problems: list[Problem] = field(default_factory=list)
    blocks: dict[str, Block] = field(default_factory=dict)
    block_names: tuple[str, ...] = ()
    rank: int | None = None  # spatial rank of the spec's input, for suggestions
    uses: dict[str, set[tuple[str, str]]] = field(default_factory=dict)  # block → {(used, path)}
    headers: dict[str, tuple[dict[str, Any], tuple[str, ...]]] = field(default_factory=dict)
    below: set[str] = field(default_factory=set)  # the names of the entry list being read

    def add(self, path: str, message: str) -> None:
        self.problems.append(Problem(path, message))

    # --- the top level ---------------------------------------------------------------------------

    def spec(self, data: Any) -> dict[str, Any]:
        if not isinstance(data, dict):
            kind = {
                "list": "a list",
                "str": "a string",
                "int": "an integer",
                "float": "a number",
                "bool": "a boolean",
                "NoneType": "nothing",
            }.get(type(data).__name__, "a value")
            self.add(
                "", f"a spec is a mapping with 'input' and 'layers', but the file holds {kind}"
            )
            return {}
        for key in data:
            if key not in SPEC_KEYS:
                self.add(
                    str(key),
                    f"{key} is not a spec key{did_you_mean(str(key), SPEC_KEYS)} "
                    f"A spec has: {', '.join(SPEC_KEYS)}",
                )
        fields: dict[str, Any] = {}
        if "name" in data:
            fields["name"] = self.value("name", data["name"], lambda v: check_identifier(v, "name"))
        if "input" not in data:
            self.add("input", "input is required: the per-sample shape, e.g. [3, 32, 32]")
        else:
            fields["input"] = self.input(data["input"])
            if fields["input"]:
                self.rank = len(fields["input"]) - 1
        if "batch" in data:
            fields["batch"] = self.value(
                "batch", data["batch"], lambda v: check_int(v, 1, "a positive integer")
            )
        params = self.params("params", data.get("params", {}), allow_required=False)
        fields["params"] = params
        self.block_names = tuple(data["blocks"]) if isinstance(data.get("blocks"), dict) else ()
        fields["blocks"] = self.read_blocks(data.get("blocks", {}))
        top = _Scope("", ("x",), tuple(params))
        if "layers" not in data:
            self.add("layers", "layers is required: a list of at least one layer")
            fields["layers"] = ()
        else:
            fields["layers"] = self.entries(data["layers"], "layers", top)
        fields["output"] = self.output(
            "output", data.get("output"), fields["layers"], top, many=True
        )
        self.recursion()
        return fields

    def value(self, path: str, value: Any, check: Any) -> Any:
        try:
            return check(value)
        except ValueError as exc:
            self.add(path, f"{path} {exc}" if not str(exc).startswith("'") else f"{path}: {exc}")
            return None

    def input(self, value: Any) -> tuple[int, ...]:
        if not isinstance(value, list) or not 1 <= len(value) <= 5:
            shown = f"a list of {len(value)}" if isinstance(value, list) else describe(value)
            self.add(
                "input",
                f"input must be a list of 1 to 5 positive integers, e.g. [3, 32, 32], but got {shown}",
            )
            return ()
        out = []
        for i, v in enumerate(value):
            checked = self.value(f"input[{i}]", v, lambda x: check_int(x, 1, "a positive integer"))
            out.append(checked)
        return tuple(out) if None not in out else ()

    def params(self, path: str, value: Any, *, allow_required: bool) -> dict[str, Any]:
        if not isinstance(value, dict):
            self.add(
                path, f"{path} must be a mapping of names to values, but got {describe(value)}"
            )
            return {}
        out: dict[str, Any] = {}
        for key, v in value.items():
            where = join(path, key)
            if self.value(where, key, lambda k: check_identifier(k, "parameter name")) is None:
                continue
            if key == "in_channels" and allow_required:
                self.add(
                    where,
                    f"{where}: $in_channels is set from the block's input; it is not declared",
                )
                continue
            if is_expression(v):
                self.add(where, f"{where} must be a plain value; parameters are not computed")
                continue
            if v == REQUIRED and not allow_required:
                self.add(where, f"{where}: 'required' is for block parameters; give a value")
                continue
            out[key] = v
        return out

    def output(
        self, path: str, value: Any, entries: tuple[Entry, ...], scope: _Scope, *, many: bool
    ) -> Any:
        if value is None:
            return None
        names = value if isinstance(value, list) and many else [value]
        defined = [e.local for e in entries] + list(scope.inputs)
        out = []
        for i, name in enumerate(names):
            where = f"{path}[{i}]" if isinstance(value, list) else path
            if not isinstance(name, str):
                self.add(where, f"{where} must be the name of an entry, but got {describe(name)}")
            elif name not in defined:
                self.add(
                    where,
                    f"{where}: '{name}' is not defined{did_you_mean(name, defined)}",
                )
            else:
                out.append(name)
        if not many:
            return out[0] if out else None
        return tuple(out) or None

    # --- blocks ------------------------------------------------------------------------------------

    def read_blocks(self, value: Any) -> dict[str, Block]:
        if not isinstance(value, dict):
            self.add(
                "blocks",
                f"blocks must be a mapping of block names to blocks, but got {describe(value)}",
            )
            return {}
        # headers first, so a block may use one defined further down
        bodies = []
        for name, body in value.items():
            path = join("blocks", name)
            if self.value(path, name, lambda n: check_identifier(n, "block name")) is None:
                continue
            if name in REGISTRY or name == SEQUENTIAL:
                self.add(path, f"{path}: {name} is a torch layer type; give the block another name")
                continue
            if not isinstance(body, dict):
                self.add(path, f"{path} must be a mapping with 'layers', but got {describe(body)}")
                continue
            for key in body:
                if key not in BLOCK_KEYS:
                    self.add(
                        join(path, key),
                        f"{join(path, key)} is not a block key{did_you_mean(str(key), BLOCK_KEYS)} "
                        f"A block has: {', '.join(BLOCK_KEYS)}",
                    )
            params = self.params(join(path, "params"), body.get("params", {}), allow_required=True)
            inputs = self.block_inputs(join(path, "inputs"), body.get("inputs", ["x"]))
            self.headers[name] = (params, inputs)
            bodies.append((name, path, body, params, inputs))
        for name, path, body, params, inputs in bodies:
            scope = _Scope(path, inputs, (*params, "in_channels"), owner=name)
            if "layers" not in body:
                self.add(join(path, "layers"), f"{join(path, 'layers')} is required")
                continue
            layers = self.entries(body["layers"], join(path, "layers"), scope)
            out = self.output(join(path, "output"), body.get("output"), layers, scope, many=False)
            if layers:
                self.blocks[name] = Block(name, params, inputs, layers, out, path)
        return self.blocks

    def block_inputs(self, path: str, value: Any) -> tuple[str, ...]:
        if not isinstance(value, list) or not value:
            self.add(path, f"{path} must be a list of input names, e.g. [x, skip]")
            return ("x",)
        out: list[str] = []
        for i, name in enumerate(value):
            checked = self.value(f"{path}[{i}]", name, lambda n: check_identifier(n, "input name"))
            if checked in out:
                self.add(f"{path}[{i}]", f"{path}[{i}]: '{checked}' is given twice")
            elif checked is not None:
                out.append(checked)
        return tuple(out) or ("x",)

    def recursion(self) -> None:
        """A block that uses itself, directly or through others, would never end.

        Each cycle is reported once, at the first use of its first block (in file order)."""
        reported: set[str] = set()
        for start in self.headers:
            if start in reported:
                continue
            for used, path in sorted(self.uses.get(start, ())):
                trail = self._cycle(used, start, (start, used))
                if trail is not None:
                    reported.update(trail)
                    self.add(path, f"{path}: a block cannot use itself ({' → '.join(trail)})")
                    break

    def _cycle(self, block: str, start: str, trail: tuple[str, ...]) -> tuple[str, ...] | None:
        if block == start:
            return trail
        if len(trail) > len(self.headers) + 1:
            return None
        for used, _ in sorted(self.uses.get(block, ())):
            if used not in trail[1:]:
                found = self._cycle(used, start, (*trail, used))
                if found is not None:
                    return found
        return None

    # --- entries -----------------------------------------------------------------------------------

    def entries(self, value: Any, path: str, scope: _Scope) -> tuple[Entry, ...]:
        if not isinstance(value, list) or not value:
            self.add(path, f"{path} must be a list of at least one layer")
            return ()
        kinds = [item.get("type") if isinstance(item, dict) else None for item in value]
        given = [
            item.get("name")
            if isinstance(item, dict) and isinstance(item.get("name"), str)
            else None
            for item in value
        ]
        stems = [self.stem(t) for t in kinds]
        if scope.positional:
            locals_ = [g if g is not None else str(i) for i, g in enumerate(given)]
        else:
            locals_ = default_names(stems, given)
        out: list[Entry] = []
        defined: dict[str, int] = {}
        outer, self.below = self.below, set(locals_)
        for index, item in enumerate(value):
            where = f"{path}[{index}]"
            entry = self.entry(item, where, locals_[index], scope, defined, out)
            if entry is not None:
                out.append(entry)
            if not scope.positional or given[index] is not None:
                defined.setdefault(locals_[index], index)
        self.below = outer
        return tuple(out)

    def stem(self, kind: Any) -> tuple[str, bool]:
        if isinstance(kind, str) and kind in REGISTRY:
            cls = REGISTRY[kind]
            return cls.default_stem(), cls.numbered
        if kind == SEQUENTIAL:
            return "sequential", False
        if isinstance(kind, str) and kind.isidentifier():
            return kind.lower(), False
        return "layer", False

    def entry(
        self,
        item: Any,
        path: str,
        local: str,
        scope: _Scope,
        defined: dict[str, int],
        above: list[Entry],
    ) -> Entry | None:
        if not isinstance(item, dict):
            self.add(path, f"{path} must be a mapping with a 'type', but got {describe(item)}")
            return None
        kind = item.get("type")
        if kind is None:
            self.add(
                path,
                f"{path} has no type; add 'type:' with a torch.nn layer (Conv2d, ...), a merge "
                f"({', '.join(MERGE_TYPES)}), Sequential or a block name",
            )
            return None
        if not isinstance(kind, str) or not (
            kind in REGISTRY or kind == SEQUENTIAL or kind in self.block_names
        ):
            self.unknown_type(join(path, "type"), kind)
            return None
        label = f" ({kind} '{local}')"
        problems = len(self.problems)
        name = item.get("name")
        if name is not None:
            name = self.value(join(path, "name"), name, lambda n: _entry_name(n))
            if name is not None:
                self.check_name(join(path, "name"), name, scope, defined)
        from_ = self.from_(path, item, scope, defined, above, kind)
        if_ = item.get("if")
        if if_ is not None and not isinstance(if_, bool):
            if_ = self.expression(join(path, "if"), if_, scope, "true, false or an expression")
        repeat = item.get("repeat")
        if repeat is not None and not is_expression(repeat):
            repeat = self.value(
                join(path, "repeat"), repeat, lambda v: check_int(v, 1, "a positive integer")
            )
        elif repeat is not None:
            repeat = self.expression(join(path, "repeat"), repeat, scope, "a positive integer")
        first = item.get("first")
        if first is not None:
            if repeat is None:
                self.add(
                    join(path, "first"),
                    f"{join(path, 'first')}: first: overrides copy 0 of a repeat; add repeat: n, or move these arguments into the entry",
                )
                first = None
            elif not isinstance(first, dict):
                self.add(
                    join(path, "first"),
                    f"{join(path, 'first')} must be a mapping of arguments, but got {describe(first)}",
                )
                first = None
        repeat_name = item.get("repeat_name")
        if repeat_name is not None:
            if repeat is None:
                self.add(
                    join(path, "repeat_name"),
                    f"{join(path, 'repeat_name')}: names the copies of a repeat; add repeat: n",
                )
                repeat_name = None
            elif not isinstance(repeat_name, str) or not _pattern_ok(repeat_name):
                self.add(
                    join(path, "repeat_name"),
                    f"{join(path, 'repeat_name')} must be a name pattern with {{n}} (1, 2, ...) or "
                    f"{{i}} (0, 1, ...), e.g. denselayer{{n}}, but got {describe(repeat_name)}",
                )
                repeat_name = None
        splice = item.get("splice", False)
        if splice is not False:
            if splice is not True:
                self.add(
                    join(path, "splice"),
                    f"{join(path, 'splice')} must be true or false, but got {describe(splice)}",
                )
            elif repeat is None or not scope.positional:
                self.add(
                    join(path, "splice"),
                    f"{join(path, 'splice')}: splice puts the copies of a repeat straight into the "
                    "enclosing Sequential; it needs repeat: n and a Sequential around the entry",
                )
            splice = splice is True
        trainable = item.get("trainable", True)
        if not isinstance(trainable, bool):
            self.add(
                join(path, "trainable"),
                f"{join(path, 'trainable')} must be true or false, but got {describe(trainable)}",
            )
            trainable = True
        args = {k: v for k, v in item.items() if k not in ENTRY_KEYS}
        layers = None
        op = None
        if kind != SEQUENTIAL and "layers" in item:
            self.add(
                join(path, "layers"),
                f"{join(path, 'layers')}: only a Sequential has layers; a {kind} entry takes "
                "arguments",
            )
        if kind == SEQUENTIAL:
            layers = self.sequential(path, item, scope, args)
        elif kind in REGISTRY:
            op = self.op(path, kind, label, args, scope)
            if first:
                self.op(
                    join(path, "first"), kind, label, {**args, **first}, scope, report_missing=False
                )
        else:
            self.block_use(path, kind, args, first, from_, scope)
        if len(self.problems) > problems:
            return None
        return Entry(
            type=kind,
            path=path,
            name=name,
            local=local,
            from_=from_,
            if_=if_,
            repeat=repeat,
            first=first,
            layers=layers,
            repeat_name=repeat_name,
            splice=bool(splice),
            trainable=trainable,
            args=args,
            op=op,
        )

    def unknown_type(self, path: str, kind: Any) -> None:
        choices = [*REGISTRY, SEQUENTIAL, *self.block_names]

        def same_rank(candidate: str) -> bool:
            cls = REGISTRY.get(candidate)
            return cls is not None and cls.rank == self.rank

        shown = repr(kind) if isinstance(kind, str) else describe(kind)
        hint = closest(str(kind), choices, same_rank) if isinstance(kind, str) else None
        message = f"{path} {shown} is not a known layer type"
        if hint:
            message += f"; did you mean '{hint}'?"
        else:
            blocks = f", a block ({', '.join(self.block_names)})" if self.block_names else ""
            message += (
                f": use a torch.nn layer, a merge ({', '.join(MERGE_TYPES)}), Sequential{blocks}. "
                "`shapecalc layers` lists the layer types"
            )
        self.add(path, message)

    def check_name(self, path: str, name: str, scope: _Scope, defined: dict[str, int]) -> None:
        if name in scope.inputs:
            self.add(path, f"{path}: '{name}' names this scope's input; choose another name")
        elif name in defined:
            where = f"{scope.path + '.' if scope.path else ''}layers[{defined[name]}]"
            self.add(path, f"{path} is '{name}', like {where}; names must be unique in their scope")

    def from_(
        self,
        path: str,
        item: dict[str, Any],
        scope: _Scope,
        defined: dict[str, int],
        above: list[Entry],
        kind: str,
    ) -> tuple[str, ...] | None:
        value = item.get("from")
        where = join(path, "from")
        if value is None:
            cls = REGISTRY.get(kind)
            if cls is not None and cls.merge:
                self.add(
                    where if "from" in item else path,
                    f"{path} ({kind}) needs from: with the names of the outputs it merges, "
                    "e.g. from: [conv2, x]",
                )
            return None
        if scope.positional:
            self.add(
                where,
                f"{where}: entries of a Sequential read the entry above; from: is not allowed here",
            )
            return None
        names = value if isinstance(value, list) else [value]
        visible = [*scope.inputs, *defined]
        out = []
        for i, name in enumerate(names):
            at = f"{where}[{i}]" if isinstance(value, list) else where
            if not isinstance(name, str):
                self.add(at, f"{at} must be the name of an entry above, but got {describe(name)}")
                continue
            if name not in visible:
                current = item.get("name") or kind
                if name == item.get("name"):
                    message = (
                        f"from: '{name}' is this entry's own name; an entry cannot read its own "
                        "output. Name an entry above it"
                    )
                elif name in self.below:
                    message = (
                        f"from: '{name}' is defined below '{current}'; from: names only entries "
                        "above it, so the file reads in the order of forward. Move it up"
                    )
                else:
                    message = (
                        f"from: '{name}' is not defined before '{current}'"
                        f"{did_you_mean(name, visible)}"
                    )
                self.add(at, message)
                continue
            out.append(name)
        cls = REGISTRY.get(kind)
        if cls is not None and not cls.merge and len(names) > 1:
            self.add(
                where,
                f"{where}: {kind} takes one input, but from: names {len(names)}; merge them first "
                f"({', '.join(MERGE_TYPES)})",
            )
        elif cls is not None and cls.merge and len(names) < 2:
            self.add(where, f"{where}: {kind} merges several outputs; name at least two")
        return tuple(out)

    def expression(self, path: str, value: Any, scope: _Scope, what: str) -> Any:
        if not isinstance(value, str) or not is_expression(value):
            self.add(path, f"{path} must be {what}, but got {describe(value)}")
            return None
        self.check_expression(path, value, scope)
        return value

    def check_expression(
        self,
        path: str,
        text: str,
        scope: _Scope,
        field: str | None = None,
        whole: str | None = None,
    ) -> None:
        for name in references(text):
            if name not in scope.params:
                self.add(path, f"{path}: {unknown_message(name, sorted(scope.params))}")
                return
        try:
            parse(text, field, whole)
        except ExprError as exc:
            self.add(path, f"{path}: {exc}")

    def check_values(self, path: str, value: Any, scope: _Scope) -> bool:
        """Check every expression inside ``value``; True when it holds one."""
        if isinstance(value, str):
            if is_expression(value):
                self.check_expression(path, value, scope)
                return True
            return False
        if isinstance(value, list):
            found = [self.check_values(f"{path}[{i}]", v, scope) for i, v in enumerate(value)]
            return any(found)
        if isinstance(value, dict):
            found = [self.check_values(join(path, k), v, scope) for k, v in value.items()]
            return any(found)
        return False

    def op(
        self,
        path: str,
        kind: str,
        label: str,
        args: dict[str, Any],
        scope: _Scope,
        report_missing: bool = True,
    ) -> Op | None:
        cls = REGISTRY[kind]
        allowed = _allowed(cls)
        literal = True
        known = {}
        cut = _cut_at_commas(args)
        pieces = {piece for _, tail in cut.values() for piece in tail}
        for key, value in args.items():
            where = join(path, key)
            if key in pieces:
                continue  # the rest of an expression cut at a comma: reported with its start
            if key not in allowed:
                self.add(
                    where,
                    f"{where}{label} is not an argument{did_you_mean(str(key), cls.arguments())} "
                    f"It takes: {', '.join(cls.arguments())}",
                )
                continue
            if key in cut:
                self.check_expression(where, value, scope, str(key), cut[key][0])
                literal = False
                continue
            known[key] = value
            if self.check_values(where, value, scope):
                literal = False
        if not literal:
            return None
        try:
            model = cls.model_validate({**known, "type": kind})
            return model if len(known) == len(args) else None
        except ValidationError as exc:
            for problem in pydantic_problems(exc, path, label, cls.arguments()):
                if report_missing or "is required" not in problem.message:
                    self.problems.append(problem)
            return None

    def sequential(
        self, path: str, item: dict[str, Any], scope: _Scope, args: dict[str, Any]
    ) -> tuple[Entry, ...] | None:
        for key in args:
            self.add(
                join(path, key),
                f"{join(path, key)} is not a key of a Sequential; it has type, name, from, if, "
                "repeat and layers",
            )
        if "layers" not in item:
            self.add(path, f"{path} (Sequential) needs layers: a list of entries")
            return None
        inner = _Scope(
            join(path, "layers"), ("x",), scope.params, positional=True, owner=scope.owner
        )
        return self.entries(item["layers"], join(path, "layers"), inner)

    def block_use(
        self,
        path: str,
        kind: str,
        args: dict[str, Any],
        first: Mapping[str, Any] | None,
        from_: tuple[str, ...] | None,
        scope: _Scope,
    ) -> None:
        if scope.owner is not None:
            self.uses.setdefault(scope.owner, set()).add((kind, path))
        header = self.headers.get(kind)
        if header is None:
            return  # broken, and reported where it is defined
        declared, inputs = header
        params = list(declared)
        for key, value in {**args, **(first or {})}.items():
            where = join(path, key) if key in args else join(path, f"first.{key}")
            if key not in params:
                self.add(
                    where,
                    f"{where}: {key} is not a parameter of {kind}{did_you_mean(str(key), params)} "
                    f"(its params: {', '.join(params) or 'none'})",
                )
            else:
                self.check_values(where, value, scope)
        required = [p for p, v in declared.items() if v == REQUIRED]
        missing = [p for p in required if p not in args and p not in (first or {})]
        if missing:
            listed = ", ".join(params)
            self.add(path, f"{kind} needs {', '.join(missing)}: (its params: {listed})")
        count = len(from_) if from_ is not None else 1
        if count != len(inputs):
            self.add(
                join(path, "from") if from_ is not None else path,
                f"{kind} takes {len(inputs)} input(s) ({', '.join(inputs)}), but from: gives "
                f"{count}",
            )


@functools.cache
def _allowed(cls: type[Op]) -> frozenset[str]:
    return frozenset(cls.arguments())


def _entry_name(value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError(f"must be a string, but got {describe(value)}")
    return check_identifier(value, "name")


def _pattern_ok(pattern: str) -> bool:
    try:
        text = pattern.format(n=1, i=0)
    except (KeyError, IndexError, ValueError):
        return False
    return pattern != text and text.isidentifier() and text not in RESERVED_NAMES


def pydantic_problems(
    exc: ValidationError, prefix: str, label: str, fields: list[str]
) -> list[Problem]:
    """pydantic's errors as located problems, in our words."""
    out = []
    for err in exc.errors():
        cause = (err.get("ctx") or {}).get("error")
        if isinstance(cause, FieldRuleError):
            name = cause.field
        else:
            name = str(err["loc"][0]) if err["loc"] else ""
        path = join(prefix, name) if name else prefix
        kind = err["type"]
        if kind == "missing":
            message = f"{path}{label} is required"
        elif kind == "extra_forbidden":
            message = (
                f"{path}{label} is not an argument{did_you_mean(name, fields)} "
                f"It takes: {', '.join(fields)}"
            )
        elif cause is not None:
            message = f"{path}{label} {cause}"
        elif kind == "literal_error":
            expected = (err.get("ctx") or {}).get("expected", "")
            message = (
                f"{path}{label} must be one of {expected}, but got {describe(err.get('input'))}"
            )
        else:
            message = f"{path}{label} must be {err['msg'].removeprefix('Input should be ')}, but got {describe(err.get('input'))}"
        out.append(Problem(path, message))
    return out


def read(data: Any) -> tuple[dict[str, Any], list[Problem]]:
    """Plain data → the Spec's fields and every structural problem, in the order found."""
    reader = _Reader()
    fields = reader.spec(data)
    return fields, reader.problems


def _cut_at_commas(args: dict[str, Any]) -> dict[str, tuple[str, list[str]]]:
    """Expressions a YAML flow mapping cut at their commas: ``{out_channels: max($c, 1)}`` reads
    as ``out_channels: "max($c"`` and a key ``"1)"`` with no value. Key → (the expression as
    written, the keys that hold its rest)."""
    cut: dict[str, tuple[str, list[str]]] = {}
    items = list(args.items())
    for index, (key, value) in enumerate(items):
        if not (isinstance(value, str) and is_expression(value) and unclosed(value)):
            continue
        whole, tail = value, list[str]()
        for piece, rest in items[index + 1 :]:
            if rest is not None or not isinstance(piece, str) or not unclosed(whole):
                break
            whole, tail = f"{whole}, {piece}", [*tail, piece]
        if tail and not unclosed(whole):
            cut[key] = (whole, tail)
    return cut
