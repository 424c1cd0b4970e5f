"""solve_input against a brute-force scan with real torch, plus the CLI."""

from __future__ import annotations

import json
import warnings
from typing import Any

import pytest
import torch
from conftest import SPECS
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from oracle import TORCH_ERRORS
from typer.testing import CliRunner

from shapecalc.builder import build
from shapecalc.cli import app
from shapecalc.errors import ShapeError
from shapecalc.loader import load
from shapecalc.solvers.inputs import dropped, solve_input, unread
from shapecalc.spec import Spec
from shapecalc.trace import propagate

runner = CliRunner()


def torch_valid_sizes(spec: Spec, max_size: int) -> set[tuple[int, int]]:
    """(H, W) for which the module built for the spec's own input runs on a (1, C, H, W) input."""
    model = build(spec).eval()
    valid = set()
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for h in range(1, max_size + 1):
            for w in range(1, max_size + 1):
                try:
                    model(torch.ones(1, spec.input[0], h, w))
                except TORCH_ERRORS:
                    continue
                valid.add((h, w))
    return valid


def solved_sizes(spec: Spec, max_size: int) -> set[tuple[int, int]]:
    solution = solve_input(spec, max_size)
    return {
        (h, w)
        for f in solution.families
        for h in range(f.h_lo, f.h_hi + 1)
        for w in range(f.w_lo, f.w_hi + 1)
    }


def spec_of(layers: list[dict[str, Any]], input_: list[int]) -> Spec:
    return Spec.model_validate({"input": input_, "layers": layers})


SMALL_CIFAR = [
    {"type": "Conv2d", "out_channels": 4, "kernel_size": 3, "padding": 1},
    {"type": "MaxPool2d", "kernel_size": 2},
    {"type": "Conv2d", "out_channels": 2, "kernel_size": 3, "padding": 1},
    {"type": "MaxPool2d", "kernel_size": 2},
    {"type": "Flatten"},
    {"type": "Linear", "out_features": 3},
]


