"""`shapecalc schema`: the JSON Schema of the spec format against the loader's own structure check.

The schema must accept every spec the loader accepts and reject what the structure check rejects
for reasons a schema can state (keys, argument names, value types). A JSON Schema validator
(``jsonschema``, draft 7 as yaml-language-server reads it) is the judge.
"""

from __future__ import annotations

import functools
import os
import re
import warnings
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import torch
import yaml
from conftest import ROOT, SPECS
from hypothesis import given, settings
from hypothesis import strategies as st
from test_graph import ERRORS, STRUCTURE
from typer.testing import CliRunner

from shapecalc.cli import app
from shapecalc.errors import CompileError, ShapecalcError, ShapeError
from shapecalc.loader import loads, parse_yaml
from shapecalc.ops import REGISTRY
from shapecalc.schema import SCHEMA_FILE, dumps, shipped, spec_schema
from shapecalc.spec import Spec
from shapecalc.spec.expr import has_expression
from shapecalc.spec.structure import read
from shapecalc.trace import propagate

runner = CliRunner()
SCHEMA = spec_schema()
VALIDATOR = jsonschema.Draft7Validator(SCHEMA)
BUNDLED = sorted(SPECS.glob("*.yaml"))
MODELINE = "# yaml-language-server: $schema=../shapecalc/schemas/spec.schema.json"
TEST_SPECS = sorted((ROOT / "tests" / "specs").glob("*.yaml"))


def data_of(text: str) -> Any:
    return parse_yaml(text.encode("utf-8"))[0]


def schema_errors(data: Any) -> list[str]:
    return [
        f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in VALIDATOR.iter_errors(data)
    ]


def loader_accepts(data: Any) -> bool:
    """The structure check takes it, and so does compiling its expressions (shapes aside)."""
    if read(data)[1]:
        return False
    if not has_expression(data):
        return True
    try:
        propagate(Spec.model_validate(data))
    except CompileError:
        return False
    except ShapeError:
        pass
    return True


def test_the_schema_is_a_valid_draft_7_schema() -> None:
    jsonschema.Draft7Validator.check_schema(SCHEMA)
    assert SCHEMA["$schema"] == "http://json-schema.org/draft-07/schema#"


def test_the_shipped_file_is_what_the_command_prints() -> None:
    result = runner.invoke(app, ["schema"])
    assert result.exit_code == 0
    assert result.stdout == dumps(SCHEMA)
    assert shipped() == result.stdout, (
        f"{SCHEMA_FILE} is stale; regenerate it with: shapecalc schema -o {SCHEMA_FILE.relative_to(ROOT)}"
    )


def test_output_option_writes_the_file(tmp_path: Path) -> None:
    target = tmp_path / "spec.schema.json"
    result = runner.invoke(app, ["schema", "-o", str(target)])
    assert result.exit_code == 0
    assert target.read_text(encoding="utf-8") == dumps(SCHEMA)


def test_an_unwritable_output_is_one_line_and_exit_3(tmp_path: Path) -> None:
    result = runner.invoke(app, ["schema", "-o", str(tmp_path / "missing" / "x.json")])
    assert result.exit_code == 3  # the environment cannot do it, as for every command
    assert result.stderr.startswith("error: cannot write ")
    assert "Traceback" not in result.stderr


def test_the_package_ships_the_schema_and_every_subpackage() -> None:
    tomllib = pytest.importorskip("tomllib", reason="tomllib is in the standard library from 3.11")
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]
    packages = set(config["setuptools"]["packages"])
    found = {
        ".".join(init.parent.relative_to(ROOT).parts)
        for init in (ROOT / "shapecalc").rglob("__init__.py")
    }
    assert found <= packages
    # the schemas folder is the package shapecalc.schemas: its data is listed under that name
    data = config["setuptools"]["package-data"]["shapecalc.schemas"]
    assert any(SCHEMA_FILE.match(pattern) for pattern in data)


# --- every spec shipped or used in the tests ----------------------------------------------------


@pytest.mark.parametrize("path", BUNDLED + TEST_SPECS, ids=lambda p: p.name)
def test_every_bundled_and_test_spec_is_valid(path: Path) -> None:
    data, _ = parse_yaml(path.read_bytes())
    assert schema_errors(data) == []


def test_the_bundled_specs_are_found() -> None:
    assert {p.stem for p in BUNDLED} >= {"alexnet", "cifar10", "lenet5"}


