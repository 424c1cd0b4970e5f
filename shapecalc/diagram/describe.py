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


def _sizes(values: Any) -> str:
    """``2`` for equal values (or one), ``3×1`` otherwise; ``·`` stands for None."""
    items = list(values) if isinstance(values, (list, tuple)) else [values]
    shown = ["·" if v is None else f"{v:g}" if isinstance(v, float) else str(v) for v in items]
    return shown[0] if len(set(shown)) == 1 else "×".join(shown)


def op_label(op: Op | None, type_name: str) -> str:
    """The operation in brief: its kind, and where it has them its kernel (or the size or factor
    it resizes to), stride where it is not the default, padding, dilation, groups, ceil mode.

    >>> from shapecalc.ops import REGISTRY
    >>> conv = REGISTRY["Conv2d"].model_validate({"out_channels": 8, "kernel_size": 5, "padding": 2})
    >>> op_label(conv, "Conv2d")
    'conv 5×5, p=2'
    >>> op_label(REGISTRY["MaxPool2d"].model_validate({"kernel_size": 2}), "MaxPool2d")
    'max-pool 2×2'
    """
    family = type(op).family if op is not None else ""
    word = kind_word(type_name, family)
    if op is None:
        return word
    windows = _windows(op)
    head, params = _window_parts(op, windows) if windows else _field_parts(op, family)
    if head:
        word = f"{word} {head}"
    return ", ".join([word, *params])


def _window_parts(op: Op, windows: list[Any]) -> tuple[str, list[str]]:
    """From the sliding windows: exact, 'same' padding's extra right pad included."""
    params = []
    strides = [w.stride for w in windows]
    defaults = [w.kernel for w in windows] if _stride_defaults_to_kernel(op) else [1] * len(strides)
    if strides != defaults:
        params.append(f"s={_sizes(strides)}")
    if getattr(op, "padding", None) == "same":
        params.append("p=same")
    elif any(w.left or w.right for w in windows):
        if all(w.left == w.right for w in windows):
            params.append(f"p={_sizes([w.left for w in windows])}")
        else:
            params.append("p=" + "×".join(f"({w.left},{w.right})" for w in windows))
    if any(w.dilation != 1 for w in windows):
        params.append(f"d={_sizes([w.dilation for w in windows])}")
    params += _groups(op)
    if any(w.ceil_mode for w in windows):
        params.append("ceil")
    return "×".join(str(w.kernel) for w in windows), params


def _field_parts(op: Op, family: str) -> tuple[str, list[str]]:
    """From the arguments, for operations without a window (transposed convolution, adaptive
    pooling, resizing, padding): the kernel or target, then what differs from the default."""
    fields = type(op).model_fields

    def get(name: str) -> Any:
        return getattr(op, name, None) if name in fields else None

    head = ""
    rank = getattr(type(op), "n", None)
    kernel = get("kernel_size")
    if kernel is not None:
        head = "×".join(map(str, kernel)) if isinstance(kernel, tuple) else str(kernel)
    elif get("output_size") is not None:
        head = f"to {_shape(get('output_size'), rank)}"
    elif family == "resizing" and get("size") is not None:
        head = f"to {_shape(get('size'), rank)}"
    elif get("scale_factor") is not None:
        head = f"×{_sizes(get('scale_factor'))}"
    elif get("upscale_factor") is not None:
        head = f"×{get('upscale_factor')}"
    elif get("downscale_factor") is not None:
        head = f"÷{get('downscale_factor')}"
    params = []
    stride = get("stride")
    if stride is not None:
        default = kernel if fields["stride"].default is None else 1
        if _sizes(stride) != _sizes(default):
            params.append(f"s={_sizes(stride)}")
    for name, short in (("padding", "p"), ("output_padding", "op"), ("dilation", "d")):
        value = get(name)
        if isinstance(value, str) and value != "valid":
            params.append(f"{short}={value}")
        elif isinstance(value, (int, tuple)) and _sizes(value) != ("1" if short == "d" else "0"):
            if isinstance(value, tuple) and len(value) != rank:  # a pad's (left, right, top, ...)
                params.append(f"{short}=({','.join(map(str, value))})")
            else:
                params.append(f"{short}={_sizes(value)}")
    params += _groups(op)
    mode = get("mode")
    if isinstance(mode, str) and mode != fields["mode"].default:
        params.append(mode)
    return head, params


def _shape(values: Any, rank: int | None) -> str:
    """Every size, ``7×7`` (``·`` for a size kept); one int stands for all ``rank`` dims."""
    items = values if isinstance(values, (list, tuple)) else [values] * (rank or 1)
    return "×".join("·" if v is None else str(v) for v in items)


def _groups(op: Op) -> list[str]:
    groups = getattr(op, "groups", 1)
    return [f"g={groups}"] if isinstance(groups, int) and groups != 1 else []


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
