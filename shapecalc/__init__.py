"""shapecalc: shape calculator and architecture-spec tool for PyTorch convolutional networks.

The core (spec models, formulas, propagation, solvers) imports neither torch nor typer nor rich;
``build`` and ``verify`` import torch when they are called.

>>> from shapecalc import bundled, load, propagate, solve_padding
>>> propagate(load(bundled("cifar10")).spec).output_shape
(64, 10)
>>> solve_padding(5, 32, 32).recommended
2
"""

from .builder import build
from .errors import (
    Diagnostic,
    LayerError,
    MissingExtraError,
    ShapecalcError,
    ShapeError,
    SpecError,
)
from .loader import SpecFile, bundled, load, loads
from .runner import verify
from .solvers import solve_input, solve_padding
from .spec import Spec
from .trace import Row, Trace, propagate

__version__ = "0.1.0"

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
    "build",
    "bundled",
    "load",
    "loads",
    "propagate",
    "solve_input",
    "solve_padding",
    "verify",
]
