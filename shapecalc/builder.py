"""Turn a spec into a torch module. torch is imported here, at the edge, never in the core.

Everything comes from the calculator's trace: inferred sizes (in_channels, in_features,
num_features), block instances, repeats, left-out entries. So the module needs no lazy layers and
no trial forward pass. ``type`` selects a torch.nn class from the closed registry in
``shapecalc.ops``; nothing in a spec is evaluated or imported.

=====================================  =========================================================
spec                                   built
=====================================  =========================================================
the file (a chain, default style)      ``nn.Sequential``, children ``0 … n−1``
the file (a graph, or ``class``)       a :class:`~shapecalc.built.SpecModule` named ``name``
a block use                            a SpecModule named as the block (``BasicBlock``)
a torch layer                          ``torch.nn.<type>(**arguments)``
``Sequential``, ``repeat: n``          ``nn.Sequential`` (children ``0 …``, or their names)
``Add`` / ``Multiply`` / ``Concat``    a ``torch.add`` / ``torch.mul`` / ``torch.cat`` node
``if:`` false                          nothing
``trainable: false``                   its parameters with ``requires_grad=False``
=====================================  =========================================================
"""

from __future__ import annotations

import inspect
from collections import OrderedDict
from typing import TYPE_CHECKING, Any, Literal, cast

from ._extras import require
from .errors import ShapecalcError
from .ops import REGISTRY, Merge, Op
from .spec import Spec
from .trace import Row, Trace, propagate

if TYPE_CHECKING:
    from torch import nn

    from .built import NodeSpec, SpecModule

Style = Literal["sequential", "class"]


class StyleError(ShapecalcError):
    """The spec cannot be built in the requested style (a graph as ``nn.Sequential``); ``path``
    is the spec entry that makes it a graph (``blocks.BasicBlock.layers[6]``)."""

    def __init__(self, message: str, path: str = "") -> None:
        super().__init__(message)
        self.path = path


def make_module(layer: Op, inferred: dict[str, int] | None = None, **factory: Any) -> nn.Module:
    """One torch.nn module for one layer model (``factory`` may hold device= and dtype=)."""
    torch = require("torch", "torch")
    if layer.type not in REGISTRY or layer.merge:  # pragma: no cover - registry layers only
        raise KeyError(layer.type)
    cls = getattr(torch.nn, layer.type)
    args = layer.constructor_args(inferred)
    if factory and "device" in inspect.signature(cls).parameters:
        args.update(factory)
    return cast("nn.Module", cls(**args))


def build(
    spec: Spec, style: Style | None = None, *, trace: Trace | None = None, device: Any = None
) -> nn.Module:
    """Build ``spec`` as an ``nn.Sequential`` or as an instance of a module class.

    ``style=None`` picks ``"sequential"`` for a chain and ``"class"`` for a graph. With
    ``"class"`` the module is a :class:`~shapecalc.built.SpecModule` named after ``spec.name``
    with one attribute per entry; blocks are SpecModules named after the block. The same spec
    gives the same class names on every build.

    Raises StyleError for ``style="sequential"`` on a graph (naming the first merge), ValueError
    for an unknown style, and what :func:`shapecalc.trace.propagate` raises for an invalid spec.
    """
    torch = require("torch", "torch")
    trace = trace if trace is not None else propagate(spec)
    if style is None:
        style = "class" if trace.is_graph else "sequential"
    if style not in ("sequential", "class"):
        raise ValueError(f"style must be 'sequential' or 'class', but got {style!r}")
    factory = {"device": device} if device is not None else {}
    if style == "sequential":
        if trace.is_graph:
            raise StyleError(*not_sequential(spec, trace))
        return cast(
            "nn.Module",
            torch.nn.Sequential(*(_leaf(row, factory) for row in trace.layers)),
        )
    return _Assembler(spec, trace, factory).top()


def not_sequential(spec: Spec, trace: Trace) -> tuple[str, str]:
    """Why a graph cannot be an nn.Sequential, and the spec path to blame: the first merge, else
    the first entry that does not read the one above, else the ``output:`` list."""
    merge = next((r for r in trace.layers if r.kind == "merge"), None)
    if merge is not None:
        what = f"{merge.type} '{merge.name}' ({merge.path}) merges {', '.join(merge.labels)}"
        path = merge.path
    else:
        what, path = f"it returns {', '.join(trace.outputs)}", "output"
        previous = "x"
        for row in trace.rows:
            if row.kind != "layer" or row.inputs != (previous,):
                reason = {
                    "layer": "reads " + ", ".join(row.labels),
                    "skipped": "is left out (if: false)",
                }.get(row.kind, "is a container")
                what, path = f"{row.type} '{row.name}' ({row.path}) {reason}", row.path
                break
            previous = row.name
    message = (
        f"{spec.name} is a graph, which nn.Sequential cannot express: {what}. "
        "Build it as a class (style 'class', the default for graphs)"
    )
    return message, path


