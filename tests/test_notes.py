"""What check says beside the shapes: dropped rows, a missing Flatten, ceil_mode, BatchNorm's
one-value rule. Each claim is checked against torch."""

from __future__ import annotations

import warnings

import pytest
import torch
from oracle import calc_layer, torch_layer
from typer.testing import CliRunner

from shapecalc import build
from shapecalc.cli import app
from shapecalc.errors import ShapeError
from shapecalc.loader import loads
from shapecalc.trace import propagate

runner = CliRunner()


def test_floor_mode_pool_notes_the_row_it_drops() -> None:
    trace = propagate(
        loads("input: [3, 75, 75]\nlayers:\n  - {type: MaxPool2d, kernel_size: 2}\n").spec
    )
    [row] = trace.rows
    assert row.output_shape == (1, 3, 37, 37)
    assert row.notes == (
        "H, W: 75 → 37: ⌊⌋ drops the last row and column (75), which no window reads; an input "
        "of 74 gives the same output",
    )
    # torch agrees: the last row gets no gradient, and 74 gives the same shape
    torch.manual_seed(0)
    x = torch.rand(1, 3, 75, 75, requires_grad=True)
    torch.nn.MaxPool2d(2)(x).sum().backward()
    assert x.grad is not None and bool((x.grad[0, 0, 74] == 0).all())
    assert bool((x.grad[0, 0, 73] != 0).any())
    assert torch.nn.MaxPool2d(2)(torch.ones(1, 3, 74, 74)).shape == (1, 3, 37, 37)


def test_no_drop_note_when_the_windows_cover_the_input() -> None:
    trace = propagate(
        loads("input: [3, 76, 75]\nlayers:\n  - {type: MaxPool2d, kernel_size: 2}\n").spec
    )
    assert trace.rows[0].notes == (
        "W: 75 → 37: ⌊⌋ drops the last column (75), which no window reads; an input of 74 gives "
        "the same output",
    )
    strided = propagate(
        loads(
            "input: [3, 56, 56]\nlayers:\n  - {type: Conv2d, out_channels: 4, kernel_size: 1, stride: 2}\n"
        ).spec
    )
    assert strided.rows[0].notes == ()  # a 1×1 stride-2 convolution skips every other row by design


def test_check_prints_the_drop_note() -> None:
    result = runner.invoke(
        app, ["check", "specs/cifar10.yaml", "--input", "3,75,75"], env={"COLUMNS": "200"}
    )
    notes = [line for line in result.stdout.splitlines() if line.startswith("note:")]
    assert notes and notes[0].startswith(
        "note: layers[1] MaxPool2d 'maxpool1': H, W: 75 → 37: ⌊⌋ drops"
    )


def test_ceil_mode_text_says_past_the_input_without_padding() -> None:
    args = {"kernel_size": 1, "stride": 2, "ceil_mode": True}
    trace = propagate(
        loads(
            "input: [1, 4, 4]\nlayers:\n  - {type: MaxPool2d, kernel_size: 1, stride: 2, ceil_mode: true}\n"
        ).spec
    )
    assert trace.rows[0].formulas[0] == (
        "H: ⌈(4 + 2·0 − 1·(1−1) − 1)/2⌉ + 1 = 3 → 2 (the last window would start past the input)"
    )
    assert torch_layer("MaxPool2d", args, (1, 1, 4, 4)).shape == (1, 1, 2, 2)


@pytest.mark.parametrize(
    ("layers", "fragment"),
    [
        (
            "  - {type: Conv2d, out_channels: 20, kernel_size: 5}\n  - {type: MaxPool2d, kernel_size: 2}\n"
            "  - {type: Linear, in_features: 320, out_features: 10}\n",
            "in_features is 320, but the incoming tensor [1, 20, 4, 4] has 4 features in its last "
            "dimension; it has not been flattened (20·4·4 = 320 = in_features) (input [1, 20, 4, 4] "
            "from layers[1] MaxPool2d 'maxpool1'). Add {type: Flatten} before this layer",
        ),
        (
            "  - {type: Conv2d, out_channels: 20, kernel_size: 5}\n  - {type: MaxPool2d, kernel_size: 2}\n"
            "  - {type: Linear, in_features: 100, out_features: 10}\n",
            "in_features is 100, but the incoming tensor has 4 features in its last dimension "
            "(input [1, 20, 4, 4] from layers[1] MaxPool2d 'maxpool1'). Set in_features: 4, or leave "
            "it out to infer it (or add a Flatten before it, which gives 320 features)",
        ),
    ],
)
def test_linear_on_an_unflattened_tensor(layers: str, fragment: str) -> None:
    with pytest.raises(ShapeError) as caught:
        propagate(loads("input: [1, 12, 12]\nlayers:\n" + layers).spec)
    assert fragment in str(caught.value)
    assert not torch_layer("Linear", {"in_features": 320, "out_features": 10}, (1, 20, 4, 4)).ok


