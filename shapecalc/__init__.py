"""shapecalc: shape calculator and architecture-spec tool for PyTorch convolutional networks.

The core (spec models, formulas, propagation, solvers) imports neither torch nor typer nor rich;
``build`` and ``verify`` import torch when they are called. The names below are imported on first
use, so ``import shapecalc`` (and ``shapecalc --version``) costs almost nothing.

>>> from shapecalc import bundled, load, propagate, solve_padding
>>> propagate(load(bundled("cifar10")).spec).output_shape
(64, 10)
>>> solve_padding(5, 32, 32).recommended
2
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

if TYPE_CHECKING:
    from .builder import build
    from .errors import (
        Diagnostic,
        LayerError,
        MissingExtraError,
        ShapecalcError,
        ShapeError,
        SpecError,
        UnavailableError,
        UnknownSpecError,
    )
    from .loader import SpecFile, bundled, bundled_names, load, loads
    from .runner import verify
    from .solvers import solve_input, solve_padding
    from .spec import Spec
    from .trace import Row, Trace, propagate

_WHERE = {
    "build": "builder",
    "Diagnostic": "errors",
    "LayerError": "errors",
    "MissingExtraError": "errors",
    "ShapecalcError": "errors",
    "ShapeError": "errors",
    "SpecError": "errors",
    "UnavailableError": "errors",
    "UnknownSpecError": "errors",
    "SpecFile": "loader",
    "bundled": "loader",
    "bundled_names": "loader",
    "load": "loader",
    "loads": "loader",
    "verify": "runner",
    "solve_input": "solvers",
    "solve_padding": "solvers",
    "Spec": "spec",
    "Row": "trace",
    "Trace": "trace",
    "propagate": "trace",
}

__all__ = [
    "Diagnostic",
    "LayerError",
    "MissingExtraError",
    "Row",
    "ShapeError",
    "ShapecalcError",
    "Spec",
    "SpecError",
    "SpecFile",
    "Trace",
    "UnavailableError",
    "UnknownSpecError",
    "build",
    "bundled",
    "bundled_names",
    "load",
    "loads",
    "propagate",
    "solve_input",
    "solve_padding",
    "verify",
]


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module 'shapecalc' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{_WHERE[name]}", __name__), name)
    globals()[name] = value  # later look-ups skip this function
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_WHERE])
