"""Read an existing ``nn.Module`` back as a spec: the inverse of :mod:`shapecalc.builder`.

``import_model(model, input_shape)`` traces the model with torch.fx, one module at a time (every
submodule a leaf, so each class's own ``forward`` is read as written), and writes the spec that
builds the same module:

=====================================  =========================================================
model                                  spec
=====================================  =========================================================
a torch.nn layer shapecalc knows       an entry with the layer's arguments, read back from its
                                       attributes (defaults and inferred sizes left out)
``nn.Sequential`` (or a subclass       a ``Sequential`` entry; a run of copies of one block
that keeps its ``forward``)            becomes ``repeat: n`` (with ``first:`` for copy 0)
a module class of the user's           a block named after the class, one per structure: what
                                       its uses differ in becomes the block's parameters
``+`` / ``torch.add`` / ``+=``         an ``Add``; ``*`` / ``torch.mul`` a ``Multiply``;
                                       ``torch.cat`` a ``Concat``
``F.relu``, ``torch.flatten``,         the layer they are the functional form of (``ReLU``,
``F.max_pool2d``, ``x.view(n, -1)``…   ``Flatten``, ``MaxPool2d``, ``Flatten``…)
=====================================  =========================================================

Anything else (another torch function, a parameter used directly, a layer type shapecalc does
not know, a layer called twice with its weights shared) is an :class:`ImportError_` naming it and
its place in the model's code (``model.py:42``). The spec is checked before it is returned: it
loads, its shapes propagate, and every size it leaves to inference equals the model's.

This runs the user's code (the model's module, its constructor, its ``forward`` on the meta
device) on purpose; a spec never does. torch is imported here, at the edge.
"""

from __future__ import annotations

import collections
import importlib
import importlib.util
import operator
import re
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from .errors import ShapecalcError
from .names import RESERVED_NAMES
from .ops import REGISTRY
from .spec.model import SEQUENTIAL

if TYPE_CHECKING:
    from torch import fx, nn


class ImportError_(ShapecalcError):
    """The model cannot be loaded, traced or written as a spec; the message names the module or
    function and where it is in the model's code."""


# --- loading the user's model ------------------------------------------------------------------------


def load_target(target: str) -> Any:
    """The object ``package.module:attr`` or ``path/to/file.py:attr`` names, called with no
    arguments when it is a class or a function (an ``nn.Module`` instance is taken as it is).

    This imports and runs the user's code. Raises ImportError_ with the failure in one line.
    """
    import torch

    module_part, attr = split_target(target)
    try:
        if module_part.endswith(".py") or "/" in module_part or "\\" in module_part:
            module = _load_file(Path(module_part))
        else:
            module = importlib.import_module(module_part)
    except ImportError_:
        raise
    except BaseException as exc:  # the user's code may raise anything, SystemExit included
        raise ImportError_(f"importing {module_part} failed: {_one_line(exc)}") from None
    obj: Any = module
    for part in attr.split("."):
        if not hasattr(obj, part):
            known = [n for n in dir(obj) if not n.startswith("_")]
            from .names import did_you_mean

            raise ImportError_(
                f"{module_part} has no attribute {part!r}{did_you_mean(part, known)}"
            )
        obj = getattr(obj, part)
    if isinstance(obj, torch.nn.Module):
        return obj
    if not callable(obj):
        raise ImportError_(f"{target} is a {type(obj).__name__}, not a model class or factory")
    try:
        model = obj()
    except BaseException as exc:
        raise ImportError_(f"calling {target}() failed: {_one_line(exc)}") from None
    if not isinstance(model, torch.nn.Module):
        raise ImportError_(f"{target}() returned a {type(model).__name__}, not an nn.Module")
    return model


class TargetError(ImportError_):
    """The target is not written as ``MODULE:ATTR`` (a usage error: nothing was imported)."""


def split_target(target: str) -> tuple[str, str]:
    """``("package.module", "attr")`` from ``package.module:attr``; raises TargetError when
    either part is missing."""
    module_part, sep, attr = target.rpartition(":")
    if not sep or not module_part or not attr:
        raise TargetError(
            f"{target!r} names no model: write MODULE:ATTR, e.g. mypackage.models:resnet18 or "
            "path/to/model.py:Net"
        )
    return module_part, attr


def _load_file(path: Path) -> Any:
    if not path.is_file():
        raise ImportError_(f"{path}: no such file")
    name = re.sub(r"\W", "_", path.stem) or "model"
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:  # pragma: no cover - a .py file always has one
        raise ImportError_(f"{path}: cannot be imported as a Python module")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    sys.path.insert(0, str(path.resolve().parent))  # its sibling modules, as `python file.py`
    try:
        spec.loader.exec_module(module)
    finally:
        sys.path.remove(str(path.resolve().parent))
    return module


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__


# --- what a module's forward is made of --------------------------------------------------------------


@dataclass
class Node:
    """One entry of a scope, read from one module instance."""

    name: str
    type: str  # a registry type, a merge, "Sequential", or a block class key
    args: dict[str, Any] = field(default_factory=dict)
    inputs: list[str] = field(default_factory=list)
    path: str = ""  # the module's path in the model (for messages and checks)
    children: list[Node] | None = None  # a Sequential's
    block: Scope | None = None  # a block use's body
    inferred: dict[str, Any] = field(default_factory=dict)  # in_channels... as the model has them
    template: list[str] | None = None  # the inputs its entry names, where uses leave some out


@dataclass
class Scope:
    """The body of one module instance: its inputs, nodes in order, the names it returns."""

    cls: tuple[str, str]  # (module, class name)
    class_name: str
    inputs: list[str]
    nodes: list[Node]
    outputs: list[str]
    input_channels: int
    path: str
    template_outputs: list[str] | None = None  # what its block returns, where uses leave some out
    output_channels: int = 0


def _where(node: fx.Node) -> str:
    """``model.py:42: x = torch.matmul(a, b)``: the first frame of the node's stack trace."""
    trace = node.stack_trace or ""
    found = re.search(r'File "([^"]+)", line (\d+), in (\w+)\n\s*(.*)', trace)
    if not found:
        return ""
    file, line, _, code = found.groups()
    return f"{Path(file).name}:{line}: {code.strip()}"


def _described(what: str, node: fx.Node | None, owner: str) -> str:
    place = _where(node) if node is not None else ""
    inside = f" in {owner}.forward" if owner else ""
    return f"{what}{inside}" + (f" ({place})" if place else "")


