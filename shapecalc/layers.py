"""The layer types a spec may use, by their torch.nn names: ``from shapecalc.layers import Conv2d``.

The models live in :mod:`shapecalc.ops`, one module per family; ``LAYER_TYPES`` is the registry.
"""

from __future__ import annotations

from .ops import *  # noqa: F403
from .ops import REGISTRY, Op

LAYER_TYPES = REGISTRY


def __getattr__(name: str) -> type[Op]:
    """Every registered type by name (``shapecalc.layers.Conv2d``)."""
    try:
        return REGISTRY[name]
    except KeyError:
        raise AttributeError(f"module 'shapecalc.layers' has no attribute {name!r}") from None
