"""Names: what a torch.nn.Module attribute may be called, and the closest match to a misspelt one."""

from __future__ import annotations

import difflib
import keyword
from collections.abc import Callable, Iterable

# Attribute names a torch.nn.Module already has: a layer of a module class can't take them.
RESERVED_NAMES = frozenset(
    [
        "T_destination",
        "add_module",
        "apply",
        "bfloat16",
        "buffers",
        "call_super_init",
        "children",
        "compile",
        "cpu",
        "cuda",
        "double",
        "dump_patches",
        "eval",
        "extra_repr",
        "float",
        "forward",
        "get_buffer",
        "get_extra_state",
        "get_parameter",
        "get_submodule",
        "half",
        "ipu",
        "load_state_dict",
        "modules",
        "mtia",
        "named_buffers",
        "named_children",
        "named_modules",
        "named_parameters",
        "parameters",
        "register_backward_hook",
        "register_buffer",
        "register_forward_hook",
        "register_forward_pre_hook",
        "register_full_backward_hook",
        "register_full_backward_pre_hook",
        "register_load_state_dict_post_hook",
        "register_load_state_dict_pre_hook",
        "register_module",
        "register_parameter",
        "register_state_dict_post_hook",
        "register_state_dict_pre_hook",
        "requires_grad_",
        "set_extra_state",
        "set_submodule",
        "share_memory",
        "state_dict",
        "to",
        "to_empty",
        "train",
        "training",
        "type",
        "xpu",
        "zero_grad",
    ]
)


def check_identifier(value: object, what: str) -> str:
    """A name a Python attribute and a torch.nn.Module child can take; raises ValueError."""
    if not isinstance(value, str):
        raise ValueError(f"must be a string, but got {value!r}")
    if keyword.iskeyword(value):
        raise ValueError(f"{value!r} is a Python keyword; choose another {what}")
    if not value.isidentifier():
        shown = value if len(value) <= 40 else value[:37] + "…"
        raise ValueError(f"must be a Python identifier (letters, digits, _), but got {shown!r}")
    if value.startswith("_"):
        raise ValueError(f"must not start with an underscore, but got {value!r}")
    if value in RESERVED_NAMES:
        raise ValueError(f"{value!r} is an attribute of torch.nn.Module; choose another {what}")
    return value


def closest(
    word: str, choices: Iterable[str], prefer: Callable[[str], bool] | None = None
) -> str | None:
    """The choice closest to ``word`` (case-insensitive), or None when nothing is close.

    ``prefer`` picks among the close ones first (a layer of the spec's own rank, say).

    >>> closest("Conv2D", ["Conv1d", "Conv2d", "Conv3d"])
    'Conv2d'
    >>> closest("AdaptiveAvgPool2D", ["AdaptiveAvgPool1d", "AdaptiveAvgPool2d"])
    'AdaptiveAvgPool2d'
    >>> closest("Conv", ["Conv1d", "Conv2d"], prefer=lambda c: c == "Conv2d")
    'Conv2d'
    """
    lowered: dict[str, str] = {}
    for choice in choices:
        lowered.setdefault(choice.lower(), choice)
    key = str(word).lower()
    if key in lowered:
        return lowered[key]
    found = [lowered[m] for m in difflib.get_close_matches(key, list(lowered), n=6, cutoff=0.6)]
    if prefer is not None:
        found = [c for c in found if prefer(c)] + [c for c in found if not prefer(c)]
    return found[0] if found else None


def did_you_mean(
    word: str, choices: Iterable[str], prefer: Callable[[str], bool] | None = None
) -> str:
    """``"; did you mean 'X'?"`` for the closest choice, or ``"."`` when there is none."""
    hint = closest(word, choices, prefer)
    return f"; did you mean '{hint}'?" if hint else "."
