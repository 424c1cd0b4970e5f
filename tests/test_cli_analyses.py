"""`check --columns`, `--dtype`, the totals block and the analyses' figures in `--json`."""

from __future__ import annotations

import json

import pytest
import torch
from conftest import SPECS
from typer.testing import CliRunner

from shapecalc.analysis import format_bytes
from shapecalc.builder import build
from shapecalc.cli import app
from shapecalc.loader import load

runner = CliRunner()
WIDE = {"COLUMNS": "140", "NO_COLOR": "1"}
ALL = "input,output,params,mult_adds,flops,rf,memory,formula"


def test_chosen_columns_golden(golden) -> None:  # type: ignore[no-untyped-def]
    result = runner.invoke(
        app,
        ["check", "specs/cifar10.yaml", "--columns", "output,params,mult_adds,flops,rf,memory"],
        env=WIDE,
    )
    assert result.exit_code == 0, result.stderr
    golden("check_cifar10_columns.txt", result.stdout)


def test_graph_columns_golden(golden) -> None:  # type: ignore[no-untyped-def]
    """ResNet-18 folded at depth 2: a block's row shows its contents' FLOPs and the receptive
    field of the node it returns."""
    result = runner.invoke(
        app,
        ["check", "specs/resnet18.yaml", "--depth", "2", "--columns", "output,flops,rf"],
        env=WIDE,
    )
    assert result.exit_code == 0, result.stderr
    golden("check_resnet18_rf.txt", result.stdout)


def test_columns_come_in_the_table_order_and_the_default_is_todays() -> None:
    default = runner.invoke(app, ["check", "specs/cifar10.yaml"], env=WIDE)
    explicit = runner.invoke(
        app, ["check", "specs/cifar10.yaml", "--columns", "formula,params,output,input"], env=WIDE
    )
    assert default.exit_code == explicit.exit_code == 0
    assert default.stdout == explicit.stdout
    header = default.stdout.splitlines()[1].split()
    assert header == ["#", "name", "type", "input", "output", "params", "formula"]
    wider = {**WIDE, "COLUMNS": "250"}
    every = runner.invoke(app, ["check", "specs/cifar10.yaml", "--columns", ALL], env=wider)
    header = every.stdout.splitlines()[1].split()
    assert header[3:] == [
        "input",
        "output",
        "params",
        "mult-adds",
        "FLOPs",
        "receptive",
        "field",
        "output",
        "/",
        "saved",
        "formula",
    ]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("flop", "unknown column 'flop'; did you mean 'flops'?"),
        ("output,receptive", "unknown column 'receptive'"),
        (",", "--columns needs at least one of input, output"),
    ],
)
def test_unknown_column_is_a_usage_error(text: str, message: str) -> None:
    result = runner.invoke(app, ["check", "--columns", text], env=WIDE)
    assert result.exit_code == 2
    assert message in " ".join(result.stderr.split())


def test_unknown_dtype_is_a_usage_error() -> None:
    result = runner.invoke(app, ["check", "--dtype", "int8"], env=WIDE)
    assert result.exit_code == 2
    assert "'int8': choose float32, float16, bfloat16" in " ".join(result.stderr.split())


def test_totals_block() -> None:
    result = runner.invoke(app, ["check", "specs/cifar10.yaml", "--dtype", "bfloat16"], env=WIDE)
    assert result.exit_code == 0
    totals = dict(
        line.split(": ", 1) for line in result.stdout.split("\n\n")[-1].splitlines() if line
    )
    assert totals["Total params"] == totals["Trainable params"] == "145,578"
    assert totals["Non-trainable params"] == "0"
    assert totals["FLOPs"] == "1,581,334,528"
    assert totals["Params size (bfloat16)"] == format_bytes(145_578 * 2) == "284.33 KiB"
    assert totals["Input size (batch 64)"] == "384.00 KiB"
    assert totals["Activations, inference peak"].endswith("(at maxpool1)")


def test_frozen_entries_are_non_trainable(write_spec) -> None:  # type: ignore[no-untyped-def]
    text = (
        (SPECS / "cifar10.yaml")
        .read_text()
        .replace("    name: conv2\n", "    name: conv2\n    trainable: false\n")
    )
    result = runner.invoke(app, ["check", str(write_spec(text)), "--json"])
    [doc] = json.loads(result.stdout)
    model = build(load(SPECS / "cifar10.yaml").spec)
    model[2].requires_grad_(False)
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    assert doc["trainable_params"] == trainable == 145_578 - 25_632
    assert doc["non_trainable_params"] == 25_632


