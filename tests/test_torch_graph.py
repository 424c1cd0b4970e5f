"""Graph specs meet torch: the built classes, verify by node name, torchinfo and TensorBoard."""

from __future__ import annotations

import copy
import json
import pickle
import subprocess
import sys
import textwrap
import warnings
from pathlib import Path
from typing import Any

import pytest
import torch
from conftest import ROOT
from hypothesis import given, settings
from hypothesis import strategies as st
from test_graph import GRAPH_OPS, _spec_of
from typer.testing import CliRunner

from shapecalc.builder import StyleError, build
from shapecalc.built import SpecModule
from shapecalc.cli import app
from shapecalc.errors import ShapeError
from shapecalc.loader import load, loads
from shapecalc.render import verification_problem
from shapecalc.runner import compare, node_shapes, summarise, verify, write_graph
from shapecalc.spec import Spec
from shapecalc.trace import propagate

runner = CliRunner()
TINY = ROOT / "tests" / "specs" / "torch_tiny.yaml"
CUDA = torch.cuda.is_available()


@pytest.fixture(scope="module")
def tiny() -> Spec:
    return load(TINY).spec


def _eval(model: torch.nn.Module, x: torch.Tensor) -> torch.Tensor:
    with torch.no_grad():
        return model.eval()(x)  # type: ignore[no-any-return]


# --- what build makes -------------------------------------------------------------------------------


class _Res(torch.nn.Module):
    """Tiny's Res block, written by hand as torchvision writes BasicBlock."""

    def __init__(self, cin: int, cout: int, stride: int) -> None:
        super().__init__()
        nn = torch.nn
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.relu = nn.ReLU()
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1)
        self.downsample = None
        if stride != 1 or cin != cout:
            self.downsample = nn.Sequential(
                nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout)
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.conv2(self.relu(self.bn1(self.conv1(x))))
        return out + (self.downsample(x) if self.downsample is not None else x)


class _Gate(torch.nn.Module):
    def __init__(self, c: int) -> None:
        super().__init__()
        self.squeeze = torch.nn.AvgPool2d(8)
        self.excite = torch.nn.Conv2d(c, c, 1)
        self.sigmoid = torch.nn.Sigmoid()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.sigmoid(self.excite(self.squeeze(x)))


class _Tiny(torch.nn.Module):
    """tests/specs/torch_tiny.yaml written by hand."""

    def __init__(self) -> None:
        super().__init__()
        nn = torch.nn
        self.stem = nn.Conv2d(3, 8, 3, padding=1)
        self.stage1 = nn.Sequential(_Res(8, 8, 1), _Res(8, 8, 1))
        self.stage2 = nn.Sequential(_Res(8, 16, 2), _Res(16, 16, 1))
        self.se = _Gate(16)
        self.branch = nn.Conv2d(16, 4, 1)
        self.head = nn.Sequential(nn.AvgPool2d(8), nn.Flatten(), nn.Linear(20, 10))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.stage2(self.stage1(self.stem(x)))
        return self.head(torch.cat([self.se(h), self.branch(h)], dim=1))


def test_graph_builds_as_the_module_written_by_hand(tiny: Spec) -> None:
    model = build(tiny)
    by_hand = _Tiny()
    # same keys and shapes: the weights load both ways with strict=True, and compute the same
    assert {k: v.shape for k, v in model.state_dict().items()} == {
        k: v.shape for k, v in by_hand.state_dict().items()
    }
    torch.manual_seed(0)
    for p in model.parameters():
        torch.nn.init.normal_(p)
    by_hand.load_state_dict(model.state_dict(), strict=True)
    x = torch.randn(2, 3, 16, 16)
    assert torch.equal(_eval(model, x), _eval(by_hand, x))


def test_class_per_spec_and_per_block(tiny: Spec) -> None:
    model = build(tiny)
    assert isinstance(model, SpecModule) and type(model).__name__ == "Tiny"
    # the merge 'cat' is no module
    assert [name for name, _ in model.named_children()] == [
        "stem", "stage1", "stage2", "se", "branch", "head",
    ]  # fmt: skip
    kinds = {name: type(m).__name__ for name, m in model.named_modules()}
    assert kinds["stage1"] == kinds["head"] == kinds["stage2.0.downsample"] == "Sequential"
    assert kinds["stage1.0"] == kinds["stage2.1"] == "Res" and kinds["se"] == "Gate"
    assert "stage1.0.downsample" not in kinds  # if: false builds nothing
    assert not any(name.endswith(("add", "scale", "cat")) for name in kinds)
    assert sum(p.numel() for p in model.parameters()) == propagate(tiny).total_params == 11_446


