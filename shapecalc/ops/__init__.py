"""The operations a spec may name, one module per family, all in one closed registry.

``REGISTRY`` maps the ``type:`` string of a spec to its model and nothing else is ever looked up:
nothing in a spec is evaluated or imported. See :mod:`shapecalc.ops.base` for what each operation
declares.
"""

from . import activation, conv, merge, norm, pad, pool, resize, shape  # noqa: F401  (each registers its types)
from .base import (
    AXES,
    MAX_SIZE,
    REGISTRY,
    FieldRuleError,
    Flag,
    Layer,
    Merge,
    Op,
    Outcome,
    Shape,
    check_int,
    describe,
    register,
    shape_str,
)
from .conv import ConvNd
from .pool import AvgPoolNd, MaxPoolNd, PoolNd
from .spatial import Spatial

# the registry's names, as they are in torch.nn (and torch for the merges)
FAMILIES = (
    "convolution",
    "pooling",
    "resizing",
    "padding",
    "normalisation",
    "shape",
    "activation",
    "merge",
)

__all__ = [
    "AXES",
    "FAMILIES",
    "MAX_SIZE",
    "REGISTRY",
    "AvgPoolNd",
    "ConvNd",
    "FieldRuleError",
    "Flag",
    "Layer",
    "MaxPoolNd",
    "Merge",
    "Op",
    "Outcome",
    "PoolNd",
    "Shape",
    "Spatial",
    "check_int",
    "describe",
    "register",
    "shape_str",
]