def test_not_square_answer_matches_torch() -> None:
    spec = spec_of(SMALL_CIFAR, [3, 16, 16])  # Linear(2·4·4 = 32): ⌊H/4⌋·⌊W/4⌋ = 16
    solution = solve_input(spec, 40)
    assert not solution.separable
    assert solved_sizes(spec, 40) == torch_valid_sizes(spec, 40)
    assert (4, 64 // 4) not in solved_sizes(spec, 40)  # W beyond --max
    assert {(f.h_lo, f.h_hi, f.w_lo, f.w_hi) for f in solution.families} >= {
        (16, 19, 16, 19),
        (8, 11, 32, 35),
    }
    assert solution.square == ((16, 19),)
    assert [d.expression for d in solution.dims] == ["⌊⌊H/2⌋/2⌋", "⌊⌊W/2⌋/2⌋"]


def test_empty_answer_matches_torch() -> None:
    # 2·h·w features can never be 7; the spec's own input already fails at the Linear
    spec = spec_of(
        [
            {"type": "Conv2d", "out_channels": 2, "kernel_size": 3},
            {"type": "Flatten"},
            {"type": "Linear", "in_features": 7, "out_features": 2},
        ],
        [2, 8, 8],
    )
    solution = solve_input(spec, 20)
    model = torch.nn.Sequential(torch.nn.Conv2d(2, 2, 3), torch.nn.Flatten(), torch.nn.Linear(7, 2))
    for h in range(1, 21):
        for w in range(1, 21):
            with pytest.raises(RuntimeError):
                model(torch.ones(1, 2, h, w))
    assert not solution.ok and solved_sizes(spec, 20) == set()
    # each range names the layer that rules it out
    assert {(b.axis, b.lo, b.hi, b.layer) for d in solution.dims for b in d.blocked} == {
        ("H", 1, 2, 0),
        ("W", 1, 2, 0),
    }
    assert [(b.layer, b.layer_name) for b in solution.joint_blocked] == [(2, "linear1")]


def test_fully_convolutional_answer_is_a_product() -> None:
    spec = spec_of(
        [
            {
                "type": "Conv2d",
                "out_channels": 2,
                "kernel_size": [3, 5],
                "stride": [1, 2],
                "dilation": 2,
            },
            {"type": "MaxPool2d", "kernel_size": 3, "stride": 2, "padding": 1, "ceil_mode": True},
            {"type": "ReLU"},
        ],
        [2, 20, 20],
    )
    solution = solve_input(spec, 30)
    assert solution.separable
    assert solution.valid_h == ((5, 30),) and solution.valid_w == ((9, 30),)
    assert solved_sizes(spec, 30) == torch_valid_sizes(spec, 30)
    assert "*" in solution.dims[0].expression  # ceil_mode correction marked


@st.composite
def small_specs(draw: st.DrawFn) -> Spec:
    layers: list[dict[str, Any]] = []
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(["Conv2d", "MaxPool2d", "AvgPool2d", "ReLU", "BatchNorm2d"]))
        k = draw(st.integers(1, 4))
        layer: dict[str, Any] = {"type": kind}
        if kind == "Conv2d":
            layer.update(
                out_channels=draw(st.integers(1, 3)),
                kernel_size=k,
                stride=draw(st.integers(1, 3)),
                padding=draw(st.integers(0, 2)),
                dilation=draw(st.integers(1, 2)),
                padding_mode=draw(st.sampled_from(["zeros", "reflect", "circular"])),
            )
        elif kind in ("MaxPool2d", "AvgPool2d"):
            layer.update(
                kernel_size=k,
                stride=draw(st.integers(1, 3)),
                padding=draw(st.integers(0, k // 2)),
                ceil_mode=draw(st.booleans()),
            )
        layers.append(layer)
    if draw(st.booleans()):
        layers += [{"type": "Flatten"}, {"type": "Linear", "out_features": 2}]
    return spec_of(
        layers, [draw(st.integers(1, 2)), draw(st.integers(4, 12)), draw(st.integers(4, 12))]
    )


@settings(max_examples=max(10, settings().max_examples // 10))
@given(small_specs())
def test_random_specs_match_a_torch_scan(spec: Spec) -> None:
    try:
        propagate(spec)
    except ShapeError:
        assume(False)
    assert solved_sizes(spec, 14) == torch_valid_sizes(spec, 14)


def test_unread_rows_are_found() -> None:
    pools = spec_of(
        [{"type": "MaxPool2d", "kernel_size": 2}, {"type": "MaxPool2d", "kernel_size": 2}],
        [1, 8, 8],
    )
    assert unread([e.op for e in pools.layers], 0, 35) == [32, 33, 34]
    cifar = load(SPECS / "cifar10.yaml").spec
    assert (
        unread([e.op for e in cifar.layers[:6]], 0, 39) == []
    )  # the padded 5×5 convolutions spread every row
    assert [(p, n) for p, n, _ in dropped([e.op for e in cifar.layers[:6]], 0, 39)] == [
        (1, 1),
        (3, 1),
        (5, 1),
    ]


def test_unread_agrees_with_torch_gradients() -> None:
    # a row is read iff the output depends on it: the input gradient is non-zero there
    spec = spec_of(
        [
            {"type": "Conv2d", "out_channels": 1, "kernel_size": 3, "stride": 2, "dilation": 2},
            {"type": "AvgPool2d", "kernel_size": 2},
        ],
        [1, 23, 23],
    )
    model = build(spec)
    x = torch.ones(1, 1, 23, 23, requires_grad=True)
    model(x).sum().backward()
    assert x.grad is not None
    zero_rows = [r for r in range(23) if bool((x.grad[0, 0, r] == 0).all())]
    assert unread([e.op for e in spec.layers], 0, 23) == zero_rows


# --- CLI ------------------------------------------------------------------------------------------


def test_cli_cifar10_golden(golden) -> None:  # type: ignore[no-untyped-def]
    result = runner.invoke(app, ["solve-input", "specs/cifar10.yaml"], env={"COLUMNS": "120"})
    assert result.exit_code == 0
    golden("solve_input_cifar10.txt", result.stdout)
    assert "H → ⌊⌊⌊H/2⌋/2⌋/2⌋" in result.stdout
    assert "  H ∈ [32, 39], W ∈ [32, 39]" in result.stdout
    assert "square inputs: H = W ∈ [32, 39]" in result.stdout


def test_cli_json_and_empty_exit(write_spec) -> None:  # type: ignore[no-untyped-def]
    result = runner.invoke(app, ["solve-input", "--json", "--max", "64"])
    doc = json.loads(result.stdout)
    assert result.exit_code == 0 and doc["ok"] and not doc["separable"]
    assert {"H": [32, 39], "W": [32, 39]} in doc["families"]
    assert doc["expressions"] == {"H": "⌊⌊⌊H/2⌋/2⌋/2⌋", "W": "⌊⌊⌊W/2⌋/2⌋/2⌋"}
    path = write_spec(
        "input: [2, 8, 8]\nlayers:\n  - {type: Flatten}\n  - {type: Linear, in_features: 7, out_features: 2}\n"
    )
    result = runner.invoke(app, ["solve-input", str(path), "--max", "20"])
    assert result.exit_code == 1
    assert (
        "other (H, W), e.g. H ∈ [1, 1], W ∈ [1, 1]: layers[1] Linear 'linear1': in_features is 7"
        in result.stdout
    )
    assert result.stderr.startswith("error: no input size in 1..20 works for")


def test_cli_needs_spatial_input(write_spec) -> None:  # type: ignore[no-untyped-def]
    path = write_spec("input: [10]\nlayers: [{type: Linear, out_features: 2}]\n")
    result = runner.invoke(app, ["solve-input", str(path)])
    assert result.exit_code == 1
    assert (
        result.stderr.strip()
        == "error: solve-input needs a [C, H, W] input, but the spec's input is [10]"
    )


@pytest.mark.parametrize("args", [["--max", "0"], ["--max", "x"]])
def test_cli_usage_errors(args: list[str]) -> None:
    assert runner.invoke(app, ["solve-input", *args]).exit_code == 2
