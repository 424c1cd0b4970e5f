"""The bundled graph specs against torchvision's models and against torch itself.

torchvision cannot be installed beside the CPU torch build, so its models are represented by
tests/reference/torchvision.json (torchvision 0.28.0: parameter count, output shape, state_dict
keys and shapes, printed structure). The parameter counts below are torchvision's published ones.
"""

from __future__ import annotations

import json
import re
import textwrap
from functools import cache
from pathlib import Path

import pytest
import torch
from conftest import ROOT, SPECS
from typer.testing import CliRunner

from shapecalc.builder import build
from shapecalc.cli import app
from shapecalc.loader import bundled, load
from shapecalc.runner import summarise, verify
from shapecalc.spec import Spec
from shapecalc.trace import Trace, propagate

runner = CliRunner()
REFERENCE = json.loads((ROOT / "tests" / "reference" / "torchvision.json").read_text())["models"]

# spec → (parameters, output shape)
FIGURES = {
    "resnet18": (11_689_512, (1, 1000)),
    "resnet50": (25_557_032, (1, 1000)),
    "mobilenet_v2": (3_504_872, (1, 1000)),
    "densenet121": (7_978_856, (1, 1000)),
    "googlenet": (6_624_904, (1, 1000)),
    "vgg16": (138_357_544, (1, 1000)),
    "unet": (1_926_466, (1, 2, 128, 128)),
}
GRAPHS = sorted(FIGURES)
TORCHVISION = [name for name in GRAPHS if name in REFERENCE]


@cache
def spec_of(name: str) -> Spec:
    return load(bundled(name)).spec


@cache
def trace_of(name: str) -> Trace:
    return propagate(spec_of(name))


def test_the_bundled_graph_specs() -> None:
    graphs = [p.stem for p in sorted(SPECS.glob("*.yaml")) if not load(p).spec.is_chain]
    assert graphs == GRAPHS
    assert sorted(REFERENCE) == TORCHVISION


@pytest.mark.parametrize("name", GRAPHS)
def test_parameter_counts_and_outputs(name: str) -> None:
    params, output = FIGURES[name]
    trace = trace_of(name)
    assert (trace.total_params, trace.output_shape) == (params, output)
    assert trace.is_graph and trace.warnings == ()
    if name in REFERENCE:
        assert (params, list(output)) == (REFERENCE[name]["params"], REFERENCE[name]["output"])
    assert sum(p.numel() for p in build(spec_of(name), device="meta").parameters()) == params


@pytest.mark.parametrize("name", TORCHVISION)
def test_state_dict_keys_and_shapes_are_torchvisions(name: str) -> None:
    """Same keys in the same order, same shapes: torchvision's weights load with strict=True."""
    model = build(spec_of(name), device="meta")
    state = {key: list(value.shape) for key, value in model.state_dict().items()}
    assert list(state) == list(REFERENCE[name]["state_dict"])
    assert state == REFERENCE[name]["state_dict"]


def _layer_lines(text: str) -> list[str]:
    """The printed lines of the modules with parameters, without their attribute names."""
    pattern = re.compile(r"^\s*\(\w+\): ((Conv2d|BatchNorm2d|Linear)\(.*\))$")
    return [m.group(1) for line in text.splitlines() if (m := pattern.match(line))]


@pytest.mark.parametrize("name", TORCHVISION)
def test_printed_layers_are_torchvisions(name: str) -> None:
    """print(model) shows torchvision's layers with torchvision's arguments, in its order (the
    lines that differ hold no parameters: README, "what differs from torchvision")."""
    text = str(build(spec_of(name), device="meta"))
    ours, theirs = _layer_lines(text), _layer_lines(REFERENCE[name]["repr"])
    assert len(ours) > 10 and ours == theirs
    assert text.startswith(f"{spec_of(name).name}(\n") and "def forward" not in text


@pytest.mark.parametrize("device", ["meta", "cpu"])
@pytest.mark.parametrize("name", GRAPHS)
def test_verify_every_node(name: str, device: str) -> None:
    result = verify(spec_of(name), device)
    assert result.ok, result.broke_at
    built = [row for row in trace_of(name).rows if row.kind != "skipped"]
    assert len(result.layers) + len(result.blocks) == len(built)
    assert result.layers[-1].actual == FIGURES[name][1]


@pytest.mark.cuda
@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device on this machine")
@pytest.mark.parametrize("name", GRAPHS)
def test_verify_every_node_on_cuda(name: str) -> None:
    result = verify(spec_of(name), "cuda", batch=2)
    assert result.ok and result.device == "cuda", result.broke_at


@pytest.mark.parametrize("name", GRAPHS)
def test_torchinfo_agrees(name: str) -> None:
    trace = trace_of(name)
    check = summarise(spec_of(name), build(spec_of(name), device="meta"), "meta", trace)
    assert check.disagreements == []
    assert check.torchinfo_params == FIGURES[name][0]


def test_meta_verify_at_a_batch_no_machine_could_hold() -> None:
    # ResNet-50's activations at batch 10⁵: about 14 TB in float32
    result = verify(spec_of("resnet50"), "meta", batch=100_000)
    assert result.ok and result.layers[-1].actual == (100_000, 1000)


def test_cli_build_summary_of_a_graph() -> None:
    result = runner.invoke(
        app,
        ["build", str(bundled("resnet18")), "--summary", "--device", "meta"],
        env={"COLUMNS": "200"},
    )
    assert result.exit_code == 0, result.stderr
    assert result.stdout.startswith("ResNet18(\n  (conv1): Conv2d(3, 64, kernel_size=(7, 7)")
    assert result.stdout.rstrip().endswith(
        "shapecalc agrees with torchinfo: 11,689,512 parameters, 1,814,083,944 mult-adds, "
        "output [1, 1000]"
    )


def test_resnet18_tensorboard_graph(tmp_path: Path) -> None:
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    logdir = tmp_path / "tb"
    result = runner.invoke(app, ["graph", str(bundled("resnet18")), "--logdir", str(logdir)])
    assert result.exit_code == 0, result.stderr
    accumulator = EventAccumulator(str(logdir))
    accumulator.Reload()
    nodes = list(accumulator.Graph().node)
    scopes = {node.name.rsplit("/", 1)[0] for node in nodes}
    blocks = {
        f"ResNet18/Sequential[layer{i}]/BasicBlock[{j}]" for i in (1, 2, 3, 4) for j in (0, 1)
    }
    adds = {node.name.rsplit("/", 1)[0] for node in nodes if node.op == "aten::add"}
    assert adds == blocks  # one residual Add inside each block
    assert "ResNet18/Sequential[layer2]/BasicBlock[0]/Sequential[downsample]/Conv2d[0]" in scopes
    assert (
        "ResNet18/Sequential[layer1]/BasicBlock[0]/Sequential[downsample]/Conv2d[0]" not in scopes
    )
    assert {"ResNet18/Conv2d[conv1]", "ResNet18/Linear[fc]"} <= scopes


# --- the README's tour, kept true ------------------------------------------------------------------


def test_readme_resnet18_tour_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    readme = (ROOT / "README.md").read_text()
    section = readme[readme.index("## Graphs meet torch") :]
    code = section[section.index("```python\n") + len("```python\n") :]
    code = textwrap.dedent(code[: code.index("```")])
    monkeypatch.chdir(tmp_path)
    namespace: dict[str, object] = {}
    exec(compile(code, "README.md", "exec"), namespace)
    assert (tmp_path / "resnet18.pt").exists()
    model = namespace["model"]
    assert isinstance(model, torch.nn.Module) and type(model).__name__ == "ResNet18"