def test_each_node_is_named_as_its_entry(tiny: Spec) -> None:
    model = build(tiny)
    block = model.stage2[0]
    assert [(n.op, n.name) for n in block.graph.nodes] == [
        ("placeholder", "x"),
        ("call_module", "conv1"),
        ("call_module", "bn1"),
        ("call_module", "relu"),
        ("call_module", "conv2"),
        ("call_module", "downsample"),
        ("call_function", "add"),
        ("output", "output"),
    ]
    add = next(n for n in model.stage1[0].graph.nodes if n.name == "add")
    assert add.target is torch.add and [a.name for a in add.args] == ["conv2", "x"]
    cat = next(n for n in model.graph.nodes if n.name == "cat")
    assert cat.target is torch.cat and cat.kwargs == {"dim": 1}
    assert [a.name for a in cat.args[0]] == ["se", "branch"]
    assert "torch.mul(x, sigmoid)" in model.se.code


def test_module_parameters_match_the_trace_row_by_row(tiny: Spec) -> None:
    trace = propagate(tiny)
    modules = dict(build(tiny).named_modules())
    for row in trace.rows:
        if row.kind in ("skipped", "merge"):
            assert row.name not in modules
        else:
            params = sum(p.numel() for p in modules[row.name].parameters())
            assert params == row.params, row.name


def test_print_shows_the_modules_only(tiny: Spec) -> None:
    model = build(tiny)
    text = str(model)
    assert text == repr(model) and text.startswith("Tiny(\n  (stem): Conv2d(3, 8")
    assert "forward" not in text and "torch.add" not in text
    assert "    (0): Res(\n" in text and "  (se): Gate(\n" in text


def test_trainable_false_freezes_the_entry(tiny: Spec) -> None:
    model = build(tiny)
    frozen = {name for name, p in model.named_parameters() if not p.requires_grad}
    assert frozen == {"stem.weight", "stem.bias"}
    trace = propagate(tiny)
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    assert trainable == trace.trainable_params == trace.total_params - 3 * 8 * 9 - 8


def test_inferred_sizes_are_plain_modules(tiny: Spec) -> None:
    model = build(tiny)
    assert not any(isinstance(m, torch.nn.modules.lazy.LazyModuleMixin) for m in model.modules())
    assert model.head[2].in_features == 20 and model.stage2[0].downsample[0].in_channels == 8


def test_chains_build_as_before() -> None:
    spec = load(ROOT / "specs" / "cifar10.yaml").spec
    assert type(build(spec)) is torch.nn.Sequential
    model = build(spec, "class")
    assert isinstance(model, SpecModule) and type(model).__name__ == "Tudui"


def test_sequential_style_on_a_graph_names_the_first_merge(tiny: Spec) -> None:
    with pytest.raises(StyleError) as info:
        build(tiny, "sequential")
    assert str(info.value) == (
        "Tiny is a graph, which nn.Sequential cannot express: Add 'stage1.0.add' "
        "(blocks.Res.layers[5]) merges conv2, x. Build it as a class (style 'class', the default "
        "for graphs)"
    )
    result = runner.invoke(app, ["build", str(TINY), "--style", "sequential"])
    assert result.exit_code == 1
    assert result.stderr.startswith(f"{TINY}:23:9: error: Tiny is a graph")
    assert result.stderr.count("\n") == 1
    assert runner.invoke(app, ["build", str(TINY)]).stdout == f"{build(tiny)}\n"


def test_sequential_style_without_merges_names_the_container() -> None:
    spec = loads(
        "input: [3, 8, 8]\nlayers:\n  - type: Sequential\n    name: features\n    layers:\n"
        "      - {type: Conv2d, out_channels: 4, kernel_size: 3}\n  - {type: Flatten}\n"
    ).spec
    with pytest.raises(
        StyleError, match="Sequential 'features' \\(layers\\[0\\]\\) is a container"
    ):
        build(spec, "sequential")
    assert type(build(spec)).__name__ == "Net"


# --- real classes: copies, pickles, export, devices --------------------------------------------------


