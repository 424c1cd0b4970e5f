"""`shapecalc check`: golden human output at a fixed width, the JSON document, several files."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
import torch
from conftest import SPECS
from typer.testing import CliRunner

from shapecalc.builder import build
from shapecalc.cli import app
from shapecalc.loader import load

runner = CliRunner()
WIDE = {"COLUMNS": "120", "NO_COLOR": "1"}


def test_human_output_golden(golden) -> None:  # type: ignore[no-untyped-def]
    result = runner.invoke(app, ["check", "specs/cifar10.yaml"], env=WIDE)
    assert result.exit_code == 0, result.stderr
    golden("check_cifar10.txt", result.stdout)


def test_default_spec_is_the_bundled_cifar10() -> None:
    default = runner.invoke(app, ["check"], env=WIDE)
    explicit = runner.invoke(app, ["check", str(SPECS / "cifar10.yaml")], env=WIDE)
    assert default.exit_code == 0
    assert default.stdout.splitlines()[1:] == explicit.stdout.splitlines()[1:]


def test_json_document_agrees_with_torch() -> None:
    result = runner.invoke(app, ["check", "specs/cifar10.yaml", "--json"])
    assert result.exit_code == 0
    [doc] = json.loads(result.stdout)
    model = build(load(SPECS / "cifar10.yaml").spec)
    x = torch.ones(doc["input_shape"])
    shapes = []
    for module in model:
        x = module(x)
        shapes.append(list(x.shape))
    assert doc["ok"] is True and doc["errors"] == []
    assert doc["spec"] == "specs/cifar10.yaml"
    assert doc["output_shape"] == list(x.shape) == [64, 10]
    assert doc["params"] == doc["total_params"] == sum(p.numel() for p in model.parameters())
    assert doc["params"] == 145_578
    assert (
        doc["mult_adds"]
        == doc["total_mult_adds"]
        == sum(layer["mult_adds"] for layer in doc["layers"])
    )
    assert [layer["output_shape"] for layer in doc["layers"]] == shapes
    assert [layer["input_shape"] for layer in doc["layers"][1:]] == shapes[:-1]
    assert [layer["name"] for layer in doc["layers"]] == [
        "conv1",
        "maxpool1",
        "conv2",
        "maxpool2",
        "conv3",
        "maxpool3",
        "flatten",
        "linear1",
        "linear2",
    ]
    assert [layer["index"] for layer in doc["layers"]] == list(range(9))
    assert [layer["params"] for layer in doc["layers"]] == [
        sum(p.numel() for p in m.parameters()) for m in model
    ]


def test_several_files(write_spec) -> None:  # type: ignore[no-untyped-def]
    good = str(SPECS / "cifar10.yaml")
    bad = str(write_spec("input: [3]\nlayers: [{type: Linear, in_features: 4, out_features: 2}]\n"))
    result = runner.invoke(app, ["check", good, good, "--json"])
    assert result.exit_code == 0
    assert [d["ok"] for d in json.loads(result.stdout)] == [True, True]
    result = runner.invoke(app, ["check", good, bad, "--json"])
    assert result.exit_code == 1
    docs = json.loads(result.stdout)
    assert [d["ok"] for d in docs] == [True, False]
    assert docs[1]["errors"][0]["field"] == "layers[0].in_features"
    assert docs[1]["errors"][0]["layer"] == 0
    assert result.stderr.startswith(f"{bad}:2:25: error: layers[0].in_features")


def test_notes_are_shown(write_spec) -> None:  # type: ignore[no-untyped-def]
    path = write_spec(
        "input: [1, 8, 8]\nlayers:\n  - {type: Conv2d, out_channels: 2, kernel_size: 4, padding: same}\n"
    )
    result = runner.invoke(app, ["check", str(path)], env=WIDE)
    assert result.exit_code == 0
    assert (
        "note: layers[0] Conv2d 'conv1': padding='same' with an even effective kernel"
        in result.stdout
    )


def test_python_dash_m_and_help() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "shapecalc", "--help"], capture_output=True, text=True
    )
    assert proc.returncode == 0 and "check" in proc.stdout
    for command in ("check", "solve-padding", "solve-input", "build", "verify", "graph"):
        result = runner.invoke(app, [command, "--help"], env=WIDE)
        assert result.exit_code == 0, command
        assert "Usage" in result.stdout


def test_no_color_env_and_pipe_output_have_no_escapes() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "shapecalc", "check"],
        capture_output=True,
        text=True,
        env={**__import__("os").environ, "NO_COLOR": "1"},
    )
    assert proc.returncode == 0
    assert "\x1b[" not in proc.stdout


def test_forced_colour_uses_escapes() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "shapecalc", "check"],
        capture_output=True,
        text=True,
        env={
            **{k: v for k, v in __import__("os").environ.items() if k != "NO_COLOR"},
            "FORCE_COLOR": "1",
        },
    )
    assert "\x1b[" in proc.stdout


def test_every_bundled_spec_checks() -> None:
    paths = sorted(str(p) for p in SPECS.glob("*.yaml"))
    result = runner.invoke(app, ["check", *paths, "--json"])
    assert result.exit_code == 0
    docs = json.loads(result.stdout)
    assert [d["ok"] for d in docs] == [True] * len(paths) and len(paths) == 14
    by_name = {d["name"]: d for d in docs}
    # the classic parameter counts, checked against torch in test_build_verify
    assert by_name["LeNet5"]["output_shape"] == [1, 10]
    assert by_name["AlexNet"]["output_shape"] == [1, 1000]
    assert by_name["Generator"]["output_shape"] == [1, 3, 64, 64]
    assert by_name["ResNet50"]["total_params"] == 25_557_032


def test_narrow_terminal_wraps_only_the_formula(golden) -> None:  # type: ignore[no-untyped-def]
    result = runner.invoke(
        app, ["check", "specs/cifar10.yaml"], env={"COLUMNS": "80", "NO_COLOR": "1"}
    )
    assert result.exit_code == 0
    golden("check_cifar10_80.txt", result.stdout)
    assert max(len(line) for line in result.stdout.splitlines()[1:]) <= 80


def test_check_input_warns_when_inferred_sizes_follow_it() -> None:
    """The README's `--input 3,64,64` re-infers linear1's in_features; the module built from the
    spec keeps 1024 and refuses that input, as torch shows."""
    from shapecalc import build
    from shapecalc.loader import bundled, load

    result = runner.invoke(app, ["check", "cifar10", "--batch", "1", "--input", "3,64,64"])
    assert result.exit_code == 0
    assert (
        "warning: sizes the spec infers follow this input [3, 64, 64]: in_features=4096 for "
        in result.stderr
    )
    assert "linear1 (1024 at the spec's input)" in result.stderr
    model = build(load(bundled("cifar10")).spec)
    with pytest.raises(RuntimeError):
        model(torch.zeros(1, 3, 64, 64))
    same = runner.invoke(app, ["check", "cifar10", "--input", "3,32,32"])
    assert same.exit_code == 0 and "warning" not in same.stderr


def test_readme_decoder_table_is_what_check_prints() -> None:
    from conftest import ROOT

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    start = readme.index("## A decoder: the DCGAN generator")
    shown = readme[start:].split("```\n")[1]
    result = runner.invoke(
        app, ["check", "specs/dcgan_generator.yaml"], env={"COLUMNS": "200", "NO_COLOR": "1"}
    )
    assert result.exit_code == 0
    assert shown in result.stdout