# functional forms: function or method name → (layer type, its arguments in order after the tensor)
_ACTIVATIONS: dict[str, tuple[str, tuple[str, ...]]] = {
    "relu": ("ReLU", ("inplace",)),
    "relu_": ("ReLU", ()),
    "relu6": ("ReLU6", ("inplace",)),
    "sigmoid": ("Sigmoid", ()),
    "tanh": ("Tanh", ()),
    "gelu": ("GELU", ("approximate",)),
    "silu": ("SiLU", ("inplace",)),
    "mish": ("Mish", ("inplace",)),
    "hardswish": ("Hardswish", ("inplace",)),
    "hardsigmoid": ("Hardsigmoid", ("inplace",)),
    "leaky_relu": ("LeakyReLU", ("negative_slope", "inplace")),
    "elu": ("ELU", ("alpha", "inplace")),
    "softmax": ("Softmax", ("dim",)),
    "log_softmax": ("LogSoftmax", ("dim",)),
    "dropout": ("Dropout", ("p", "training", "inplace")),
    "dropout2d": ("Dropout2d", ("p", "training", "inplace")),
}
for _n in (1, 2, 3):
    _ACTIVATIONS[f"max_pool{_n}d"] = (
        f"MaxPool{_n}d",
        ("kernel_size", "stride", "padding", "dilation", "ceil_mode", "return_indices"),
    )
    _ACTIVATIONS[f"avg_pool{_n}d"] = (
        f"AvgPool{_n}d",
        ("kernel_size", "stride", "padding", "ceil_mode", "count_include_pad", "divisor_override"),
    )
    _ACTIVATIONS[f"adaptive_avg_pool{_n}d"] = (f"AdaptiveAvgPool{_n}d", ("output_size",))
    _ACTIVATIONS[f"adaptive_max_pool{_n}d"] = (
        f"AdaptiveMaxPool{_n}d",
        ("output_size", "return_indices"),
    )
_ACTIVATIONS["interpolate"] = (
    "Upsample",
    ("size", "scale_factor", "mode", "align_corners", "recompute_scale_factor"),
)
_MERGES = {"add": "Add", "iadd": "Add", "add_": "Add", "__add__": "Add", "__iadd__": "Add"}
_MERGES.update({k.replace("add", "mul"): "Multiply" for k in list(_MERGES)})


def _function_name(node: fx.Node) -> str:
    target = node.target
    if node.op == "call_method":
        return str(target)
    name = getattr(target, "__name__", str(target))
    return name


def _shown(node: fx.Node) -> str:
    """How the model's code names a function: ``torch.matmul``, ``F.pad``, ``Tensor.view``."""
    if node.op == "call_method":
        return f"Tensor.{node.target}"
    target = node.target
    module = getattr(target, "__module__", None) or ""
    name = getattr(target, "__name__", str(target))
    if module == "_operator":
        return f"operator.{name}"
    if module.startswith("torch.nn.functional"):
        return f"torch.nn.functional.{name}"
    if module.startswith("torch") or module == "":
        return f"torch.{name}"
    return f"{module}.{name}"


