"""Write a spec as a standalone Python module: the torch.nn code a person would write for it.

``export_python(spec)`` returns the source of a module that needs only torch: one ``nn.Module``
class per block and one for the net, ``__init__`` creating the layers with their arguments written
as a person writes them (``nn.Conv2d(3, 32, 5, padding=2)``: torch's required arguments by
position, the rest by keyword, defaults left out), and ``forward`` with one line per node and a
comment with its output shape. A chain reads ``x = self.conv1(x)`` line by line (the classic
tutorial's style); a graph names each intermediate after its entry (``add = torch.add(bn2,
downsample)``). Merges are ``torch.add`` / ``torch.mul`` / ``torch.cat(..., dim=...)``. The
source is laid out as ``ruff format`` leaves it (:mod:`shapecalc.pycode`).

Everything comes from the calculator's trace, so the exporter is pure Python and imports no
torch. A block becomes one class with the block's parameters (and ``in_channels``, the channel
count of its input, where the code uses it); each value in it is written as the spec's
expression (``out_channels * 4``) or as the parameter an inferred size equals
(``nn.BatchNorm2d(out_channels)``), and every such expression is checked against every use of the
block in the trace. A value no expression reproduces becomes a constant when all uses agree, else
a parameter of its own (``fc_in_features``) that the callers pass. ``if:`` becomes an ``if`` in
``__init__`` (the module is ``None`` where it is left out) and a conditional in ``forward``.

The round trip is tested: the exported module, imported in a fresh interpreter, has the
``state_dict`` keys and shapes of ``shapecalc.build(spec)`` and computes the same output with the
same weights.
"""

from __future__ import annotations

import ast
import builtins
import keyword
import re
import textwrap
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from .errors import ShapecalcError
from .ops import AXES, REGISTRY, Merge, Op, Shape, shape_str
from .pycode import WIDTH, Atom, Brackets, Call, IfElse, Node, literal, statement
from .spec import Spec
from .spec.expr import parse, references, resolve
from .spec.model import REQUIRED, Block, Entry
from .trace import Row, Trace, propagate

# names the generated code uses itself: a parameter or a variable never takes them
_TAKEN = frozenset(
    {"self", "torch", "nn", "OrderedDict", "super", "range", "len", "str", "min", "max", "layers"}
)
# ruff's E741 (ambiguous variable names)
_AMBIGUOUS = frozenset({"l", "O", "I"})
_MERGE_FUNCTIONS = {"add": "torch.add", "mul": "torch.mul", "cat": "torch.cat"}


class ExportError(ShapecalcError):
    """The spec uses something the Python export cannot write; the message names the entry."""


def export_python(spec: Spec, trace: Trace | None = None, source: str | None = None) -> str:
    """The Python source of a module defining ``spec`` as ``nn.Module`` classes.

    ``source`` names the spec in the module docstring (a file name). Raises what
    :func:`shapecalc.trace.propagate` raises for an invalid spec, and ExportError for a block used
    with repeats whose counts differ between its uses.

    >>> from shapecalc import bundled, load
    >>> code = export_python(load(bundled("cifar10")).spec)
    >>> print(code[code.index("class"):code.index("    def forward")].strip())
    class Tudui(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = nn.Conv2d(3, 32, 5, padding=2)
            self.maxpool1 = nn.MaxPool2d(2)
            self.conv2 = nn.Conv2d(32, 32, 5, padding=2)
            self.maxpool2 = nn.MaxPool2d(2)
            self.conv3 = nn.Conv2d(32, 64, 5, padding=2)
            self.maxpool3 = nn.MaxPool2d(2)
            self.flatten = nn.Flatten()
            self.linear1 = nn.Linear(1024, 64)
            self.linear2 = nn.Linear(64, 10)
    """
    trace = trace if trace is not None else propagate(spec)
    return _Exporter(spec, trace).module(source)


# --- values, and the expressions that compute them ---------------------------------------------------


def _norm(value: Any, collapse: bool = False) -> Any:
    """Lists as tuples; with ``collapse``, a tuple of equal sizes as one (an "int or tuple"
    argument, which torch takes either way)."""
    if isinstance(value, (list, tuple)):
        items = tuple(_norm(v) for v in value)
        if collapse and items and all(_same(v, items[0]) for v in items):
            return items[0]
        return items
    return value


def _same(a: Any, b: Any) -> bool:
    """Equal values of the same kind (``True`` is not ``1``)."""
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, tuple) and isinstance(b, tuple):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    return bool(type(a) is type(b) and a == b)


