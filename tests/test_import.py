"""`shapecalc import MODULE:ATTR`: a spec from an existing nn.Module, checked against the module.

A spec imported from a model must build a module with the model's ``state_dict`` keys (in order)
and shapes; loaded with the model's weights, it computes the model's output. Every bundled spec
goes spec → build → import → spec → build and keeps its keys, shapes and every node's output
shape. What a spec cannot express is one line naming it and its place in the model's code.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import import_models
import pytest
import torch
from conftest import ROOT, SPECS
from typer.testing import CliRunner

from shapecalc.builder import build
from shapecalc.cli import app
from shapecalc.export import export_python
from shapecalc.importer import ImportError_, import_model
from shapecalc.loader import bundled_names, load, loads
from shapecalc.schema import SCHEMA_FILE
from shapecalc.trace import propagate

runner = CliRunner()
MODELS = "tests/import_models.py"
BUNDLED = bundled_names()
WIDE = {"COLUMNS": "200", "NO_COLOR": "1"}


def _import(target: str, shape: str, out: Path) -> Any:
    return runner.invoke(app, ["import", target, "--input", shape, "-o", str(out)], env=WIDE)


# --- models written as users write them -------------------------------------------------------------

USER_MODELS = [
    ("ResNetish", "3,32,32"),
    ("UNetish", "1,32,32"),
    ("sequential_net", "3,32,32"),
    ("LeNet", "1,32,32"),
    ("SENet", "3,32,32"),
    ("UnusedActivation", "3,8,8"),
    ("DropoutFollows", "8"),
]


@pytest.mark.parametrize(("attr", "shape"), USER_MODELS)
def test_a_users_model_comes_back_with_its_weights(attr: str, shape: str, tmp_path: Path) -> None:
    out = tmp_path / "imported.yaml"
    result = _import(f"{MODELS}:{attr}", shape, out)
    assert result.exit_code == 0, result.stderr
    assert result.stdout == "" and f"wrote {out}" in result.stderr

    text = out.read_text(encoding="utf-8")
    first = text.splitlines()[0]
    assert first.startswith("# yaml-language-server: $schema=")
    assert (out.parent / first.split("=", 1)[1]).resolve() == SCHEMA_FILE.resolve()
    check = runner.invoke(app, ["check", str(out)], env=WIDE)
    assert check.exit_code == 0, check.stderr

    torch.manual_seed(0)
    model = getattr(import_models, attr)().eval()
    spec = load(out).spec
    built = build(spec, None if isinstance(model, torch.nn.Sequential) else "class").eval()
    theirs = model.state_dict()
    ours = built.state_dict()
    assert list(ours) == list(theirs)
    assert {k: v.shape for k, v in ours.items()} == {k: v.shape for k, v in theirs.items()}
    built.load_state_dict(theirs, strict=True)
    x = torch.randn(1, *(int(s) for s in shape.split(",")))
    with torch.no_grad():
        a, b = model(x), built(x)
    a = a if isinstance(a, tuple) else (a,)
    b = b if isinstance(b, tuple) else (b,)
    assert len(a) == len(b) and all(
        torch.allclose(p, q, atol=1e-6) for p, q in zip(a, b, strict=True)
    )


def test_a_resnet_class_becomes_one_block_with_parameters(tmp_path: Path) -> None:
    """BasicBlock is used six times, with and without a projection: one block whose
    parameters are what the uses differ in, and an if: that says where the projection is."""
    out = tmp_path / "resnet.yaml"
    assert _import(f"{MODELS}:ResNetish", "3,32,32", out).exit_code == 0
    spec = load(out).spec
    assert list(spec.blocks) == ["BasicBlock"]
    block = spec.blocks["BasicBlock"]
    assert dict(block.params) == {"out_channels": "required", "stride": 1}
    downsample = next(e for e in block.layers if e.local == "downsample")
    assert downsample.if_ == "$stride != 1"
    add = next(e for e in block.layers if e.type == "Add")
    assert add.from_ == ("bn2", "downsample")  # `out += identity`
    stages = [e for e in spec.layers if e.type == "BasicBlock"]
    assert [(e.repeat, dict(e.first or {})) for e in stages] == [
        (2, {}),
        (2, {"stride": 2}),
        (2, {"stride": 2}),
    ]


def test_functional_calls_become_the_layers_they_stand_for(tmp_path: Path) -> None:
    out = tmp_path / "lenet.yaml"
    assert _import(f"{MODELS}:LeNet", "1,32,32", out).exit_code == 0
    types = [e.type for e in load(out).spec.layers]
    # F.relu, F.max_pool2d((2, 2)), x.view(-1, 16 * 5 * 5)
    assert types == ["Conv2d", "ReLU", "MaxPool2d", "Conv2d", "ReLU", "MaxPool2d", "Flatten",
                     "Linear", "ReLU", "Linear", "ReLU", "Linear"]  # fmt: skip
    assert "kernel_size: 2}" in out.read_text(encoding="utf-8")  # (2, 2) written as 2


def test_a_unet_keeps_its_skips_and_a_factory_works_by_module_name(tmp_path: Path) -> None:
    out = tmp_path / "unet.yaml"
    assert _import(f"{MODELS}:UNetish", "1,32,32", out).exit_code == 0
    spec = load(out).spec
    up = spec.blocks["Up"]
    assert up.inputs == ("x1", "x2")
    cat = next(e for e in up.layers if e.type == "Concat")
    assert cat.from_ == ("x2", "up")
    # `package.module:factory`: the tests folder is on sys.path here
    result = runner.invoke(app, ["import", "import_models:sequential_net", "--input", "3,32,32"])
    assert result.exit_code == 0, result.stderr
    assert loads(result.stdout).spec.is_chain


def test_the_exported_python_imports_back(tmp_path: Path) -> None:
    """export and import are inverses: ResNet-18's exported module reads back as its spec."""
    module = tmp_path / "resnet18_export.py"
    module.write_text(export_python(load(SPECS / "resnet18.yaml").spec), encoding="utf-8")
    out = tmp_path / "resnet18.yaml"
    assert _import(f"{module}:ResNet18", "3,224,224", out).exit_code == 0
    again = load(out).spec
    original = load(SPECS / "resnet18.yaml").spec
    assert _keys(build(again, device="meta")) == _keys(build(original, device="meta"))
    assert [e.local for e in again.layers] == [e.local for e in original.layers]


