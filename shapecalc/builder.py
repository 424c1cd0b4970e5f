"""Turn a spec into a torch module. torch is imported here, at the edge, never in the core.

Inferred sizes (in_channels, in_features, num_features) come from the calculator's trace, so the
module needs no lazy layers and no trial forward pass. ``type`` selects a torch.nn class from the
closed registry in ``shapecalc.layers``; nothing in a spec is evaluated or imported.
"""

from __future__ import annotations

import inspect
from typing import TYPE_CHECKING, Any, Literal, cast

from ._extras import require
from .errors import ShapecalcError
from .ops import REGISTRY, Op
from .spec import Spec
from .trace import Trace, propagate

if TYPE_CHECKING:
    from torch import nn

Style = Literal["sequential", "class"]


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
    spec: Spec, style: Style = "sequential", *, trace: Trace | None = None, device: Any = None
) -> nn.Module:
    """Build ``spec`` as an ``nn.Sequential`` (children 0..n−1) or as an instance of a module class.

    With ``style="class"`` the class is named after ``spec.name``, holds one attribute per layer
    (named as in the spec) and its ``forward`` applies them in order.
    """
    torch = require("torch", "torch")
    trace = trace if trace is not None else propagate(spec)
    if trace.is_graph:
        raise ShapecalcError(
            f"{spec.name} is a graph (branches, merges or blocks); building graphs is not "
            "supported yet"
        )
    factory = {"device": device} if device is not None else {}
    modules = [
        make_module(row.op, row.inferred, **factory) for row in trace.layers if row.op is not None
    ]
    if style == "sequential":
        return cast("nn.Module", torch.nn.Sequential(*modules))
    if style != "class":
        raise ValueError(f"style must be 'sequential' or 'class', but got {style!r}")
    names = [row.name for row in trace.layers]

    def __init__(self: nn.Module) -> None:
        torch.nn.Module.__init__(self)
        for name, module in zip(names, modules, strict=True):
            setattr(self, name, module)

    def forward(self: nn.Module, x: Any) -> Any:
        for name in names:
            x = getattr(self, name)(x)
        return x

    cls = type(spec.name, (torch.nn.Module,), {"__init__": __init__, "forward": forward})
    cls.__module__ = "shapecalc.built"
    return cast("nn.Module", cls())