def _channels(shape: Shape) -> int:
    return shape[1] if len(shape) > 1 else shape[0]


@dataclass(frozen=True)
class Sym:
    """A value in the generated code: a constant, or a spec expression over the class's
    parameters (``"$out_channels * 4"``; a list may mix expressions and numbers)."""

    raw: Any
    const: bool = False

    def value(self, env: Mapping[str, Any]) -> Any:
        return self.raw if self.const else resolve(self.raw, env)

    @property
    def dollar(self) -> str | None:
        """The value as an integer expression another one can be built from, if it is one."""
        if self.const:
            return str(self.raw) if type(self.raw) is int else None
        return self.raw if isinstance(self.raw, str) else None

    def names(self) -> list[str]:
        if self.const:
            return []
        texts = self.raw if isinstance(self.raw, list) else [self.raw]
        return [n for t in texts if isinstance(t, str) for n in references(t)]

    def python(self, rename: Mapping[str, str]) -> str:
        if self.const:
            return literal(self.raw)
        return _python(self.raw, rename)


def _python(raw: Any, rename: Mapping[str, str]) -> str:
    if isinstance(raw, list):
        inner = ", ".join(_python(v, rename) for v in raw)
        return f"({inner},)" if len(raw) == 1 else f"({inner})"
    if not isinstance(raw, str) or "$" not in raw:
        return literal(raw)
    tree = parse(raw)
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and node.id in rename:
            node.id = rename[node.id]
    return ast.unparse(tree)


def _substitute(sym: Sym | None, args: Mapping[str, Sym]) -> Sym | None:
    """``sym`` (over a block's parameters) in the caller's terms, given the call's arguments."""
    if sym is None or sym.const:
        return sym
    text = sym.dollar
    if text is None:
        return None
    missing = False

    def replace(match: re.Match[str]) -> str:
        nonlocal missing
        arg = args.get(match.group(1))
        if arg is None or arg.dollar is None:
            missing = True
            return match.group(0)
        return f"({arg.dollar})"

    out = re.sub(r"\$([A-Za-z_][A-Za-z0-9_]*)", replace, text)
    return None if missing else Sym(out)


def _holds(
    sym: Sym, values: Sequence[Any], envs: Sequence[Mapping[str, Any]], collapse: bool = False
) -> bool:
    """True when ``sym`` gives ``values[i]`` in ``envs[i]``, for every i."""
    for value, env in zip(values, envs, strict=True):
        try:
            got = sym.value(env)
        except (ShapecalcError, KeyError, TypeError):
            return False
        if not _same(_norm(got, collapse), _norm(value, collapse)):
            return False
    return True


def _class_names(net: str, blocks: Sequence[str]) -> dict[str | None, str]:
    """The class of each block and of the net (key None): its name, with ``Block`` or ``Net``
    added where the module itself uses the name (``nn``, ``torch``, ``OrderedDict``, a builtin)
    or another class has it."""
    out: dict[str | None, str] = {}
    for key, suffix in [*((name, "Block") for name in blocks), (None, "Net")]:
        name = key or net
        while (
            name in out.values()
            or (key is None and name in blocks)
            or name in _TAKEN
            or keyword.iskeyword(name)
            or hasattr(builtins, name)
        ):
            name += suffix
        out[key] = name
    return out


def _python_name(name: str, taken: set[str] | frozenset[str]) -> str:
    out = name
    while (
        out in taken
        or out in _TAKEN
        or out in _AMBIGUOUS
        or keyword.iskeyword(out)
        or hasattr(builtins, out)
    ):
        out += "_"
    return out


# --- classes -----------------------------------------------------------------------------------------


@dataclass
class _Param:
    name: str  # as the spec names it (the key of an instance's env)
    py: str  # in the code
    default: Any = REQUIRED
    extra: bool = False  # made up for a value no expression gives


@dataclass
class _Inst:
    """One use of a class: the block row (None for the net) and its parameters' values."""

    row: Row | None
    env: dict[str, Any]


@dataclass
class _Class:
    name: str
    params: list[_Param]
    insts: list[_Inst]
    by_row: dict[str, _Inst] = field(default_factory=dict)
    out_sym: Sym | None = None
    lines: list[str] = field(default_factory=list)


# a statement of __init__: (depth relative to where it goes, prefix or whole text, node or None)
Stmt = tuple[int, str, Node | None]
# a line of forward: (prefix, node, each use's output shape, the output's channels)
Line = tuple[str, Node, Sequence[Shape], "Sym | None"]