def _same_module(a: torch.nn.Module, b: torch.nn.Module) -> None:
    assert type(a).__name__ == type(b).__name__ and str(a) == str(b)
    assert [type(m).__name__ for m in a.modules()] == [type(m).__name__ for m in b.modules()]
    sa, sb = a.state_dict(), b.state_dict()
    assert list(sa) == list(sb) and all(torch.equal(sa[k], sb[k]) for k in sa)


def test_same_class_name_on_every_build_and_copy(tiny: Spec) -> None:
    first, second = build(tiny), build(tiny)
    assert type(first).__name__ == type(second).__name__ == "Tiny"
    deep, shallow = copy.deepcopy(first), copy.copy(first)
    unpickled = pickle.loads(pickle.dumps(first))
    for other in (deep, shallow, unpickled):
        _same_module(first, other)
        assert "forward" not in str(other)
    x = torch.randn(2, 3, 16, 16)
    assert torch.equal(_eval(first, x), _eval(deep, x))
    with torch.no_grad():
        deep.stem.weight.add_(1)
    assert not torch.equal(deep.stem.weight, first.stem.weight)  # a deep copy owns its weights
    assert shallow.stem is first.stem


def _run_fresh(code: str, tmp_path: Path) -> str:
    """Run ``code`` in a fresh interpreter (nothing of this process imported) in ``tmp_path``."""
    proc = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def test_torch_save_and_load_in_a_fresh_process(tiny: Spec, tmp_path: Path) -> None:
    other = loads(
        "name: Tiny\ninput: [4]\nlayers:\n  - {type: Linear, name: fc, out_features: 3}\n"
        "  - {type: ReLU, name: act}\n  - {type: Add, from: [fc, act]}\n"
    ).spec  # another spec whose class is also named Tiny
    model, twin = build(tiny).eval(), build(other).eval()
    assert type(model) is not type(twin)
    x, y = torch.randn(2, 3, 16, 16), torch.randn(5, 4)
    torch.save(
        {"models": [model, twin], "x": x, "y": y, "out": (_eval(model, x), _eval(twin, y))},
        tmp_path / "saved.pt",
    )
    out = _run_fresh(
        """
        import json, torch
        saved = torch.load("saved.pt", weights_only=False)
        model, twin = saved["models"]
        with torch.no_grad():
            same = [torch.equal(m(i), o) for m, i, o in zip(saved["models"], (saved["x"], saved["y"]), saved["out"])]
        print(json.dumps({
            "names": [type(model).__name__, type(model.stage1[0]).__name__, type(twin).__name__],
            "same": same, "str": str(model), "keys": list(model.state_dict()),
            "training": model.training,
        }))
        """,
        tmp_path,
    )
    loaded = json.loads(out)
    assert loaded["names"] == ["Tiny", "Res", "Tiny"]
    assert loaded["same"] == [True, True]
    assert loaded["str"] == str(model) and loaded["keys"] == list(model.state_dict())
    assert loaded["training"] is False


def test_weights_saved_from_a_build_load_strictly_into_another(tiny: Spec, tmp_path: Path) -> None:
    model = build(tiny)
    torch.save(model.state_dict(), tmp_path / "weights.pt")
    again = build(tiny)
    again.load_state_dict(torch.load(tmp_path / "weights.pt"), strict=True)
    x = torch.randn(2, 3, 16, 16)
    assert torch.equal(_eval(model, x), _eval(again, x))


def test_torch_export(tiny: Spec) -> None:
    model = build(tiny).eval()
    x = torch.randn(2, 3, 16, 16)
    exported = torch.export.export(model, (x,))
    assert torch.allclose(exported.module()(x), _eval(model, x))
    targets = {str(n.target) for n in exported.graph.nodes if n.op == "call_function"}
    assert {"aten.add.Tensor", "aten.mul.Tensor", "aten.cat.default"} <= targets


def test_to_device_and_meta(tiny: Spec) -> None:
    model = build(tiny).to("meta")
    assert {p.device.type for p in model.parameters()} == {"meta"}
    assert _eval(model, torch.ones(2, 3, 16, 16, device="meta")).shape == (2, 10)
    built = build(tiny, device="meta")
    assert {p.device.type for p in built.parameters()} == {"meta"}


@pytest.mark.cuda
@pytest.mark.skipif(not CUDA, reason="no CUDA device on this machine")
def test_to_cuda_and_verify_on_cuda(tiny: Spec) -> None:
    model = build(tiny).to("cuda")
    assert {p.device.type for p in model.parameters()} == {"cuda"}
    result = verify(tiny, "cuda")
    assert result.ok and result.device == "cuda"


