"""`shapecalc export --format python`: the module a person would write, checked against torch.

The round trip runs in a fresh interpreter: each exported module is imported from its file (before
shapecalc is, which proves it standalone), then compared with ``build(spec, "class")``: the same
``state_dict`` keys in the same order, the same shapes, and the same output on the same weights.
ruff, a test dependency, checks that the source is formatted and lint-clean as written.
"""

from __future__ import annotations

import ast
import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from conftest import GOLDEN, SPECS
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from shapecalc.builder import make_module
from shapecalc.cli import app
from shapecalc.errors import ShapecalcError
from shapecalc.export import export_python
from shapecalc.loader import bundled_names, load, loads
from shapecalc.ops import REGISTRY
from shapecalc.pycode import Atom, Brackets, Call, IfElse, statement
from shapecalc.spec import Spec
from shapecalc.trace import propagate

runner = CliRunner()
BUNDLED = bundled_names()


def _ruff() -> list[str] | None:
    """The ruff command (a test dependency), or None where it is not installed."""
    try:
        import ruff  # noqa: F401
    except ImportError:
        found = shutil.which("ruff")
        return [found] if found else None
    return [sys.executable, "-m", "ruff"]


needs_ruff = pytest.mark.skipif(
    _ruff() is None, reason="ruff is not installed (pip install -e '.[test]' brings it)"
)
# the project's own selection, stricter than ruff's default rules
STRICT = ["--select", "E,F,W,I,B,UP,SIM,RUF", "--ignore", "RUF001,RUF002,RUF003"]


# --- the CIFAR10 net and the classic tutorial ------------------------------------------------------


def test_cifar10_golden(golden) -> None:  # type: ignore[no-untyped-def]
    result = runner.invoke(app, ["export", "specs/cifar10.yaml", "--format", "python"])
    assert result.exit_code == 0, result.stderr
    golden("export_cifar10.py.txt", result.stdout)


def _class(source: str, name: str) -> ast.ClassDef:
    found = [n for n in ast.parse(source).body if isinstance(n, ast.ClassDef) and n.name == name]
    assert len(found) == 1
    return found[0]


class _AsWritten(ast.NodeTransformer):
    """The tutorial's spelling made ours: ``Conv2d`` → ``nn.Conv2d``, ``super(Tudui, self)`` →
    ``super()``. Nothing else is changed."""

    def __init__(self, imported: set[str]) -> None:
        self.imported = imported

    def visit_Name(self, node: ast.Name) -> ast.AST:
        if node.id in self.imported:
            return ast.Attribute(ast.Name("nn", ast.Load()), node.id, ast.Load())
        return node

    def visit_Call(self, node: ast.Call) -> ast.AST:
        self.generic_visit(node)
        if isinstance(node.func, ast.Name) and node.func.id == "super":
            node.args = []
        return node


def test_cifar10_class_is_the_tutorials_example_1() -> None:
    """Statement for statement the class of the tutorial's Example 1 (tests/golden/
    seed_example1.py.txt), which imports the layers by name and calls super(Tudui, self)."""
    seed = (GOLDEN / "seed_example1.py.txt").read_text(encoding="utf-8")
    ours = export_python(load(SPECS / "cifar10.yaml").spec)
    imported = {
        alias.name
        for node in ast.parse(seed).body
        if isinstance(node, ast.ImportFrom) and node.module == "torch.nn"
        for alias in node.names
    }
    theirs = _AsWritten(imported).visit(_class(seed, "Tudui"))
    assert ast.dump(_class(ours, "Tudui")) == ast.dump(theirs)


