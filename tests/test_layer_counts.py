"""Counting, layer by layer, from the registry: for every layer type on inputs it accepts, the
calculator's parameters equal the built module's and its mult-adds equal torchinfo's."""

from __future__ import annotations

import warnings
from typing import Any

import pytest
import torch
import torchinfo
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from shapecalc.builder import make_module
from shapecalc.errors import LayerError
from shapecalc.ops import REGISTRY

LAYERS = sorted(kind for kind, cls in REGISTRY.items() if not cls.merge)


def accepted(kind: str) -> Any:
    """The type's own differential-test examples that the calculator accepts, with its outcome."""

    def outcome(example: tuple[dict[str, Any], tuple[int, ...]]) -> Any:
        args, shape = example
        try:
            layer = REGISTRY[kind].model_validate({"type": kind, **args})
            return layer, shape, layer.infer(shape)
        except (ValidationError, LayerError):
            return None

    return REGISTRY[kind].examples(st).map(outcome).filter(lambda found: found is not None)


@pytest.mark.parametrize("kind", LAYERS)
def test_params_and_mult_adds_of_every_layer(kind: str) -> None:
    @settings(max_examples=max(5, settings.default.max_examples // 6))
    @given(accepted(kind))
    def check(found: Any) -> None:
        layer, shape, outcome = found
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            module = make_module(layer, outcome.inferred)
            assert outcome.params == sum(p.numel() for p in module.parameters()), (layer, shape)
            stats = torchinfo.summary(module, input_size=shape, verbose=0, device="cpu")
        assert layer.mult_adds((shape,), outcome) == stats.total_mult_adds, (layer, shape)
        assert outcome.params == stats.total_params

    check()


def test_transposed_convolution_weights_are_in_channels_first() -> None:
    """ConvTranspose2d's weight is (C_in, C_out / groups, kH, kW): the count is the same as a
    Conv2d's, the layout is not, and torchinfo counts N × output positions for both."""
    layer = REGISTRY["ConvTranspose2d"].model_validate(
        {"type": "ConvTranspose2d", "out_channels": 6, "kernel_size": [3, 2], "groups": 2}
    )
    outcome = layer.infer((2, 4, 5, 5))
    module = make_module(layer, outcome.inferred)
    assert isinstance(module, torch.nn.ConvTranspose2d)
    assert tuple(module.weight.shape) == (4, 3, 3, 2)
    assert outcome.params == 4 * 3 * 3 * 2 + 6
    assert outcome.output == (2, 6, 7, 6)
    assert layer.mult_adds(((2, 4, 5, 5),), outcome) == outcome.params * 2 * 7 * 6


def test_upsample_sizes_reach_torch_as_written() -> None:
    """A one-entry size is not an int to torch: [1] on a 4-D input is refused, 1 is not."""
    layer = REGISTRY["UpsamplingBilinear2d"].model_validate(
        {"type": "UpsamplingBilinear2d", "size": [1]}
    )
    module = make_module(layer)
    assert module.size == (1,)
    with pytest.raises(ValueError, match="same number of spatial dimensions"):
        module(torch.ones(1, 1, 4, 4))
    with pytest.raises(LayerError, match="size has 1 entry, but the input"):
        layer.infer((1, 1, 4, 4))
