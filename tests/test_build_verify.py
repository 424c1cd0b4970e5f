"""Builder, runner, summary and graph: the spec meets real PyTorch."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import warnings
from pathlib import Path

import pytest
import torch
import torchinfo
from conftest import GOLDEN, SPECS
from hypothesis import given, settings
from hypothesis import strategies as st
from test_differential import any_layer
from typer.testing import CliRunner

from shapecalc.builder import build
from shapecalc.cli import app
from shapecalc.errors import ShapeError
from shapecalc.loader import load
from shapecalc.runner import compare, forward_shapes, summarise, verify
from shapecalc.spec import Spec
from shapecalc.trace import propagate

runner = CliRunner()
# the bundled chains; the graphs have tests/test_bundled_graphs.py
BUNDLED = [p for p in sorted(SPECS.glob("*.yaml")) if load(p).spec.is_chain]
CUDA = torch.cuda.is_available()


def test_bundled_chains() -> None:
    assert [p.stem for p in BUNDLED] == [
        "alexnet",
        "c3d_small",
        "cifar10",
        "dcgan_generator",
        "espcn",
        "lenet5",
        "m5_audio",
    ]


# --- the seed's printed structures, line for line ---------------------------------------------------


def test_class_style_prints_as_the_seed_example_1() -> None:
    spec = load(SPECS / "cifar10.yaml").spec
    model = build(spec, style="class")
    output = model(torch.ones((64, 3, 32, 32)))
    assert type(model).__name__ == "Tudui"
    assert f"{model}\n{output.shape}\n" == (GOLDEN / "seed_example1.txt").read_text()


def test_sequential_prints_as_the_seed_example_2() -> None:
    spec = load(SPECS / "cifar10.yaml").spec
    sequential = build(spec)
    assert [name for name, _ in sequential.named_children()] == [str(i) for i in range(9)]

    class Tudui(torch.nn.Module):  # the seed's wrapper around its Sequential
        def __init__(self) -> None:
            super().__init__()
            self.model1 = sequential

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.model1(x)

    tudui = Tudui()
    output = tudui(torch.ones((64, 3, 32, 32)))
    assert f"{tudui}\n{output.shape}\n" == (GOLDEN / "seed_example2.txt").read_text()


def test_cli_build_prints_torch_repr() -> None:
    spec = load(SPECS / "cifar10.yaml").spec
    for style in ("sequential", "class"):
        result = runner.invoke(app, ["build", "--style", style])
        assert result.exit_code == 0
        assert result.stdout == f"{build(spec, style=style)}\n"  # type: ignore[arg-type]


def test_built_class_has_one_attribute_per_layer() -> None:
    spec = load(SPECS / "lenet5.yaml").spec
    model = build(spec, style="class")
    assert [name for name, _ in model.named_children()] == spec.layer_names
    assert all(
        isinstance(getattr(model, n), getattr(torch.nn, layer.type))
        for n, layer in zip(spec.layer_names, spec.layers, strict=True)
    )


# --- static vs real ---------------------------------------------------------------------------------


@pytest.mark.parametrize("device", ["cpu", "meta"])
@pytest.mark.parametrize("path", BUNDLED, ids=lambda p: p.stem)
def test_bundled_specs_verify(path: Path, device: str) -> None:
    spec = load(path).spec
    result = verify(spec, device)
    assert result.ok, result
    assert [c.actual for c in result.layers] == [row.output_shape for row in propagate(spec).rows]


@pytest.mark.parametrize("path", BUNDLED, ids=lambda p: p.stem)
def test_params_and_mult_adds_match_torch_and_torchinfo(path: Path) -> None:
    spec = load(path).spec
    trace = propagate(spec)
    model = build(spec, device="meta")
    assert trace.total_params == sum(p.numel() for p in model.parameters())
    assert [row.params for row in trace.rows] == [
        sum(p.numel() for p in m.parameters()) for m in model
    ]
    check = summarise(spec, model, "meta", trace)
    assert check.disagreements == []
    assert [row.macs for row in trace.rows] == [info.macs for info in check.stats.summary_list[1:]]


def _chain_spec(data: st.DataObject) -> Spec | None:
    layers = data.draw(st.lists(any_layer(), min_size=1, max_size=6))
    shape = data.draw(st.tuples(st.integers(1, 4), st.integers(4, 20), st.integers(4, 20)))
    try:
        spec = Spec.model_validate(
            {"input": list(shape), "batch": data.draw(st.integers(1, 3)), "layers": layers}
        )
        propagate(spec)
    except (ShapeError, ValueError):
        return None
    return spec


@given(st.data())
def test_random_chains_verify_on_cpu_and_meta(data: st.DataObject) -> None:
    spec = _chain_spec(data)
    if spec is None:
        return
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch's own warnings (implicit softmax dim, ...)
        for device in ("cpu", "meta"):
            result = verify(spec, device)
            assert result.ok, (device, spec, result)


@settings(max_examples=max(10, settings().max_examples // 6))
@given(st.data())
def test_random_chains_match_torchinfo(data: st.DataObject) -> None:
    spec = _chain_spec(data)
    if spec is None:
        return
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = build(spec)
        check = summarise(spec, model, "cpu")
    assert check.disagreements == []
    assert check.torchinfo_params == sum(p.numel() for p in model.parameters())


# --- the check can fail -----------------------------------------------------------------------------


def test_a_wrong_prediction_is_caught() -> None:
    spec = load(SPECS / "cifar10.yaml").spec
    trace = propagate(spec)
    actual, error = forward_shapes(build(spec), torch.ones(trace.input_shape))
    assert error is None
    assert compare(trace.rows, actual, "cpu", trace.input_shape).ok
    wrong = list(actual)
    wrong[4] = (64, 64, 9, 9)
    result = compare(trace.rows, wrong, "cpu", trace.input_shape)
    assert not result.ok
    assert result.broke_at is not None and result.broke_at.index == 4


def test_a_forward_failure_names_the_layer() -> None:
    spec = load(SPECS / "cifar10.yaml").spec
    trace = propagate(spec)
    model = build(spec)
    model[7] = torch.nn.Linear(1000, 64)  # not what the calculator predicted
    actual, error = forward_shapes(model, torch.ones(trace.input_shape))
    result = compare(trace.rows, actual, "cpu", trace.input_shape, error)
    assert (
        not result.ok and error is not None and "mat1 and mat2 shapes cannot be multiplied" in error
    )
    assert (
        result.broke_at is not None
        and result.broke_at.index == 7
        and result.broke_at.actual is None
    )


def test_summary_disagreement_exits_1(monkeypatch: pytest.MonkeyPatch) -> None:
    original = torchinfo.summary

    def off_by_one(*args, **kwargs):  # type: ignore[no-untyped-def]
        stats = original(*args, **kwargs)
        stats.total_params += 1
        return stats

    monkeypatch.setattr(torchinfo, "summary", off_by_one)
    result = runner.invoke(app, ["build", "--summary"])
    assert result.exit_code == 1
    assert "error: parameters disagree: shapecalc 145578, torchinfo 145579" in result.stderr


# --- CLI ----------------------------------------------------------------------------------------------


def test_cli_summary_agrees() -> None:
    result = runner.invoke(app, ["build", "--summary"], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    assert "Total params: 145,578" in result.stdout
    assert result.stdout.rstrip().endswith(
        "shapecalc agrees with torchinfo: 145,578 parameters, 793,555,584 mult-adds, output [64, 10]"
    )


def test_cli_verify_table_and_json() -> None:
    result = runner.invoke(app, ["verify"], env={"COLUMNS": "120"})
    assert result.exit_code == 0
    assert "all 9 layers agree with torch" in result.stdout
    assert result.stdout.count("✓") == 9
    result = runner.invoke(app, ["verify", "--json", "--device", "meta", "--batch", "512"])
    doc = json.loads(result.stdout)
    assert result.exit_code == 0 and doc["ok"] and doc["device"] == "meta"
    assert doc["layers"][-1] == {
        "index": 8,
        "name": "linear2",
        "type": "Linear",
        "computed": [512, 10],
        "actual": [512, 10],
        "ok": True,
    }


def test_cli_verify_auto_device() -> None:
    doc = json.loads(runner.invoke(app, ["verify", "--json", "--device", "auto"]).stdout)
    assert doc["device"] == ("cuda" if CUDA else "cpu")


@pytest.mark.skipif(CUDA, reason="this machine has CUDA; the missing-CUDA message cannot be shown")
def test_cli_verify_cuda_without_cuda() -> None:
    result = runner.invoke(app, ["verify", "--device", "cuda"])
    assert result.exit_code == 3
    assert result.stderr.strip() == (
        "error: CUDA is not available here (torch.cuda.is_available() is False); use --device cpu, "
        "or meta to check shapes without allocating memory"
    )


@pytest.mark.cuda
@pytest.mark.skipif(not CUDA, reason="no CUDA device on this machine")
@pytest.mark.parametrize("path", BUNDLED, ids=lambda p: p.stem)
def test_bundled_specs_verify_on_cuda(path: Path) -> None:
    result = verify(load(path).spec, "cuda")
    assert result.ok and result.device == "cuda"


def test_cli_verify_reports_the_static_error(write_spec) -> None:  # type: ignore[no-untyped-def]
    path = write_spec(
        "input: [3, 8, 8]\nlayers:\n  - {type: Flatten}\n  - {type: Linear, in_features: 5, out_features: 2}\n"
    )
    result = runner.invoke(app, ["verify", str(path)])
    assert result.exit_code == 1
    assert result.stderr.startswith(f"{path}:4:20: error: layers[1].in_features (Linear 'linear1')")


def test_graph_event_file_holds_the_layers(tmp_path: Path) -> None:
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    result = runner.invoke(app, ["graph", "--logdir", str(tmp_path / "tb")])
    assert result.exit_code == 0
    assert f"tensorboard --logdir {tmp_path / 'tb'}" in result.stdout
    accumulator = EventAccumulator(str(tmp_path / "tb"))
    accumulator.Reload()
    nodes = " ".join(node.name for node in accumulator.Graph().node)
    for name in load(SPECS / "cifar10.yaml").spec.layer_names:
        assert f"[{name}]" in nodes, name


def test_graph_default_logdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, ["graph", str(SPECS / "lenet5.yaml")])
    assert result.exit_code == 0
    assert list((tmp_path / "runs" / "LeNet5").glob("events.out.tfevents.*"))


# --- missing extras -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("command", "module", "extra"),
    [
        (["build"], "torch", "torch"),
        (["verify"], "torch", "torch"),
        (["build", "--summary"], "torchinfo", "torch"),
        (["graph"], "tensorboard", "tensorboard"),
    ],
)
def test_missing_extra_says_what_to_install(command: list[str], module: str, extra: str) -> None:
    # a fresh interpreter where the module cannot be imported; the core must still work
    code = (
        f"import sys; sys.modules[{module!r}] = None\n"
        "sys.argv = ['shapecalc', *sys.argv[1:]]\n"
        "from shapecalc.cli import main\n"
        "main()\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code, *command],
        capture_output=True,
        text=True,
        cwd=Path(__file__).parent.parent,
    )
    assert proc.returncode == 3
    assert proc.stderr.strip().splitlines() == [
        f"error: {module} is not installed; this command needs it. "
        f"Install it with: pip install 'torch-shapecalc[{extra}]'"
    ]
    proc = subprocess.run([sys.executable, "-c", code, "check"], capture_output=True, text=True)
    assert proc.returncode == 0 and "Total params: 145,578" in proc.stdout


def test_unwritable_logdir_is_one_line(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    unwritable = [blocker / "tb"]
    if Path("/proc/self").is_dir():  # Linux: /proc exists, nothing can be made in it
        unwritable.append(Path("/proc/shapecalc-tb"))
    for logdir in unwritable:
        result = runner.invoke(app, ["graph", "--logdir", str(logdir)], env={"COLUMNS": "200"})
        assert result.exit_code == 3
        assert result.stderr.startswith(f"error: cannot write the folder {logdir}: ")
        assert result.stderr.count("\n") == 1 and f".{logdir.name}." not in result.stderr
    assert list(tmp_path.iterdir()) == [blocker]


def test_a_new_logdir_has_the_permissions_makedirs_gives(tmp_path: Path) -> None:
    """The events are written in a temporary folder (mode 0700) that becomes the logdir."""
    old = os.umask(0o027)
    try:
        os.makedirs(tmp_path / "plain")
        result = runner.invoke(app, ["graph", "lenet5", "--logdir", str(tmp_path / "tb")])
    finally:
        os.umask(old)
    assert result.exit_code == 0, result.stderr
    mode = (tmp_path / "tb").stat().st_mode & 0o777
    assert mode == (tmp_path / "plain").stat().st_mode & 0o777 == 0o750


def test_a_net_too_large_for_memory_is_one_line(write_spec) -> None:  # type: ignore[no-untyped-def]
    path = write_spec(
        "input: [1000000]\nlayers: [{type: Linear, out_features: 2000000000}]\n"
    )  # 2·10^15 weights: far beyond any machine's memory, fine on meta
    result = runner.invoke(app, ["build", str(path)])
    assert result.exit_code == 3
    assert result.stderr.startswith(
        "error: the module needs about 7.11 PiB (parameters 7.11 PiB, float32), but cpu has "
    )
    assert result.stderr.endswith("available; it may fit with --device meta (shapes only)\n")
    assert result.stdout == ""
    assert runner.invoke(app, ["verify", str(path), "--device", "meta"]).exit_code == 0