def _leaf(row: Row, factory: dict[str, Any]) -> nn.Module:
    assert row.op is not None
    module = make_module(row.op, row.inferred, **factory)
    if not row.trainable:
        module.requires_grad_(False)
    return module


class _Assembler:
    """Builds the module tree from the trace's rows, one scope (the file, a block) at a time."""

    def __init__(self, spec: Spec, trace: Trace, factory: dict[str, Any]) -> None:
        self.spec = spec
        self.trace = trace
        self.factory = factory
        self.children: dict[str | None, list[Row]] = {}
        for row in trace.rows:
            self.children.setdefault(row.parent, []).append(row)

    def top(self) -> SpecModule:
        outputs = self.trace.outputs or (self.trace.layers[-1].name,)
        return self.graph_module(self.spec.name, None, ("x",), ("x",), outputs)

    def module(self, row: Row) -> nn.Module:
        if row.is_leaf:
            return _leaf(row, self.factory)
        if row.kind in ("sequential", "repeat"):
            from torch import nn

            inside = self.children.get(row.name, ())
            return nn.Sequential(
                OrderedDict((c.local, self.module(c)) for c in inside if c.kind != "skipped")
            )
        block = self.spec.blocks[row.type]
        return self.graph_module(row.type, row.name, block.inputs, row.inputs, (row.returns,))

    def graph_module(
        self,
        class_name: str,
        scope: str | None,
        input_names: tuple[str, ...],
        sources: tuple[str, ...],
        outputs: tuple[str, ...],
    ) -> SpecModule:
        """A SpecModule for one scope: placeholders for its inputs, a node per entry."""
        from .built import NodeSpec, Ref, restore

        nodes: list[NodeSpec] = []
        env: dict[str, Ref] = {}  # a row's (or an outer name's) output → the node that has it
        for name, source in zip(input_names, sources, strict=True):
            nodes.append(NodeSpec("placeholder", name, name))
            env.setdefault(source, Ref(name))
        modules: dict[str, nn.Module] = {}
        rows = self.children.get(scope, ())
        taken = {*input_names, *(row.local for row in rows)}  # node names, unique per graph
        for row in rows:
            if row.kind == "skipped":  # its name already stands for its input in row.inputs
                continue
            args = tuple(env[source] for source in row.inputs)
            if row.kind == "merge":
                node = self.merge(nodes, row, args, taken)
            else:
                modules[row.local] = self.module(row)
                nodes.append(NodeSpec("call_module", row.local, row.local, args, {}, row.local))
                node = Ref(row.local)
            env[row.name] = node
            if row.returns:  # a container's output is the row it returns
                env.setdefault(row.returns, node)
        returned = tuple(env[name] for name in outputs)
        result = returned[0] if len(returned) == 1 else returned
        nodes.append(NodeSpec("output", "output", "output", (result,)))
        return restore(class_name, modules, tuple(nodes), True)

    def merge(self, nodes: list[NodeSpec], row: Row, args: tuple[Any, ...], taken: set[str]) -> Any:
        from .built import NodeSpec, Ref

        op = cast(Merge, row.op)
        kwargs = op.function_kwargs()
        if op.takes_list:
            nodes.append(
                NodeSpec("call_function", row.local, op.function, (list(args),), kwargs, row.local)
            )
            return Ref(row.local)
        # torch.add and torch.mul take two tensors: fold left, the last node carries the name
        acc = args[0]
        for i, arg in enumerate(args[1:], start=1):
            last = i == len(args) - 1
            name = row.local
            if not last:  # a partial sum: a name no entry of the scope has
                name = f"{row.local}_{i}"
                while name in taken:
                    name += "_"
                taken.add(name)
            nodes.append(
                NodeSpec(
                    "call_function",
                    name,
                    op.function,
                    (acc, arg),
                    kwargs,
                    row.local if last else None,
                )
            )
            acc = Ref(name)
        return acc


__all__ = ["Style", "StyleError", "build", "make_module", "not_sequential"]