@dataclass
class _Made:
    """A module expression and what it needs: statements before it, its output channels."""

    node: Call
    before: list[Stmt]
    sym: Sym | None


def _indented(stmts: list[Stmt], by: int) -> list[Stmt]:
    return [(depth + by, text, node) for depth, text, node in stmts]


class _Exporter:
    def __init__(self, spec: Spec, trace: Trace) -> None:
        self.spec = spec
        self.trace = trace
        self.children: dict[str | None, list[Row]] = {}
        for row in trace.rows:
            self.children.setdefault(row.parent, []).append(row)
        self.classes: dict[str, _Class] = {}
        self.entries: dict[str, Entry] = {}
        for entries in [spec.layers, *(b.layers for b in spec.blocks.values())]:
            self._index(entries)
        self.class_names: dict[str | None, str] = {}  # see _class_names
        self.torch = False
        self.ordered_dict = False
        self.varying = False  # a block used with different shapes (its comments use letters)

    def _index(self, entries: Sequence[Entry]) -> None:
        for entry in entries:
            self.entries[entry.path] = entry
            if entry.layers:
                self._index(entry.layers)

    # --- the module ----------------------------------------------------------------------------------

    def module(self, source: str | None) -> str:
        order = self.block_order()
        self.class_names = _class_names(self.spec.name, order)
        for name in order:
            self.classes[name] = _ClassWriter(self, self.spec.blocks[name]).write()
        net = _ClassWriter(self, None, self.class_names[None]).write()
        head = self.docstring(source) + "\n"
        if self.ordered_dict:
            head += "from collections import OrderedDict\n\n"
        head += ("import torch\n" if self.torch else "") + "from torch import nn\n"
        classes = [self.classes[name].lines for name in order] + [net.lines]
        return head + "".join("\n\n" + "\n".join(lines) + "\n" for lines in classes)

    def docstring(self, source: str | None) -> str:
        trace = self.trace
        outputs = ", ".join(shape_str(s) for s in trace.output_shapes)
        origin = f" from {source}" if source else ""
        text = [
            f'"""{self.spec.name}{origin}, written by shapecalc export.',
            "",
            f"Input {shape_str(trace.input_shape)} (batch first), {trace.total_params:,} parameters.",
            f"Output {outputs}.",
            "The comment on each line of forward is the shape of its output for that input.",
        ]
        renamed = [
            f"{'the net' if key is None else 'block'} {key or self.spec.name} as {value}"
            for key, value in self.class_names.items()
            if value != (key or self.spec.name)
        ]
        if renamed:
            line = "Renamed, as this module uses the names itself: " + ", ".join(renamed) + "."
            text += textwrap.wrap(line, WIDTH)
        if self.varying:
            text.append(
                "In a block used with different shapes, letters stand for the sizes that differ."
            )
        text.append('"""')
        return "\n".join(text) + "\n"

    def block_order(self) -> list[str]:
        """The blocks the trace uses, each after the blocks it uses (else in file order)."""
        used = {row.type for row in self.trace.rows if row.kind == "block"}
        order: list[str] = []

        def visit(name: str) -> None:
            if name in order:
                return
            for inner in _uses(self.spec.blocks[name].layers, self.spec.blocks):
                visit(inner)
            order.append(name)

        for name in self.spec.blocks:
            if name in used:
                visit(name)
        return [name for name in order if name in used]

    def frozen_entry(self, row: Row) -> bool:
        """True when the entry a row comes from says ``trainable: false`` itself."""
        entry = self.entries.get(row.path)
        return entry is not None and not entry.trainable

    def enclosing(self, row: Row) -> list[str]:
        """The block instances around a row, outermost first."""
        out = []
        parent = row.parent
        while parent is not None:
            if self.trace.by_name[parent].kind == "block":
                out.append(parent)
            parent = self.trace.by_name[parent].parent
        return out[::-1]

    def between(self, row: Row, owner: str | None) -> list[str]:
        """The containers between a row and the block instance ``owner`` (None: the net)."""
        out = []
        parent = row.parent
        while parent is not None and parent != owner:
            out.append(parent)
            parent = self.trace.by_name[parent].parent
        return out

    def group(self, container: str | None, entries: Sequence[Entry]) -> list[list[Row]]:
        """The rows of each entry among a container's children (several for a splice)."""
        rows = self.children.get(container, [])
        out: list[list[Row]] = []
        k = 0
        for entry in entries:
            found = []
            while k < len(rows) and rows[k].path == entry.path:
                found.append(rows[k])
                k += 1
            out.append(found)
        return out


