"""The words of a diagram: a tensor's shape as the classic figure writes it, an operation in brief.

``32@16×16`` is 32 feature maps of 16×16 (the channels, then the spatial sizes, batch left out);
``1×1024`` is a vector of 1024 features, as the flattened tensor of one sample is written in the
CIFAR10 figure. An operation is its kind and its window: ``conv 5×5, p=2``, ``max-pool 2×2``,
``conv 3×3, s=2, p=1, g=32``.
"""

from __future__ import annotations

import re
from typing import Any

from ..ops import Op, Shape

_DIM = re.compile(r"\d+d$")
_WORD = re.compile(r"[A-Z]+(?![a-z])|[A-Z][a-z]*|[a-z]+|\d+")
# kinds that read better in the field's words than split from the class name
_WORDS = {"Linear": "fully connected", "BatchNorm": "batch-norm"}


def shape_label(shape: Shape) -> str:
    """One sample's tensor: ``C@H×W`` (``C@L``, ``C@D×H×W``), or ``1×F`` for a vector.

    >>> shape_label((64, 32, 16, 16)), shape_label((64, 1024)), shape_label((1, 8, 100))
    ('32@16×16', '1×1024', '8@100')
    """
    sample = shape[1:]
    if not sample:
        return "1"
    if len(sample) == 1:
        return f"1×{sample[0]}"
    return f"{sample[0]}@" + "×".join(map(str, sample[1:]))


def kind_word(type_name: str, family: str = "") -> str:
    """``Conv2d`` → ``conv``, ``MaxPool2d`` → ``max-pool``; activations keep their names (ReLU).

    >>> kind_word("AdaptiveAvgPool2d"), kind_word("Linear"), kind_word("ReLU", "activation")
    ('adaptive-avg-pool', 'fully connected', 'ReLU')
    """
    if family == "activation":
        return type_name
    base = _DIM.sub("", type_name) or type_name
    if base in _WORDS:
        return _WORDS[base]
    return "-".join(w.lower() for w in _WORD.findall(base)) or type_name


def _sizes(values: list[int]) -> str:
    return str(values[0]) if len(set(values)) == 1 else "×".join(map(str, values))


def op_label(op: Op | None, type_name: str) -> str:
    """The operation in brief: its kind, and for a sliding window its kernel, stride (where it is
    not the default), padding, dilation, groups and ceil mode.

    >>> from shapecalc.ops import REGISTRY
    >>> conv = REGISTRY["Conv2d"].model_validate({"out_channels": 8, "kernel_size": 5, "padding": 2})
    >>> op_label(conv, "Conv2d")
    'conv 5×5, p=2'
    >>> op_label(REGISTRY["MaxPool2d"].model_validate({"kernel_size": 2}), "MaxPool2d")
    'max-pool 2×2'
    """
    family = type(op).family if op is not None else ""
    word = kind_word(type_name, family)
    windows = _windows(op)
    if not windows:
        return word
    parts = [f"{word} " + "×".join(str(w.kernel) for w in windows)]
    strides = [w.stride for w in windows]
    defaults = [w.kernel for w in windows] if _stride_defaults_to_kernel(op) else [1] * len(strides)
    if strides != defaults:
        parts.append(f"s={_sizes(strides)}")
    padding = getattr(op, "padding", None)
    if padding == "same":
        parts.append("p=same")
    elif any(w.left or w.right for w in windows):
        if all(w.left == w.right for w in windows):
            parts.append(f"p={_sizes([w.left for w in windows])}")
        else:
            parts.append("p=" + "×".join(f"({w.left},{w.right})" for w in windows))
    if any(w.dilation != 1 for w in windows):
        parts.append(f"d={_sizes([w.dilation for w in windows])}")
    groups = getattr(op, "groups", 1)
    if isinstance(groups, int) and groups != 1:
        parts.append(f"g={groups}")
    if any(w.ceil_mode for w in windows):
        parts.append("ceil")
    return ", ".join(parts)


def _windows(op: Op | None) -> list[Any]:
    """The op's sliding window along each spatial dimension, or [] for an op without one."""
    window = getattr(op, "window", None)
    n = getattr(type(op), "n", None)
    if window is None or not isinstance(n, int):
        return []
    try:
        found = [window(i) for i in range(n)]
    except (IndexError, TypeError, ValueError, AttributeError):
        return []
    return found if all(w is not None for w in found) else []


def _stride_defaults_to_kernel(op: Op | None) -> bool:
    """torch's pooling layers default their stride to the kernel size (``stride=None``)."""
    field = type(op).model_fields.get("stride") if op is not None else None
    return field is not None and field.default is None
