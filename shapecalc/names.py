"""Layer and class names: what a torch.nn.Module accepts, and the defaults a spec gets."""

from __future__ import annotations

import keyword
from collections import Counter

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

# Default names: these types are always numbered (conv1, maxpool1, linear1, as in the seed);
# the others are numbered only when the type occurs more than once (flatten, relu1, relu2).
_PREFIX = {
    "Conv2d": "conv",
    "MaxPool2d": "maxpool",
    "AvgPool2d": "avgpool",
    "Linear": "linear",
    "BatchNorm2d": "bn",
}


def check_identifier(value: object, what: str) -> str:
    if not isinstance(value, str):
        raise ValueError(f"must be a string, but got {value!r}")
    if not value.isidentifier() or keyword.iskeyword(value):
        raise ValueError(f"must be a Python identifier (letters, digits, _), but got {value!r}")
    if value.startswith("_"):
        raise ValueError(f"must not start with an underscore, but got {value!r}")
    if value in RESERVED_NAMES:
        raise ValueError(f"{value!r} is an attribute of torch.nn.Module; choose another {what}")
    return value


def default_names(types: list[str], given: list[str | None]) -> list[str]:
    """Derive a name for each unnamed layer, avoiding the names given explicitly.

    >>> default_names(["Conv2d", "MaxPool2d", "Flatten", "Linear", "Linear"], [None] * 5)
    ['conv1', 'maxpool1', 'flatten', 'linear1', 'linear2']
    """
    counts = Counter(types)
    taken = {g for g in given if g is not None}
    seen: Counter[str] = Counter()
    names = []
    for layer_type, explicit in zip(types, given, strict=True):
        if explicit is not None:
            names.append(explicit)
            continue
        prefix = _PREFIX.get(layer_type, layer_type.lower())
        numbered = layer_type in _PREFIX or counts[layer_type] > 1
        while True:
            seen[prefix] += 1
            name = f"{prefix}{seen[prefix]}" if numbered else prefix
            if name not in taken:
                break
            numbered = True
        taken.add(name)
        names.append(name)
    return names