# --- verify: every node by name ----------------------------------------------------------------------


@pytest.mark.parametrize("device", ["cpu", "meta"])
def test_verify_compares_every_node_by_name(tiny: Spec, device: str) -> None:
    trace = propagate(tiny)
    result = verify(tiny, device)
    assert result.ok and result.device == device and result.failure is None
    built = [r for r in trace.rows if r.kind != "skipped"]
    assert [c.name for c in result.layers] == [r.name for r in built if r.is_leaf]
    assert [c.name for c in result.blocks] == [r.name for r in built if not r.is_leaf]
    assert all(c.actual == trace.by_name[c.name].output_shape for c in result.layers)
    assert {c.name for c in result.layers} >= {"stage1.0.add", "se.scale", "cat"}  # merges


def test_node_shapes_records_merges_and_containers(tiny: Spec) -> None:
    trace = propagate(tiny)
    shapes, failure = node_shapes(build(tiny), torch.ones(trace.input_shape))
    assert failure is None
    assert set(shapes) == {r.name for r in trace.rows if r.kind != "skipped"}
    assert shapes["cat"] == (2, 20, 8, 8) and shapes["se.squeeze"] == (2, 16, 1, 1)


def test_a_wrong_prediction_is_caught_by_name(tiny: Spec) -> None:
    trace = propagate(tiny)
    shapes, _ = node_shapes(build(tiny), torch.ones(trace.input_shape))
    assert compare(trace.rows, shapes, "cpu", trace.input_shape).ok
    wrong = dict(shapes)
    wrong["se.scale"] = (2, 16, 8, 9)
    result = compare(trace.rows, wrong, "cpu", trace.input_shape)
    assert not result.ok and result.broke_at is not None and result.broke_at.name == "se.scale"
    assert verification_problem(result) == (
        "blocks.Gate.layers[3] Multiply 'se.scale': the shapes disagree; shapecalc predicted "
        "[2, 16, 8, 8], torch gave [2, 16, 8, 9]"
    )
    # the same, the other way round: a row of the calculator's trace made wrong
    rows = tuple(
        r if r.name != "stage2" else type(r)(**{**r.__dict__, "output_shape": (2, 16, 4, 4)})
        for r in trace.rows
    )
    result = compare(rows, shapes, "cpu", trace.input_shape)
    assert not result.ok and [c.name for c in result.blocks if not c.ok] == ["stage2"]


def test_a_missing_node_is_not_ok(tiny: Spec) -> None:
    trace = propagate(tiny)
    shapes, _ = node_shapes(build(tiny), torch.ones(trace.input_shape))
    del shapes["stage2.0.add"]
    result = compare(trace.rows, shapes, "cpu", trace.input_shape)
    assert not result.ok and result.broke_at is not None
    assert result.broke_at.name == "stage2.0.add" and result.broke_at.actual is None


def test_a_forward_failure_names_the_node_and_its_real_inputs(tiny: Spec) -> None:
    trace = propagate(tiny)
    model = build(tiny)
    model.stage2[0].conv2 = torch.nn.Conv2d(16, 16, 3, stride=2, padding=1)  # not the spec
    shapes, failure = node_shapes(model, torch.ones(trace.input_shape))
    assert failure is not None and failure.name == "stage2.0.add"
    assert failure.input_shapes == ((2, 16, 4, 4), (2, 16, 8, 8))
    assert failure.message.startswith("RuntimeError: The size of tensor a (4) must match")
    assert shapes["stage2.0.conv2"] == (2, 16, 4, 4) and "stage2.0.add" not in shapes
    result = compare(trace.rows, shapes, "cpu", trace.input_shape, failure.message, failure)
    assert not result.ok and result.broke_at is not None
    assert result.broke_at.name == "stage2.0.conv2"  # the first disagreement, before the failure
    problem = verification_problem(
        compare(
            trace.rows,
            {**shapes, "stage2.0.conv2": (2, 16, 8, 8)},
            "cpu",
            trace.input_shape,
            failure.message,
            failure,
        )
    )
    assert problem == (
        "blocks.Res.layers[5] Add 'stage2.0.add': the forward pass failed (RuntimeError: The size "
        "of tensor a (4) must match the size of tensor b (8) at non-singleton dimension 3); its "
        "inputs were [2, 16, 4, 4], [2, 16, 8, 8] (shapecalc: [2, 16, 8, 8], [2, 16, 8, 8]); "
        "shapecalc predicted [2, 16, 8, 8]"
    )