@pytest.mark.parametrize("path", BUNDLED, ids=lambda p: p.name)
def test_bundled_specs_point_editors_at_the_shipped_schema(path: Path) -> None:
    first = path.read_text(encoding="utf-8").splitlines()[0]
    match = re.fullmatch(r"# yaml-language-server: \$schema=(\S+)", first)
    assert match, f"{path.name} must start with: {MODELINE}"
    # relative to the repository's specs/ folder, where an editor opens them (resolved by name,
    # as an editor does, not through a link)
    target = os.path.normpath(ROOT / "specs" / match.group(1))
    assert Path(target) == SCHEMA_FILE


# --- valid specs using every key ----------------------------------------------------------------

VALID = {
    "chain_in_flow_style": """
input: [3, 32, 32]
layers:
  - {type: Conv2d, out_channels: 8, kernel_size: [3, 5], dilation: 2, padding: same}
  - {type: Conv2d, out_channels: 8, kernel_size: 3, stride: [2, 1], padding: [1, 0]}
  - {type: MaxPool2d, kernel_size: 2, stride: null, ceil_mode: true}
  - {type: Flatten}
  - {type: Linear, out_features: 10, in_features: null}
""",
    "every_spec_key": """
name: Net
input: [3, 8, 8]
batch: 4
params: {width: 8, ratios: [1, 2], act: relu}
layers:
  - {type: Conv2d, name: conv, out_channels: $width * 2, kernel_size: [$width // 4, 3], padding: 1}
  - {type: BatchNorm2d, momentum: null, eps: 0.001}
  - {type: ReLU, inplace: true, trainable: false}
output: [conv, relu]
""",
    "blocks_repeat_first_if_merges": """
input: [3, 16, 16]
params: {n: 2}
blocks:
  Basic:
    params: {out_channels: required, stride: 1}
    layers:
      - {type: Conv2d, name: conv1, out_channels: $out_channels, kernel_size: 3, stride: $stride, padding: 1, bias: false}
      - {type: BatchNorm2d, name: bn1}
      - type: Sequential
        name: downsample
        from: x
        if: $stride != 1 or $in_channels != $out_channels
        layers:
          - {type: Conv2d, out_channels: $out_channels, kernel_size: 1, stride: $stride}
          - {type: BatchNorm2d}
      - {type: Add, name: add, from: [bn1, downsample]}
      - {type: ReLU, name: relu, inplace: true}
    output: relu
  Up:
    inputs: [x, skip]
    params: {out_channels: required}
    layers:
      - {type: Conv2d, name: up, out_channels: $out_channels, kernel_size: 1}
      - {type: Concat, name: cat, from: [skip, up], dim: 1}
layers:
  - {type: Conv2d, name: stem, out_channels: 8, kernel_size: 3, padding: 1}
  - {type: Basic, name: layer1, out_channels: 16, repeat: $n, first: {stride: 2}, repeat_name: "block{n}"}
  - {type: Up, name: up, from: [layer1, stem], out_channels: 8, if: true}
  - {type: Multiply, name: gate, from: [up, up]}
  - {type: Conv2d, name: c, out_channels: 8, kernel_size: 1, repeat: 2, first: {kernel_size: 3, padding: 1}}
""",
    "sequential_with_splice": """
input: [4, 8]
layers:
  - type: Sequential
    name: features
    layers:
      - {type: Conv1d, out_channels: 4, kernel_size: 1, repeat: 2, splice: true}
      - {type: Sequential, layers: [{type: ReLU}]}
  - {type: Flatten, from: [features]}
""",
}


@pytest.mark.parametrize("name", VALID)
def test_valid_specs_are_valid_for_both(name: str) -> None:
    data = data_of(VALID[name])
    assert read(data)[1] == [], "the example itself must be valid"
    assert schema_errors(data) == []


# --- invalid specs: the structure check and the schema both refuse them -------------------------

CHAIN = "input: [3, 32, 32]\nlayers:\n"