def test_json_carries_every_figure_with_its_unit() -> None:
    result = runner.invoke(app, ["check", "specs/cifar10.yaml", "--json"])
    assert result.exit_code == 0
    [doc] = json.loads(result.stdout)
    model = build(load(SPECS / "cifar10.yaml").spec)
    assert doc["dtype"] == "float32"
    assert doc["param_bytes"] == sum(p.nbytes for p in model.parameters())
    assert doc["input_bytes"] == torch.ones(doc["input_shape"]).nbytes
    assert doc["flops"] == sum(layer["flops"] for layer in doc["layers"]) == 1_581_334_528
    assert doc["training_activation_bytes"] == sum(layer["saved_bytes"] for layer in doc["layers"])
    assert doc["inference_activation_bytes"] == max(layer["live_bytes"] for layer in doc["layers"])
    pool = doc["layers"][5]
    assert pool["name"] == "maxpool3"
    assert pool["output_bytes"] == 64 * 64 * 4 * 4 * 4
    assert [(a["axis"], a["size"], a["jump"], a["start"]) for a in pool["receptive_field"]] == [
        ("H", 36, 8, 3.5),
        ("W", 36, 8, 3.5),
    ]
    assert doc["layers"][-1]["receptive_field"][0]["whole_input"] is True


def test_invalid_spec_has_no_figures(write_spec) -> None:  # type: ignore[no-untyped-def]
    text = (SPECS / "cifar10.yaml").read_text()
    text = text.replace("out_features: 64", "in_features: 7\n    out_features: 64")
    result = runner.invoke(app, ["check", str(write_spec(text)), "--json"])
    assert result.exit_code == 1
    [doc] = json.loads(result.stdout)
    assert doc["ok"] is False
    assert doc["flops"] is None and doc["param_bytes"] is None and doc["dtype"] is None
    assert all("flops" not in layer for layer in doc["layers"])


# --- the README's figures, kept true -------------------------------------------------------------------


def _readme() -> str:
    from conftest import ROOT

    return (ROOT / "README.md").read_text(encoding="utf-8")


def test_readme_check_examples_are_what_check_prints() -> None:
    blocks = [b for b in _readme().split("```") if b.lstrip("\n").startswith("$ shapecalc check")]
    assert len(blocks) == 2
    for block in blocks:
        command, expected = block.strip("\n").split("\n", 1)
        result = runner.invoke(app, command.split()[2:], env={**WIDE, "COLUMNS": "120"})
        assert result.exit_code == 0, result.stderr
        # a block may stop after the table, before the totals
        assert result.stdout.startswith(expected + "\n"), command
        rest = result.stdout[len(expected) + 1 :]
        assert rest == "" or rest.startswith("\n"), command


def test_readme_resnet50_memory_table() -> None:
    from shapecalc.analysis import memory_use
    from shapecalc.trace import propagate

    spec = load(SPECS / "resnet50.yaml").spec
    rows = [line for line in _readme().splitlines() if line.startswith("| ") and "float" in line]
    assert len(rows) == 6
    for line in rows:
        cells = [c.strip() for c in line.strip("|").split("|")]
        batch, dtype = int(cells[0]), cells[1]
        m = memory_use(propagate(spec, (batch, 3, 224, 224)), dtype)
        figures = [m.param_bytes, m.peak_bytes, m.saved_bytes, m.gradient_bytes]
        assert cells[2:] == [format_bytes(f) for f in figures], line


def test_readme_operation_figures() -> None:
    """shapecalc's two columns of the conventions table, and the two layers that split the tools
    (torchinfo and FlopCounterMode measured here)."""
    import torchinfo
    from torch.utils.flop_counter import FlopCounterMode

    from shapecalc.analysis import count_operations
    from shapecalc.trace import propagate

    text = " ".join(_readme().split())
    ops = count_operations(propagate(load(SPECS / "resnet18.yaml").spec))
    assert "(shapecalc `mult_adds`) | multiply-adds | counted |" in text
    assert f"| {ops.mult_adds:,} | | `FlopCounterMode`" in text
    assert f"| {ops.flops:,} | | fvcore" in text

    def measured(module: torch.nn.Module, shape: tuple[int, ...]) -> tuple[int, int]:
        counter = FlopCounterMode(display=False)
        with counter:
            module(torch.rand(shape))
        stats = torchinfo.summary(module, input_size=shape, verbose=0)
        return counter.get_total_flops(), stats.total_mult_adds

    flops, macs = measured(
        torch.nn.Sequential(torch.nn.ConvTranspose2d(8, 4, 2, stride=2)), (1, 8, 4, 4)
    )
    assert f"FlopCounterMode {flops:,}" in text and f"torchinfo {macs:,}" in text
    assert flops == 2 * 2_048
    flops, macs = measured(torch.nn.Sequential(torch.nn.Linear(8, 4)), (2, 5, 8))
    assert flops == 2 * 320 and f"torchinfo counts {macs}," in text
