"""Compiling a spec (pass 2): instantiate blocks, unroll repeats, evaluate expressions, run shapes.

One walk over the entries in file order does it all, because a block's ``$in_channels`` is the
channel count of its input, known only once the nodes before it have run. The result is a
:class:`~shapecalc.trace.Trace`: one row per node, in file order, linear in nodes + edges.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any, NamedTuple

from pydantic import ValidationError

from ..errors import CompileError, LayerError, ShapeError
from ..ops import REGISTRY, Op, Shape, shape_str
from ..trace import CONTAINER_KINDS, Row, Trace, Use
from .expr import ExprError, has_expression, resolve
from .model import REQUIRED, SEQUENTIAL, Entry, Spec
from .structure import join, pydantic_problems


class _Ref(NamedTuple):
    """An output a name stands for: the row that made it (or a graph input), its shape."""

    name: str
    shape: Shape
    label: str  # how the scope names it


# nodes one spec may expand to (a plain 100,000-layer spec is one node a layer)
MAX_NODES = 200_000


class _Compiler:
    def __init__(self, spec: Spec, input_shape: Shape) -> None:
        self.spec = spec
        self.input_shape = input_shape
        self.rows: list[Row] = []

    # --- the walk ----------------------------------------------------------------------------------

    def run(self) -> Trace:
        refs = {"x": _Ref("x", self.input_shape, "x")}
        env = dict(self.spec.params)
        refs, last = self.scope(self.spec.layers, refs, env, "", None, 1, (), False)
        names = self.spec.output or ()
        outputs = tuple(refs[n].name for n in names) if names else (last.name,)
        trace = Trace(self.spec.name, self.input_shape, tuple(self.rows), outputs)
        return replace(trace, warnings=tuple(_hazards(trace)))

    def scope(
        self,
        entries: tuple[Entry, ...],
        refs: dict[str, _Ref],
        env: dict[str, Any],
        prefix: str,
        parent: str | None,
        depth: int,
        chain: tuple[Use, ...],
        positional: bool,
    ) -> tuple[dict[str, _Ref], _Ref]:
        """Run one list of entries; returns the names it defined and its last output."""
        refs = dict(refs)
        last = next(iter(refs.values()))
        counter = [0]  # children of a Sequential are numbered as present
        for entry in entries:
            inputs = [refs[n] for n in entry.from_] if entry.from_ else [last]
            if entry.if_ is not None and not self.condition(entry, env, chain):
                label = entry.name or f"[{entry.path.rsplit('[', 1)[-1]}"
                name = prefix + (entry.local if not positional or entry.name else label)
                self.add(
                    Row(
                        index=len(self.rows),
                        name=name,
                        type=entry.type,
                        input_shape=inputs[0].shape,
                        output_shape=inputs[0].shape,
                        params=0,
                        macs=0,
                        formulas=(f"skipped: stands for {inputs[0].label}",),
                        kind="skipped",
                        inputs=(inputs[0].name,),
                        labels=(inputs[0].label,),
                        input_shapes=(inputs[0].shape,),
                        parent=parent,
                        depth=depth,
                        path=entry.path,
                        chain=chain,
                        local=name[len(prefix) :],
                    )
                )
                refs[entry.local] = inputs[0]
                last = inputs[0]
                continue
            count = self.count(entry, env, chain)
            if count is None:
                local = self.local(entry, positional, counter)
                out = self.instance(
                    entry, entry.args, inputs, prefix, local, parent, depth, chain, env, True
                )
            elif entry.splice:
                out = self.copies(entry, count, inputs, prefix, parent, depth, chain, env, counter)
            else:
                local = self.local(entry, positional, counter)
                name = prefix + local
                start = self.reserve()
                out = self.copies(
                    entry, count, inputs, name + ".", name, depth + 1, chain, env, None
                )
                self.close(
                    start,
                    "repeat",
                    SEQUENTIAL,
                    name,
                    local,
                    parent,
                    depth,
                    entry,
                    chain,
                    inputs,
                    out,
                    (f"{count} × {entry.type}",),
                )
            refs[entry.local] = _Ref(out.name, out.shape, entry.local)
            last = refs[entry.local]
        return refs, last

    def local(self, entry: Entry, positional: bool, counter: list[int]) -> str:
        if not positional:
            return entry.local
        counter[0] += 1
        return entry.name or str(counter[0] - 1)

    def copies(
        self,
        entry: Entry,
        count: int,
        inputs: list[_Ref],
        prefix: str,
        parent: str | None,
        depth: int,
        chain: tuple[Use, ...],
        env: dict[str, Any],
        counter: list[int] | None,
    ) -> _Ref:
        out = inputs[0]
        for k in range(count):
            if len(self.rows) >= MAX_NODES:  # repeats nested in repeats multiply
                path = join(entry.path, "repeat")
                raise CompileError(
                    [
                        (
                            path,
                            f"{path}: the spec expands to more than {MAX_NODES:,} nodes here, at "
                            f"copy {k + 1} of {count} (repeats inside repeats multiply); shapecalc "
                            "stops there. Use smaller repeat counts",
                        )
                    ],
                    chain,
                    None,  # no partial table of 200,000 rows
                    _top_index(entry, chain),
                )
            args = dict(entry.args)
            if k == 0 and entry.first:
                args.update(entry.first)
            if counter is not None:  # spliced into the enclosing Sequential
                local = str(counter[0])
                counter[0] += 1
            elif entry.repeat_name:
                local = entry.repeat_name.format(n=k + 1, i=k)
            else:
                local = str(k)
            cached = not (k == 0 and entry.first)
            x = inputs if k == 0 else [out]
            out = self.instance(entry, args, x, prefix, local, parent, depth, chain, env, cached)
        return out

    def instance(
        self,
        entry: Entry,
        args: Mapping[str, Any],
        inputs: list[_Ref],
        prefix: str,
        local: str,
        parent: str | None,
        depth: int,
        chain: tuple[Use, ...],
        env: dict[str, Any],
        cached: bool,
    ) -> _Ref:
        """One node, or one container and everything in it; returns its output."""
        name = prefix + local
        if entry.type in REGISTRY:
            op = (
                entry.op
                if cached and entry.op is not None
                else self.validate(entry, args, env, chain)
            )
            return self.node(entry, op, inputs, name, local, parent, depth, chain)
        start = self.reserve()
        if entry.type == SEQUENTIAL:
            assert entry.layers is not None
            inner = {"x": inputs[0]}
            _, out = self.scope(entry.layers, inner, env, name + ".", name, depth + 1, chain, True)
            self.close(
                start,
                "sequential",
                SEQUENTIAL,
                name,
                local,
                parent,
                depth,
                entry,
                chain,
                inputs,
                out,
                ("",),
            )
            return _Ref(out.name, out.shape, local)
        block = self.spec.blocks[entry.type]
        given = self.resolve(entry, args, env, chain)
        values = {k: v for k, v in block.params.items() if v != REQUIRED}
        values.update(given)
        first = inputs[0].shape
        values["in_channels"] = first[1] if len(first) > 1 else first[0]
        use = Use(name, block.name, tuple(given.items()), entry.path)
        inner = {n: _Ref(r.name, r.shape, n) for n, r in zip(block.inputs, inputs, strict=True)}
        refs, last = self.scope(
            block.layers, inner, values, name + ".", name, depth + 1, (*chain, use), False
        )
        out = refs[block.output] if block.output else last
        signature = f"{block.name}(" + ", ".join(f"{k}={v}" for k, v in given.items()) + ")"
        self.close(
            start,
            "block",
            block.name,
            name,
            local,
            parent,
            depth,
            entry,
            chain,
            inputs,
            out,
            (signature,),
        )
        return _Ref(out.name, out.shape, local)

    def node(
        self,
        entry: Entry,
        op: Op,
        inputs: list[_Ref],
        name: str,
        local: str,
        parent: str | None,
        depth: int,
        chain: tuple[Use, ...],
    ) -> _Ref:
        shapes = tuple(r.shape for r in inputs)
        labels = tuple(r.label for r in inputs)
        try:
            outcome = op.infer_all(shapes, labels)
        except LayerError as exc:
            raise self.shape_error(exc, entry, op, name, inputs, chain) from None
        formulas = tuple(d.text for d in outcome.dims) or (outcome.formula,)
        self.add(
            Row(
                index=len(self.rows),
                name=name,
                type=entry.type,
                input_shape=shapes[0],
                output_shape=outcome.output,
                params=outcome.params,
                macs=op.mult_adds(shapes, outcome),
                formulas=formulas,
                notes=outcome.notes,
                inferred=outcome.inferred,
                kind="merge" if op.merge else "layer",
                op=op,
                inputs=tuple(r.name for r in inputs),
                labels=labels,
                input_shapes=shapes,
                parent=parent,
                depth=depth,
                path=entry.path,
                chain=chain,
                local=local,
                trainable=entry.trainable,
            )
        )
        return _Ref(name, outcome.output, local)

    # --- rows --------------------------------------------------------------------------------------

    def add(self, row: Row) -> None:
        self.rows.append(row)

    def reserve(self) -> int:
        """A place for a container's row, filled in once its contents have run."""
        self.rows.append(None)  # type: ignore[arg-type]
        return len(self.rows) - 1

    def close(
        self,
        start: int,
        kind: str,
        type_: str,
        name: str,
        local: str,
        parent: str | None,
        depth: int,
        entry: Entry,
        chain: tuple[Use, ...],
        inputs: list[_Ref],
        out: _Ref,
        formulas: tuple[str, ...],
    ) -> None:
        inside = [r for r in self.rows[start + 1 :] if r.is_leaf]
        self.rows[start] = Row(
            index=start,
            name=name,
            type=type_,
            input_shape=inputs[0].shape,
            output_shape=out.shape,
            params=sum(r.params for r in inside),
            macs=sum(r.macs for r in inside),
            formulas=formulas,
            kind=kind,
            inputs=tuple(r.name for r in inputs),
            labels=tuple(r.label for r in inputs),
            input_shapes=tuple(r.shape for r in inputs),
            parent=parent,
            depth=depth,
            path=entry.path,
            chain=chain,
            local=local,
            trainable=entry.trainable,
            returns=out.name,
        )
        if not entry.trainable:  # freezing a container freezes everything in it
            for i in range(start + 1, len(self.rows)):
                if self.rows[i].is_leaf:
                    self.rows[i] = replace(self.rows[i], trainable=False)

    def partial(self) -> Trace:
        """The rows that worked out, for an error: containers still open are left out."""
        done = tuple(r for r in self.rows if r is not None)
        return Trace(self.spec.name, self.input_shape, done)

    # --- expressions and arguments -----------------------------------------------------------------

    def fail(
        self, problems: list[tuple[str, str]], entry: Entry, chain: tuple[Use, ...]
    ) -> CompileError:
        return CompileError(problems, chain, self.partial(), _top_index(entry, chain))

    def evaluate(
        self, entry: Entry, key: str, value: Any, env: dict[str, Any], chain: tuple[Use, ...]
    ) -> Any:
        try:
            return resolve(value, env)
        except ExprError as exc:
            raise self.fail(
                [(join(entry.path, key), f"{join(entry.path, key)}: {exc}")], entry, chain
            ) from None

    def condition(self, entry: Entry, env: dict[str, Any], chain: tuple[Use, ...]) -> bool:
        value = self.evaluate(entry, "if", entry.if_, env, chain)
        if not isinstance(value, bool):
            path = join(entry.path, "if")
            raise self.fail(
                [(path, f"{path} must be true or false, but {entry.if_!r} is {value!r}")],
                entry,
                chain,
            )
        return value

    def count(self, entry: Entry, env: dict[str, Any], chain: tuple[Use, ...]) -> int | None:
        if entry.repeat is None:
            return None
        value = self.evaluate(entry, "repeat", entry.repeat, env, chain)
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 100_000:
            path = join(entry.path, "repeat")
            raise self.fail(
                [
                    (
                        path,
                        f"{path} must be a positive integer (at most 100000), but "
                        + (
                            f"got {value!r}"
                            if value == entry.repeat
                            else f"{entry.repeat!r} is {value!r}"
                        ),
                    )
                ],
                entry,
                chain,
            )
        return value

    def resolve(
        self, entry: Entry, args: Mapping[str, Any], env: dict[str, Any], chain: tuple[Use, ...]
    ) -> dict[str, Any]:
        out = {}
        for key, value in args.items():
            where = key if key in entry.args or not entry.first else f"first.{key}"
            out[key] = (
                self.evaluate(entry, where, value, env, chain) if has_expression(value) else value
            )
        return out

    def validate(
        self, entry: Entry, args: Mapping[str, Any], env: dict[str, Any], chain: tuple[Use, ...]
    ) -> Op:
        resolved = self.resolve(entry, args, env, chain)
        cls = REGISTRY[entry.type]
        try:
            return cls.model_validate({**resolved, "type": entry.type})
        except ValidationError as exc:
            label = f" ({entry.type} '{entry.local}')"
            problems = pydantic_problems(exc, entry.path, label, cls.arguments())
            shown = [
                (p.path, _with_values(p.message, args, resolved, p.path, entry.path))
                for p in problems
            ]
            raise self.fail(shown, entry, chain) from None

    # --- errors ------------------------------------------------------------------------------------

    def shape_error(
        self,
        cause: LayerError,
        entry: Entry,
        op: Op,
        name: str,
        inputs: list[_Ref],
        chain: tuple[Use, ...],
    ) -> ShapeError:
        producer = next(
            (r for r in reversed(self.rows) if r is not None and r.name == inputs[0].name), None
        )
        if producer is None:
            where = "the net's input" if not chain else f"the block's input {inputs[0].label}"
            after = f"from {where}"
        else:
            after = f"from {producer.path} {producer.type} '{producer.name}'"
        details: tuple[str, ...] = ()
        # the inputs' paths explain a disagreement between their shapes, not a bad argument
        disagree = cause.field in (None, "from") and len({r.shape for r in inputs}) > 1
        if op.merge and disagree:
            from .explain import explain_merge

            details = explain_merge(
                self.partial(), [r.name for r in inputs], [r.label for r in inputs], op
            )
        return ShapeError(
            cause,
            index=_top_index(entry, chain),
            layer_name=name,
            layer_type=entry.type,
            input_shape=inputs[0].shape,
            after=after,
            trace=self.partial(),
            path=entry.path,
            chain=chain,
            details=details,
            show_input=not op.merge,
        )