# --- every bundled spec: build, import, build -------------------------------------------------------


def _keys(module: torch.nn.Module) -> list[tuple[str, tuple[int, ...]]]:
    return [(k, tuple(v.shape)) for k, v in module.state_dict().items()]


@pytest.mark.parametrize("name", BUNDLED)
def test_bundled_spec_round_trip(name: str) -> None:
    spec = load(SPECS / f"{name}.yaml").spec
    original = propagate(spec, (1, *spec.input))
    styles = [None, "class"] if spec.is_chain else [None]
    for style in styles:
        model = build(spec, style, device="meta")
        again = loads(import_model(model, spec.input)).spec
        rebuilt = build(again, style, device="meta")
        assert _keys(rebuilt) == _keys(build(spec, style, device="meta")), style
        # the uses of a block differ in values and in left-out entries: still one block each
        assert sorted(again.blocks) == sorted(spec.blocks)
        trace = propagate(again)
        if style is None and spec.is_chain:  # nn.Sequential: the names were 0, 1, ...
            assert [r.output_shape for r in trace.layers] == [
                r.output_shape for r in original.layers
            ]
        else:
            assert {r.name: r.output_shape for r in trace.layers if r.kind == "layer"} == {
                r.name: r.output_shape for r in original.layers if r.kind == "layer"
            }
            merges = [r.output_shape for r in trace.layers if r.kind == "merge"]
            assert merges == [r.output_shape for r in original.layers if r.kind == "merge"]


# --- what a spec cannot express ---------------------------------------------------------------------


def _line(code: str) -> str:
    """``import_models.py:N``, N the line of ``code`` in the models file."""
    lines = (ROOT / MODELS).read_text(encoding="utf-8").splitlines()
    return f"import_models.py:{next(i for i, line in enumerate(lines, 1) if code in line)}"


REFUSED = [
    ("UsesMatmul", "8", ["Tensor.transpose has no spec entry", "UsesMatmul.forward", _line("torch.matmul(")]),
    ("HasLSTM", "4,8", ["LSTM 'rnn' is not a layer type shapecalc knows", _line("self.rnn(x)")]),
    ("SharedConv", "4,8,8", ["Conv2d 'conv' is called 2 times, sharing its weights", _line("self.conv(self.conv(x))")]),
    ("UsesParameter", "3,8,8", ["the tensor 'offset' is used directly", _line("+ self.offset")]),
    ("LeNet", "1,28,28", ["Tensor.view fails on [[1, 16, 4, 4]]", _line("x = x.view(-1"), "--input"]),
    ("WithUnusedLinear", "3,8,8", ["WithUnusedLinear.forward never uses Linear 'never' (holding never.weight, never.bias)", "would not load", "call it in forward, or delete it"]),
    ("UnusedInBlock", "3,8,8", ["never uses Linear 'body.never' (holding body.never.weight, body.never.bias)"]),
    ("UnusedBuffer", "3,8,8", ["UnusedBuffer.forward never uses the tensor 'mean'"]),
    ("DropoutAlways", "8", ["torch.nn.functional.dropout in DropoutAlways.forward", _line("F.dropout(x, 0.5))"), "drops values in eval mode too", "nn.Dropout(0.5) module", "dropout(x, 0.5, training=self.training)"]),
    ("DropoutNever", "8", ["never drops a value (training=False)", "remove the call", _line("training=False))")]),
    ("lazy_sequential", "3,8,8", ["LazyLinear '2' is not a layer type shapecalc knows"]),
    ("broken", "3,8,8", ["calling tests/import_models.py:broken() failed: RuntimeError: no weights found"]),
    ("not_a_model", "3,8,8", ["is a int, not a model class or factory"]),
    ("LeNat", "1,32,32", ["has no attribute 'LeNat'; did you mean 'LeNet'?"]),
]  # fmt: skip