class _Reader:
    """Reads the model into scopes, module by module."""

    def __init__(self, model: nn.Module, input_shape: tuple[int, ...]) -> None:
        self.model = model
        self.input_shape = input_shape
        self.dropout_in_training: dict[fx.Node, Any] = {}  # see training_values

    def trace(self, module: nn.Module, path: str, owner: str) -> tuple[fx.GraphModule, fx.Graph]:
        import torch
        from torch import fx

        class Tracer(fx.Tracer):
            def __init__(self) -> None:
                super().__init__()
                self.record_stack_traces = True

            def is_leaf_module(self, m: torch.nn.Module, qualname: str) -> bool:
                return True  # one module's own forward at a time

        try:
            graph = Tracer().trace(module)
        except Exception as exc:  # fx raises many kinds: TraceError, TypeError, ...
            raise ImportError_(
                f"cannot trace {owner}.forward{_at(path)} with torch.fx: {_one_line(exc)}"
            ) from None
        return fx.GraphModule(module, graph), graph

    def scope(self, module: nn.Module, path: str, inputs: Sequence[Any]) -> Scope:
        """The body of ``module`` run on ``inputs`` (meta tensors)."""
        owner = type(module).__name__
        gm, graph = self.trace(module, path, owner)
        for n in graph.nodes:  # what has no entry is said before anything runs
            self.precheck(n, owner)
        self.dropout_in_training.update(self.training_values(module, path, owner, graph))
        _run_shapes(gm, inputs, owner, path)
        names: dict[fx.Node, str] = {}
        placeholders = [n for n in graph.nodes if n.op == "placeholder"]
        if len(placeholders) != len(inputs):
            raise ImportError_(
                f"{owner}.forward{_at(path)} takes {len(placeholders)} inputs but is called with "
                f"{len(inputs)}"
            )
        for n in placeholders:
            names[n] = _safe(n.name, set())
        taken = {*names.values(), *(name for name, _ in module.named_children())}
        nodes: list[Node] = []
        called: collections.Counter[str] = collections.Counter()
        outputs: list[str] = []
        shape_only = self.shape_only(graph)
        for n in graph.nodes:
            if n.op == "placeholder" or n in shape_only:
                continue
            if n.op == "output":
                result = n.args[0]
                items = result if isinstance(result, (tuple, list)) else [result]
                for item in items:
                    if not hasattr(item, "op"):
                        raise ImportError_(
                            _described(f"{owner}.forward returns {item!r}, not a tensor", n, "")
                        )
                    outputs.append(names[item])
                continue
            if n.op == "get_attr":
                raise ImportError_(
                    _described(
                        f"the tensor {n.target!r} is used directly (a parameter or buffer outside "
                        "a layer), which a spec cannot express",
                        n,
                        owner,
                    )
                )
            tensors = [
                a for a in _flat(n.args) + _flat(list(n.kwargs.values())) if hasattr(a, "op")
            ]
            flattening = _function_name(n) in ("view", "reshape")
            for t in tensors:
                if t in shape_only and not flattening:
                    raise ImportError_(
                        _described(f"{_shown(n)} computes with a tensor's size", n, owner)
                    )
            if n.op == "call_module":
                node = self.call_module(module, n, path, owner, names, called, taken)
            else:
                node = self.call_function(n, owner, names, taken)
            names[n] = node.name
            taken.add(node.name)
            nodes.append(node)
        _check_all_used(module, path, owner, called)
        first = inputs[0].shape
        channels = int(first[1]) if len(first) > 1 else int(first[0])
        key = (type(module).__module__, type(module).__name__)
        scope = Scope(key, owner, [names[p] for p in placeholders], nodes, outputs, channels, path)
        result = next(n for n in graph.nodes if n.op == "output").args[0]
        shape = getattr(result, "meta", {}).get("shape")
        if shape is not None:
            scope.output_channels = int(shape[1]) if len(shape) > 1 else int(shape[0])
        return scope

    def precheck(self, n: fx.Node, owner: str) -> None:
        """Refuse a parameter used directly, or a function no entry stands for."""
        if n.op == "get_attr":
            raise ImportError_(
                _described(
                    f"the tensor {n.target!r} is used directly (a parameter or buffer outside "
                    "a layer), which a spec cannot express",
                    n,
                    owner,
                )
            )
        if n.op not in ("call_function", "call_method") or not _is_torch_op(n):
            if n.op in ("call_function", "call_method"):
                raise ImportError_(_described(f"{_shown(n)} has no spec entry", n, owner))
            return
        name = _function_name(n)
        known = (
            name in _MERGES
            or name in _ACTIVATIONS
            or name in ("cat", "concat", "concatenate", "flatten", "view", "reshape")
            or name in ("size", "dim", "getattr", "getitem", "floordiv", "sub", "neg")
        )
        if not known:
            raise ImportError_(_described(f"{_shown(n)} has no spec entry", n, owner))

    def training_values(
        self, module: nn.Module, path: str, owner: str, graph: fx.Graph
    ) -> dict[fx.Node, Any]:
        """The ``training`` argument each functional dropout gets when ``module`` is in training
        mode (the model is traced in eval mode): ``training=self.training`` is recorded as a
        constant, so it is told from a fixed one by tracing once more in training mode."""
        drops = [n for n in graph.nodes if _dropout_name(n)]
        if not drops:
            return {}
        module.train()
        try:
            _, again = self.trace(module, path, owner)
        finally:
            module.eval()
        twins = [n for n in again.nodes if _dropout_name(n)]
        if len(twins) != len(drops):  # forward branches on self.training: eval mode alone
            return {}
        return {n: _dropout_training(t) for n, t in zip(drops, twins, strict=True)}

    def shape_only(self, graph: fx.Graph) -> set[fx.Node]:
        """Nodes that compute no tensor and only feed the sizes of a view or reshape
        (``x.size(0)`` in ``x.view(x.size(0), -1)``)."""
        out: set[fx.Node] = set()
        for n in reversed(graph.nodes):
            if n.op not in ("call_method", "call_function") or "shape" in n.meta:
                continue
            users = list(n.users)
            if users and all(
                u in out or (_function_name(u) in ("view", "reshape") and u.args[0] is not n)
                for u in users
            ):
                out.add(n)
        return out

    def call_module(
        self,
        parent: nn.Module,
        n: fx.Node,
        path: str,
        owner: str,
        names: dict[fx.Node, str],
        called: collections.Counter[str],
        taken: set[str],
    ) -> Node:
        target = str(n.target)
        module = parent.get_submodule(target)
        full = f"{path}.{target}" if path else target
        if "." in target:
            raise ImportError_(
                _described(
                    f"the module {full!r} is called by index from a container "
                    f"({type(parent.get_submodule(target.split('.')[0])).__name__}), which a spec "
                    "cannot name; call an nn.Sequential instead",
                    n,
                    owner,
                )
            )
        if n.kwargs or any(not hasattr(a, "op") for a in n.args):
            raise ImportError_(
                _described(
                    f"{type(module).__name__} {full!r} is called with non-tensor arguments",
                    n,
                    owner,
                )
            )
        inputs = [names[cast("fx.Node", a)] for a in n.args]
        called[target] += 1
        name = target
        if called[target] > 1:
            if any(True for _ in module.parameters()) or any(True for _ in module.buffers()):
                raise ImportError_(
                    _described(
                        f"{type(module).__name__} {full!r} is called {called[target]} times, "
                        "sharing its weights, which a spec cannot express (each entry is a "
                        "module of its own)",
                        n,
                        owner,
                    )
                )
            name = _unique(f"{target}{called[target]}", taken)
        elif not _valid_name(name):
            raise ImportError_(
                f"the module {full!r} has a name a spec entry cannot take (a Python identifier "
                "not starting with _ and no attribute of nn.Module); rename the attribute"
            )
        shapes = [cast("fx.Node", a).meta["shape"] for a in n.args]
        node = self.module_node(module, full, name, shapes, n, owner)
        node.inputs = inputs
        return node

    def module_node(
        self,
        module: nn.Module,
        full: str,
        name: str,
        shapes: list[Any],
        n: fx.Node | None,
        owner: str,
    ) -> Node:
        import torch

        kind = _layer_type(module)
        if kind is not None:
            args, inferred = _layer_args(module, kind, full)
            return Node(name, kind, args, path=full, inferred=inferred)
        if _is_sequential(module):
            children = []
            shape = shapes[0]
            for child_name, child in module.named_children():
                child_path = f"{full}.{child_name}" if full else child_name
                node = self.module_node(child, child_path, child_name, [shape], None, owner)
                children.append(node)
                shape = self.child_shape(child, shape, child_path)
            return Node(name, SEQUENTIAL, path=full, children=children)
        if type(module).__module__.startswith("torch.nn") or isinstance(
            module, torch.nn.ModuleList
        ):
            raise ImportError_(
                _described(
                    f"{type(module).__name__} {full!r} is not a layer type shapecalc knows "
                    f"(see `shapecalc schema` for the {len(REGISTRY)} it does)",
                    n,
                    owner,
                )
            )
        metas = [torch.empty(s, device="meta") for s in shapes]
        body = self.scope(module, full, metas)
        return Node(name, body.class_name, path=full, block=body)

    def child_shape(self, child: nn.Module, shape: Any, path: str) -> Any:
        import torch

        try:
            with torch.no_grad():
                out = child(torch.empty(shape, device="meta"))
        except Exception as exc:
            raise ImportError_(
                f"{type(child).__name__} {path!r} fails on input {list(shape)}: {_one_line(exc)}"
            ) from None
        if not isinstance(out, torch.Tensor):
            raise ImportError_(
                f"{type(child).__name__} {path!r} in an nn.Sequential returns {type(out).__name__}"
            )
        return out.shape

    def call_function(
        self, n: fx.Node, owner: str, names: dict[fx.Node, str], taken: set[str]
    ) -> Node:
        fname = _function_name(n)
        shown = _shown(n)
        args = list(n.args)
        kwargs = dict(n.kwargs)

        def tensor(value: Any) -> str:
            if not hasattr(value, "op"):
                raise ImportError_(
                    _described(
                        f"{shown} with the constant {value!r}, which a spec cannot express",
                        n,
                        owner,
                    )
                )
            return names[value]

        if fname in _MERGES and _is_torch_op(n):
            if len(args) != 2 or kwargs:
                raise ImportError_(_described(f"{shown} with these arguments", n, owner))
            kind = _MERGES[fname]
            inputs = [tensor(a) for a in args]
            return Node(_unique(REGISTRY[kind].default_stem(), taken), kind, {}, inputs)
        if fname in ("cat", "concat", "concatenate") and _is_torch_op(n):
            items = args[0] if args else kwargs.get("tensors")
            dim = args[1] if len(args) > 1 else kwargs.get("dim", kwargs.get("axis", 0))
            if not isinstance(items, (list, tuple)) or len(items) < 2:
                raise ImportError_(_described(f"{shown} of fewer than two tensors", n, owner))
            inputs = [tensor(a) for a in items]
            return Node(
                _unique("cat", taken), "Concat", _drop_defaults("Concat", {"dim": dim}), inputs
            )
        if fname == "flatten" and _is_torch_op(n):
            start = args[1] if len(args) > 1 else kwargs.get("start_dim", 0)
            end = args[2] if len(args) > 2 else kwargs.get("end_dim", -1)
            return self.flatten(n, tensor(args[0]), start, end, taken)
        if fname in ("view", "reshape") and _is_torch_op(n):
            source = cast("fx.Node", args[0])
            shape_in = source.meta["shape"]
            shape_out = n.meta["shape"]
            if len(shape_out) == 2 and shape_out[0] == shape_in[0] and len(shape_in) > 2:
                return self.flatten(n, tensor(source), 1, -1, taken)
            raise ImportError_(
                _described(
                    f"{shown} from {list(shape_in)} to {list(shape_out)} (only flattening to "
                    "[N, features] has a spec entry, Flatten)",
                    n,
                    owner,
                )
            )
        if fname in _ACTIVATIONS and _is_torch_op(n):
            kind, order = _ACTIVATIONS[fname]
            if kind not in REGISTRY:  # pragma: no cover - the table names registry types
                raise ImportError_(_described(f"{shown} has no spec entry", n, owner))
            given = dict(zip(order, args[1:], strict=False))
            given.update(kwargs)
            if kind.startswith("Dropout"):
                self.check_dropout(n, owner, given)
            given.pop("training", None)  # the module follows model.train()/eval()
            given.pop("train", None)
            if fname == "relu_":
                given["inplace"] = True
            for key, value in given.items():
                if hasattr(value, "op"):
                    raise ImportError_(
                        _described(f"{shown} with {key} computed from a tensor", n, owner)
                    )
            args_out = _drop_defaults(kind, given)
            node = Node(
                _unique(REGISTRY[kind].default_stem(), taken), kind, args_out, [tensor(args[0])]
            )
            _check_layer(kind, args_out, _described(shown, n, owner))
            return node
        raise ImportError_(_described(f"{shown} has no spec entry", n, owner))

    def check_dropout(self, n: fx.Node, owner: str, given: dict[str, Any]) -> None:
        """A functional dropout becomes a Dropout entry only where it drops exactly when the
        module trains, as nn.Dropout does: ``F.dropout(x, p, training=self.training)``."""
        in_eval = _dropout_training(n)
        in_training = self.dropout_in_training.get(n, True)
        if hasattr(in_eval, "op") or hasattr(in_training, "op"):
            raise ImportError_(
                _described(f"{_shown(n)} with training computed from a tensor", n, owner)
            )
        if in_eval is False and in_training is True:
            return
        p = given.get("p", 0.5)
        kind = _ACTIVATIONS[_function_name(n)][0]
        follow = f"torch.nn.functional.{_function_name(n)}(x, {p!r}, training=self.training)"
        if in_eval:
            does = (
                f"drops values in eval mode too (training={in_eval!r}; it is True unless "
                f"given), while a {kind} entry drops only in training mode; make it an "
                f"nn.{kind}({p!r}) module, or write {follow}"
            )
        else:
            does = (
                f"never drops a value (training={in_eval!r}), while a {kind} entry drops in "
                f"training mode; remove the call, or write {follow}"
            )
        raise ImportError_(_described(_shown(n), n, owner) + f": it {does}")

    def flatten(self, n: fx.Node, source: str, start: Any, end: Any, taken: set[str]) -> Node:
        args = _drop_defaults("Flatten", {"start_dim": start, "end_dim": end})
        return Node(_unique("flatten", taken), "Flatten", args, [source])


