"""Parameters and multiply-adds of every registered layer type, against the built torch module.

For each type, hypothesis draws examples from the type's own ``examples`` strategy (the one the
differential test uses), leaves out inferable sizes at random so the calculator fills them in, and
for every configuration the calculator accepts builds the module with ``make_module`` and the
inferred arguments. Then the calculator's parameters must equal ``sum(p.numel())`` of the module,
and its multiply-adds torchinfo's ``total_mult_adds`` (torchinfo's convention is the project's).
Refused configurations are the differential test's subject.
"""

from __future__ import annotations

import warnings
from typing import Any

import pytest
import torch
import torchinfo
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from shapecalc.builder import make_module
from shapecalc.errors import LayerError
from shapecalc.ops import REGISTRY, Layer

LAYERS = sorted(kind for kind, cls in REGISTRY.items() if not cls.merge)


def per_type() -> Any:
    return settings(
        max_examples=max(10, settings.default.max_examples // 4),
        suppress_health_check=[HealthCheck.filter_too_much, HealthCheck.too_slow],
    )


@pytest.mark.parametrize("kind", LAYERS)
def test_params_and_mult_adds_match_the_module_and_torchinfo(kind: str) -> None:
    cls = REGISTRY[kind]
    counted: list[int] = []

    @given(cls.examples(st), st.data())
    def check(example: tuple[dict[str, Any], tuple[int, ...]], data: st.DataObject) -> None:
        args, shape = example
        for name in cls.inferable:
            if name in args and data.draw(st.booleans(), label=f"infer {name}"):
                del args[name]
        try:
            op = cls.model_validate({"type": kind, **args})
            assert isinstance(op, Layer)
            outcome = op.infer(shape)
        except (ValidationError, LayerError):
            return
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # torch's own (implicit softmax dim, deprecated ranks)
            module = make_module(op, outcome.inferred).eval()
            stats = torchinfo.summary(module, input_size=shape, mode="eval", verbose=0)
        context = (kind, args, shape, outcome.inferred)
        assert outcome.params == sum(p.numel() for p in module.parameters()), context
        assert outcome.params == stats.total_params, context
        assert op.mult_adds((shape,), outcome) == stats.total_mult_adds, context
        counted.append(outcome.params)

    per_type()(check)()
    if not counted:  # a type that refuses most inputs (Dropout1d takes 2-D and 3-D only): look longer
        settings(parent=per_type(), max_examples=400)(check)()
    # the strategy must reach accepted configurations, else this test checked nothing
    assert counted, f"no example of {kind} was accepted"


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
