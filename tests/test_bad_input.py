"""Bad input never yields a traceback: one located line per problem, exit 1, nothing on stdout in --json
mode but the document."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from shapecalc.cli import app

runner = CliRunner()

GOOD_HEAD = "input: [3, 32, 32]\nlayers:\n"

# id, spec text, line, column, field, fragment of the message
CASES = [
    (
        "tabs",
        "input: [3, 32, 32]\nlayers:\n\t- {type: ReLU}\n",
        3,
        1,
        None,
        "YAML does not allow tabs for indentation; indent with spaces",
    ),
    (
        "unclosed",
        "input: [3, 32, 32\nlayers: [{type: ReLU}]\n",
        2,
        7,
        None,
        "invalid YAML: while parsing a flow sequence",
    ),
    (
        "non-utf8",
        b"input: [3, 32, 32]\nname: caf\xe9\nlayers: [{type: ReLU}]\n",
        2,
        10,
        None,
        "the file is not valid UTF-8 (byte 0xe9 at line 2, column 10); save it as UTF-8",
    ),
    ("empty", "", 1, 1, None, "the file is empty; a spec is a mapping with 'input' and 'layers'"),
    ("comments only", "# nothing\n", 1, 1, None, "the file is empty"),
    (
        "several documents",
        "input: [3]\nlayers: [{type: ReLU}]\n---\ninput: [3]\n",
        3,
        1,
        None,
        "the file holds several YAML documents",
    ),
    (
        "python tag",
        'input: !!python/object/apply:os.system ["echo hacked"]\nlayers: [{type: ReLU}]\n',
        1,
        8,
        "input",
        "explicit YAML tags are not allowed, but found tag:yaml.org,2002:python/object/apply:os.system",
    ),
    (
        "local tag",
        "input: !shape [3, 32, 32]\nlayers: [{type: ReLU}]\n",
        1,
        8,
        "input",
        "explicit YAML tags are not allowed, but found !shape",
    ),
    (
        "duplicate key",
        GOOD_HEAD + "  - {type: Conv2d, out_channels: 8, kernel_size: 3, kernel_size: 5}\n",
        3,
        53,
        "layers[0].kernel_size",
        "duplicate key 'kernel_size' (first given on line 3)",
    ),
    (
        "not a mapping",
        "- 1\n- 2\n",
        1,
        1,
        None,
        "a spec is a mapping with 'input' and 'layers', but the file holds a list",
    ),
    ("missing input", "layers: [{type: ReLU}]\n", 1, 1, "input", "input is required"),
    (
        "unknown top-level key",
        "input: [3]\nlayer: [{type: ReLU}]\n",
        2,
        1,
        "layer",
        "layer is not a spec key; did you mean 'layers'?",
    ),
    (
        "unknown type",
        GOOD_HEAD + "  - {type: Conv2D, out_channels: 8, kernel_size: 3}\n",
        3,
        6,
        "layers[0].type",
        "layers[0].type 'Conv2D' is not a known layer type; did you mean 'Conv2d'?",
    ),
    (
        "missing type",
        GOOD_HEAD + "  - {out_channels: 8, kernel_size: 3}\n",
        3,
        5,
        "layers[0]",
        "layers[0] has no type; add 'type:' with a torch.nn layer (Conv2d, ...), a merge",
    ),
    (
        "misspelt argument",
        GOOD_HEAD + "  - {type: Conv2d, out_channels: 8, kernal_size: 3}\n",
        3,
        37,
        "layers[0].kernal_size",
        "layers[0].kernal_size (Conv2d 'conv1') is not an argument; did you mean 'kernel_size'?",
    ),
    (
        "missing argument",
        GOOD_HEAD + "  - {type: Conv2d, kernel_size: 3}\n",
        3,
        5,
        "layers[0].out_channels",
        "layers[0].out_channels (Conv2d 'conv1') is required",
    ),
    (
        "boolean for int",
        GOOD_HEAD + "  - {type: Conv2d, out_channels: 8, kernel_size: yes}\n",
        3,
        37,
        "layers[0].kernel_size",
        "but got the boolean true (YAML reads yes/no/on/off/true/false as booleans)",
    ),
    (
        "float for int",
        GOOD_HEAD + "  - {type: Conv2d, out_channels: 8.0, kernel_size: 3}\n",
        3,
        20,
        "layers[0].out_channels",
        "must be a positive integer, but got the float 8.0",
    ),
    (
        "string for int",
        GOOD_HEAD + "  - {type: MaxPool2d, kernel_size: '2'}\n",
        3,
        23,
        "layers[0].kernel_size",
        "but got the string '2'",
    ),
    (
        "zero size",
        GOOD_HEAD + "  - {type: Linear, out_features: 0}\n",
        3,
        20,
        "layers[0].out_features",
        "must be a positive integer, but got 0",
    ),
    (
        "negative size",
        GOOD_HEAD + "  - {type: Conv2d, out_channels: 8, kernel_size: 3, stride: -1}\n",
        3,
        53,
        "layers[0].stride",
        "must be a positive integer or a list of 2 such integers, but got -1",
    ),
    (
        "absurd size",
        GOOD_HEAD + "  - {type: Linear, out_features: 10000000000000}\n",
        3,
        20,
        "layers[0].out_features",
        "must be a positive integer of at most 2147483647, but got 10000000000000",
    ),
    (
        "wrong pair length",
        GOOD_HEAD + "  - {type: Conv2d, out_channels: 8, kernel_size: [3, 3, 3]}\n",
        3,
        37,
        "layers[0].kernel_size",
        "but got a list of 3",
    ),
    (
        "negative input",
        "input: [3, -32, 32]\nlayers: [{type: ReLU}]\n",
        1,
        12,
        "input[1]",
        "input[1] must be a positive integer, but got -32",
    ),
    (
        "zero batch",
        "input: [3]\nbatch: 0\nlayers: [{type: ReLU}]\n",
        2,
        1,
        "batch",
        "batch must be a positive integer, but got 0",
    ),
    (
        "pool padding over half",
        GOOD_HEAD + "  - {type: MaxPool2d, kernel_size: 2, padding: 2}\n",
        3,
        39,
        "layers[0].padding",
        "padding must be at most half the kernel, but got padding=2 along H with kernel_size=2 and dilation=1. Set padding to at most 1",
    ),
    (
        "same padding strided",
        GOOD_HEAD
        + "  - {type: Conv2d, out_channels: 8, kernel_size: 3, stride: 2, padding: same}\n",
        3,
        64,
        "layers[0].padding",
        "padding='same' is not supported for strided convolutions (stride=[2, 2])",
    ),
    (
        "groups mismatch",
        GOOD_HEAD + "  - {type: Conv2d, out_channels: 9, kernel_size: 3, groups: 2}\n",
        3,
        53,
        "layers[0].groups",
        "out_channels must be divisible by groups, but got out_channels=9 and groups=2",
    ),
    (
        "inferred channels vs groups",
        GOOD_HEAD + "  - {type: Conv2d, out_channels: 8, kernel_size: 3, groups: 2}\n",
        3,
        53,
        "layers[0].groups",
        "in_channels must be divisible by groups, but the incoming tensor has 3 channels and groups=2",
    ),
    (
        "channel mismatch",
        GOOD_HEAD + "  - {type: Conv2d, in_channels: 4, out_channels: 8, kernel_size: 3}\n",
        3,
        20,
        "layers[0].in_channels",
        "in_channels is 4, but the incoming tensor has 3 channels (input [1, 3, 32, 32] from the net's input). Set in_channels: 3, or leave it out to infer it",
    ),
    (
        "shrinks below 1",
        GOOD_HEAD
        + "  - {type: MaxPool2d, kernel_size: 8}\n  - {type: MaxPool2d, kernel_size: 8}\n",
        4,
        5,
        "layers[1]",
        "output size is too small: ⌊(4 + 2·0 − 1·(8−1) − 1)/8⌋ + 1 = 0 along H",
    ),
    (
        "kernel larger than input",
        "input: [3, 4, 4]\nlayers:\n  - {type: Conv2d, out_channels: 8, kernel_size: 5}\n",
        3,
        5,
        "layers[0]",
        "the kernel spans 5 along H (dilation·(kernel_size−1) + 1 = 1·(5−1) + 1), more than the padded input 4 + 0 = 4",
    ),
    (
        "conv after flatten",
        GOOD_HEAD + "  - {type: Flatten}\n  - {type: Conv2d, out_channels: 8, kernel_size: 3}\n",
        4,
        5,
        "layers[1]",
        "Conv2d expects a 4-D (batch, channels, H, W) or 3-D unbatched input, but got a 2-D tensor [1, 3072] (input [1, 3072] from layers[0] Flatten 'flatten'). Put Flatten after the last convolution or pooling layer",
    ),
    (
        "duplicate names",
        GOOD_HEAD + "  - {type: ReLU, name: act}\n  - {type: ReLU, name: act}\n",
        4,
        18,
        "layers[1].name",
        "layers[1].name is 'act', like layers[0]; names must be unique in their scope",
    ),
    (
        "reserved name",
        GOOD_HEAD + "  - {type: ReLU, name: forward}\n",
        3,
        18,
        "layers[0].name",
        "'forward' is an attribute of torch.nn.Module; choose another name",
    ),
    (
        "dropout probability",
        GOOD_HEAD + "  - {type: Dropout, p: 1.5}\n",
        3,
        21,
        "layers[0].p",
        "must be a probability between 0 and 1, but got 1.5",
    ),
]


@pytest.mark.parametrize(
    ("text", "line", "column", "field", "fragment"),
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
def test_bad_spec_is_located(write_spec, text, line, column, field, fragment):  # type: ignore[no-untyped-def]
    path = write_spec(text)
    result = runner.invoke(app, ["check", str(path)])
    assert result.exit_code == 1
    assert "Traceback" not in result.stderr
    matching = [entry for entry in result.stderr.splitlines() if fragment in entry]
    assert len(matching) == 1, result.stderr
    assert matching[0].startswith(f"{path}:{line}:{column}: error: "), matching[0]

    result = runner.invoke(app, ["check", str(path), "--json"])
    assert result.exit_code == 1
    [document] = json.loads(result.stdout)
    assert document["ok"] is False
    [error] = [e for e in document["errors"] if fragment in e["message"]]
    assert (error["line"], error["column"], error["field"]) == (line, column, field)
    assert fragment in error["message"]


def test_linear_mismatch_message_matches_the_example(write_spec) -> None:  # type: ignore[no-untyped-def]
    spec = (Path(__file__).parent.parent / "specs" / "cifar10.yaml").read_text()
    spec = spec.replace("name: linear1\n", "name: linear1\n    in_features: 4096\n")
    path = write_spec(spec)
    line = spec.splitlines().index("    in_features: 4096") + 1
    result = runner.invoke(app, ["check", str(path)])
    assert result.exit_code == 1
    assert re.match(
        rf"^{re.escape(str(path))}:{line}:5: error: layers\[7\]\.in_features \(Linear 'linear1'\): "
        r"in_features is 4096, but the incoming tensor has 1024 features in its last dimension "
        r"\(input \[64, 1024\] from layers\[6\] Flatten 'flatten'\)\. "
        r"Set in_features: 1024, or leave it out to infer it$",
        result.stderr.strip(),
    )


def test_all_schema_errors_are_reported_at_once(write_spec) -> None:  # type: ignore[no-untyped-def]
    path = write_spec(
        "input: [3, 32, 32]\nbatch: no\nlayers:\n"
        "  - {type: Conv2d, out_channels: 8, kernal_size: 3}\n"
        "  - {type: Lineer, out_features: 10}\n"
    )
    result = runner.invoke(app, ["check", str(path), "--json"])
    fields = [e["field"] for e in json.loads(result.stdout)[0]["errors"]]
    assert fields == ["batch", "layers[0].kernel_size", "layers[0].kernal_size", "layers[1].type"]


def test_python_tag_executes_nothing(write_spec, tmp_path) -> None:  # type: ignore[no-untyped-def]
    marker = tmp_path / "pwned"
    path = write_spec(
        f'input: !!python/object/apply:os.system ["touch {marker}"]\nlayers: [{{type: ReLU}}]\n'
    )
    assert runner.invoke(app, ["check", str(path)]).exit_code == 1
    assert not marker.exists()


def _alias_bomb() -> str:
    text = 'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n'
    prev = "a"
    for name in "bcdefghi":
        text += f"{name}: &{name} [" + ",".join([f"*{prev}"] * 9) + "]\n"
        prev = name
    return text + "input: [3]\nlayers: [{type: ReLU}]\n"


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        (_alias_bomb(), "aliases expand the document by more than 1,000,000 values"),
        (
            "input: " + "[" * 60 + "]" * 60 + "\nlayers: []\n",
            "values are nested more than 32 levels deep",
        ),
        ("input: " + "[" * 50000 + "]" * 50000 + "\n", "nest"),
    ],
    ids=["alias bomb", "deep nesting", "absurd nesting"],
)
def test_bombs_are_refused_quickly(write_spec, text, fragment) -> None:  # type: ignore[no-untyped-def]
    result = runner.invoke(app, ["check", str(write_spec(text))])
    assert result.exit_code == 1
    assert fragment in result.stderr


def test_missing_file_is_a_usage_error(tmp_path) -> None:  # type: ignore[no-untyped-def]
    result = runner.invoke(app, ["check", str(tmp_path / "nope.yaml")])
    assert result.exit_code == 2
    assert result.stderr == f"{tmp_path / 'nope.yaml'}: error: the file does not exist\n"


def test_bad_option_is_a_usage_error() -> None:
    result = runner.invoke(app, ["check", "--jsn"])
    assert result.exit_code == 2
    assert "No such option" in result.stderr


def test_real_process_prints_no_traceback(write_spec) -> None:  # type: ignore[no-untyped-def]
    path = write_spec(b"input: [3, 32\n\xff")
    proc = subprocess.run(
        [sys.executable, "-m", "shapecalc", "check", str(path)], capture_output=True, text=True
    )
    assert proc.returncode == 1
    assert proc.stdout == ""
    assert proc.stderr.count("\n") == 1 and proc.stderr.startswith(f"{path}:2:1: error: ")


def test_expression_cut_at_a_comma_in_a_flow_mapping(write_spec) -> None:  # type: ignore[no-untyped-def]
    """YAML ends a value at a comma inside {…}: one error with the expression to quote, and no
    error for the rest of it read as a key."""
    path = write_spec(
        "input: [8, 4, 4]\nblocks:\n  Gate:\n    params: {r: 4}\n    layers:\n"
        "      - {type: Conv2d, out_channels: max($in_channels // $r, 1), kernel_size: 1}\n"
        "layers:\n  - {type: Gate}\n"
    )
    result = runner.invoke(app, ["check", str(path)])
    assert result.exit_code == 1
    assert result.stderr.strip() == (
        f"{path}:6:24: error: blocks.Gate.layers[0].out_channels: cannot read the expression "
        "'max($in_channels // $r': '(' was never closed; in a flow mapping {…} a comma ends the "
        'value, so quote the expression: out_channels: "max($in_channels // $r, 1)"'
    )
    quoted = path.read_text().replace("max($in_channels // $r, 1)", '"max($in_channels // $r, 1)"')
    path.write_text(quoted)
    result = runner.invoke(app, ["check", str(path), "--json"])
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)[0]["output_shape"] == [1, 2, 4, 4]


@pytest.mark.parametrize(
    ("input_", "dim", "message"),
    [
        (
            [3, 8, 8],
            4,
            "dim=4 is out of range for a 4-D tensor (valid: -4 to 3). Set dim between -4 and 3 "
            "for the 4-D inputs ('a' is [1, 4, 8, 8]); dim=1 joins their channels",
        ),
        (
            [3, 8],
            -4,
            "dim=-4 is out of range for a 3-D tensor (valid: -3 to 2). Set dim between -3 and 2 "
            "for the 3-D inputs ('a' is [1, 4, 8]); dim=1 joins their channels",
        ),
    ],
)
def test_concat_dim_out_of_range_is_about_dim(write_spec, input_, dim, message) -> None:  # type: ignore[no-untyped-def]
    """Inputs that agree get no account of their paths, and the fix is about dim alone."""
    import torch

    conv = "Conv2d" if len(input_) == 3 else "Conv1d"
    path = write_spec(
        f"input: {input_}\nlayers:\n"
        f"  - {{type: {conv}, name: a, out_channels: 4, kernel_size: 1}}\n"
        f"  - {{type: {conv}, name: b, from: x, out_channels: 4, kernel_size: 1}}\n"
        f"  - {{type: Concat, from: [a, b], dim: {dim}}}\n"
    )
    result = runner.invoke(app, ["check", str(path)])
    assert result.exit_code == 1
    assert result.stderr.strip() == f"{path}:5:34: error: layers[2].dim (Concat 'cat'): {message}"
    tensor = torch.ones(1, 4, *input_[1:])
    with pytest.raises(IndexError, match="Dimension out of range"):
        torch.cat([tensor, tensor], dim=dim)
