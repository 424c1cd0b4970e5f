"""Graph specs: branches, merges, blocks and repeats, checked statically and against torch."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import torch
from conftest import ROOT
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from shapecalc.cli import app
from shapecalc.errors import CompileError, ShapeError
from shapecalc.loader import load, loads
from shapecalc.spec import Spec
from shapecalc.spec.expr import ExprError, evaluate
from shapecalc.trace import propagate

runner = CliRunner()
WIDE = {"COLUMNS": "200", "NO_COLOR": "1"}
EXAMPLES = ROOT / "tests" / "specs"


def check(path: Path | str, *args: str) -> Any:
    return runner.invoke(app, ["check", str(path), *args], env=WIDE)


# --- the examples of the format's reference, with the figures it states -------------------------


@pytest.mark.parametrize(
    ("name", "params", "output"),
    [
        ("graph_resnet18", 11_689_512, (1, 1000)),
        ("graph_unet", 1_926_466, (1, 2, 128, 128)),
        ("graph_inception3a", 155_872, (1, 256, 28, 28)),
    ],
)
def test_reference_examples_have_their_stated_figures(
    name: str, params: int, output: tuple[int, ...]
) -> None:
    trace = propagate(load(EXAMPLES / f"{name}.yaml").spec)
    assert trace.total_params == params
    assert trace.output_shape == output


def test_resnet34_differs_only_in_repeats() -> None:
    text = (EXAMPLES / "graph_resnet18.yaml").read_text()
    for stage, n in zip((1, 2, 3, 4), (3, 4, 6, 3), strict=True):
        text = re.sub(rf"(name: layer{stage}, .*?repeat: )2", rf"\g<1>{n}", text)
    assert propagate(loads(text).spec).total_params == 21_797_672


def test_inception_concat_formula_and_from_column() -> None:
    trace = propagate(load(EXAMPLES / "graph_inception3a.yaml").spec)
    cat = trace.by_name["inception3a.cat"]
    assert cat.formulas == ("C: 64 + 128 + 32 + 32 = 256",)
    assert cat.labels == ("branch1", "branch2", "branch3", "branch4")
    result = check(EXAMPLES / "graph_inception3a.yaml")
    assert result.exit_code == 0, result.stderr
    line = next(x for x in result.stdout.splitlines() if "inception3a.cat " in x)
    assert "branch1,branch2,branch3,branch4" in line and "C: 64 + 128 + 32 + 32 = 256" in line


def test_resnet_rows_are_named_as_torch_names_modules() -> None:
    trace = propagate(load(EXAMPLES / "graph_resnet18.yaml").spec)
    names = [row.name for row in trace.layers]
    assert names[:4] == ["conv1", "bn1", "relu", "maxpool"]
    assert "layer1.0.conv1" in names and "layer2.0.downsample.0" in names
    skipped = trace.by_name["layer1.0.downsample"]
    assert skipped.kind == "skipped" and skipped.formulas == ("skipped: stands for x",)
    add = trace.by_name["layer1.0.add"]
    assert add.inputs == ("layer1.0.bn2", "maxpool") and add.labels == ("bn2", "x")
    assert trace.by_name["layer2.0.downsample"].params == 8_448


def test_depth_folds_blocks() -> None:
    path = EXAMPLES / "graph_resnet18.yaml"
    deep = check(path).stdout
    assert "layer2.0.downsample " in deep and "layer2.0.downsample.0" not in deep
    shallow = check(path, "--depth", "1").stdout
    row = next(x for x in shallow.splitlines() if x.split()[1:2] == ["layer2"])
    assert "Sequential" in row and "525,568" in row and "2 × BasicBlock" in row
    assert "layer2.0" not in shallow
    assert check(path, "--depth", "1").stdout.count("Total params: 11,689,512") == 1


def test_json_has_from_names_and_blocks() -> None:
    result = check(EXAMPLES / "graph_resnet18.yaml", "--json")
    [doc] = json.loads(result.stdout)
    layers = {layer["name"]: layer for layer in doc["layers"]}
    assert layers["layer1.0.add"]["from"] == ["layer1.0.bn2", "maxpool"]
    assert layers["layer1.0.add"]["kind"] == "merge"
    assert sum(layer["params"] for layer in doc["layers"]) == doc["total_params"] == 11_689_512
    blocks = {block["name"]: block for block in doc["blocks"]}
    assert blocks["layer2.0"]["type"] == "BasicBlock" and blocks["layer2.0"]["params"] == 230_144
    assert blocks["layer1.0.downsample"]["kind"] == "skipped"


# --- errors: located, explained, with the block instances they happened in ------------------------


def _resnet(text_change: tuple[str, str] | None = None, cut: bool = False) -> str:
    text = (EXAMPLES / "graph_resnet18.yaml").read_text()
    if cut:  # the projection shortcut removed, as in the reference
        start = text.index("      - type: Sequential")
        text = text[:start] + text[text.index("      - {type: Add") :]
        text = text.replace("from: [bn2, downsample]", "from: [bn2, x]")
    if text_change:
        assert text_change[0] in text
        text = text.replace(*text_change)
    return text


ERRORS = {
    "resnet18_noproj": _resnet(cut=True),
    "resnet18_typo": _resnet(("from: [bn2, downsample]", "from: [bn2, downsampel]")),
    "resnet18_noarg": _resnet(
        ("{type: BasicBlock, name: layer2, out_channels: 128,", "{type: BasicBlock, name: layer2,")
    ),
    "unet_100": (EXAMPLES / "graph_unet.yaml")
    .read_text()
    .replace("input: [1, 128, 128]", "input: [1, 100, 100]"),
    "densenet_scope": """\