INVALID = {
    "unknown_top_level_key": (CHAIN + "  - {type: ReLU}\nlayer: []\n", ""),
    "missing_layers": ("input: [3, 32, 32]\n", ""),
    "missing_input": ("layers: [{type: ReLU}]\n", ""),
    "empty_layers": ("input: [3]\nlayers: []\n", "layers"),
    "input_of_six": ("input: [1, 2, 3, 4, 5, 6]\nlayers: [{type: ReLU}]\n", "input"),
    "input_zero": ("input: [0, 32]\nlayers: [{type: ReLU}]\n", "input/0"),
    "input_string": ("input: '3,32,32'\nlayers: [{type: ReLU}]\n", "input"),
    "batch_zero": (CHAIN + "  - {type: ReLU}\nbatch: 0\n", "batch"),
    "misspelt_argument": (
        CHAIN + "  - {type: Conv2d, out_channels: 8, kernal_size: 3}\n",
        "layers/0",
    ),
    "missing_required_argument": (CHAIN + "  - {type: Conv2d, kernel_size: 3}\n", "layers/0"),
    "kernel_size_string": (
        CHAIN + "  - {type: Conv2d, out_channels: 8, kernel_size: '5'}\n",
        "layers/0/kernel_size",
    ),
    "kernel_size_three_for_2d": (
        CHAIN + "  - {type: Conv2d, out_channels: 8, kernel_size: [5, 5, 5]}\n",
        "layers/0/kernel_size",
    ),
    "out_channels_float": (
        CHAIN + "  - {type: Conv2d, out_channels: 3.5, kernel_size: 3}\n",
        "layers/0/out_channels",
    ),
    "bias_one": (CHAIN + "  - {type: Linear, out_features: 3, bias: 1}\n", "layers/0/bias"),
    "padding_word": (
        CHAIN + "  - {type: Conv2d, out_channels: 8, kernel_size: 3, padding: full}\n",
        "layers/0/padding",
    ),
    "padding_mode_misspelt": (
        CHAIN + "  - {type: Conv2d, out_channels: 8, kernel_size: 3, padding_mode: zero}\n",
        "layers/0/padding_mode",
    ),
    "argument_mapping": (
        CHAIN + "  - {type: Linear, out_features: {a: 1}}\n",
        "layers/0/out_features",
    ),
    "entry_without_type": (CHAIN + "  - {name: conv}\n", "layers/0"),
    "entry_not_a_mapping": (CHAIN + "  - ReLU\n", "layers/0"),
    "name_with_dash": (CHAIN + "  - {type: ReLU, name: relu-1}\n", "layers/0/name"),
    "name_reserved": (CHAIN + "  - {type: ReLU, name: forward}\n", "layers/0/name"),
    "name_keyword": (CHAIN + "  - {type: ReLU, name: class}\n", "layers/0/name"),
    "name_underscore": (CHAIN + "  - {type: ReLU, name: _relu}\n", "layers/0/name"),
    "merge_without_from": (CHAIN + "  - {type: ReLU}\n  - {type: Add}\n", "layers/1"),
    "merge_of_one": (
        CHAIN + "  - {type: ReLU}\n  - {type: Concat, from: [relu]}\n",
        "layers/1/from",
    ),
    "layer_from_two": (
        CHAIN + "  - {type: ReLU}\n  - {type: ReLU, from: [x, relu]}\n",
        "layers/1/from",
    ),
    "first_without_repeat": (
        CHAIN + "  - {type: Conv2d, out_channels: 8, kernel_size: 3, first: {stride: 2}}\n",
        "layers/0",
    ),
    "repeat_name_without_repeat": (CHAIN + "  - {type: ReLU, repeat_name: 'r{n}'}\n", "layers/0"),
    "repeat_name_without_n": (
        CHAIN + "  - {type: ReLU, repeat: 2, repeat_name: relu}\n",
        "layers/0/repeat_name",
    ),
    "misspelt_first_argument": (
        CHAIN
        + "  - {type: Conv2d, out_channels: 8, kernel_size: 3, repeat: 2, first: {strde: 2}}\n",
        "layers/0/first",
    ),
    "repeat_zero": (CHAIN + "  - {type: ReLU, repeat: 0}\n", "layers/0/repeat"),
    "if_number": (CHAIN + "  - {type: ReLU, if: 1}\n", "layers/0/if"),
    "trainable_string": (CHAIN + "  - {type: ReLU, trainable: 'yes'}\n", "layers/0/trainable"),
    "splice_outside_sequential": (
        CHAIN + "  - {type: ReLU, repeat: 2, splice: true}\n",
        "layers/0/splice",
    ),
    "layers_on_a_layer": (CHAIN + "  - {type: ReLU, layers: [{type: ReLU}]}\n", "layers/0"),
    "sequential_without_layers": (CHAIN + "  - {type: Sequential}\n", "layers/0"),
    "sequential_with_an_argument": (
        CHAIN + "  - {type: Sequential, out_channels: 3, layers: [{type: ReLU}]}\n",
        "layers/0",
    ),
    "from_inside_sequential": (
        CHAIN + "  - {type: Sequential, layers: [{type: ReLU, from: x}]}\n",
        "layers/0/layers/0/from",
    ),
    "params_expression": (CHAIN + "  - {type: ReLU}\nparams: {a: $b}\n", "params/a"),
    "params_required_at_top": (CHAIN + "  - {type: ReLU}\nparams: {a: required}\n", "params/a"),
    "block_key_misspelt": (
        CHAIN + "  - {type: B}\nblocks:\n  B: {layer: [{type: ReLU}]}\n",
        "blocks/B",
    ),
    "block_named_like_a_layer": (
        CHAIN + "  - {type: ReLU}\nblocks:\n  Conv2d: {layers: [{type: ReLU}]}\n",
        "blocks",
    ),
    "block_declares_in_channels": (
        CHAIN + "  - {type: B}\nblocks:\n  B: {params: {in_channels: 3}, layers: [{type: ReLU}]}\n",
        "blocks/B/params",
    ),
    "block_inputs_empty": (
        CHAIN + "  - {type: B}\nblocks:\n  B: {inputs: [], layers: [{type: ReLU}]}\n",
        "blocks/B/inputs",
    ),
    "block_inputs_twice": (
        CHAIN
        + "  - {type: B, from: [x, x]}\nblocks:\n  B: {inputs: [x, x], layers: [{type: ReLU}]}\n",
        "blocks/B/inputs",
    ),
    "output_number": (CHAIN + "  - {type: ReLU}\noutput: 3\n", "output"),
}