def test_inferred_linear_on_4d_input_notes_the_last_dimension() -> None:
    trace = propagate(
        loads("input: [20, 4, 4]\nlayers:\n  - {type: Linear, out_features: 10}\n").spec
    )
    assert trace.output_shape == (1, 20, 4, 10)
    assert trace.rows[0].notes == (
        "Linear acts on the last dimension only (4 features of [1, 20, 4, 4]); did a Flatten go "
        "missing before it?",
    )
    assert torch_layer("Linear", {"in_features": 4, "out_features": 10}, (1, 20, 4, 4)).shape == (
        1,
        20,
        4,
        10,
    )


def test_flatten_merging_the_batch_is_noted() -> None:
    trace = propagate(
        loads("input: [3, 4, 4]\nbatch: 8\nlayers:\n  - {type: Flatten, start_dim: 0}\n").spec
    )
    assert trace.output_shape == (384,)
    assert "start_dim=0 merges the batch dimension" in trace.rows[0].notes[0]
    assert torch_layer("Flatten", {"start_dim": 0}, (8, 3, 4, 4)).shape == (384,)


def test_batchnorm_without_running_stats_refuses_one_value_per_channel_even_in_eval() -> None:
    args = {"num_features": 3, "track_running_stats": False}
    calc = calc_layer("BatchNorm2d", args, (1, 3, 1, 1))
    real = torch_layer("BatchNorm2d", args, (1, 3, 1, 1))
    assert not real.ok and "Expected more than 1 value per channel" in real.error
    assert not calc.ok and "one value per channel (N·H·W = 1" in calc.error


def test_batchnorm_without_weights_or_stats_accepts_any_channel_count() -> None:
    args = {"num_features": 5, "affine": False, "track_running_stats": False}
    assert torch_layer("BatchNorm2d", args, (2, 3, 4, 4)).shape == (2, 3, 4, 4)
    assert calc_layer("BatchNorm2d", args, (2, 3, 4, 4)).shape == (2, 3, 4, 4)


def test_batchnorm_notes_what_training_mode_would_refuse() -> None:
    trace = propagate(loads("input: [8, 1, 1]\nlayers:\n  - {type: BatchNorm2d}\n").spec)
    assert trace.output_shape == (1, 8, 1, 1)
    assert "which it does in training mode" in trace.rows[0].notes[0]
    module = torch.nn.BatchNorm2d(8).train()
    with pytest.raises(ValueError, match="Expected more than 1 value per channel"):
        module(torch.ones(1, 8, 1, 1))
    assert module.eval()(torch.ones(1, 8, 1, 1)).shape == (1, 8, 1, 1)


# --- what training mode refuses or does that eval mode hides --------------------------------------


def test_instancenorm_with_running_stats_notes_training_modes_spatial_rule() -> None:
    trace = propagate(
        loads(
            "input: [3, 1, 1]\nlayers:\n  - {type: InstanceNorm2d, track_running_stats: true}\n"
        ).spec
    )
    assert trace.output_shape == (1, 3, 1, 1)
    assert (
        "which it does in training mode ('Expected more than 1 spatial element"
        in trace.rows[0].notes[0]
    )
    module = torch.nn.InstanceNorm2d(3, track_running_stats=True)
    assert module.eval()(torch.ones(1, 3, 1, 1)).shape == (1, 3, 1, 1)
    with pytest.raises(ValueError, match="Expected more than 1 spatial element when training"):
        module.train()(torch.ones(1, 3, 1, 1))


def test_instancenorm_wrong_num_features_only_warns_in_torch() -> None:
    args = {"num_features": 3}
    real = torch_layer("InstanceNorm2d", args, (2, 4, 3, 3))
    assert real.ok and real.warned
    calc = calc_layer("InstanceNorm2d", args, (2, 4, 3, 3))
    assert calc.ok and calc.warned
    assert not torch_layer("InstanceNorm2d", {**args, "affine": True}, (2, 4, 3, 3)).ok