def test_cli_verify_failure_is_one_located_line(
    tiny: Spec, monkeypatch: pytest.MonkeyPatch
) -> None:
    import shapecalc.runner

    def sabotaged(*args: Any, **kwargs: Any) -> torch.nn.Module:
        model = build(*args, **kwargs)
        model.se.excite = torch.nn.Conv2d(16, 3, 1)  # [2, 3, 1, 1] cannot gate [2, 16, 8, 8]
        return model

    monkeypatch.setattr(shapecalc.runner, "build", sabotaged)
    result = runner.invoke(app, ["verify", str(TINY)], env={"COLUMNS": "120"})
    assert result.exit_code == 1
    assert result.stderr == (
        "error: blocks.Gate.layers[3] Multiply 'se.scale': the forward pass failed (RuntimeError: "
        "The size of tensor a (16) must match the size of tensor b (3) at non-singleton dimension "
        "1); its inputs were [2, 16, 8, 8], [2, 3, 1, 1] (shapecalc: [2, 16, 8, 8], [2, 16, 1, 1]); "
        "shapecalc predicted [2, 16, 8, 8]; the first shape that disagrees: blocks.Gate.layers[1] "
        "Conv2d 'se.excite': shapecalc predicted [2, 16, 1, 1], torch gave [2, 3, 1, 1]\n"
    )
    doc = json.loads(runner.invoke(app, ["verify", str(TINY), "--json"]).stdout)
    assert doc["failure"] == {
        "name": "se.scale",
        "type": "mul",
        "input_shapes": [[2, 16, 8, 8], [2, 3, 1, 1]],
        "message": "RuntimeError: The size of tensor a (16) must match the size of tensor b (3) "
        "at non-singleton dimension 1",
    }
    assert [c["name"] for c in doc["layers"] if not c["ok"]][:2] == ["se.excite", "se.sigmoid"]
    assert next(c["name"] for c in doc["layers"] if c["actual"] is None) == "se.scale"


def test_cli_verify_json_keeps_its_keys_and_adds_blocks() -> None:
    doc = json.loads(runner.invoke(app, ["verify", str(TINY), "--json", "--device", "meta"]).stdout)
    assert doc["ok"] and doc["device"] == "meta" and doc["failure"] is None
    assert set(doc) >= {"ok", "device", "input_shape", "error", "layers", "blocks"}
    assert doc["layers"][-1] == {
        "index": 43,
        "name": "head.2",
        "type": "Linear",
        "computed": [2, 10],
        "actual": [2, 10],
        "ok": True,
    }
    assert {b["name"] for b in doc["blocks"]} >= {"stage1", "stage1.0", "se", "head"}


def test_verify_on_meta_allocates_no_activations(tiny: Spec) -> None:
    # 2·10^8 samples: activations of ~800 GB on any real device
    result = verify(tiny, "meta", batch=200_000_000)
    assert result.ok and result.layers[-1].actual == (200_000_000, 10)


# --- random small graphs: residual adds, concats, SE gates, repeats --------------------------------


@settings(max_examples=min(40, settings.default.max_examples))
@given(st.integers(1, 4), st.integers(3, 14), st.lists(GRAPH_OPS, min_size=1, max_size=5))
def test_random_graphs_build_and_verify(
    channels: int, size: int, ops: list[tuple[Any, ...]]
) -> None:
    spec = Spec.model_validate(_spec_of(channels, size, ops))
    try:
        trace = propagate(spec)
    except ShapeError:
        return
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch's own (a BatchNorm over one value, ...)
        for device in ("cpu", "meta"):
            result = verify(spec, device)
            assert result.ok, (device, ops, size, verification_problem(result))
        model = build(spec)
    assert sum(p.numel() for p in model.parameters()) == trace.total_params
    again = pickle.loads(pickle.dumps(model))
    x = torch.randn(trace.input_shape)
    assert torch.equal(_eval(again, x), _eval(model, x))


# --- torchinfo and TensorBoard -----------------------------------------------------------------------