def _top_index(entry: Entry, chain: tuple[Use, ...]) -> int | None:
    """The top-level entry a node is, or is inside of."""
    if chain:
        path = chain[0].path
        return int(path[len("layers[") : path.index("]")]) if path.startswith("layers[") else None
    return entry.index


def _with_values(
    message: str, args: Mapping[str, Any], resolved: Mapping[str, Any], path: str, entry: str
) -> str:
    """Say which expression computed a refused value."""
    key = path[len(entry) + 1 :].split(".")[0].split("[")[0] if path.startswith(entry + ".") else ""
    raw = args.get(key)
    if key and has_expression(raw):
        return f"{message} (computed from {raw!r} = {resolved.get(key)!r})"
    return message


def _hazards(trace: Trace) -> list[tuple[str, str]]:
    """What the graph shows that torch would not complain about: in-place overwrites of a tensor
    another node reads later, and outputs computed but never read."""
    readers: dict[str, list[Row]] = {}
    for row in trace.layers:
        for source in row.inputs:
            readers.setdefault(source, []).append(row)
    found: list[tuple[str, str]] = []
    for row in trace.layers:
        if row.op is not None and getattr(row.op, "inplace", False) and row.inputs:
            source = row.inputs[0]
            later = [r for r in readers.get(source, ()) if r.index > row.index]
            if later or source in trace.outputs:
                who = ", ".join(f"'{r.name}'" for r in later[:3]) or "the network's output"
                found.append(
                    (
                        join(row.path, "inplace"),
                        f"{row.type} '{row.name}' (inplace: true) overwrites the output of "
                        f"'{source}', which {who} reads afterwards; torch then computes wrong "
                        "values without an error. Set inplace: false",
                    )
                )
    for row in trace.layers:
        if row.name not in readers and row.name not in trace.outputs:
            found.append(
                (
                    row.path,
                    f"the output of {row.type} '{row.name}' {shape_str(row.output_shape)} is "
                    "computed but never read; add it to a merge or remove it",
                )
            )
    return found


def compile_spec(spec: Spec, input_shape: Shape | None = None) -> Trace:
    """The trace of ``spec`` on ``input_shape`` (default ``(batch, *input)``); see propagate()."""
    shape = tuple(input_shape) if input_shape is not None else spec.input_shape
    return _Compiler(spec, shape).run()


__all__ = ["CONTAINER_KINDS", "compile_spec"]
