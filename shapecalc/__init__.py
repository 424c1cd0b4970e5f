"""shapecalc: shape calculator and architecture-spec tool for PyTorch convolutional networks.

The core (spec models, formulas, propagation, solvers) imports neither torch nor typer nor rich.
"""

from .errors import (
    Diagnostic,
    LayerError,
    MissingExtraError,
    ShapecalcError,
    ShapeError,
    SpecError,
)
from .loader import SpecFile, bundled, load, loads
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
    "bundled",
    "load",
    "loads",
    "propagate",
]