def test_torchinfo_agrees_on_a_graph(tiny: Spec) -> None:
    trace = propagate(tiny)
    check = summarise(tiny, build(tiny, device="meta"), "meta", trace)
    assert check.disagreements == []
    assert check.torchinfo_params == 11_446 and check.torchinfo_macs == trace.total_macs
    # and layer by layer: torchinfo's leaves in execution order are the trace's layers
    leaves = [info for info in check.stats.summary_list if info.is_leaf_layer]
    assert [info.macs for info in leaves] == [r.macs for r in trace.layers if r.kind == "layer"]


def test_tensorboard_graph_shows_the_block_structure(tiny: Spec, tmp_path: Path) -> None:
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    write_graph(tiny, tmp_path / "tb")
    accumulator = EventAccumulator(str(tmp_path / "tb"))
    accumulator.Reload()
    nodes = list(accumulator.Graph().node)
    scopes = {node.name.rsplit("/", 1)[0] for node in nodes}
    for scope in (
        "Tiny/Conv2d[stem]",
        "Tiny/Sequential[stage1]/Res[0]/Conv2d[conv1]",
        "Tiny/Sequential[stage2]/Res[0]/Sequential[downsample]/BatchNorm2d[1]",
        "Tiny/Gate[se]/Sigmoid[sigmoid]",
        "Tiny/Sequential[head]/Linear[2]",
    ):
        assert scope in scopes, scope
    merges = {
        (node.op, node.name.rsplit("/", 1)[0])
        for node in nodes
        if node.op in ("aten::add", "aten::mul", "aten::cat")
    }
    assert merges == {
        ("aten::add", "Tiny/Sequential[stage1]/Res[0]"),
        ("aten::add", "Tiny/Sequential[stage1]/Res[1]"),
        ("aten::add", "Tiny/Sequential[stage2]/Res[0]"),
        ("aten::add", "Tiny/Sequential[stage2]/Res[1]"),
        ("aten::mul", "Tiny/Gate[se]"),
        ("aten::cat", "Tiny"),
    }


# --- the meta device without torch._dynamo -----------------------------------------------------------


def test_meta_verify_does_not_import_dynamo_and_leaves_no_marks(tmp_path: Path) -> None:
    out = _run_fresh(
        f"""
        import json, sys, torch
        from shapecalc import load
        from shapecalc.runner import verify
        result = verify(load({str(TINY)!r}).spec, "meta")
        imported = "torch._dynamo" in sys.modules
        bn = torch.nn.BatchNorm2d(4, device="meta").eval()
        marks = [fn for fn in __import__("gc").get_objects()
                 if type(fn).__name__ == "function" and "__dynamo_disable" in getattr(fn, "__dict__", {{}})]
        print(json.dumps({{"ok": result.ok, "dynamo": imported, "marks": len(marks)}}))
        bn(torch.ones(2, 4, 3, 3, device="meta"))  # outside verify: torch as usual
        print("torch._dynamo" in sys.modules)
        """,
        tmp_path,
    )
    first, second = out.splitlines()
    assert json.loads(first) == {"ok": True, "dynamo": False, "marks": 0}
    assert second == "True"


def test_meta_verify_after_dynamo_is_imported(tiny: Spec) -> None:
    import torch._dynamo  # noqa: F401  (as after any torch.compile)

    assert verify(tiny, "meta").ok


# --- the corners of the format, built ----------------------------------------------------------------


def _built(text: str) -> tuple[Spec, torch.nn.Module]:
    spec = loads(text).spec
    model = build(spec)
    for device in ("cpu", "meta"):
        result = verify(spec, device)
        assert result.ok, (device, verification_problem(result))
    return spec, model


def test_an_output_list_returns_a_tuple() -> None:
    spec, model = _built(
        "input: [3, 8, 8]\nlayers:\n  - {type: Conv2d, name: a, out_channels: 4, kernel_size: 1}\n"
        "  - {type: MaxPool2d, name: b, kernel_size: 2}\noutput: [b, a]\n"
    )  # a chain of layers, but it returns two of them: a graph
    out = _eval(model, torch.ones(1, 3, 8, 8))
    assert isinstance(out, tuple) and [o.shape for o in out] == [(1, 4, 4, 4), (1, 4, 8, 8)]
    with pytest.raises(StyleError, match=r"nn\.Sequential cannot express: it returns b, a\."):
        build(spec, "sequential")