@pytest.mark.parametrize("name", INVALID)
def test_invalid_specs_are_refused_by_both(name: str) -> None:
    text, where = INVALID[name]
    data = data_of(text)
    assert not loader_accepts(data), "the example itself must be invalid"
    errors = schema_errors(data)
    assert errors, "the schema accepts it"
    assert any(e.startswith(f"{where}: ") for e in errors), errors


# what a schema cannot see: references across the file, block parameters, expressions' insides
BEYOND_A_SCHEMA = (
    "is not defined",  # from: / output: names an entry that does not exist (above)
    "is defined below",
    "needs ",  # a block's required parameter is missing: the block is defined elsewhere
    "is not a parameter",
    "a block cannot use itself",
    "is not allowed in the expression",
    "names this scope's input",
)


@pytest.mark.parametrize("case", STRUCTURE, ids=[c[3] + ":" + c[4][:20] for c in STRUCTURE])
def test_the_graph_formats_structure_errors(case: tuple[str, int, int, str, str]) -> None:
    """test_graph's located structure errors: the schema refuses each one it can see."""
    text, _, _, field, message = case
    data = data_of(text)
    assert not loader_accepts(data)
    if any(reason in message for reason in BEYOND_A_SCHEMA):
        return
    where = re.sub(r"\[(\d+)\]", r"/\1", field).replace(".", "/")
    errors = schema_errors(data)
    paths = [e.split(": ")[0] for e in errors]
    assert any(path and where.startswith(path) for path in paths), errors


@pytest.mark.parametrize("name", sorted(ERRORS))
def test_the_graph_formats_error_examples(name: str) -> None:
    """Specs whose errors need shapes or references are structurally fine for the schema."""
    data = data_of(ERRORS[name])
    if not read(data)[1] or all(
        any(reason in p.message for reason in BEYOND_A_SCHEMA) for p in read(data)[1]
    ):
        assert schema_errors(data) == []


# --- every layer type of the registry -----------------------------------------------------------


def single_layer(kind: str, args: dict[str, Any], input_shape: tuple[int, ...]) -> dict[str, Any]:
    """A spec with one entry of ``kind`` (a merge reads two copies of the input)."""
    entry: dict[str, Any] = {"type": kind, **args}
    layers: list[dict[str, Any]] = [entry]
    if REGISTRY[kind].merge:
        layers = [{"type": "Identity", "name": "a"}, {**entry, "from": ["x", "a"]}]
    return {"input": list(input_shape) or [1], "layers": layers}


@functools.cache
def entry_validator(kind: str) -> jsonschema.Draft7Validator:
    """The schema of one layer type's entries (the spec around it is tested above)."""
    return jsonschema.Draft7Validator(
        {"$ref": f"#/definitions/{kind}", "definitions": SCHEMA["definitions"]}
    )


def entry_errors(kind: str, spec: dict[str, Any]) -> list[str]:
    return [e.message for e in entry_validator(kind).iter_errors(spec["layers"][-1])]