def _uses(entries: Sequence[Entry], blocks: Mapping[str, Block]) -> list[str]:
    out = []
    for entry in entries:
        if entry.type in blocks:
            out.append(entry.type)
        if entry.layers:
            out += _uses(entry.layers, blocks)
    return out


class _ClassWriter:
    """Writes one class: the net (``block`` None) or a block, over all its uses in the trace."""

    def __init__(self, exporter: _Exporter, block: Block | None, name: str | None = None) -> None:
        self.x = exporter
        self.block = block
        spec = exporter.spec
        avoid = {*spec.blocks, spec.name, *exporter.class_names.values()}
        taken: set[str] = set()
        self.params: list[_Param] = []
        if block is None:
            self.name = name or spec.name
            for key, default in spec.params.items():
                py = _python_name(key, taken | avoid)
                taken.add(py)
                self.params.append(_Param(key, py, default))
            self.insts = [_Inst(None, dict(spec.params))]
            self.entries: Sequence[Entry] = spec.layers
            self.inputs: tuple[str, ...] = ("x",)
            self.output = spec.output
        else:
            self.name = exporter.class_names[block.name]
            self.params.append(_Param("in_channels", _python_name("in_channels", avoid)))
            taken.add(self.params[0].py)
            for key, default in block.params.items():
                py = _python_name(key, taken | avoid)
                taken.add(py)
                self.params.append(_Param(key, py, default))
            self.insts = []
            for row in exporter.trace.rows:
                if row.kind == "block" and row.type == block.name:
                    env = {k: v for k, v in block.params.items() if v != REQUIRED}
                    inside = exporter.children[row.name][0]
                    env.update(inside.chain[-1].args)
                    env["in_channels"] = _channels(row.input_shapes[0])
                    self.insts.append(_Inst(row, env))
            self.entries = block.layers
            self.inputs = block.inputs
            self.output = (block.output,) if block.output else None
        self.used: set[str] = set()  # parameters the code uses
        self.lists = 0  # list variables made in __init__
        self.attrs = {e.local for e in self.entries}

    # --- values ----------------------------------------------------------------------------------------

    def code(self, sym: Sym) -> str:
        """Python for ``sym``, noting the parameters it uses."""
        self.used.update(sym.names())
        return sym.python({p.name: p.py for p in self.params})

    def envs(self, uses: Sequence[int]) -> list[dict[str, Any]]:
        return [self.insts[i].env for i in uses]

    def slot(
        self,
        values: Sequence[Any],
        uses: Sequence[int],
        candidates: Sequence[Sym | None],
        hint: str,
        collapse: bool = False,
    ) -> Sym:
        """How the code writes ``values`` (one per use): the first candidate that gives them all,
        else a constant, else the parameter that equals them, else a new parameter."""
        envs = self.envs(uses)
        for sym in candidates:
            if sym is not None and _holds(sym, values, envs, collapse):
                return sym
        if all(_same(_norm(v), _norm(values[0])) for v in values):
            return Sym(values[0], const=True)
        for param in self.params:
            if all(param.name in env for env in envs):
                sym = Sym(f"${param.name}")
                if _holds(sym, values, envs):
                    return sym
        return self.new_param(hint, values, uses)

    def new_param(self, hint: str, values: Sequence[Any], uses: Sequence[int]) -> Sym:
        taken = {p.name for p in self.params} | {p.py for p in self.params}
        classes = {*self.x.spec.blocks, self.x.spec.name, *self.x.class_names.values()}
        name = _python_name(hint, taken | classes)
        everywhere = len(set(uses)) == len(self.insts)
        self.params.append(_Param(name, name, REQUIRED if everywhere else None, extra=True))
        for inst in self.insts:
            inst.env.setdefault(name, None)
        for i, value in zip(uses, values, strict=True):
            self.insts[i].env[name] = value
        return Sym(f"${name}")

    def check(self, sym: Sym | None, values: Sequence[Any], uses: Sequence[int]) -> Sym | None:
        return sym if sym is not None and _holds(sym, values, self.envs(uses)) else None

    def condition(self, entry: Entry, present: Sequence[int], uses: Sequence[int]) -> str:
        """The entry's ``if:`` as Python (it decides which uses have the entry)."""
        assert entry.if_ is not None
        sym = Sym(entry.if_) if isinstance(entry.if_, str) else Sym(entry.if_, const=True)
        if not _holds(sym, [i in present for i in uses], self.envs(uses)):  # pragma: no cover
            raise ExportError(f"{entry.path}.if does not decide the uses in the trace")
        return self.code(sym)

    # --- the class -------------------------------------------------------------------------------------

    def write(self) -> _Class:
        init: list[Stmt] = []
        forward: list[Line] = []
        out_sym = self.body(init, forward)
        # in_channels only where the code uses it; required parameters first
        self.params = [p for p in self.params if p.name != "in_channels" or p.name in self.used]
        self.params.sort(key=lambda p: p.default != REQUIRED)
        lines = [f"class {self.name}(nn.Module):"]
        signature = [Atom("self")] + [
            Atom(p.py if p.default == REQUIRED else f"{p.py}={literal(p.default)}")
            for p in self.params
        ]
        lines += statement("", Call("def __init__", tuple(signature), after=":"), 1)
        lines.append("        super().__init__()")
        for depth, text, node in init:
            lines += (
                statement(text, node, 2 + depth)
                if node is not None
                else ["    " * (2 + depth) + text]
            )
        lines.append("")
        inputs = (Atom("self"), *(Atom(v) for v in self.vars_in))
        lines += statement("", Call("def forward", inputs, after=":"), 1)
        for prefix, node, shapes, sym in forward:
            comment = self.shape_comment(shapes, sym) if shapes else ""
            lines += statement(prefix, node, 2, comment)
        made = _Class(self.name, self.params, self.insts, out_sym=out_sym, lines=lines)
        made.by_row = {inst.row.name: inst for inst in self.insts if inst.row is not None}
        return made

    def body(self, init: list[Stmt], forward: list[Line]) -> Sym | None:
        """Statements of ``__init__`` and lines of ``forward``; returns the output's channels."""
        n = len(self.insts)
        everyone = range(n)
        containers = [inst.row.name if inst.row is not None else None for inst in self.insts]
        groups = [self.x.group(c, self.entries) for c in containers]
        chain = self.is_chain(groups)
        taken = set(self.inputs)
        self.vars_in = [_python_name(name, set()) for name in self.inputs]
        var = dict(zip(self.inputs, self.vars_in, strict=True))
        sym: dict[str, Sym | None] = {name: None for name in self.inputs}
        channels: dict[str, list[int]] = {}  # each use's channel count of each name
        if self.block is None:
            sym["x"] = Sym(_channels(self.x.trace.input_shape), const=True)
            channels["x"] = [_channels(self.x.trace.input_shape)]
        else:
            sym[self.inputs[0]] = Sym("$in_channels")
            for k, name in enumerate(self.inputs):
                channels[name] = [
                    _channels(inst.row.input_shapes[k]) for inst in self.insts if inst.row
                ]
        last = self.inputs[0]
        for index, entry in enumerate(self.entries):
            rows = [groups[i][index][0] for i in everyone]
            present = [i for i in everyone if rows[i].kind != "skipped"]
            sources = list(entry.from_) if entry.from_ else [last]
            last = entry.local
            if not present:  # left out everywhere: its name stands for its input
                var[entry.local] = var[sources[0]]
                sym[entry.local] = sym[sources[0]]
                channels[entry.local] = channels[sources[0]]
                continue
            conditional = len(present) < n
            args = [var[s] for s in sources]
            value: Node
            if rows[present[0]].kind == "merge":
                op = rows[present[0]].op
                assert isinstance(op, Merge)
                call = self.merge_call(op, args)
                out = self.merge_sym(op, [sym[s] for s in sources])
                value = call
                if conditional:
                    flag = _python_name(f"use_{entry.local}", self.attrs)
                    self.attrs.add(flag)
                    test = self.condition(entry, present, everyone)
                    init.append((0, f"self.{flag} = {test}", None))
                    value = IfElse(call, f"self.{flag}", Atom(args[0]))
            else:
                pairs = [(i, rows[i]) for i in present]
                made = self.make(entry, entry.args, pairs, sym[sources[0]], entry.local)
                out = made.sym
                call = Call(f"self.{entry.local}", tuple(Atom(a) for a in args))
                value = call
                if conditional:
                    init.append((0, f"self.{entry.local} = None", None))
                    init.append((0, f"if {self.condition(entry, present, everyone)}:", None))
                    init += _indented(made.before, 1)
                    init.append((1, f"self.{entry.local} = ", made.node))
                    value = IfElse(call, f"self.{entry.local} is not None", Atom(args[0]))
                else:
                    init += made.before
                    init.append((0, f"self.{entry.local} = ", made.node))
            shapes = [r.output_shape if r.kind != "skipped" else r.input_shape for r in rows]
            channels[entry.local] = [_channels(s) for s in shapes]
            found = self.check(out, channels[entry.local], everyone)
            if found is None and conditional:
                found = self.check(sym[sources[0]], channels[entry.local], everyone)
            sym[entry.local] = found
            name = self.vars_in[0] if chain else _python_name(entry.local, taken)
            taken.add(name)
            var[entry.local] = name
            forward.append((f"{name} = ", value, shapes, found))
        init += self.frozen()
        returned = list(self.output) if self.output else [last]
        forward.append(("return ", Atom(", ".join(var[r] for r in returned)), [], None))
        return self.check(sym[returned[0]], channels[returned[0]], everyone)

    def frozen(self) -> list[Stmt]:
        """``self.conv.requires_grad_(False)`` for each entry of the class that says
        ``trainable: false`` (the outermost), by its attribute path, the same in every use."""
        paths = []
        for inst in self.insts:
            owner = inst.row.name if inst.row is not None else None
            found = []
            for row in self.x.trace.rows:
                if row.kind == "skipped" or not self.x.frozen_entry(row):
                    continue
                above = self.x.enclosing(row)
                if above[-1:] != ([owner] if owner else []) and not (owner is None and not above):
                    continue  # in another class's code
                if any(
                    self.x.frozen_entry(self.x.trace.by_name[name])
                    for name in self.x.between(row, owner)
                ):
                    continue  # frozen with its container
                found.append(row.name[len(owner) + 1 :] if owner else row.name)
            paths.append(found)
        if any(p != paths[0] for p in paths):
            raise ExportError(
                f"{self.name}: the entries with trainable: false differ between its uses, "
                "which one class cannot write"
            )
        out: list[Stmt] = []
        for path in paths[0]:
            attr = "".join(
                f"[{part}]" if part.isdigit() else f".{part}" for part in path.split(".")
            )
            out.append((0, f"self{attr}.requires_grad_(False)", None))
        return out

    def is_chain(self, groups: list[list[list[Row]]]) -> bool:
        """One input, no merges, each entry reading the one above, the last returned."""
        if len(self.inputs) != 1:
            return False
        previous = self.inputs[0]
        for index, entry in enumerate(self.entries):
            kinds = {g[index][0].kind for g in groups}
            if "merge" in kinds:
                return False
            if entry.from_ is not None and list(entry.from_) != [previous]:
                return False
            if kinds != {"skipped"}:  # left out everywhere, it stands for the one above
                previous = entry.local
        return not self.output or list(self.output) == [previous]

    def merge_call(self, op: Merge, args: list[str]) -> Call:
        self.x.torch = True
        function = _MERGE_FUNCTIONS[op.function]
        kwargs = tuple((k, Atom(literal(v))) for k, v in op.function_kwargs().items())
        if op.takes_list:
            return Call(function, (Brackets("[", tuple(Atom(a) for a in args)),), kwargs)
        node = Call(function, (Atom(args[0]), Atom(args[1])), kwargs)
        for arg in args[2:]:  # torch.add takes two tensors: folded from the left, as built
            node = Call(function, (node, Atom(arg)), kwargs)
        return node

    def merge_sym(self, op: Merge, inputs: list[Sym | None]) -> Sym | None:
        if not op.takes_list:
            return inputs[0]
        # a concatenation along the channels adds them up
        if getattr(op, "dim", None) != 1 or any(s is None or s.dollar is None for s in inputs):
            return None
        return Sym(" + ".join(f"({s.dollar})" for s in inputs if s is not None))

    def shape_comment(self, shapes: Sequence[Shape], sym: Sym | None) -> str:
        if all(s == shapes[0] for s in shapes) or len({len(s) for s in shapes}) > 1:
            return shape_str(shapes[0])
        self.x.varying = True
        names = {p.name for p in self.params}
        rank = len(shapes[0])
        dims = []
        for d in range(rank):
            sizes = {s[d] for s in shapes}
            if len(sizes) == 1:
                dims.append(str(sizes.pop()))
            elif d == 1 and sym is not None and not sym.const and set(sym.names()) <= names:
                dims.append(sym.python({p.name: p.py for p in self.params}))
            elif d == 0:
                dims.append("N")
            elif d == 1:
                dims.append("F" if rank == 2 else "C")
            else:
                axes = AXES.get(rank - 2, ())
                dims.append(axes[d - 2] if d - 2 < len(axes) else f"S{d - 2}")
        return "[" + ", ".join(dims) + "]"

    # --- module expressions ----------------------------------------------------------------------------

    def make(
        self,
        entry: Entry,
        raw: Mapping[str, Any],
        at: list[tuple[int, Row]],
        in_sym: Sym | None,
        hint: str,
    ) -> _Made:
        """The expression creating ``entry``'s module, one row per use in ``at``."""
        kind = at[0][1].kind
        if kind == "layer":
            made = self.layer(entry, raw, at, in_sym, hint)
        elif kind == "block":
            made = self.block_call(entry, raw, at, in_sym, hint)
        elif kind == "sequential":
            made = self.sequential(entry, at, in_sym, hint)
        else:
            made = self.repeat(entry, at, in_sym, hint)
        return made

    def layer(
        self,
        entry: Entry,
        raw: Mapping[str, Any],
        at: list[tuple[int, Row]],
        in_sym: Sym | None,
        hint: str,
    ) -> _Made:
        cls = REGISTRY[entry.type]
        uses = [i for i, _ in at]
        given = [_op(row).constructor_args(row.inferred) for _, row in at]
        positional = True  # torch's required arguments, by position
        args: list[Node] = []
        kwargs: list[tuple[str, Node]] = []
        syms: dict[str, Sym] = {}
        for key in cls.arguments():
            info = cls.model_fields[key]
            values = [g.get(key) for g in given]
            if not (info.is_required() or key in cls.inferable):
                positional = False
                if all(_same(_norm(v), _norm(info.default)) for v in values):
                    continue  # torch's default
            candidates: list[Sym | None] = []
            if _has_expression(raw.get(key)):
                candidates.append(Sym(raw[key]))
            if key in cls.inferable:
                candidates.append(in_sym)
            collapse = key in cls.collapsible
            syms[key] = sym = self.slot(values, uses, candidates, f"{hint}_{key}", collapse)
            if positional:
                args.append(Atom(self.code(sym)))
            else:
                kwargs.append((key, Atom(self.code(sym))))
        out_channels = [_channels(row.output_shape) for _, row in at]
        out = next((syms[k] for k in ("out_channels", "out_features") if k in syms), None)
        out = self.check(out, out_channels, uses)
        if out is None and all(
            _channels(r.output_shape) == _channels(r.input_shape) for _, r in at
        ):
            out = self.check(in_sym, out_channels, uses)
        return _Made(Call(f"nn.{entry.type}", tuple(args), tuple(kwargs)), [], out)

    def block_call(
        self,
        entry: Entry,
        raw: Mapping[str, Any],
        at: list[tuple[int, Row]],
        in_sym: Sym | None,
        hint: str,
    ) -> _Made:
        inner = self.x.classes[entry.type]
        uses = [i for i, _ in at]
        args: list[Node] = []
        kwargs: list[tuple[str, Node]] = []
        given: dict[str, Sym] = {}
        for param in inner.params:
            values = [inner.by_row[row.name].env[param.name] for _, row in at]
            candidates: list[Sym | None] = []
            if param.name == "in_channels":
                candidates.append(in_sym)
            elif not param.extra and _has_expression(raw.get(param.name)):
                candidates.append(Sym(raw[param.name]))
            optional = param.default != REQUIRED
            if optional and all(_same(_norm(v), _norm(param.default)) for v in values):
                given[param.name] = Sym(param.default, const=True)
                continue
            given[param.name] = sym = self.slot(values, uses, candidates, f"{hint}_{param.name}")
            if optional:
                kwargs.append((param.py, Atom(self.code(sym))))
            else:
                args.append(Atom(self.code(sym)))
        out_channels = [_channels(row.output_shape) for _, row in at]
        out = self.check(_substitute(inner.out_sym, given), out_channels, uses)
        return _Made(Call(inner.name, tuple(args), tuple(kwargs)), [], out)

    def sequential(
        self, entry: Entry, at: list[tuple[int, Row]], in_sym: Sym | None, hint: str
    ) -> _Made:
        assert entry.layers is not None
        uses = [i for i, _ in at]
        groups = {i: self.x.group(row.name, entry.layers) for i, row in at}
        items: list[tuple[str | None, Node | None, _Made]] = []  # (condition, name, module)
        sym = in_sym
        current = {i: _channels(row.input_shape) for i, row in at}
        for index, child in enumerate(entry.layers):
            rows = {i: groups[i][index] for i in uses}
            present = [i for i in uses if rows[i][0].kind != "skipped"]
            if not present:
                continue
            cond = self.condition(child, present, uses) if len(present) < len(uses) else None
            counts = {len(rows[i]) for i in present}
            if len(counts) > 1:
                raise ExportError(
                    f"{child.path}: the uses of {self.name} splice different numbers of copies "
                    "of this repeat, which one class cannot write"
                )
            for k in range(counts.pop()):
                copy_raw = dict(child.args)
                if k == 0 and child.first:
                    copy_raw.update(child.first)
                pairs = [(i, rows[i][k]) for i in present]
                made = self.make(child, copy_raw, pairs, sym, f"{hint}_{child.local}")
                locals_ = {rows[i][k].local for i in present}
                name = Atom(literal(locals_.pop())) if len(locals_) == 1 else None
                items.append((cond, name, made))
                current.update({i: _channels(rows[i][k].output_shape) for i in present})
                after = [current[i] for i in uses]
                sym = self.check(made.sym, after, uses) or (
                    self.check(sym, after, uses) if cond else None
                )
        positional = all(_numbered(self.x.children.get(row.name, [])) for _, row in at)
        node, before = self.container(items, positional)
        return _Made(node, before, sym)

    def repeat(
        self, entry: Entry, at: list[tuple[int, Row]], in_sym: Sym | None, hint: str
    ) -> _Made:
        copies = {i: self.x.children[row.name] for i, row in at}
        counts = {len(c) for c in copies.values()}
        if len(counts) > 1:
            raise ExportError(
                f"{entry.path}: the uses of {self.name} repeat this entry different numbers of "
                "times, which one class cannot write"
            )
        items: list[tuple[str | None, Node | None, _Made]] = []
        sym = in_sym
        for k in range(counts.pop()):
            copy_raw = dict(entry.args)
            if k == 0 and entry.first:
                copy_raw.update(entry.first)
            pairs = [(i, copies[i][k]) for i, _ in at]
            made = self.make(entry, copy_raw, pairs, sym, f"{hint}_{k}")
            items.append((None, Atom(literal(pairs[0][1].local)), made))
            sym = made.sym
        positional = all(_numbered(c) for c in copies.values())
        node, before = self.container(items, positional)
        return _Made(node, before, sym)

    def container(
        self, items: list[tuple[str | None, Node | None, _Made]], positional: bool
    ) -> tuple[Call, list[Stmt]]:
        """``nn.Sequential(...)`` of the items; with conditional items, a list built first."""
        if not positional:
            self.x.ordered_dict = True
        if not any(cond for cond, _, _ in items):
            before = [stmt for _, _, made in items for stmt in made.before]
            if positional:
                modules = tuple(m.node for _, _, m in items)
                return Call("nn.Sequential", modules, explode=len(modules) > 1), before
            pairs = tuple(Brackets("(", (name or Atom('""'), m.node)) for _, name, m in items)
            named = Call("OrderedDict", (Brackets("[", pairs),))
            return Call("nn.Sequential", (named,)), before
        self.lists += 1
        var = "layers" if self.lists == 1 else f"layers{self.lists}"
        while var in {p.py for p in self.params}:
            var += "_"
        before = [(0, f"{var} = []", None)]
        for cond, name, made in items:
            inside = 1 if cond else 0
            if cond:
                before.append((0, f"if {cond}:", None))
            before += _indented(made.before, inside)
            value: Node = made.node
            if not positional:
                value = Brackets("(", (name or Atom(f"str(len({var}))"), made.node))
            before.append((inside, "", Call(f"{var}.append", (value,))))
        if positional:
            return Call("nn.Sequential", (Atom(f"*{var}"),)), before
        return Call("nn.Sequential", (Call("OrderedDict", (Atom(var),)),)), before


def _numbered(children: Sequence[Row]) -> bool:
    """True when a Sequential's children are named 0, 1, ... (nn.Sequential's own numbering)."""
    present = [c.local for c in children if c.kind != "skipped"]
    return present == [str(k) for k in range(len(present))]


def _op(row: Row) -> Op:
    assert row.op is not None
    return row.op


def _has_expression(value: Any) -> bool:
    from .spec.expr import has_expression

    return has_expression(value)


__all__ = ["ExportError", "Sym", "export_python"]
