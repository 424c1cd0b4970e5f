"""The constructor arguments a built module receives: inferred sizes, and list arguments that must stay
lists (LayerNorm's normalized_shape) while "int or n-tuple" ones collapse to one int."""

from __future__ import annotations

import pytest
import torch

from shapecalc import build, propagate
from shapecalc.loader import loads


def _built(layer: str, input_shape: str = "[8, 16, 16]") -> torch.nn.Module:
    spec = loads(f"input: {input_shape}\nbatch: 2\nlayers:\n  - {layer}\n").spec
    model = build(spec)
    x = torch.ones(propagate(spec).input_shape)
    assert tuple(model(x).shape) == propagate(spec).rows[0].output_shape
    return model[0]


@pytest.mark.parametrize(
    ("layer", "normalized_shape", "params"),
    [
        ("{type: LayerNorm, normalized_shape: [16, 16]}", (16, 16), 2 * 256),
        ("{type: LayerNorm, normalized_shape: [8, 16, 16]}", (8, 16, 16), 2 * 2048),
        ("{type: LayerNorm, normalized_shape: 16}", (16,), 2 * 16),
        ("{type: LayerNorm}", (16,), 2 * 16),  # inferred: the last dimension
        ("{type: LayerNorm, normalized_shape: [16, 16], bias: false}", (16, 16), 256),
    ],
)
def test_layer_norm_keeps_its_normalized_shape(
    layer: str, normalized_shape: tuple[int, ...], params: int
) -> None:
    module = _built(layer)
    assert isinstance(module, torch.nn.LayerNorm)
    assert module.normalized_shape == normalized_shape
    assert sum(p.numel() for p in module.parameters()) == params


def test_equal_kernel_sizes_still_collapse() -> None:
    assert "kernel_size=2," in repr(_built("{type: MaxPool2d, kernel_size: [2, 2]}"))


def test_inferred_sizes_reach_the_normalisations() -> None:
    group = _built("{type: GroupNorm, num_groups: 4}")
    assert isinstance(group, torch.nn.GroupNorm) and group.num_channels == 8
    instance = _built("{type: InstanceNorm2d, affine: true}")
    assert isinstance(instance, torch.nn.InstanceNorm2d) and instance.num_features == 8
    assert sum(p.numel() for p in instance.parameters()) == 16


def test_prelu_num_parameters_is_not_inferred() -> None:
    """As in torch, PReLU shares one slope unless num_parameters says otherwise."""
    shared = _built("{type: PReLU}")
    assert isinstance(shared, torch.nn.PReLU) and shared.num_parameters == 1
    per_channel = _built("{type: PReLU, num_parameters: 8}")
    assert sum(p.numel() for p in per_channel.parameters()) == 8