def _dropout_name(n: fx.Node) -> bool:
    return (
        n.op == "call_function"
        and _function_name(n) in ("dropout", "dropout2d")
        and _is_torch_op(n)
    )


def _dropout_training(n: fx.Node) -> Any:
    """The ``training`` argument of ``F.dropout(input, p, training, inplace)`` or
    ``torch.dropout(input, p, train)`` as fx recorded it (True where left out)."""
    if len(n.args) > 2:
        return n.args[2]
    return n.kwargs.get("training", n.kwargs.get("train", True))


def _check_all_used(
    module: nn.Module, path: str, owner: str, called: collections.Counter[str]
) -> None:
    """Refuse a submodule, parameter or buffer that ``forward`` never uses but the state_dict
    holds: the spec has entries only for what forward calls, so it would lose those weights. A
    module with no state (an unused nn.ReLU) changes neither and is left out."""
    lost: list[str] = []
    for name, child in module.named_children():
        keys = list(child.state_dict())
        if name not in called and keys:
            full = f"{path}.{name}" if path else name
            held = ", ".join(f"{full}.{k}" for k in keys[:3]) + (", ..." if len(keys) > 3 else "")
            lost.append(f"{type(child).__name__} {full!r} (holding {held})")
    for name in module.state_dict(keep_vars=True):  # direct ones only; a used one is refused
        if "." not in name:
            full = f"{path}.{name}" if path else name
            lost.append(f"the tensor {full!r}")
    if lost:
        raise ImportError_(
            f"{owner}.forward never uses {', '.join(lost)}: a spec holds only what forward "
            "uses, so the model's weights would not load into the module it builds; call "
            f"{'it' if len(lost) == 1 else 'them'} in forward, or delete "
            f"{'it' if len(lost) == 1 else 'them'} from the model"
        )


def _run_shapes(gm: fx.GraphModule, inputs: Sequence[Any], owner: str, path: str) -> None:
    """Run a traced module on meta tensors, keeping each node's output shape in
    ``node.meta["shape"]``; a node that fails is named with its place in the code."""
    import torch
    from torch import fx

    class Shapes(fx.Interpreter):
        def run_node(self, n: fx.Node) -> Any:
            try:
                result = super().run_node(n)
            except ImportError_:
                raise
            except Exception as exc:
                what = _shown(n) if n.op.startswith("call_") and n.op != "call_module" else n.name
                if n.op == "call_module":
                    what = f"{type(gm.get_submodule(str(n.target))).__name__} {n.target!r}"
                shapes = [list(a.meta["shape"]) for a in n.all_input_nodes if "shape" in a.meta]
                raise ImportError_(
                    _described(f"{what} fails on {shapes}", n, owner)
                    + f": {_one_line(exc)}; is --input the input the model takes?"
                ) from None
            if isinstance(result, torch.Tensor):
                n.meta["shape"] = tuple(result.shape)
            return result

    interpreter = Shapes(gm)
    interpreter.extra_traceback = False  # the message above says where
    with torch.no_grad():
        interpreter.run(*inputs)


def _at(path: str) -> str:
    return f" ({path!r})" if path else ""


def _flat(values: Any) -> list[Any]:
    out: list[Any] = []
    for v in values:
        if isinstance(v, (list, tuple)):
            out += _flat(v)
        else:
            out.append(v)
    return out


def _is_torch_op(n: fx.Node) -> bool:
    if n.op == "call_method":
        return True
    module = getattr(n.target, "__module__", "") or ""
    return module in ("_operator", "operator") or module.startswith("torch")


def _unique(stem: str, taken: set[str]) -> str:
    name, k = stem, 1
    while name in taken or not _valid_name(name):
        k += 1
        name = f"{stem}{k}"
    return name


def _safe(name: str, taken: set[str]) -> str:
    return (
        name if _valid_name(name) and name not in taken else _unique(name.lstrip("_") or "x", taken)
    )


def _valid_name(name: str) -> bool:
    import keyword

    return (
        name.isidentifier()
        and not keyword.iskeyword(name)
        and not name.startswith("_")
        and name not in RESERVED_NAMES
    )


def _layer_type(module: nn.Module) -> str | None:
    """The registry type of a torch.nn layer (the exact class: a subclass may change forward)."""
    import torch

    name = type(module).__name__
    if (
        name in REGISTRY
        and not REGISTRY[name].merge
        and getattr(torch.nn, name, None) is type(module)
    ):
        return name
    return None


def _is_sequential(module: nn.Module) -> bool:
    from torch import nn

    return isinstance(module, nn.Sequential) and type(module).forward is nn.Sequential.forward