name: DenseNet
input: [64, 56, 56]
blocks:
  DenseLayer:
    params: {growth_rate: 32}
    layers:
      - {type: BatchNorm2d, name: norm1}
      - {type: ReLU, name: relu1}
      - {type: Conv2d, name: conv1, out_channels: $bn_size * $growth_rate, kernel_size: 1, bias: false}
      - {type: Concat, from: [x, conv1]}
layers:
  - {type: DenseLayer, name: denseblock1, repeat: 6}
""",
}


@pytest.mark.parametrize("name", sorted(ERRORS))
def test_error_examples_golden(name: str, write_spec, golden) -> None:  # type: ignore[no-untyped-def]
    path = write_spec(ERRORS[name], f"{name}.yaml")
    result = check(path)
    assert result.exit_code == 1
    assert "Traceback" not in result.stderr
    golden(f"graph_error_{name}.txt", result.stderr.replace(str(path), f"specs/{name}.yaml"))


def test_residual_error_names_both_paths_and_the_fix(write_spec) -> None:  # type: ignore[no-untyped-def]
    path = write_spec(ERRORS["resnet18_noproj"])
    lines = check(path).stderr.splitlines()
    assert re.match(
        rf"^{re.escape(str(path))}:15:\d+: error: blocks\.BasicBlock\.layers\[5\]\.from \(Add 'layer2\.0\.add'\): the inputs must have equal shapes, but 'bn2' is \[1, 128, 28, 28\] and 'x' is \[1, 64, 56, 56\]$",
        lines[0],
    )
    assert any(
        "layer2.0.conv1 (Conv2d out_channels=128 kernel_size=3 stride=2 padding=1): C 64→128, H,W 56×56→28×28"
        in x
        for x in lines
    )
    assert any(
        "project the shortcut with a 1×1 Conv2d (64→128 channels, stride 2) and a BatchNorm2d" in x
        for x in lines
    )
    assert (
        lines[-1]
        == f"{path}:24:5: note: in layer2.0 = BasicBlock(out_channels=128, stride=2), instantiated here"
    )


def test_unet_skip_error_names_the_lossy_pool(write_spec) -> None:  # type: ignore[no-untyped-def]
    path = write_spec(ERRORS["unet_100"])
    stderr = check(path).stderr
    assert (
        "Concat 'up3.cat'" in stderr
        and "'skip' is [1, 128, 25, 25] and 'up' is [1, 128, 24, 24]" in stderr
    )
    assert "pool3 (MaxPool2d kernel_size=2): H,W 25×25→12×12 (⌊⌋ drops a row/column)" in stderr
    assert "rows and columns are lost at: pool3" in stderr
    assert "in up3 = Up(out_channels=128), instantiated here" in stderr


def test_errors_carry_the_instantiation_trace_in_json(write_spec) -> None:  # type: ignore[no-untyped-def]
    path = write_spec(ERRORS["resnet18_noproj"])
    [doc] = json.loads(check(path, "--json").stdout)
    [error] = doc["errors"]
    assert error["field"] == "blocks.BasicBlock.layers[5].from" and error["line"] == 15
    assert error["trace"] == [
        {
            "line": 24,
            "column": 5,
            "note": "in layer2.0 = BasicBlock(out_channels=128, stride=2), instantiated here",
        }
    ]
    assert any("fix:" in d for d in error["details"])


HEAD = "input: [3, 16, 16]\n"
BLOCK = """\
blocks:
  Res:
    params: {out_channels: required, stride: 1}
    layers:
      - {type: Conv2d, name: conv, out_channels: $out_channels, kernel_size: 3, stride: $stride, padding: 1}
      - {type: Add, name: add, from: [conv, x]}