def drawn_shape(shapes: Any) -> tuple[int, ...]:
    first = shapes[0] if isinstance(shapes[0], tuple) else shapes
    return tuple(first[1:]) if len(first) > 1 else tuple(first)


@pytest.mark.parametrize("kind", sorted(REGISTRY))
@settings(max_examples=10)
@given(data=st.data())
def test_the_registrys_own_examples_are_valid_for_both(kind: str, data: st.DataObject) -> None:
    args, shapes = data.draw(REGISTRY[kind].examples(st))
    spec = single_layer(kind, args, drawn_shape(shapes))
    if loader_accepts(spec):
        assert entry_errors(kind, spec) == [], spec


JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-3, 9)
    | st.floats(-2, 2, allow_nan=False)
    | st.sampled_from(["same", "valid", "zeros", "none", "tanh", "text", "$k", "$k * 2"]),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.sampled_from("ab"), inner),
    max_leaves=6,
)


@pytest.mark.parametrize("kind", sorted(REGISTRY))
@settings(max_examples=20)
@given(data=st.data())
def test_the_schema_never_refuses_what_the_loader_takes(kind: str, data: st.DataObject) -> None:
    """Any value for any argument: when the structure check takes it, so does the schema."""
    cls = REGISTRY[kind]
    args, shapes = data.draw(cls.examples(st))
    name = data.draw(st.sampled_from(cls.arguments())) if cls.arguments() else None
    if name is not None:
        args = {**args, name: data.draw(JSON_VALUES)}
    spec = single_layer(kind, args, drawn_shape(shapes))
    if "$k" in str(args):
        spec["params"] = {"k": 2}
    if loader_accepts(spec):
        assert entry_errors(kind, spec) == [], spec


@pytest.mark.parametrize("kind", sorted(REGISTRY))
def test_a_misspelt_argument_is_refused_by_both(kind: str) -> None:
    for name in REGISTRY[kind].arguments():
        spec = single_layer(kind, {name + "s": 1}, (3, 8, 8))
        assert not loader_accepts(spec)
        assert entry_errors(kind, spec), (kind, name)


@pytest.mark.parametrize("kind", sorted(REGISTRY))
def test_every_layer_type_is_described(kind: str) -> None:
    schema = SCHEMA["definitions"][kind]
    assert kind in SCHEMA["definitions"]["entry_body"]["properties"]["type"]["anyOf"][0]["enum"]
    assert set(schema["properties"]) >= set(REGISTRY[kind].arguments())
    assert schema["description"]


@pytest.mark.parametrize(
    ("kind", "args"),
    [
        ("Conv2d", {"out_channels": 4, "kernel_size": 0}),
        ("Conv2d", {"out_channels": 4, "kernel_size": 3, "stride": -1}),
        ("Conv2d", {"out_channels": 4, "kernel_size": [3, 0]}),
        ("Conv2d", {"out_channels": 4, "kernel_size": 3, "dilation": 0}),
        ("Conv2d", {"out_channels": 4, "kernel_size": 3, "groups": 0}),
        ("MaxPool2d", {"kernel_size": 2, "padding": -1}),
    ],
)
def test_sizes_out_of_range_are_refused_by_the_schema_and_the_loader(
    kind: str, args: dict[str, Any]
) -> None:
    spec = {"input": [3, 8, 8], "layers": [{"type": kind, **args}]}
    assert entry_errors(kind, spec), spec
    with pytest.raises(ShapecalcError):
        loads(yaml.safe_dump(spec))
    # torch refuses them too
    module = getattr(torch.nn, kind)
    with warnings.catch_warnings(), pytest.raises((RuntimeError, ValueError)):
        warnings.simplefilter("ignore")  # zero-element weights warn before the forward fails
        module(*([3] if kind == "Conv2d" else []), **args)(torch.zeros(1, 3, 8, 8))


def test_negative_sizes_the_loader_takes_stay_valid_in_the_schema() -> None:
    for kind, args in [
        ("Unflatten", {"dim": 1, "unflattened_size": [2, -1]}),
        ("ConstantPad2d", {"padding": [1, -1, 0, 0], "value": 0.0}),
        ("Flatten", {"start_dim": -3}),
    ]:
        spec = {"input": [4, 8, 8], "layers": [{"type": kind, **args}]}
        loads(yaml.safe_dump(spec))
        assert entry_errors(kind, spec) == [], spec