def test_exported_cifar10_prints_and_runs_as_the_tutorial(tmp_path: Path) -> None:
    """The tutorial's own program, run on the exported class, prints what it printed."""
    source = export_python(load(SPECS / "cifar10.yaml").spec)
    program = source + (
        "\n\nimport torch\n\ntudui = Tudui()\nprint(tudui)\n"
        "output = tudui(torch.ones((64, 3, 32, 32)))\nprint(output.shape)\n"
    )
    path = tmp_path / "tutorial.py"
    path.write_text(program, encoding="utf-8")
    proc = subprocess.run([sys.executable, str(path)], capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == (GOLDEN / "seed_example1.txt").read_text(encoding="utf-8")


# --- the round trip, in a fresh interpreter --------------------------------------------------------

ROUND_TRIP = r"""
import importlib.util, json, sys
import torch

jobs = json.loads(sys.argv[1])
classes = {}
for job in jobs:  # the exported modules first: they must not need shapecalc
    spec = importlib.util.spec_from_file_location(job["module"], job["path"])
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    with torch.device("meta"):
        classes[job["name"]] = getattr(module, job["class"])()
standalone = not any(m == "shapecalc" or m.startswith("shapecalc.") for m in sys.modules)

from shapecalc import build, load

results = {}
for job in jobs:
    torch.manual_seed(0)
    built = build(load(job["spec"]).spec, "class").eval()
    ours = classes[job["name"]]
    theirs = built.state_dict()
    keys = list(ours.state_dict())
    shapes = {k: list(v.shape) for k, v in ours.state_dict().items()}
    ours.load_state_dict(theirs, strict=True, assign=True)
    ours.eval()
    x = torch.randn(job["input"], generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        a, b = built(x), ours(x)
    a = a if isinstance(a, tuple) else (a,)
    b = b if isinstance(b, tuple) else (b,)
    results[job["name"]] = {
        "keys": keys == list(theirs),
        "shapes": shapes == {k: list(v.shape) for k, v in theirs.items()},
        "equal": len(a) == len(b) and all(torch.equal(p, q) for p, q in zip(a, b)),
        "print": str(ours) == str(built),
    }
print(json.dumps({"standalone": standalone, "results": results}))
"""


def _small_input(spec: Spec) -> list[int]:
    """Batch 1 at a side of 64 where the spec takes it (the weights do not depend on it)."""
    full = [1, *spec.input]
    if len(spec.input) == 3 and spec.input[1] > 64:
        small = [1, spec.input[0], 64, 64]
        try:
            propagate(spec, tuple(small))
        except ShapecalcError:
            return full
        return small
    return full


def run_round_trip(
    specs: dict[str, Path], tmp: Path, net_class: str | None = None
) -> dict[str, Any]:
    jobs = []
    for name, path in specs.items():
        spec = load(path).spec
        module = tmp / f"exported_{name}.py"
        module.write_text(export_python(spec, source=path.name), encoding="utf-8")
        jobs.append(
            {
                "name": name,
                "module": f"exported_{name}",
                "path": str(module),
                "class": net_class or spec.name,
                "spec": str(path),
                "input": _small_input(spec),
            }
        )
    proc = subprocess.run(
        [sys.executable, "-c", ROUND_TRIP, json.dumps(jobs)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.splitlines()[-1])  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def bundled_round_trip(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    specs = {name: SPECS / f"{name}.yaml" for name in BUNDLED}
    return run_round_trip(specs, tmp_path_factory.mktemp("export"))


def test_exported_modules_need_only_torch(bundled_round_trip: dict[str, Any]) -> None:
    assert bundled_round_trip["standalone"] is True
    assert sorted(bundled_round_trip["results"]) == BUNDLED


@pytest.mark.parametrize("name", BUNDLED)
def test_bundled_round_trip(name: str, bundled_round_trip: dict[str, Any]) -> None:
    result = bundled_round_trip["results"][name]
    assert result == {"keys": True, "shapes": True, "equal": True, "print": True}


# --- blocks whose uses differ, and names the code must not shadow -----------------------------------

TRICKY = """\
name: Tricky
input: [3, 16, 16]
params: {width: 8, max: 2}
blocks:
  Head:                                   # its Linear's in_features differs between uses
    params: {classes: required}
    layers:
      - {type: AdaptiveAvgPool2d, output_size: 2}
      - {type: Flatten}
      - {type: Linear, name: fc, out_features: $classes}
  Gate:                                   # squeeze-and-excitation: Multiply with broadcasting
    params: {reduction: 4}
    layers:
      - {type: AdaptiveAvgPool2d, name: squeeze, output_size: 1}
      - {type: Conv2d, name: down, out_channels: $in_channels // $reduction, kernel_size: 1}
      - {type: ReLU, name: l}
      - {type: Conv2d, name: up, out_channels: $in_channels, kernel_size: 1}
      - {type: Sigmoid, name: torch}
      - {type: Multiply, name: nn, from: [x, torch]}
  Stage:                                  # a repeat inside a block, a frozen layer, a sum of three
    params: {out_channels: required, stride: 1}
    layers:
      - {type: Conv2d, name: conv, out_channels: $out_channels, kernel_size: 3, stride: $stride, padding: 1, trainable: false}
      - {type: Conv2d, name: more, out_channels: $out_channels, kernel_size: 3, padding: 1, repeat: 2, first: {dilation: 1}}
      - {type: Add, name: sum, from: [conv, more, more]}
      - {type: Gate, name: gate}
      - type: Sequential
        name: tail
        layers:
          - {type: BatchNorm2d, if: $stride == 1}
          - {type: ReLU, name: act}
layers:
  - {type: Stage, name: s1, out_channels: $width}
  - {type: Stage, name: s2, out_channels: $width * $max, stride: 2}
  - {type: Head, name: h1, from: s1, classes: 10}
  - {type: Head, name: h2, from: s2, classes: 10}
  - {type: Conv2d, name: layers, from: s2, out_channels: 4, kernel_size: 1, padding_mode: reflect}
output: [h1, h2, layers]
"""


@pytest.fixture(scope="module")
def tricky(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, dict[str, Any]]:
    tmp = tmp_path_factory.mktemp("tricky")
    path = tmp / "tricky.yaml"
    path.write_text(TRICKY, encoding="utf-8")
    return export_python(load(path).spec), run_round_trip({"tricky": path}, tmp)


def test_blocks_used_differently_round_trip(tricky: tuple[str, dict[str, Any]]) -> None:
    _, result = tricky
    assert result["standalone"] is True
    assert result["results"]["tricky"] == {
        "keys": True,
        "shapes": True,
        "equal": True,
        "print": True,
    }


def test_blocks_used_differently_read_as_python(tricky: tuple[str, dict[str, Any]]) -> None:
    source, _ = tricky
    # the value no expression gives is a parameter of its own, which the callers pass
    assert "def __init__(self, classes, fc_in_features):" in source
    assert "self.fc = nn.Linear(fc_in_features, classes)" in source
    assert "self.h1 = Head(10, 32)" in source and "self.h2 = Head(10, 64)" in source
    # expressions and inferred sizes in the block's terms; a conditional child of a Sequential
    assert "nn.Conv2d(in_channels, in_channels // reduction, 1)" in source
    assert (
        'if stride == 1:\n            layers.append(("0", nn.BatchNorm2d(out_channels)))' in source
    )
    assert "self.conv.requires_grad_(False)" in source
    # names the code needs are not shadowed: the variables are renamed, the attributes kept
    assert "torch_ = self.torch(up)" in source
    assert "nn_ = torch.mul(x, torch_)" in source
    assert "l_ = self.l(down)" in source
    assert "def __init__(self, width=8, max_=2):" in source
    assert "sum_ = torch.add(torch.add(conv, more), more)" in source
    assert "return h1, h2, layers" in source


# the spec and its blocks named as what the module imports: their classes are renamed
CLASHING = """\
name: torch
input: [3, 8, 8]
blocks:
  nn:
    layers:
      - {type: Conv2d, name: c, out_channels: 4, kernel_size: 3, padding: 1}
  OrderedDict:
    layers:
      - {type: ReLU, name: r}
  super:
    layers:
      - {type: Conv2d, name: c, out_channels: 4, kernel_size: 1}
  torchNet:
    layers:
      - {type: ReLU, name: r}
layers:
  - {type: nn, name: a}
  - {type: OrderedDict, name: b, repeat: 2, repeat_name: "r{n}"}
  - {type: super, name: s}
  - {type: torchNet, name: t}
  - {type: Conv2d, name: c, out_channels: 4, kernel_size: 3}
"""


@pytest.fixture(scope="module")
def clashing(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, dict[str, Any]]:
    tmp = tmp_path_factory.mktemp("clashing")
    path = tmp / "clashing.yaml"
    path.write_text(CLASHING, encoding="utf-8")
    return export_python(load(path).spec), run_round_trip(
        {"clashing": path}, tmp, net_class="torchNetNet"
    )


def test_names_the_module_uses_itself_are_renamed_classes(
    clashing: tuple[str, dict[str, Any]],
) -> None:
    source, result = clashing
    # the exported module imports in a fresh interpreter and computes what the built spec does
    # (it prints differently: its classes have the new names)
    got = result["results"]["clashing"]
    assert (got["keys"], got["shapes"], got["equal"]) == (True, True, True)
    classes = [n.name for n in ast.parse(source).body if isinstance(n, ast.ClassDef)]
    assert classes == ["nnBlock", "OrderedDictBlock", "superBlock", "torchNet", "torchNetNet"]
    assert "from torch import nn\n" in source and "self.a = nnBlock(3)" in source
    assert "block nn as nnBlock" in source and "the net torch as torchNetNet" in source
    assert "block torchNet as" not in source  # only names that clash change


def test_a_repeat_whose_count_differs_between_uses_is_a_clear_error(write_spec) -> None:  # type: ignore[no-untyped-def]
    path = write_spec(
        """\
input: [3, 8, 8]
blocks:
  Stack:
    params: {n: required}
    layers:
      - {type: Conv2d, out_channels: 4, kernel_size: 3, padding: 1, repeat: $n}
layers:
  - {type: Stack, n: 1}
  - {type: Stack, n: 2}
"""
    )
    out = path.parent / "out.py"
    result = runner.invoke(app, ["export", str(path), "-o", str(out)])
    assert result.exit_code == 1
    assert result.stderr.strip().count("\n") == 0
    assert "blocks.Stack.layers[0]" in result.stderr and "different numbers" in result.stderr
    assert not out.exists()


def test_an_invalid_spec_writes_nothing(write_spec) -> None:  # type: ignore[no-untyped-def]
    path = write_spec(
        "input: [3, 8, 8]\nlayers:\n  - {type: Conv2d, out_channels: 4, kernel_size: 9}\n"
    )
    out = path.parent / "out.py"
    result = runner.invoke(app, ["export", str(path), "-o", str(out)])
    assert result.exit_code == 1
    assert "spec.yaml:3:5" in result.stderr and "Traceback" not in result.stderr
    assert not out.exists()


def test_output_file(tmp_path: Path) -> None:
    out = tmp_path / "net.py"
    result = runner.invoke(app, ["export", "specs/resnet18.yaml", "-o", str(out)])
    assert result.exit_code == 0 and result.stdout == ""
    assert out.read_text(encoding="utf-8") == export_python(
        load(SPECS / "resnet18.yaml").spec, source="resnet18.yaml"
    )


# --- formatted and lint-clean as written -----------------------------------------------------------


@needs_ruff
def test_ruff_leaves_every_export_as_it_is(
    tmp_path: Path, tricky: tuple[str, dict[str, Any]], clashing: tuple[str, dict[str, Any]]
) -> None:
    for name in BUNDLED:
        text = export_python(load(SPECS / f"{name}.yaml").spec, source=f"{name}.yaml")
        (tmp_path / f"{name}.py").write_text(text, encoding="utf-8")
    (tmp_path / "tricky.py").write_text(tricky[0], encoding="utf-8")
    (tmp_path / "clashing.py").write_text(clashing[0], encoding="utf-8")
    ruff = _ruff()
    assert ruff is not None
    for command in (
        ["format", "--isolated", "--check", "--diff", "."],
        ["check", "--isolated", "."],
        ["check", "--isolated", *STRICT, "."],
    ):
        proc = subprocess.run(
            [*ruff, *command], cwd=tmp_path, capture_output=True, text=True, check=False
        )
        assert proc.returncode == 0, (command, proc.stdout, proc.stderr)


NAMES = st.text("abcdefghij_", min_size=1, max_size=30).map(lambda s: "n" + s)


def _nodes(depth: int, atoms: bool = True) -> st.SearchStrategy[Any]:
    atom = st.builds(Atom, NAMES)
    if depth == 0:
        return atom
    inner = _nodes(depth - 1)
    call = st.builds(
        Call,
        st.sampled_from(["nn.Conv2d", "f", "self.layer_with_a_rather_long_name", "OrderedDict"]),
        st.lists(inner, max_size=4).map(tuple),
        st.lists(st.tuples(NAMES, inner), max_size=3).map(tuple),
        st.just(""),
        st.booleans(),
    )
    brackets = st.builds(
        Brackets, st.sampled_from(["[", "("]), st.lists(inner, min_size=1, max_size=4).map(tuple)
    )
    return st.one_of(atom, call, brackets) if atoms else st.one_of(call, brackets)


STATEMENTS = st.tuples(
    st.sampled_from(["x = ", "self.conv = ", "a_much_longer_variable_name = ", ""]),
    # what the exporter writes: calls (a module, torch.cat) and conditionals, never a bare name
    st.one_of(_nodes(3, atoms=False), st.builds(IfElse, _nodes(1), NAMES, _nodes(1))),
    st.integers(1, 3),
    st.sampled_from(["", "[1, 64, 56, 56]", "[1, out_channels * 4, H, W]"]),
)


@needs_ruff
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(STATEMENTS, min_size=20, max_size=20))
def test_pycode_lays_out_statements_as_ruff_format(
    tmp_path_factory: pytest.TempPathFactory, batch: list[Any]
) -> None:
    """Differential: random statements laid out by shapecalc.pycode, then by ruff format."""
    blocks = []
    for prefix, node, depth, comment in batch:
        opener = ["def f():"] + [("    " * d) + "if x:" for d in range(1, depth)]
        blocks.append("\n".join(opener + statement(prefix, node, depth, comment)) + "\n")
    text = "\n\n".join(blocks)
    path = tmp_path_factory.mktemp("layout") / "layout.py"
    path.write_text(text, encoding="utf-8")
    ruff = _ruff()
    assert ruff is not None
    proc = subprocess.run(
        [*ruff, "format", "--isolated", "-"],
        input=text,
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == text


# --- every layer type's arguments, as a person writes them -----------------------------------------

LAYERS = sorted(kind for kind, cls in REGISTRY.items() if not cls.merge)


@pytest.mark.parametrize("kind", LAYERS)
def test_every_layer_is_written_with_its_arguments(kind: str) -> None:
    """The written constructor call makes the module the builder makes: same repr (torch prints
    every argument), same parameter shapes."""
    strategy = REGISTRY[kind].examples(st)

    @settings(max_examples=12, deadline=None, suppress_health_check=list(HealthCheck))
    @given(strategy)
    def check(example: tuple[dict[str, Any], tuple[int, ...]]) -> None:
        args, shape = example
        try:
            spec = Spec.model_validate(
                {
                    "input": list(shape[1:]),
                    "batch": shape[0],
                    "layers": [{"type": kind, "name": "layer", **args}],
                }
            )
            trace = propagate(spec)
        except (ShapecalcError, ValueError):
            assume(False)
            return
        source = export_python(spec, trace)
        namespace: dict[str, Any] = {}
        exec(compile(source, "<export>", "exec"), namespace)  # the code under test
        ours = namespace["Net"]().layer
        row = trace.layers[0]
        assert row.op is not None
        theirs = make_module(row.op, row.inferred)
        assert repr(ours) == repr(theirs), source
        assert {k: v.shape for k, v in ours.state_dict().items()} == {
            k: v.shape for k, v in theirs.state_dict().items()
        }

    check()


def test_positional_arguments_are_torchs_required_ones() -> None:
    source = export_python(
        loads(
            "input: [3, 32, 32]\nlayers:\n"
            "  - {type: Conv2d, out_channels: 8, kernel_size: 3, stride: 1, padding: 0, bias: false}\n"
            "  - {type: MaxPool2d, kernel_size: 2, stride: 2}\n"
            "  - {type: BatchNorm2d, eps: 0.001}\n"
            "  - {type: Upsample, scale_factor: 2.0, mode: bilinear}\n"
        ).spec
    )
    assert "nn.Conv2d(3, 8, 3, bias=False)" in source  # stride 1, padding 0: torch's defaults
    assert "nn.MaxPool2d(2, stride=2)" in source  # said, though equal to the kernel size
    assert "nn.BatchNorm2d(8, eps=0.001)" in source
    assert 'nn.Upsample(scale_factor=2.0, mode="bilinear")' in source


def test_export_needs_no_torch() -> None:
    """The exporter is pure: writing Python from a spec imports neither torch nor typer."""
    code = (
        "import sys\n"
        "from shapecalc import loader\n"
        "from shapecalc.export import export_python\n"
        "export_python(loader.load(loader.bundled('resnet18')).spec)\n"
        "print(sorted(m for m in ('torch', 'typer', 'rich') if m in sys.modules))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert proc.stdout.strip() == "[]"


def test_torch_is_imported_where_the_code_uses_it() -> None:
    chain = export_python(load(SPECS / "cifar10.yaml").spec)
    graph = export_python(load(SPECS / "resnet18.yaml").spec)
    assert "import torch\n" not in chain and "from torch import nn\n" in chain
    assert "import torch\nfrom torch import nn\n" in graph