@pytest.mark.parametrize("kind", ["ELU", "CELU"])
def test_inplace_negative_alpha_notes_that_backward_fails(kind: str) -> None:
    trace = propagate(
        loads(f"input: [4]\nlayers:\n  - {{type: {kind}, alpha: -1, inplace: true}}\n").spec
    )
    assert "torch refuses the backward pass" in trace.rows[0].notes[0]
    x = torch.ones(1, 4, requires_grad=True)
    y = getattr(torch.nn, kind)(alpha=-1.0, inplace=True)(x * 1)
    with pytest.raises(RuntimeError, match="negative slope"):
        y.sum().backward()
    assert (
        not propagate(loads(f"input: [4]\nlayers:\n  - {{type: {kind}, alpha: -1}}\n").spec)
        .rows[0]
        .notes
    )


@pytest.mark.parametrize("kind", ["Dropout2d", "FeatureAlphaDropout"])
def test_feature_dropout_on_1d_notes_training_refusal(kind: str) -> None:
    op = calc_layer(kind, {}, (4,))
    assert op.ok and op.warned
    module = getattr(torch.nn, kind)()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # Dropout2d's deprecation warning, noted too
        assert module.eval()(torch.ones(4)).shape == (4,)
        with pytest.raises(RuntimeError, match="Feature dropout requires at least 2 dimensions"):
            module.train()(torch.ones(4))


def test_dropout3d_on_a_4d_batch_drops_whole_samples() -> None:
    trace = propagate(loads("input: [8, 4, 4]\nbatch: 16\nlayers:\n  - {type: Dropout3d}\n").spec)
    assert "dim 0 (16) holds the channels that are dropped whole" in trace.rows[0].notes[0]
    torch.manual_seed(0)
    out = torch.nn.Dropout3d(0.5).train()(torch.ones(16, 8, 4, 4))
    per_sample = {float(v) for v in out.flatten(1).amax(1)} | {
        float(v) for v in out.flatten(1).amin(1)
    }
    assert per_sample == {0.0, 2.0}
    assert all(len(set(sample.flatten().tolist())) == 1 for sample in out)


def test_layernorm_inferred_on_a_feature_map_notes_the_last_dimension() -> None:
    trace = propagate(loads("input: [8, 4, 5]\nlayers:\n  - {type: LayerNorm}\n").spec)
    assert trace.rows[0].inferred == {"normalized_shape": (5,)}
    assert trace.rows[0].notes == (
        "normalized_shape inferred as [5], the last dimension only; to normalise over [8, 4, 5] "
        "write normalized_shape: [8, 4, 5]",
    )
    assert torch_layer("LayerNorm", {"normalized_shape": [5]}, (1, 8, 4, 5)).ok
    assert not torch_layer("LayerNorm", {"normalized_shape": [8, 4]}, (1, 8, 4, 5)).ok
    assert (
        not propagate(loads("input: [6, 5]\nlayers:\n  - {type: LayerNorm}\n").spec).rows[0].notes
    )


@pytest.mark.parametrize(
    ("spec_input", "layer", "other"),
    [
        ("[16, 100]", "{type: Conv2d, out_channels: 8, kernel_size: 3}", "Conv1d"),
        ("[4, 8, 8]", "{type: MaxPool3d, kernel_size: 2}", "MaxPool2d"),
        ("[6, 10]", "{type: ConvTranspose2d, out_channels: 2, kernel_size: 3}", "ConvTranspose1d"),
    ],
)
def test_a_spatial_layer_one_rank_too_high_notes_that_the_batch_became_its_channels(
    spec_input: str, layer: str, other: str
) -> None:
    trace = propagate(loads(f"input: {spec_input}\nbatch: 1\nlayers:\n  - {layer}\n").spec)
    [row] = trace.rows
    [note] = row.notes
    assert "unbatched" in note and f"use {other}" in note
    # torch reads it so too: the built module runs on the batched tensor and gives that shape
    spec = loads(f"input: {spec_input}\nbatch: 1\nlayers:\n  - {layer}\n").spec
    assert tuple(build(spec)(torch.zeros(row.input_shape)).shape) == row.output_shape
    assert row.input_shape[0] == 1 and row.op.model_dump().get("in_channels", 1) in (1, None)


def test_no_unbatched_note_on_a_batched_input() -> None:
    trace = propagate(
        loads(
            "input: [16, 100]\nlayers:\n  - {type: Conv1d, out_channels: 8, kernel_size: 3}\n"
        ).spec
    )
    assert trace.rows[0].notes == ()