def test_block_with_two_inputs_an_output_and_everything_left_out() -> None:
    _, model = _built(
        """
        input: [4, 8, 8]
        blocks:
          Two:
            inputs: [x, skip]
            layers:
              - {type: Conv2d, name: c, out_channels: 4, kernel_size: 1}
              - {type: Add, name: s, from: [c, skip]}
              - {type: Sigmoid, name: unread}
            output: s
          Nothing:
            params: {enabled: false}
            layers:
              - {type: ReLU, name: r, if: $enabled}
        layers:
          - {type: Conv2d, name: a, out_channels: 4, kernel_size: 1}
          - {type: Two, name: t, from: [a, x]}
          - {type: Nothing, name: n}
        """.replace("\n        ", "\n")
    )
    assert "return s" in model.t.code and [n.op for n in model.n.graph.nodes] == [
        "placeholder",
        "output",
    ]
    x = torch.randn(1, 4, 8, 8)
    with torch.no_grad():
        expected = model.t.c(model.a(x)) + x
    assert torch.equal(_eval(model, x), expected)


def test_nested_sequentials_number_their_present_children() -> None:
    _, model = _built(
        """
        input: [2, 8, 8]
        params: {deep: false}
        layers:
          - type: Sequential
            name: seq
            repeat: 2
            layers:
              - {type: Conv2d, out_channels: 2, kernel_size: 1, if: $deep}
              - {type: ReLU}
              - type: Sequential
                layers:
                  - {type: Conv2d, out_channels: 2, kernel_size: 3, padding: 1}
        """.replace("\n        ", "\n")
    )
    assert [name for name, _ in model.named_modules()][1:] == [
        "seq", "seq.0", "seq.0.0", "seq.0.1", "seq.0.1.0", "seq.1", "seq.1.0", "seq.1.1", "seq.1.1.0",
    ]  # fmt: skip


def test_entry_names_python_reserves_and_sums_of_three() -> None:
    # fx renames nodes that shadow builtins (sum → sum_1); verify still finds them by entry name
    _, model = _built(
        "input: [2, 4, 4]\nlayers:\n"
        "  - {type: Conv2d, name: input, out_channels: 2, kernel_size: 1}\n"
        "  - {type: Add, name: sum, from: [input, x, x]}\n"
        "  - {type: Conv2d, name: sum_1, out_channels: 3, kernel_size: 1}\n"
        "  - {type: Multiply, name: max, from: [sum_1, sum_1]}\n"
    )
    entries = [n.meta.get("entry") for n in model.graph.nodes]
    assert entries == [None, "input", None, "sum", "sum_1", "max", None]
    x = torch.randn(1, 2, 4, 4)
    with torch.no_grad():
        h = model.sum_1(model.input(x) + x + x)
    assert torch.equal(_eval(model, x), h * h)


def test_splice_and_repeat_name_give_torchvisions_numbering() -> None:
    # MobileNetV2's flat features.0 … and DenseNet's denselayer1 …, in small
    _, model = _built(
        """
        input: [4, 8, 8]
        blocks:
          Block:
            params: {out_channels: required}
            layers:
              - {type: Conv2d, name: conv, out_channels: $out_channels, kernel_size: 1}
              - {type: Add, name: add, from: [conv, x], if: $in_channels == $out_channels}
          Dense:
            layers:
              - {type: Conv2d, name: conv, out_channels: 2, kernel_size: 1}
              - {type: Concat, name: cat, from: [x, conv]}
        layers:
          - type: Sequential
            name: features
            layers:
              - {type: Conv2d, out_channels: 4, kernel_size: 1}
              - {type: Block, out_channels: 4, repeat: 2, splice: true}
              - {type: Block, out_channels: 6, repeat: 2, splice: true}
              - {type: Dense, name: dense, repeat: 2, repeat_name: "layer{n}"}
        """.replace("\n        ", "\n")
    )
    assert list(model.state_dict()) == [
        f"features.{key}"
        for key in [
            "0.weight", "0.bias",
            "1.conv.weight", "1.conv.bias", "2.conv.weight", "2.conv.bias",
            "3.conv.weight", "3.conv.bias", "4.conv.weight", "4.conv.bias",
            "dense.layer1.conv.weight", "dense.layer1.conv.bias",
            "dense.layer2.conv.weight", "dense.layer2.conv.bias",
        ]
    ]  # fmt: skip
    assert "add" in model.features[1].code and "add" not in model.features[3].code
    assert model.features.dense.layer2.conv.in_channels == 8  # 6 + 2 concatenated