def _drop_defaults(kind: str, args: dict[str, Any]) -> dict[str, Any]:
    cls = REGISTRY[kind]
    out = {}
    for key in cls.arguments():
        if key not in args:
            continue
        value = _plain(args[key])
        equal = isinstance(value, list) and bool(value) and all(_equal(v, value[0]) for v in value)
        if key in cls.collapsible and equal:
            value = value[0]  # (2, 2) as a person writes it: 2
        info = cls.model_fields[key]
        if not info.is_required() and _equal(value, info.default):
            continue
        out[key] = value
    return out


def _plain(value: Any) -> Any:
    """A value as YAML holds it: tuples as lists, a tuple of equal sizes as one."""
    if isinstance(value, (tuple, list)):
        items = [_plain(v) for v in value]
        return items
    if hasattr(value, "item") and not isinstance(value, (int, float, bool, str)):
        return value.item()
    return value


def _equal(a: Any, b: Any) -> bool:
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, list) and not isinstance(b, list):
        return all(_equal(v, b) for v in a)
    if isinstance(b, list) and not isinstance(a, list):
        return all(_equal(a, v) for v in b)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_equal(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b) and (a is None) == (b is None)


def _layer_args(module: nn.Module, kind: str, path: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """A layer's constructor arguments read back from its attributes, checked by building the
    layer again from them (its repr, which torch makes from every argument, must agree)."""
    cls = REGISTRY[kind]
    args: dict[str, Any] = {}
    for key in cls.arguments():
        if key == "bias":
            affine = getattr(module, "affine", getattr(module, "elementwise_affine", True))
            if not affine:
                continue
            value: Any = getattr(module, "bias", None) is not None
        elif hasattr(module, key):
            value = getattr(module, key)
        else:
            continue
        args[key] = _plain(value)
        if cls.collapsible and key in cls.collapsible and isinstance(args[key], list):
            items = args[key]
            if items and all(v == items[0] for v in items):
                args[key] = items[0]
    inferred = {k: args.pop(k) for k in cls.inferable if k in args}
    pooling = "stride" in args and cls.model_fields["stride"].default is None
    if pooling and _equal(args["stride"], args.get("kernel_size")):
        del args["stride"]  # pooling: torch's stride=None is the kernel size
    args = _drop_defaults(kind, args)
    _check_layer(kind, {**args, **inferred}, f"{kind} {path!r}", module)
    return args, inferred


def _check_layer(kind: str, args: dict[str, Any], what: str, module: Any = None) -> None:
    """The arguments make a valid layer, and (given the model's) the very same one."""
    from pydantic import ValidationError

    from .builder import make_module

    try:
        op = REGISTRY[kind].model_validate({"type": kind, **args})
    except ValidationError as exc:
        first = exc.errors()[0]
        raise ImportError_(
            f"{what}: its arguments {args} are not a valid {kind}: "
            f"{'.'.join(map(str, first['loc']))} {first['msg']}"
        ) from None
    if module is None:
        return
    again = make_module(op, device="meta")
    if repr(again) != repr(module):
        raise ImportError_(
            f"{what}: cannot read its arguments back (rebuilt as {again!r}, the model has "
            f"{module!r})"
        )


# --- the spec ----------------------------------------------------------------------------------------


@dataclass
class _Block:
    """One block of the spec: a module class (or one structure of it) and its uses."""

    name: str
    uses: list[Scope]
    params: dict[str, Any] = field(default_factory=dict)  # name → default or "required"
    body: list[dict[str, Any]] = field(default_factory=list)
    values: list[dict[str, Any]] = field(default_factory=list)  # each use's parameter values


def _signature(node: Node) -> Any:
    """A node's structure: what must agree for two uses to share a block (not the values)."""
    if node.children is not None:
        return (
            node.name,
            node.type,
            tuple(node.inputs),
            tuple(_signature(c) for c in node.children),
        )
    if node.block is not None:
        return (node.name, "block", tuple(node.inputs), _scope_signature(node.block))
    return (node.name, node.type, tuple(node.inputs))


def _scope_signature(scope: Scope) -> Any:
    return (
        scope.cls,
        tuple(scope.inputs),
        tuple(_signature(n) for n in scope.nodes),
        tuple(scope.outputs),
    )


Row = list["Node | None"]  # one entry over the uses of a block: each use's node, or None


@dataclass
class _Cond:
    """An ``if:`` to be worked out once the block's parameters are known: presence per use
    (None where the enclosing entry is absent anyway)."""

    present: list[bool | None]


class _Writer:
    """Turns scopes into spec entries: one block per module class, parameters where its uses
    differ in values and ``if:`` where they leave entries out."""

    def __init__(self, top: Scope, spec_name: str) -> None:
        self.top = top
        self.names: set[str] = {spec_name}
        self.groups: dict[Any, list[Scope]] = {}  # class → its uses, inner classes first
        self.use_block: dict[int, tuple[_Block, int]] = {}  # id(scope) → (block, use index)
        self.blocks: list[_Block] = []
        for node in top.nodes:
            self.collect_node(node)

    def collect(self, scope: Scope) -> None:
        for node in scope.nodes:
            self.collect_node(node)
        self.groups.setdefault(scope.cls, []).append(scope)

    def collect_node(self, node: Node) -> None:
        for child in node.children or []:
            self.collect_node(child)
        if node.block is not None:
            self.collect(node.block)

    def type_of(self, node: Node) -> str:
        if node.children is not None:
            return SEQUENTIAL
        if node.block is not None:
            return self.use_block[id(node.block)][0].name
        return node.type

    # --- blocks --------------------------------------------------------------------------------------

    def write_blocks(self) -> None:
        for scopes in self.groups.values():
            template = self.unify(scopes)
            parts: list[tuple[list[Scope], list[Row] | None]]
            if template is not None:
                parts = [(scopes, template)]
            else:  # uses that differ in structure beyond left-out entries: a block each
                by_structure: dict[Any, list[Scope]] = {}
                for scope in scopes:
                    by_structure.setdefault(_scope_signature(scope), []).append(scope)
                parts = [(group, self.unify(group)) for group in by_structure.values()]
            for uses, rows in parts:
                assert rows is not None
                name = _block_name(uses[0].class_name, self.names)
                self.names.add(name)
                block = _Block(name, uses, values=[{} for _ in uses])
                for k, scope in enumerate(uses):
                    self.use_block[id(scope)] = (block, k)
                slots = _Slots(block)
                block.body = self.entries(rows, slots, False, uses[0].inputs[0])
                self.conditions(block.body, slots)
                block.params = slots.params
                self.blocks.append(block)

    def unify(self, scopes: list[Scope]) -> list[Row] | None:
        """The uses' node lists aligned by entry name, each entry with the node of each use (None
        where a use leaves it out), or None when they differ in more than left-out entries."""
        first = scopes[0]
        if any(s.inputs != first.inputs or len(s.outputs) != len(first.outputs) for s in scopes):
            return None
        longest = max(scopes, key=lambda s: len(s.nodes))
        order = [n.name for n in longest.nodes]
        for scope in scopes:
            names = [n.name for n in scope.nodes]
            if any(name not in order for name in names):
                return None
            positions = [order.index(name) for name in names]
            if positions != sorted(positions):
                return None
        rows: list[Row] = []
        for name in order:
            row: Row = [next((n for n in s.nodes if n.name == name), None) for s in scopes]
            present = [n for n in row if n is not None]
            if len({self.label(n) for n in present}) != 1:
                return None
            if (
                present[0].children is not None
                and self.align([n.children or [] for n in present]) is None
            ):
                return None
            rows.append(row)
        if not self.inputs_agree(rows, scopes):
            return None
        return rows

    def label(self, node: Node) -> str:
        if node.block is not None:
            return "block:" + self.use_block[id(node.block)][0].name
        return node.type

    def align(self, lists: list[list[Node]]) -> list[list[Node | None]] | None:
        """Sequential children of several uses aligned by type, right to left; None unless one
        use has them all and the others leave some out."""
        longest = max(lists, key=len)
        labels = [self.label(n) for n in longest]
        rows: list[list[Node | None]] = [[None] * len(lists) for _ in longest]
        for u, nodes in enumerate(lists):
            j = len(longest) - 1
            for node in reversed(nodes):
                while j >= 0 and labels[j] != self.label(node):
                    j -= 1
                if j < 0:
                    return None
                rows[j][u] = node
                j -= 1
        for row in rows:
            present = [n for n in row if n is not None]
            nested = present[0].children is not None
            if nested and self.align([n.children or [] for n in present]) is None:
                return None
            if any(
                n.children is None
                and n.block is None
                and n.name != present[0].name
                and not n.name.isdigit()
                for n in present
            ):
                return None
        return rows

    def inputs_agree(self, rows: list[Row], scopes: list[Scope]) -> bool:
        """A left-out entry stands for its first input: each use's nodes (and outputs) read what
        the template's inputs become in that use."""
        template: dict[str, list[str]] = {}
        for row in rows:
            present = [n for n in row if n is not None]
            name = present[0].name
            for candidate in [n.inputs for n in present]:
                if all(
                    self.resolve(candidate, rows, u, template) == n.inputs
                    for u, n in enumerate(row)
                    if n is not None
                ):
                    template[name] = candidate
                    for n in row:
                        if n is not None:
                            n.template = candidate
                    break
            else:
                return False
        for outputs in [s.outputs for s in scopes]:
            if all(
                self.resolve(outputs, rows, u, template) == s.outputs for u, s in enumerate(scopes)
            ):
                for scope in scopes:
                    scope.template_outputs = outputs
                return True
        return False

    def resolve(
        self, names: list[str], rows: list[Row], use: int, template: dict[str, list[str]]
    ) -> list[str]:
        out = []
        absent = {next(n for n in row if n is not None).name: row[use] is None for row in rows}
        for name in names:
            seen = 0
            while absent.get(name) and name in template and seen < len(rows):
                name = template[name][0]
                seen += 1
            out.append(name)
        return out

    # --- entries -------------------------------------------------------------------------------------

    def entries(
        self,
        rows: list[Row],
        slots: _Slots,
        positional: bool,
        first_input: str = "x",
        prefix: str = "",
        within: list[int] | None = None,
    ) -> list[dict[str, Any]]:
        """The entries of one scope (or Sequential) over all the uses of its block (``within``:
        the uses that have the enclosing Sequential)."""
        out: list[dict[str, Any]] = []
        within = within if within is not None else list(range(len(rows[0]) if rows else 0))
        previous = first_input
        for count, row in enumerate(rows):
            uses = [u for u, n in enumerate(row) if n is not None]
            nodes = [n for n in row if n is not None]
            node = nodes[0]
            label = f"{prefix}{node.name if not positional else count}"
            entry: dict[str, Any] = {"type": self.type_of(node)}
            if not positional or any(not n.name.isdigit() for n in nodes):
                entry["name"] = node.name
            if not positional:
                inputs = self.template_inputs(row)
                if inputs != [previous]:
                    entry["from"] = inputs[0] if len(inputs) == 1 else inputs
            if len(uses) < len(within):
                entry["if"] = _Cond(
                    [(n is not None) if u in within else None for u, n in enumerate(row)]
                )
            if node.children is not None:
                children = [n.children if n is not None else None for n in row]
                repeat = self.as_repeat(row, slots, label) if len(uses) == len(row) else None
                if repeat is not None:
                    kind = repeat.pop("type")
                    entry = {"type": kind, **{k: v for k, v in entry.items() if k != "type"}}
                    entry.update(repeat)
                else:
                    aligned = self.align([c or [] for c in children if c is not None])
                    assert aligned is not None
                    inner: list[Row] = []
                    for arow in aligned:
                        full: Row = [None] * len(row)
                        for u, n in zip(uses, arow, strict=True):
                            full[u] = n
                        inner.append(full)
                    entry["layers"] = self.entries(
                        inner, slots, True, prefix=f"{label}_", within=uses
                    )
            elif node.block is not None:
                block, _ = self.use_block[id(node.block)]
                entry.update(self.block_args(block, row, slots, label))
            else:
                entry.update(self.layer_args(row, slots, label))
            out.append(entry)
            previous = node.name
        return out

    def template_inputs(self, row: Row) -> list[str]:
        """The inputs an entry names (where uses leave entries out, those that say it for all)."""
        node = next(n for n in row if n is not None)
        return node.template if node.template is not None else node.inputs

    def layer_args(self, row: Row, slots: _Slots, label: str) -> dict[str, Any]:
        nodes = [n for n in row if n is not None]
        uses = [u for u, n in enumerate(row) if n is not None]
        cls = REGISTRY[nodes[0].type]
        keys = {k for n in nodes for k in n.args}
        out = {}
        for key in cls.arguments():
            if key not in keys:
                continue
            default = cls.model_fields[key].default
            values = [n.args.get(key, _plain(default)) for n in nodes]
            out[key] = slots.value(values, uses, key, label)
        return out

    def block_args(self, block: _Block, row: Row, slots: _Slots, label: str) -> dict[str, Any]:
        nodes = [n for n in row if n is not None]
        uses = [u for u, n in enumerate(row) if n is not None]
        inner = [self.use_block[id(n.block)][1] for n in nodes]
        out = {}
        for param, default in block.params.items():
            values = [block.values[k][param] for k in inner]
            if default != "required" and all(_equal(v, default) for v in values):
                continue
            out[param] = slots.value(values, uses, param, label)
        return out

    def as_repeat(self, row: Row, slots: _Slots, label: str) -> dict[str, Any] | None:
        """A Sequential of copies of one block, the same but for copy 0: ``repeat: n``."""
        nodes = [n for n in row if n is not None]
        children = [n.children or [] for n in nodes]
        counts = {len(c) for c in children}
        count = counts.pop() if len(counts) == 1 else 0
        if count < 2 or any(ch.block is None for c in children for ch in c):
            return None
        blocks = {self.use_block[id(ch.block)][0].name for c in children for ch in c}
        names = [ch.name for ch in children[0]]
        pattern = _name_pattern(names)
        if (
            len(blocks) != 1
            or pattern is False
            or any([ch.name for ch in c] != names for c in children)
        ):
            return None
        block = self.use_block[id(children[0][0].block)][0]
        per_copy = [
            {
                p: [block.values[self.use_block[id(c[k].block)][1]][p] for c in children]
                for p in block.params
            }
            for k in range(count)
        ]
        rest = per_copy[1:]
        if any(not _all_equal(copy[p], rest[0][p]) for copy in rest for p in block.params):
            return None
        first = [p for p in block.params if not _all_equal(per_copy[0][p], rest[0][p])]
        if len(first) > 1:  # copies that differ in much read better listed
            return None
        uses = list(range(len(row)))
        entry: dict[str, Any] = {"type": block.name}
        for param, default in block.params.items():
            values = rest[0][param]
            if default == "required" or not all(_equal(v, default) for v in values):
                entry[param] = slots.value(values, uses, param, label)
        entry["repeat"] = count
        if first:
            entry["first"] = {p: slots.value(per_copy[0][p], uses, p, label) for p in first}
        if pattern:
            entry["repeat_name"] = pattern
        return entry

    def conditions(self, entries: list[dict[str, Any]], slots: _Slots) -> None:
        """Each ``if:`` as a condition on the block's parameters where one gives it, else a
        parameter of its own (``downsample: true``)."""
        for entry in entries:
            cond = entry.get("if")
            if isinstance(cond, _Cond):
                entry["if"] = slots.condition(cond.present, entry.get("name", "entry"))
            if "layers" in entry:
                self.conditions(entry["layers"], slots)


def _all_equal(a: list[Any], b: list[Any]) -> bool:
    return len(a) == len(b) and all(_equal(x, y) for x, y in zip(a, b, strict=True))


def _name_pattern(names: list[str]) -> str | bool | None:
    """None for 0, 1, ...; ``"layer{n}"`` for layer1, layer2, ...; False otherwise."""
    if names == [str(k) for k in range(len(names))]:
        return None
    found = re.fullmatch(r"(.*?)(\d+)", names[0])
    if found:
        stem, start = found.group(1), int(found.group(2))
        for base, token in ((1, "{n}"), (0, "{i}")):
            if start == base and names == [f"{stem}{k + base}" for k in range(len(names))]:
                return stem + token
    return False


class _Slots:
    """The values of one block's entries over its uses: constants, or parameters where they
    differ (named after the argument, or its entry and argument when that name is taken)."""

    def __init__(self, block: _Block) -> None:
        self.block = block
        self.params: dict[str, Any] = {}
        self.vectors: dict[str, list[Any]] = {"in_channels": [u.input_channels for u in block.uses]}
        self.outputs = [u.output_channels for u in block.uses]
        self.exprs: dict[str, list[Any]] = {}  # expressions written so far → their values

    def value(self, values: list[Any], uses: list[int], key: str, label: str) -> Any:
        if all(_equal(v, values[0]) for v in values):
            return values[0]
        for name, vector in self.vectors.items():
            if _all_equal(values, [vector[u] for u in uses]):
                return f"${name}"
        expression = self.relation(values, uses)
        if expression is not None:
            return expression
        name = key if key not in self.vectors else f"{label}_{key}"
        if key == "out_channels" and values != [self.outputs[u] for u in uses]:
            name = f"{label}_{key}"  # out_channels names what the block puts out
        elif key == "out_channels":
            name = key
        while name in self.vectors or not _valid_name(name):
            name = f"p_{name}" if not _valid_name(name) else name + "_"
        default = _default(values)
        self.params[name] = default
        filler = values[0] if default == "required" else default
        vector = [filler] * len(self.block.uses)
        for u, v in zip(uses, values, strict=True):
            vector[u] = v
        self.vectors[name] = vector
        for use, v in zip(self.block.values, vector, strict=True):
            use[name] = v
        return f"${name}"

    def relation(self, values: list[Any], uses: list[int]) -> str | None:
        """A multiple or a part of a parameter (``$out_channels * 4``) that gives the values."""
        if not all(type(v) is int for v in values):
            return None
        for name, full in self.vectors.items():
            vector = [full[u] for u in uses]
            if not all(type(v) is int and v > 0 for v in vector):
                continue
            for k in range(2, 9):
                if values == [v * k for v in vector]:
                    return f"${name} * {k}"
                if all(v % k == 0 for v in vector) and values == [v // k for v in vector]:
                    return f"${name} // {k}"
        return None

    def condition(self, present: list[bool | None], entry: str) -> Any:
        """A condition on the parameters true exactly where ``present`` (a parameter against
        its default, or two sizes compared; one such test or two joined by or / and), else a
        parameter of its own (``add: true``)."""
        known = [u for u, p in enumerate(present) if p is not None]
        wanted = [present[u] for u in known]
        ints = {n: v for n, v in self.vectors.items() if all(type(x) is int for x in v)}
        atoms: list[tuple[str, list[bool]]] = []
        for name, values in ints.items():
            default = self.params.get(name)
            if type(default) is int:
                for op, test in (("!=", operator.ne), ("==", operator.eq)):
                    got = [test(values[u], default) for u in known]
                    atoms.append((f"${name} {op} {default}", got))
        names = list(ints)
        for i, a in enumerate(names):
            for b in names[i + 1 :]:
                for k in (1, 2, 4, 6):
                    right = f"${b}" if k == 1 else f"${b} * {k}"
                    for op, test in (("!=", operator.ne), ("==", operator.eq)):
                        got = [test(ints[a][u], ints[b][u] * k) for u in known]
                        atoms.append((f"${a} {op} {right}", got))
        for text, got in atoms:
            if got == wanted:
                return text
        for i, (a, got_a) in enumerate(atoms):
            for b, got_b in atoms[i + 1 :]:
                if [x or y for x, y in zip(got_a, got_b, strict=True)] == wanted:
                    return f"{a} or {b}"
                if [x and y for x, y in zip(got_a, got_b, strict=True)] == wanted:
                    return f"{a} and {b}"
        name = entry if entry not in self.vectors and _valid_name(entry) else f"has_{entry}"
        while name in self.vectors or not _valid_name(name):
            name += "_"
        flags = [bool(p) for p in present]
        self.params[name] = _default(flags)
        self.vectors[name] = flags
        for use, v in zip(self.block.values, flags, strict=True):
            use[name] = v
        return f"${name}"


def _default(values: list[Any]) -> Any:
    """The value most uses have when more than half of them (and two or more) do, else required."""
    counts = collections.Counter(repr(v) for v in values)
    text, count = counts.most_common(1)[0]
    if count >= 2 and count * 2 > len(values):
        return next(v for v in values if repr(v) == text)
    return "required"


def _block_name(class_name: str, taken: set[str]) -> str:
    base = class_name.lstrip("_") or "Block"
    if not _valid_name(base) or base in REGISTRY or base == SEQUENTIAL:
        base = f"{base}Block" if _valid_name(f"{base}Block") else "Block"
    name, k = base, 1
    while name in taken:
        k += 1
        name = f"{base}{k}"
    return name


# --- YAML --------------------------------------------------------------------------------------------


def _scalar(value: Any) -> str:
    import yaml

    if isinstance(value, list):
        return "[" + ", ".join(_scalar(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {_scalar(v)}" for k, v in value.items()) + "}"
    if isinstance(value, str):
        plain = value
        try:
            back = yaml.safe_load(f"k: {plain}")
        except yaml.YAMLError:
            back = None
        try:
            flow = yaml.safe_load("{k: " + plain + "}")
        except yaml.YAMLError:
            flow = None
        if (
            isinstance(back, dict)
            and back.get("k") == value
            and flow == {"k": value}
            and not value.startswith(("!", "&", "*", "|", ">", "%", "@", "`", "'", '"', "#"))
        ):
            return plain
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    text: str = yaml.safe_dump(value, default_flow_style=True).strip()
    return text.removesuffix("...").strip()


def _flow(entry: dict[str, Any]) -> str:
    return "{" + ", ".join(f"{k}: {_scalar(v)}" for k, v in entry.items()) + "}"


def _entries_yaml(entries: list[dict[str, Any]], indent: int) -> list[str]:
    pad = " " * indent
    lines = []
    for entry in entries:
        if "layers" in entry:
            head = {k: v for k, v in entry.items() if k != "layers"}
            keys = list(head)
            lines.append(f"{pad}- {keys[0]}: {_scalar(head[keys[0]])}")
            lines += [f"{pad}  {k}: {_scalar(head[k])}" for k in keys[1:]]
            lines.append(f"{pad}  layers:")
            lines += _entries_yaml(entry["layers"], indent + 4)
        else:
            lines.append(f"{pad}- {_flow(entry)}")
    return lines


def import_model(
    model: nn.Module,
    input_shape: Sequence[int],
    *,
    schema: str | None = None,
    source: str | None = None,
) -> str:
    """The spec (YAML text) that builds ``model``, read on an input of ``input_shape`` (per
    sample, batch excluded).

    ``schema`` is the path or URL written in the ``# yaml-language-server: $schema=`` line;
    ``source`` names the model in the spec's comment. Raises ImportError_ for what a spec cannot
    express, naming it and its place in the model's code.
    """
    import torch

    model.eval()
    spec_name = _block_name(type(model).__name__, set()) if not _is_sequential(model) else "Net"
    shape = (1, *input_shape)
    try:
        model.to("meta")
    except Exception as exc:
        raise ImportError_(
            f"cannot move {type(model).__name__} to the meta device: {_one_line(exc)}"
        ) from None
    reader = _Reader(model, shape)
    root_kind = _layer_type(model)
    if root_kind is not None or _is_sequential(model):
        node = reader.module_node(model, "", "layer", [torch.Size(shape)], None, "")
        layers = node.children if node.children is not None else [node]
        for child in layers:
            if child.children is not None or child.block is not None:
                raise ImportError_(
                    f"the model is an nn.Sequential holding {child.type} {child.path!r}: a spec "
                    "of it would name its entries, not number them (0, 1, ...); wrap it in a "
                    "module class"
                )
        chain = [{"type": c.type, **c.args} for c in layers]
        inferred = {c.path or "0": c for c in layers}
        text = _document(spec_name, input_shape, {}, chain, None, schema, source)
        _check(text, inferred, chain_paths=True)
        return text
    top = reader.scope(model, "", [torch.empty(shape, device="meta")])
    if len(top.inputs) != 1:
        raise ImportError_(
            f"{type(model).__name__}.forward takes {len(top.inputs)} inputs; a spec has one"
        )
    _rename_input(top, "x")
    writer = _Writer(top, spec_name)
    writer.write_blocks()
    entries = writer.entries(
        [[n] for n in top.nodes], _Slots(_Block("", [top], values=[{}])), False
    )
    blocks = {block.name: block for block in writer.blocks}
    outputs = top.outputs
    last = top.nodes[-1].name if top.nodes else "x"
    output = None if outputs == [last] else outputs
    text = _document(spec_name, input_shape, blocks, entries, output, schema, source)
    _check(text, _inferred_paths(top), chain_paths=False)
    return text


def _rename_input(scope: Scope, name: str) -> None:
    old = scope.inputs[0]
    if old == name:
        return
    scope.inputs[0] = name
    for node in scope.nodes:
        node.inputs = [name if i == old else i for i in node.inputs]
    scope.outputs = [name if o == old else o for o in scope.outputs]


def _inferred_paths(scope: Scope) -> dict[str, Node]:
    out: dict[str, Node] = {}

    def walk(nodes: list[Node]) -> None:
        for node in nodes:
            if node.children is not None:
                walk(node.children)
            elif node.block is not None:
                walk(node.block.nodes)
            elif node.inferred:
                out[node.path] = node

    walk(scope.nodes)
    return out


def _document(
    name: str,
    input_shape: Sequence[int],
    blocks: dict[str, _Block],
    layers: list[dict[str, Any]],
    output: list[str] | None,
    schema: str | None,
    source: str | None,
) -> str:
    lines = []
    if schema:
        lines.append(f"# yaml-language-server: $schema={schema}")
    lines.append(
        f"# {name}" + (f", read from {source}" if source else "") + " by shapecalc import."
    )
    lines.append(f"name: {name}")
    lines.append(f"input: {_scalar(list(input_shape))}")
    if blocks:
        lines.append("")
        lines.append("blocks:")
        for block_name, block in blocks.items():
            lines.append(f"  {block_name}:")
            if block.params:
                lines.append(f"    params: {_scalar(block.params)}")
            inputs = block.uses[0].inputs
            if inputs != ["x"]:
                lines.append(f"    inputs: {_scalar(inputs)}")
            lines.append("    layers:")
            lines += _entries_yaml(block.body, 6)
            outputs = block.uses[0].template_outputs or block.uses[0].outputs
            last = block.body[-1]["name"] if block.body else None
            if outputs != [last]:
                if len(outputs) != 1:
                    raise ImportError_(
                        f"{block.uses[0].class_name}.forward returns {len(outputs)} tensors; a "
                        "block returns one"
                    )
                lines.append(f"    output: {outputs[0]}")
        lines.append("")
    lines.append("layers:")
    lines += _entries_yaml(layers, 2)
    if output:
        lines.append(f"output: {_scalar(output if len(output) > 1 else output[0])}")
    return "\n".join(lines) + "\n"


def _check(text: str, inferred: dict[str, Node], *, chain_paths: bool) -> None:
    """The written spec loads and propagates, and the sizes it leaves to inference are the
    model's own."""
    from .errors import SpecError
    from .loader import loads
    from .trace import propagate

    try:
        spec_file = loads(text, "<imported spec>")
        trace = propagate(spec_file.spec)
    except SpecError as exc:
        message = exc.diagnostics[0].format() if exc.diagnostics else str(exc)
        raise ImportError_(f"the spec written for the model is invalid: {message}") from None
    except ShapecalcError as exc:
        raise ImportError_(f"the model's shapes do not work out as a spec: {exc}") from None
    rows = trace.layers
    by_name = {row.name: row for row in rows}
    for position, (path, node) in enumerate(inferred.items()):
        row = rows[position] if chain_paths else by_name.get(path)
        if row is None:
            continue
        for key, value in node.inferred.items():
            got = row.inferred.get(key)
            if not _equal(_plain(got), value):
                raise ImportError_(
                    f"{node.type} {path!r} has {key}={value}, but on this input it receives "
                    f"{got}: give the input the model is made for (--input)"
                )


__all__ = ["ImportError_", "TargetError", "import_model", "load_target", "split_target"]