@pytest.mark.parametrize(("attr", "shape", "said"), REFUSED)
def test_what_a_spec_cannot_express_is_one_line(
    attr: str, shape: str, said: list[str], tmp_path: Path
) -> None:
    out = tmp_path / "never.yaml"
    result = _import(f"{MODELS}:{attr}", shape, out)
    assert result.exit_code == 1
    assert result.stderr.startswith("error: ") and result.stderr.count("\n") == 1, result.stderr
    for text in said:
        assert text in result.stderr
    assert "Traceback" not in result.stderr and not out.exists()


def test_functional_dropout_that_drops_in_eval_mode_is_refused() -> None:
    """torch: F.dropout(x, 0.5) drops in eval mode, which a Dropout entry (nn.Dropout) never does."""
    x = torch.ones(64, 8)
    torch.manual_seed(0)
    assert not torch.equal(torch.nn.functional.dropout(x, 0.5), x)
    assert torch.equal(torch.nn.Dropout(0.5).eval()(x), x)
    with pytest.raises(ImportError_, match="drops values in eval mode too"):
        import_model(import_models.DropoutAlways().eval(), (8,))


def test_dropout_following_self_training_is_a_dropout_in_both_modes() -> None:
    """F.dropout(x, p, training=self.training) is nn.Dropout(p): the same output in eval mode and,
    from the same random state, in training mode."""
    torch.manual_seed(0)
    model = import_models.DropoutFollows()
    spec = loads(import_model(model, (8,))).spec
    torch.manual_seed(0)
    model = import_models.DropoutFollows()
    built = build(spec, "class")
    assert [m.p for m in built.modules() if isinstance(m, torch.nn.Dropout)] == [0.3, 0.5]
    built.load_state_dict(model.state_dict(), strict=True)
    x = torch.randn(16, 8)
    for mode in (False, True):
        model.train(mode)
        built.train(mode)
        torch.manual_seed(1)
        theirs = model(x)
        torch.manual_seed(1)
        ours = built(x)
        assert torch.equal(ours, theirs), mode
    torch.manual_seed(1)
    assert not torch.equal(model.train()(x), model.eval()(x))  # training mode did drop


def test_usage_errors_exit_2(tmp_path: Path) -> None:
    missing = runner.invoke(app, ["import", f"{MODELS}:LeNet"], env=WIDE)
    assert missing.exit_code == 2
    assert "--input C,H,W" in missing.output and "takes 1 channels" in missing.output
    bad = runner.invoke(app, ["import", f"{MODELS}:LeNet", "--input", "1,x"], env=WIDE)
    assert bad.exit_code == 2 and "'x' is not a positive integer" in bad.output
    unnamed = runner.invoke(app, ["import", MODELS, "--input", "1,32,32"], env=WIDE)
    assert unnamed.exit_code == 2 and "write MODULE:ATTR" in unnamed.output


def test_without_torch_exit_3() -> None:
    code = (
        "import sys\n"
        "sys.modules['torch'] = None\n"
        "from shapecalc.cli import main\n"
        f"sys.argv = ['shapecalc', 'import', '{MODELS}:LeNet', '--input', '1,32,32']\n"
        "main()\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False, cwd=ROOT,
        env={**os.environ, "COLUMNS": "200"},
    )  # fmt: skip
    assert proc.returncode == 3
    assert "pip install 'torch-shapecalc[torch]'" in proc.stderr and "Traceback" not in proc.stderr


def test_help_says_it_runs_the_users_code() -> None:
    result = runner.invoke(app, ["import", "--help"], env=WIDE)
    assert result.exit_code == 0
    text = " ".join(result.stdout.split())
    assert "IMPORTS AND RUNS YOUR PYTHON CODE" in text and "A spec never runs code" in text