"""

# spec text, line, column, field, the message's start (after "error: ")
STRUCTURE = [
    (
        HEAD + "layers:\n  - {type: ReLU}\n  - {type: Add, from: [relu, relo]}\n",
        4,
        30,
        "layers[1].from[1]",
        "from: 'relo' is not defined before 'Add'; did you mean 'relu'?",
    ),
    (
        HEAD + "layers:\n  - {type: Add, from: [x, later]}\n  - {type: ReLU, name: later}\n",
        3,
        27,
        "layers[0].from[1]",
        "from: 'later' is defined below 'Add'; from: names only entries above it",
    ),
    (
        HEAD + BLOCK + "layers:\n  - {type: Res}\n",
        9,
        5,
        "layers[0]",
        "Res needs out_channels: (its params: out_channels, stride)",
    ),
    (
        HEAD + BLOCK + "layers:\n  - {type: Res, out_channels: 3, strid: 2}\n",
        9,
        34,
        "layers[0].strid",
        "layers[0].strid: strid is not a parameter of Res; did you mean 'stride'? (its params: out_channels, stride)",
    ),
    (
        HEAD
        + BLOCK.replace("$stride, padding", "$strides, padding")
        + "layers:\n  - {type: Res, out_channels: 3}\n",
        6,
        81,
        "blocks.Res.layers[0].stride",
        "blocks.Res.layers[0].stride: $strides is not a parameter here (known: $in_channels, $out_channels, $stride); did you mean $stride?",
    ),
    (
        HEAD
        + "params: {c: 8}\nlayers:\n  - {type: Conv2d, out_channels: $c, kernel_size: 3, first: {stride: 2}}\n",
        4,
        54,
        "layers[0].first",
        "layers[0].first: first: overrides copy 0 of a repeat",
    ),
    (
        HEAD
        + "blocks:\n  A:\n    layers: [{type: B}]\n  B:\n    layers: [{type: A}]\nlayers:\n  - {type: A}\n",
        4,
        14,
        "blocks.A.layers[0]",
        "blocks.A.layers[0]: a block cannot use itself (A → B → A)",
    ),
    (
        HEAD + "layers:\n  - {type: Conv2d, out_channels: $width, kernel_size: 3}\n",
        3,
        20,
        "layers[0].out_channels",
        "layers[0].out_channels: $width is not a parameter here (known: none)",
    ),
    (
        HEAD
        + "params: {w: 8}\nlayers:\n  - {type: Conv2d, out_channels: $w / 2, kernel_size: 3}\n",
        4,
        20,
        "layers[0].out_channels",
        "layers[0].out_channels: '/' is not allowed in the expression '$w / 2'; use // for integer division",
    ),
    (
        HEAD
        + "params: {w: 8}\nlayers:\n  - {type: Conv2d, out_channels: $w.real, kernel_size: 3}\n",
        4,
        20,
        "layers[0].out_channels",
        "layers[0].out_channels: Attribute is not allowed in the expression",
    ),
    (
        HEAD + "layers:\n  - {type: ReLU}\n  - {type: ReLU, from: [x, relu1]}\n",
        4,
        18,
        "layers[1].from",
        "layers[1].from: ReLU takes one input, but from: names 2",
    ),
    (
        HEAD + "layers:\n  - {type: Concat, from: x}\n",
        3,
        20,
        "layers[0].from",
        "layers[0].from: Concat merges several outputs; name at least two",
    ),
    (
        HEAD + "layers:\n  - {type: Sequential, layers: [{type: ReLU}, {type: ReLU, from: x}]}\n",
        3,
        60,
        "layers[0].layers[1].from",
        "layers[0].layers[1].from: entries of a Sequential read the entry above",
    ),
    (
        HEAD + "layers:\n  - {type: ReLU, name: x}\n",
        3,
        18,
        "layers[0].name",
        "layers[0].name: 'x' names this scope's input",
    ),
    (
        HEAD + "layers:\n  - {type: ReLU, name: class}\n",
        3,
        18,
        "layers[0].name",
        "layers[0].name: 'class' is a Python keyword; choose another name",
    ),
    (
        HEAD + "layers:\n  - {type: ReLU, splice: true}\n",
        3,
        18,
        "layers[0].splice",
        "layers[0].splice: splice puts the copies of a repeat straight into the enclosing Sequential",
    ),
    (
        HEAD + "layers:\n  - {type: ReLU, repeat: 2, repeat_name: relu}\n",
        3,
        29,
        "layers[0].repeat_name",
        "layers[0].repeat_name must be a name pattern with {n}",
    ),
    (
        HEAD + BLOCK + "layers:\n  - {type: Res, out_channels: 3, layers: [{type: ReLU}]}\n",
        9,
        34,
        "layers[0].layers",
        "layers[0].layers: only a Sequential has layers; a Res entry takes arguments",
    ),
    (
        HEAD + "layers:\n  - {type: ReLU}\noutput: rellu\n",
        4,
        1,
        "output",
        "output: 'rellu' is not defined; did you mean 'relu'?",
    ),
]


@pytest.mark.parametrize(
    ("text", "line", "column", "field", "start"),
    STRUCTURE,
    ids=[s[3] + ":" + s[4][:20] for s in STRUCTURE],
)
def test_structure_errors_are_located(write_spec, text, line, column, field, start) -> None:  # type: ignore[no-untyped-def]
    path = write_spec(text)
    result = check(path, "--json")
    assert result.exit_code == 1, result.stdout
    [doc] = json.loads(result.stdout)
    errors = doc["errors"]
    assert len(errors) == 1, errors
    [error] = errors
    assert error["message"].startswith(start), error["message"]
    assert (error["line"], error["column"], error["field"]) == (line, column, field)
    result = check(path)
    assert result.stderr.startswith(f"{path}:{line}:{column}: error: {start}")
    assert result.stderr.count("\n") == 1


def test_computed_argument_errors_name_the_expression(write_spec) -> None:  # type: ignore[no-untyped-def]
    path = write_spec(
        HEAD + "params: {w: 8}\nlayers:\n  - {type: Conv2d, out_channels: $w - 8, kernel_size: 3}\n"
    )
    result = check(path)
    assert result.exit_code == 1
    assert result.stderr == (
        f"{path}:4:20: error: layers[0].out_channels (Conv2d 'conv1') must be a positive integer, "
        "but got 0 (computed from '$w - 8' = 0)\n"
    )
    with pytest.raises(CompileError):
        propagate(load(path).spec)


# --- warnings the graph makes possible ---------------------------------------------------------


def test_inplace_activation_overwriting_a_tensor_read_later(write_spec) -> None:  # type: ignore[no-untyped-def]
    text = HEAD + (
        "layers:\n"
        "  - {type: Conv2d, name: conv, out_channels: 3, kernel_size: 3, padding: 1}\n"
        "  - {type: ReLU, name: act, from: x, inplace: true}\n"
        "  - {type: Add, from: [act, x]}\n"
    )
    result = check(write_spec(text))
    assert result.exit_code == 0
    assert "warning: ReLU 'act' (inplace: true) overwrites the output of 'x'" in result.stderr
    assert "which 'add' reads afterwards" in result.stderr
    # the hazard is real: torch gives another result than the spec means, and says nothing
    x = torch.randn(1, 3, 16, 16)
    meant = torch.relu(x) + x
    got = torch.nn.ReLU(inplace=True)(x.clone())
    assert not torch.equal(meant, got + got)  # the overwritten input is read as relu(x)


def test_output_computed_but_never_read(write_spec) -> None:  # type: ignore[no-untyped-def]
    text = HEAD + (
        "layers:\n"
        "  - {type: Conv2d, name: a, out_channels: 4, kernel_size: 1}\n"
        "  - {type: Conv2d, name: b, from: x, out_channels: 4, kernel_size: 1}\n"
        "  - {type: Conv2d, name: c, from: x, out_channels: 4, kernel_size: 1}\n"
        "  - {type: Concat, from: [a, b]}\n"
    )
    result = check(write_spec(text))
    assert result.exit_code == 0
    assert (
        "warning: the output of Conv2d 'c' [1, 4, 16, 16] is computed but never read"
        in result.stderr
    )
    assert result.stderr.count("warning") == 1


@pytest.mark.parametrize("broadcast", [False, True])
def test_add_that_only_works_by_broadcasting(write_spec, broadcast: bool) -> None:  # type: ignore[no-untyped-def]
    text = HEAD + (
        "layers:\n"
        "  - {type: Conv2d, name: gate, out_channels: 1, kernel_size: 1}\n"
        f"  - {{type: Add, from: [x, gate], broadcast: {str(broadcast).lower()}}}\n"
    )
    result = check(write_spec(text), "--json")
    [doc] = json.loads(result.stdout)
    if broadcast:
        assert result.exit_code == 0 and doc["output_shape"] == [1, 3, 16, 16]
        assert (
            list((torch.ones(1, 3, 16, 16) + torch.ones(1, 1, 16, 16)).shape) == doc["output_shape"]
        )
    else:
        assert result.exit_code == 1
        assert "torch would broadcast them to [1, 3, 16, 16]" in doc["errors"][0]["message"]
        assert "set broadcast: true" in doc["errors"][0]["message"]


# --- expressions -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "scope", "value"),
    [
        ("$base * 4", {"base": 16}, 64),
        ("($kernel_size - 1) // 2", {"kernel_size": 5}, 2),
        (
            "$stride != 1 or $in_channels != $out_channels",
            {"stride": 1, "in_channels": 8, "out_channels": 8},
            False,
        ),
        ("not $flag and true", {"flag": False}, True),
        ("max($a, 3) + min($a, 3) % 2", {"a": 7}, 8),
        ("-$a + 1", {"a": 2}, -1),
        ("1 < $a <= 3", {"a": 3}, True),
        ("$sizes", {"sizes": [3, 5]}, [3, 5]),
    ],
)
def test_expressions(text: str, scope: dict[str, Any], value: Any) -> None:
    assert evaluate(text, scope) == value


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("$a / 2", "use // for integer division"),
        ("$a ** 2", "'**' is not allowed"),
        ("__import__('os')", "only min() and max() may be called"),
        ("$a.bit_length()", "only min() and max() may be called"),
        ("$a + 1.5", "only integers and true/false"),
        ("$a // 0", "division by zero"),
        ("$b + 1", "$b is not a parameter here (known: $a)"),
        ("$a +", "cannot read the expression"),
        ("max($a", "'(' was never closed; in a flow mapping {…} a comma ends the value, so "),
        ("min([$a", 'quote the expression: "min([$a, …"'),
        ("[$a for _ in ()]", "not allowed"),
        ("$a * 10 ** 30", "not allowed"),
    ],
)
def test_expressions_refused(text: str, fragment: str) -> None:
    with pytest.raises(ExprError, match=re.escape(fragment)):
        evaluate(text, {"a": 3})


# --- format features: if, repeat, first, repeat_name, splice, output ------------------------------


def test_repeat_first_if_and_naming() -> None:
    spec = Spec.model_validate(
        {
            "input": [4, 16, 16],
            "params": {"deep": False},
            "blocks": {
                "Dense": {
                    "params": {"growth": 4},
                    "layers": [
                        {
                            "type": "Conv2d",
                            "name": "conv",
                            "out_channels": "$growth",
                            "kernel_size": 3,
                            "padding": 1,
                        },
                        {"type": "Concat", "from": ["x", "conv"]},
                    ],
                }
            },
            "layers": [
                {
                    "type": "Dense",
                    "name": "block",
                    "repeat": 3,
                    "repeat_name": "layer{n}",
                    "first": {"growth": 8},
                },
                {"type": "ReLU", "name": "extra", "if": "$deep"},
                {
                    "type": "Sequential",
                    "name": "features",
                    "layers": [
                        {"type": "Conv2d", "out_channels": 8, "kernel_size": 1, "if": False},
                        {
                            "type": "Conv2d",
                            "out_channels": 8,
                            "kernel_size": 1,
                            "repeat": 2,
                            "splice": True,
                        },
                        {"type": "ReLU"},
                    ],
                },
            ],
        }
    )
    trace = propagate(spec)
    assert [r.name for r in trace.layers] == [
        "block.layer1.conv", "block.layer1.cat",
        "block.layer2.conv", "block.layer2.cat",
        "block.layer3.conv", "block.layer3.cat",
        "features.0", "features.1", "features.2",
    ]  # fmt: skip
    assert trace.by_name["block.layer1.cat"].output_shape == (1, 12, 16, 16)  # 4 + 8 (first)
    assert trace.by_name["block.layer3.cat"].output_shape == (1, 20, 16, 16)  # + 4 + 4
    assert trace.by_name["extra"].kind == "skipped"
    assert trace.output_shape == (1, 8, 16, 16)


def test_output_list_returns_several() -> None:
    spec = Spec.model_validate(
        {
            "input": [3, 8, 8],
            "layers": [
                {"type": "Conv2d", "name": "a", "out_channels": 4, "kernel_size": 1},
                {"type": "MaxPool2d", "name": "b", "kernel_size": 2},
            ],
            "output": ["a", "b"],
        }
    )
    trace = propagate(spec)
    assert trace.output_shapes == ((1, 4, 8, 8), (1, 4, 4, 4))
    assert trace.warnings == ()


def test_in_channels_inside_a_block_is_its_input_channel_count() -> None:
    spec = Spec.model_validate(
        {
            "input": [6, 8, 8],
            "blocks": {
                "Same": {
                    "layers": [
                        {"type": "Conv2d", "out_channels": "$in_channels * 2", "kernel_size": 1}
                    ]
                }
            },
            "layers": [{"type": "Same"}, {"type": "Same"}],
        }
    )
    assert propagate(spec).output_shape == (1, 24, 8, 8)


# --- differential: random small graphs against torch modules written independently -------------

GRAPH_OPS = st.one_of(
    st.tuples(
        st.just("conv"), st.integers(1, 6), st.integers(1, 4), st.integers(1, 2), st.integers(0, 2)
    ),
    st.tuples(st.just("pool"), st.integers(1, 3), st.integers(1, 3)),
    st.tuples(st.just("res"), st.integers(1, 6), st.integers(1, 2), st.booleans()),
    st.tuples(
        st.just("cat"), st.integers(1, 4), st.integers(1, 4), st.integers(0, 1), st.integers(0, 1)
    ),
    st.tuples(st.just("gate"), st.booleans()),
    st.tuples(st.just("rep"), st.integers(1, 3), st.integers(1, 5)),
)


def _spec_of(channels: int, size: int, ops: list[tuple[Any, ...]]) -> dict[str, Any]:
    blocks = {
        "Res": {
            "params": {"out_channels": "required", "stride": 1, "project": True},
            "layers": [
                {
                    "type": "Conv2d",
                    "name": "conv1",
                    "out_channels": "$out_channels",
                    "kernel_size": 3,
                    "stride": "$stride",
                    "padding": 1,
                },
                {"type": "BatchNorm2d", "name": "bn"},
                {"type": "ReLU", "name": "relu"},
                {
                    "type": "Conv2d",
                    "name": "conv2",
                    "out_channels": "$out_channels",
                    "kernel_size": 3,
                    "padding": 1,
                },
                {
                    "type": "Conv2d",
                    "name": "proj",
                    "from": "x",
                    "out_channels": "$out_channels",
                    "kernel_size": 1,
                    "stride": "$stride",
                    "if": "$project",
                },
                {"type": "Add", "name": "add", "from": ["conv2", "proj"]},
            ],
        },
        "Cat": {
            "params": {"a": "required", "b": "required", "pa": 0, "pb": 1},
            "layers": [
                {
                    "type": "Conv2d",
                    "name": "left",
                    "out_channels": "$a",
                    "kernel_size": 1,
                    "padding": "$pa",
                },
                {
                    "type": "Conv2d",
                    "name": "right",
                    "from": "x",
                    "out_channels": "$b",
                    "kernel_size": 3,
                    "padding": "$pb",
                },
                {"type": "Concat", "from": ["left", "right"]},
            ],
        },
        "Gate": {
            "params": {"one": True},
            "layers": [
                {
                    "type": "Conv2d",
                    "name": "score",
                    "out_channels": "1 if $one else $in_channels",
                    "kernel_size": 1,
                },
                {"type": "Sigmoid", "name": "sig"},
                {"type": "Multiply", "from": ["x", "sig"]},
            ],
        },
    }
    # "1 if $one else ..." is not in the expression language; write the two cases out
    blocks["Gate"]["layers"][0]["out_channels"] = "$in_channels - ($in_channels - 1) * $one"
    layers: list[dict[str, Any]] = []
    for i, op in enumerate(ops):
        name = f"n{i}"
        if op[0] == "conv":
            layers.append(
                {
                    "type": "Conv2d",
                    "name": name,
                    "out_channels": op[1],
                    "kernel_size": op[2],
                    "stride": op[3],
                    "padding": op[4],
                }
            )
        elif op[0] == "pool":
            layers.append(
                {"type": "MaxPool2d", "name": name, "kernel_size": op[1], "stride": op[2]}
            )
        elif op[0] == "res":
            layers.append(
                {
                    "type": "Res",
                    "name": name,
                    "out_channels": op[1],
                    "stride": op[2],
                    "project": op[3],
                }
            )
        elif op[0] == "cat":
            layers.append(
                {"type": "Cat", "name": name, "a": op[1], "b": op[2], "pa": op[3], "pb": op[4]}
            )
        elif op[0] == "gate":
            layers.append({"type": "Gate", "name": name, "one": op[1]})
        else:
            layers.append(
                {
                    "type": "Conv2d",
                    "name": name,
                    "out_channels": op[2],
                    "kernel_size": 3,
                    "padding": 1,
                    "repeat": op[1],
                }
            )
    return {"input": [channels, size, size], "blocks": blocks, "layers": layers}


class _TorchGraph(torch.nn.Module):
    """The same network written by hand in torch, from the op list alone."""

    def __init__(self, channels: int, ops: list[tuple[Any, ...]]) -> None:
        super().__init__()
        self.ops = ops
        self.parts = torch.nn.ModuleList()
        c = channels
        for op in ops:
            nn = torch.nn
            if op[0] == "conv":
                part: Any = nn.Conv2d(c, op[1], op[2], op[3], op[4])
                c = op[1]
            elif op[0] == "pool":
                part = nn.MaxPool2d(op[1], op[2])
            elif op[0] == "res":
                part = nn.ModuleList([
                    nn.Conv2d(c, op[1], 3, op[2], 1), nn.BatchNorm2d(op[1]), nn.ReLU(),
                    nn.Conv2d(op[1], op[1], 3, 1, 1),
                    nn.Conv2d(c, op[1], 1, op[2]) if op[3] else nn.Identity(),
                ])  # fmt: skip
                c = op[1]
            elif op[0] == "cat":
                part = nn.ModuleList(
                    [nn.Conv2d(c, op[1], 1, 1, op[3]), nn.Conv2d(c, op[2], 3, 1, op[4])]
                )
                c = op[1] + op[2]
            elif op[0] == "gate":
                part = nn.Conv2d(c, 1 if op[1] else c, 1)
            else:
                convs = []
                for _ in range(op[1]):
                    convs.append(nn.Conv2d(c, op[2], 3, 1, 1))
                    c = op[2]
                part = nn.Sequential(*convs)
            self.parts.append(part)

    def forward(self, x: torch.Tensor) -> list[tuple[int, ...]]:
        shapes = []
        for op, part in zip(self.ops, self.parts, strict=True):
            if op[0] == "res":
                h, shortcut = part[3](part[2](part[1](part[0](x)))), part[4](x)
                if h.shape != shortcut.shape:  # a residual Add that only works by broadcasting
                    raise ValueError("the spec refuses it unless it says broadcast: true")
                x = torch.add(h, shortcut)
            elif op[0] == "cat":
                x = torch.cat([part[0](x), part[1](x)], dim=1)
            elif op[0] == "gate":
                x = torch.mul(x, torch.sigmoid(part(x)))
            else:
                x = part(x)
            shapes.append(tuple(x.shape))
        return shapes


@settings(max_examples=min(200, settings.default.max_examples))
@given(st.integers(1, 4), st.integers(3, 14), st.lists(GRAPH_OPS, min_size=1, max_size=5))
def test_random_graphs_match_torch(channels: int, size: int, ops: list[tuple[Any, ...]]) -> None:
    spec = Spec.model_validate(_spec_of(channels, size, ops))
    model = _TorchGraph(channels, ops).eval()
    try:
        with torch.no_grad():
            real: list[tuple[int, ...]] | None = model(torch.ones(1, channels, size, size))
        error = ""
    except (RuntimeError, ValueError) as exc:
        real, error = None, str(exc)
    try:
        trace = propagate(spec)
    except ShapeError as exc:
        assert real is None, f"shapecalc refused ({exc}) what torch ran: {ops} on {size}"
        return
    assert real is not None, f"torch refused ({error}) what shapecalc accepted: {ops} on {size}"
    assert [trace.by_name[f"n{i}"].output_shape for i in range(len(ops))] == real


# --- the README's graph section, kept true --------------------------------------------------------


def _readme_graph_section() -> str:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    start = readme.index("### Graphs: branches, merges, blocks and repeats")
    return readme[start : readme.index("\n## ", start)]


def test_readme_graph_blocks_are_the_bundled_specs_blocks() -> None:
    import yaml

    blocks = re.findall(r"```yaml\n(.*?)```", _readme_graph_section(), re.S)
    assert len(blocks) == 2
    for text, spec in zip(blocks, ("resnet18", "unet"), strict=True):
        shown = yaml.safe_load(text)
        bundled = yaml.safe_load((ROOT / "specs" / f"{spec}.yaml").read_text(encoding="utf-8"))
        for name, block in shown["blocks"].items():
            assert block == bundled["blocks"][name], name
        for entry in shown["layers"]:
            assert entry in bundled["layers"], entry


def test_readme_graph_error_is_what_check_prints() -> None:
    shown = re.search(r"```\n(specs/unet\.yaml:.*?)```", _readme_graph_section(), re.S)
    assert shown is not None
    result = runner.invoke(app, ["check", "specs/unet.yaml", "--input", "1,100,100"])
    assert result.exit_code == 1
    assert shown.group(1) in result.stderr


@pytest.mark.parametrize(("h", "w"), [(100, 100), (100, 96), (37, 200)])
def test_a_skip_that_lost_rows_names_the_input_sizes_that_work(h: int, w: int) -> None:
    """The fix names the valid sizes (solve-input's) and the nearest ones; torch runs those and
    refuses the given one."""
    from shapecalc import build

    result = runner.invoke(app, ["check", "specs/unet.yaml", "--input", f"1,{h},{w}", "--json"])
    assert result.exit_code == 1
    [document] = json.loads(result.stdout)
    fix = document["errors"][0]["details"][-1]
    assert "multiples of 8 in [8, 1024]" in fix
    nearest = {
        axis: [int(n) for n in found.split(" or ")]
        for axis, found in re.findall(
            r"(H, W|H|W) multiples of 8 in \[8, 1024\] \(nearest: ([^)]*)\)", fix
        )
    }
    if "H, W" in nearest:
        nearest = {"H": nearest["H, W"], "W": nearest["H, W"]}
    for axis, size in (("H", h), ("W", w)):
        want = [size] if size % 8 == 0 else [size - size % 8, size - size % 8 + 8]
        assert nearest[axis] == want
    spec = load(ROOT / "specs" / "unet.yaml").spec
    model = build(spec).eval()
    with torch.no_grad():
        for nh in nearest["H"]:
            for nw in nearest["W"]:
                assert model(torch.zeros(1, 1, nh, nw)).shape == (1, 2, nh, nw)
        with pytest.raises(RuntimeError):
            model(torch.zeros(1, 1, h, w))


def test_solve_input_on_a_non_square_input_that_fails_finds_the_graph() -> None:
    from shapecalc import solve_input

    spec = load(ROOT / "specs" / "unet.yaml").spec.model_copy(update={"input": [1, 100, 96]})
    solution = solve_input(spec, 64)
    assert [d.valid_text for d in solution.dims] == ["multiples of 8 in [8, 64]"] * 2


def test_repeats_nested_in_repeats_stop_at_a_node_limit(
    write_spec, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    """Each count is allowed, their product is not: one located line, no partial table."""
    import shapecalc.spec.compile as compile_module

    monkeypatch.setattr(compile_module, "MAX_NODES", 1000)
    path = write_spec(
        "input: [3, 8, 8]\n"
        "layers:\n"
        "  - type: Sequential\n"
        "    repeat: 1000\n"
        "    layers:\n"
        "      - {type: ReLU, repeat: 1000}\n"
    )
    result = runner.invoke(app, ["check", str(path)])
    assert result.exit_code == 1
    assert result.stdout == ""
    [line] = result.stderr.splitlines()
    assert line.startswith(f"{path}:6:22: error: layers[0].layers[0].repeat: the spec expands to ")
    assert "more than 1,000 nodes" in line and "Use smaller repeat counts" in line
    # below the limit the same nesting checks
    monkeypatch.setattr(compile_module, "MAX_NODES", 2_000_000)
    small = write_spec(
        "input: [3, 8, 8]\nlayers:\n  - type: Sequential\n    repeat: 10\n    layers:\n"
        "      - {type: ReLU, repeat: 10}\n"
    )
    assert runner.invoke(app, ["check", str(small)]).exit_code == 0


def test_a_literal_repeat_over_the_limit_is_quoted_once() -> None:
    with pytest.raises(CompileError, match=r"at most 100000\), but got 100000000$"):
        propagate(loads("input: [3, 8, 8]\nlayers:\n  - {type: ReLU, repeat: 100000000}\n").spec)


def test_solve_input_on_a_graph_no_input_gets_through_is_a_located_error(write_spec) -> None:  # type: ignore[no-untyped-def]
    """A merge whose paths never agree: the spec's own error, located, in text and JSON; torch
    refuses every size too."""
    path = write_spec(
        "input: [2, 18, 6]\n"
        "layers:\n"
        "- {type: ConvTranspose2d, out_channels: 4, kernel_size: 4, stride: 2, name: up}\n"
        "- {type: Conv2d, name: side, from: x, out_channels: 4, kernel_size: 1, stride: 2}\n"
        "- {type: Concat, name: m, from: [up, side]}\n"
    )
    result = runner.invoke(app, ["solve-input", str(path), "--max", "20", "--json"])
    assert result.exit_code == 1
    [error] = json.loads(result.stdout)["errors"]
    assert (error["line"], error["field"]) == (5, "layers[2].from")
    assert "no input size near it works" in error["details"][-1]
    assert result.stderr.startswith(f"{path}:5:")
    up, side = torch.nn.ConvTranspose2d(2, 4, 4, stride=2), torch.nn.Conv2d(2, 4, 1, stride=2)
    for h in range(1, 21):
        for w in range(1, 21):
            x = torch.zeros(1, 2, h, w)
            with pytest.raises(RuntimeError):
                torch.cat([up(x), side(x)], 1)


def test_a_tuple_output_shows_every_shape_in_the_totals(write_spec) -> None:  # type: ignore[no-untyped-def]
    from shapecalc import build

    text = (
        "input: [3, 8, 8]\nlayers:\n"
        "  - {type: Conv2d, name: a, out_channels: 4, kernel_size: 3, padding: 1}\n"
        "  - {type: MaxPool2d, name: b, kernel_size: 2}\n"
        "output: [a, b]\n"
    )
    result = runner.invoke(app, ["check", str(write_spec(text))])
    assert result.exit_code == 0
    assert "Output shapes: [1, 4, 8, 8], [1, 4, 4, 4]\n" in result.stdout
    outputs = build(loads(text).spec)(torch.zeros(1, 3, 8, 8))
    assert [tuple(o.shape) for o in outputs] == [(1, 4, 8, 8), (1, 4, 4, 4)]


def test_an_entry_reading_its_own_output_is_told_so(write_spec) -> None:  # type: ignore[no-untyped-def]
    path = write_spec("input: [3, 8, 8]\nlayers:\n  - {type: ReLU, name: b, from: b}\n")
    result = runner.invoke(app, ["check", str(path)])
    assert result.exit_code == 1
    assert result.stderr == (
        f"{path}:3:27: error: from: 'b' is this entry's own name; an entry cannot read its own "
        "output. Name an entry above it\n"
    )
