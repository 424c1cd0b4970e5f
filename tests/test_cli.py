"""The command line as users meet it: help, version, exit codes, several files, the JSON documents,
input sizes from the command line, memory checks, graph writing and the small print."""

from __future__ import annotations

import importlib.metadata
import json
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from conftest import SPECS, VALIDATED
from hypothesis import given
from hypothesis import strategies as st
from typer.testing import CliRunner

from shapecalc import runner as shapecalc_runner
from shapecalc import schemas
from shapecalc.builder import build
from shapecalc.cli import MAX_SIZE, app
from shapecalc.layers import MAX_SIZE as SPEC_MAX_SIZE
from shapecalc.loader import bundled, bundled_names, load
from shapecalc.memory import forward_memory
from shapecalc.trace import propagate

runner = CliRunner()
WIDE = {"COLUMNS": "120", "NO_COLOR": "1"}
COMMANDS = (
    "check",
    "solve-padding",
    "solve-input",
    "build",
    "verify",
    "graph",
    "schema",
    "diagram",
)


def run_main(*args: str, block: str | None = None) -> subprocess.CompletedProcess[str]:
    """A fresh interpreter running the entry point, optionally with one module made unimportable."""
    code = (
        (f"import sys; sys.modules[{block!r}] = None\n" if block else "import sys\n")
        + "sys.argv = ['shapecalc', *sys.argv[1:]]\n"
        + "from shapecalc.cli import main\n"
        + "try:\n    main()\nfinally:\n"
        + "    print(sorted(m for m in ('torch', 'pydantic.main', 'rich', 'yaml', 'shapecalc.layers',"
        + " 'shapecalc.loader') if m in sys.modules), file=sys.stderr)\n"
    )
    return subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True)


# --- help and version ------------------------------------------------------------------------------


def test_version_matches_the_distribution_and_loads_nothing() -> None:
    proc = run_main("--version")
    assert proc.returncode == 0
    assert proc.stdout == f"shapecalc {importlib.metadata.version('torch-shapecalc')}\n"
    assert proc.stderr.strip() == "[]"  # no torch, no spec models, no YAML, not even rich


def test_help_loads_no_spec_machinery() -> None:
    for args in (["--help"], ["check", "--help"], ["verify", "--help"]):
        proc = run_main(*args)
        assert proc.returncode == 0, args
        loaded = proc.stderr.strip().splitlines()[-1]
        assert "torch" not in loaded and "shapecalc" not in loaded and "yaml" not in loaded


@pytest.mark.parametrize("command", ["", *COMMANDS])
def test_help_reads_cleanly(command: str) -> None:
    result = runner.invoke(app, [*command.split(), "--help"], env={"COLUMNS": "80"})
    assert result.exit_code == 0
    text = result.stdout
    for noise in ("<bool>", "<int", "int range", "<str>", "<list", "<file>", "x>=", "<=x"):
        assert noise not in text, (command, noise)
    assert max(len(line) for line in text.splitlines()) <= 80
    assert "(needs shapecalc)" not in text and not re.search(r"(?<!torch-)shapecalc\[", text)
    # paragraphs are wrapped to the width, not broken where the docstring's source lines end
    paragraph: list[str] = []
    for line in [*text.splitlines(), ""]:
        if (
            line.startswith("  ")
            and not line.startswith("   ")
            and not line.lstrip().startswith("-")
        ):
            paragraph.append(line)
            continue
        for inner in paragraph[:-1]:
            assert len(inner) >= 60, (command, inner)
        paragraph = []


def test_help_names_the_install_command_and_exit_codes() -> None:
    top = runner.invoke(app, ["--help"], env={"COLUMNS": "100"}).stdout
    assert "Exit codes:\n    0  success\n    1  a spec is invalid, or a check disagreed\n" in top
    assert "    3  this environment cannot do it: missing extra, no CUDA, too little memory" in top
    assert f"({', '.join(bundled_names())})" in " ".join(top.split())
    build_help = runner.invoke(app, ["build", "--help"], env={"COLUMNS": "100"}).stdout
    assert "pip install 'torch-shapecalc[torch]'" in build_help
    graph_help = runner.invoke(app, ["graph", "--help"], env={"COLUMNS": "100"}).stdout
    assert "pip install 'torch-shapecalc[tensorboard]'" in graph_help
    verify_help = runner.invoke(app, ["verify", "--help"], env={"COLUMNS": "100"}).stdout
    assert "--batch N " in verify_help and "--device [cpu|cuda|meta|auto]" in verify_help


def test_option_bound_is_the_spec_bound() -> None:
    assert MAX_SIZE == SPEC_MAX_SIZE


# --- usage errors ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["verify", "--batch", "100000000000000000000"],
            "'100000000000000000000': must be at most 2147483647",
        ),
        (["verify", "--batch", "0"], "'0': must be at least 1"),
        (
            ["check", "--batch", "1_1"],
            "'1_1' is not a positive integer: write it with the digits 0-9 only",
        ),
        (
            ["check", "--batch", "３"],
            "'３' is not a positive integer: write it with the digits 0-9 only",
        ),
        (
            ["check", "--input", "3,٣,3"],
            "'٣' is not a positive integer: write it with the digits 0-9 only",
        ),
        (["check", "--input", "1,2,3,4,5,6"], "give 1 to 5 sizes, e.g. 3,32,32"),
        (["check", "--input", "3,x"], "'x' is not a positive integer"),
        (
            ["solve-padding", "--k", "1_1", "--in", "32", "--out", "32"],
            "'1_1' is not an integer or a pair H,W of integers: write each size with the digits 0-9 only",
        ),
        (
            ["solve-padding", "--k", "3", "--in", "3000000000", "--out", "3"],
            "'3000000000': must be at most 2147483647",
        ),
        (["solve-input", "--max", "16385"], "'16385': must be at most 16384"),
        (["check", "--jsn"], "No such option"),
    ],
)
def test_usage_errors_exit_2(args: list[str], message: str) -> None:
    result = runner.invoke(app, args)
    assert result.exit_code == 2, result.output
    assert message in result.stderr
    assert "Traceback" not in result.stderr


# --- several files ---------------------------------------------------------------------------------


def test_one_bad_file_does_not_stop_the_others(tmp_path: Path) -> None:
    good = str(SPECS / "cifar10.yaml")
    invalid = tmp_path / "invalid.yaml"
    invalid.write_text("input: [3]\nlayers: [{type: Linear, in_features: 4, out_features: 2}]\n")
    missing = tmp_path / "missing.yaml"
    args = [good, str(missing), str(invalid), str(tmp_path), "lenet5"]
    result = runner.invoke(app, ["check", *args, "--json"])
    assert result.exit_code == 2  # the worst outcome: a SPEC that cannot be read
    documents = json.loads(result.stdout)
    assert [d["ok"] for d in documents] == [True, False, False, False, True]
    assert documents[1]["errors"] == [
        {
            "message": "the file does not exist",
            "severity": "error",
            "layer": None,
            "field": None,
            "line": None,
            "column": None,
            "details": [],
            "trace": [],
        }
    ]
    assert documents[2]["errors"][0]["field"] == "layers[0].in_features"
    assert documents[3]["errors"][0]["message"].endswith(
        "is a folder, not a spec file; name a YAML file"
    )
    assert documents[4]["name"] == "LeNet5"
    assert result.stderr.splitlines() == [
        f"{missing}: error: the file does not exist",
        f"{invalid}:2:25: error: {documents[2]['errors'][0]['message']}",
        f"{tmp_path}:1:1: error: {tmp_path} is a folder, not a spec file; name a YAML file",
    ]
    human = runner.invoke(app, ["check", *args], env=WIDE)
    assert human.exit_code == 2
    assert human.stdout.count("Total params:") == 2 and "LeNet5" in human.stdout
    # only invalid content: exit 1
    assert runner.invoke(app, ["check", good, str(invalid)]).exit_code == 1


def test_json_is_a_list_for_one_file_and_for_several() -> None:
    one = json.loads(runner.invoke(app, ["check", "--json"]).stdout)
    two = json.loads(runner.invoke(app, ["check", "cifar10", "lenet5", "--json"]).stdout)
    assert isinstance(one, list) and isinstance(two, list)
    assert [d["name"] for d in one + two] == ["Tudui", "Tudui", "LeNet5"]


def test_no_table_header_when_the_first_layer_fails(write_spec) -> None:  # type: ignore[no-untyped-def]
    path = write_spec(
        "input: [3, 4, 4]\nlayers:\n  - {type: Conv2d, out_channels: 8, kernel_size: 5}\n"
    )
    result = runner.invoke(app, ["check", str(path)], env=WIDE)
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr.startswith(f"{path}:3:5: error: layers[0]")


# --- --batch and --input agree with torch --------------------------------------------------------------


@given(
    st.sampled_from(["cifar10", "lenet5", "alexnet"]),
    st.integers(1, 300),
    st.integers(1, 300),
    st.integers(1, 4),
)
def test_check_with_another_input_size_agrees_with_torch(name: str, h: int, w: int, n: int) -> None:
    spec = load(bundled(name)).spec
    channels = spec.input[0]
    result = runner.invoke(
        app, ["check", name, "--batch", str(n), "--input", f"{channels},{h},{w}", "--json"]
    )
    [document] = json.loads(result.stdout)
    assert document["input_shape"] == [n, channels, h, w]
    # torch on the meta device, with in_features inferred as the calculator infers them
    try:
        trace = propagate(spec, (n, channels, h, w))
    except Exception:
        trace = None
    if trace is None:
        assert result.exit_code == 1 and not document["ok"]
        x = torch.ones((n, channels, h, w), device="meta")
        model = build(spec, device="meta")  # the spec's own sizes: it must fail somewhere
        with pytest.raises(RuntimeError):
            model(x)
        return
    model = build(spec, trace=trace, device="meta")
    output = model(torch.ones((n, channels, h, w), device="meta"))
    assert result.exit_code == 0 and document["output_shape"] == list(output.shape)


# --- JSON documents --------------------------------------------------------------------------------


def test_verify_json_on_an_invalid_spec_has_checks_errors(write_spec) -> None:  # type: ignore[no-untyped-def]
    path = write_spec(
        "input: [3, 8, 8]\nlayers:\n  - {type: Flatten}\n  - {type: Linear, in_features: 5, out_features: 2}\n"
    )
    checked = json.loads(runner.invoke(app, ["check", str(path), "--json"]).stdout)[0]
    result = runner.invoke(app, ["verify", str(path), "--json"])
    assert result.exit_code == 1
    document = json.loads(result.stdout)
    assert document["ok"] is False and document["layers"] == []
    assert document["errors"] == checked["errors"] and document["errors"][0]["line"] == 4
    assert document["spec"] == str(path) and document["input_shape"] == [1, 3, 8, 8]
    missing = runner.invoke(app, ["verify", "nope.yaml", "--json"])
    assert missing.exit_code == 2 and json.loads(missing.stdout)["errors"][0]["message"] == (
        "the file does not exist"
    )


def test_verify_json_without_torch_is_a_document_and_exit_3() -> None:
    proc = run_main("verify", "--json", block="torch")
    assert proc.returncode == 3
    document = json.loads(proc.stdout)
    schemas_check = __import__("jsonschema").Draft202012Validator(schemas.load("verify"))
    schemas_check.validate(document)
    assert document["ok"] is False
    assert document["errors"][0]["message"] == (
        "torch is not installed; this command needs it. "
        "Install it with: pip install 'torch-shapecalc[torch]'"
    )


def test_verify_json_names_the_spec() -> None:
    document = json.loads(
        runner.invoke(app, ["verify", "lenet5", "--json", "--device", "meta"]).stdout
    )
    assert (
        document["ok"]
        and document["spec"] == str(bundled("lenet5"))
        and document["name"] == "LeNet5"
    )
    assert document["errors"] == []


def test_solve_padding_axis_is_null_or_the_real_axis() -> None:
    single = json.loads(
        runner.invoke(
            app, ["solve-padding", "--k", "5", "--in", "32", "--out", "32", "--json"]
        ).stdout
    )
    assert [d["axis"] for d in single["dims"]] == [None]
    pair = json.loads(
        runner.invoke(
            app, ["solve-padding", "--k", "5,3", "--in", "32", "--out", "32", "--json"]
        ).stdout
    )
    assert [d["axis"] for d in pair["dims"]] == ["H", "W"] and pair["recommended"] == [2, 1]
    failed = runner.invoke(
        app, ["solve-padding", "--k", "4", "--in", "32", "--out", "32", "--json"]
    )
    document = json.loads(failed.stdout)
    assert failed.exit_code == 1 and not document["ok"] and len(document["errors"]) == 1
    assert failed.stderr == f"error: {document['errors'][0]['message']}\n"


def test_solve_input_json_on_an_invalid_spec(write_spec) -> None:  # type: ignore[no-untyped-def]
    path = write_spec("input: [3, 8, 8]\nlayers: [{type: Conv2D}]\n")
    result = runner.invoke(app, ["solve-input", str(path), "--json"])
    document = json.loads(result.stdout)
    assert result.exit_code == 1 and document["ok"] is False and document["spec"] == str(path)
    assert document["errors"][0]["field"] == "layers[0].type"


def test_schemas_are_valid_and_every_one_was_used() -> None:
    import jsonschema

    for name in schemas.NAMES:
        jsonschema.Draft202012Validator.check_schema(schemas.load(name))
        assert schemas.path(name).parent == Path(schemas.__file__).parent
    # the conftest fixture validates every document printed; print one of each here, since the
    # tests that print them may run in another process (pytest -n)
    before = dict(VALIDATED)
    for args in (
        ["check", "specs/cifar10.yaml", "--json"],
        ["verify", "specs/lenet5.yaml", "--device", "meta", "--json"],
        ["solve-padding", "--k", "5", "--in", "32", "--out", "32", "--json"],
        ["solve-input", "specs/cifar10.yaml", "--max", "40", "--json"],
    ):
        assert runner.invoke(app, args).exit_code == 0, args
    assert all(
        VALIDATED[name] > before[name]
        for name in ("check", "verify", "solve-padding", "solve-input")
    )


# --- memory ----------------------------------------------------------------------------------------


CHAINS = [p for p in sorted(SPECS.glob("*.yaml")) if not propagate(load(p).spec).is_graph]


@pytest.mark.parametrize("path", CHAINS, ids=lambda p: p.stem)
def test_memory_estimate_matches_torch(path: Path) -> None:
    """For a chain: the parameters, and the largest input + output of one child of the
    nn.Sequential, as torch's own tensors count them (graphs: the test below)."""
    spec = load(path).spec
    trace = propagate(spec)
    estimate = forward_memory(trace)
    model = build(spec)
    assert estimate.param_bytes == sum(p.numel() * p.element_size() for p in model.parameters())
    live: list[int] = []
    hooks = [
        m.register_forward_hook(
            lambda _m, i, o: live.append(
                i[0].numel() * i[0].element_size() + o.numel() * o.element_size()
            )
        )
        for m in model
    ]
    with torch.no_grad():
        model(torch.ones(trace.input_shape))
    for hook in hooks:
        hook.remove()
    assert estimate.activation_bytes == max(live)
    assert estimate.peak_layer == live.index(max(live))


def test_memory_estimate_keeps_skipped_tensors_alive(write_spec) -> None:  # type: ignore[no-untyped-def]
    # x feeds a and b; cat reads a and b: while cat runs, a (48), b (80) and cat (128) are alive
    path = write_spec(
        "input: [2, 4, 4]\nlayers:\n"
        "  - {type: Conv2d, name: a, out_channels: 3, kernel_size: 1}\n"
        "  - {type: Conv2d, name: b, out_channels: 5, kernel_size: 1, from: x}\n"
        "  - {type: Concat, name: cat, from: [a, b]}\n"
    )
    estimate = forward_memory(propagate(load(path).spec))
    assert (estimate.activation_bytes, estimate.peak_layer) == ((48 + 80 + 128) * 4, 2)
    assert estimate.param_bytes == (2 * 3 + 3 + 2 * 5 + 5) * 4


def test_too_little_memory_is_exit_3_before_allocating(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(
        shapecalc_runner, "available_memory", lambda device: 1000 if device != "meta" else None
    )
    allocated: list[object] = []
    monkeypatch.setattr(shapecalc_runner, "build", lambda *a, **k: allocated.append(a))
    result = runner.invoke(app, ["verify"])
    assert result.exit_code == 3 and allocated == []
    estimate = forward_memory(propagate(load(bundled()).spec))
    assert result.stderr == (
        "error: the forward pass needs about 10.56 MiB (parameters 568.66 KiB + activations "
        "10.00 MiB at layers[1], batch 64, float32), but cpu has 1000 B available; it may fit "
        "with --device meta (shapes only)\n"
    )
    assert estimate.total_bytes > 1000
    document = json.loads(runner.invoke(app, ["verify", "--json"]).stdout)
    assert (
        document["ok"] is False
        and "it may fit with --device meta" in document["errors"][0]["message"]
    )
    graph = runner.invoke(app, ["graph"])
    assert graph.exit_code == 3 and "--device meta" not in graph.stderr
    build_only = runner.invoke(app, ["build"])
    assert build_only.exit_code == 3 and build_only.stderr.startswith(
        "error: the module needs about 568.66 KiB"
    )


def test_meta_is_never_told_to_try_meta(monkeypatch: pytest.MonkeyPatch) -> None:
    def out_of_memory(*args: object, **kwargs: object) -> None:
        raise RuntimeError("DefaultCPUAllocator: can't allocate memory: you tried to allocate 8 TB")

    monkeypatch.setattr(shapecalc_runner, "build", out_of_memory)
    meta = runner.invoke(app, ["verify", "--device", "meta"])
    assert meta.exit_code == 3
    assert meta.stderr == (
        "error: torch ran out of memory: DefaultCPUAllocator: can't allocate memory: you tried to "
        "allocate 8 TB\n"
    )
    cpu = runner.invoke(app, ["verify"])
    assert cpu.exit_code == 3 and cpu.stderr.endswith(
        "; it may fit with --device meta (shapes only)\n"
    )


def test_other_torch_failures_do_not_mention_meta(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("Expected all tensors to be on the same device\nmore detail")

    monkeypatch.setattr(shapecalc_runner, "build", broken)
    result = runner.invoke(app, ["verify"])
    assert result.exit_code == 1
    assert result.stderr == "error: torch failed: Expected all tensors to be on the same device\n"


# --- graph -----------------------------------------------------------------------------------------


def test_graph_failure_leaves_nothing_and_a_rerun_replaces_the_graph(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    logdir = tmp_path / "tb"

    def refuse(self: torch.nn.Module, x: torch.Tensor) -> torch.Tensor:
        raise ValueError("Expected more than 1 value per channel when training")

    with monkeypatch.context() as patch:
        patch.setattr(torch.nn.Tanh, "forward", refuse)
        result = runner.invoke(app, ["graph", "lenet5", "--logdir", str(logdir)])
    assert result.exit_code == 1
    assert result.stderr == (
        "error: torch could not run the forward pass of LeNet5: ValueError: Expected more than 1 "
        "value per channel when training\n"
    )
    assert result.stdout == ""
    assert list(tmp_path.iterdir()) == []  # no logdir, no partial events file, no staging folder

    for _ in range(2):
        assert runner.invoke(app, ["graph", "lenet5", "--logdir", str(logdir)]).exit_code == 0
    [events] = list(logdir.glob("events.out.tfevents.*"))
    assert [p.name for p in tmp_path.iterdir()] == ["tb"]
    accumulator = EventAccumulator(str(logdir))
    accumulator.Reload()
    assert "[c1]" in " ".join(node.name for node in accumulator.Graph().node)
    # a failed run after a good one keeps the good graph
    with monkeypatch.context() as patch:
        patch.setattr(torch.nn.Tanh, "forward", refuse)
        assert runner.invoke(app, ["graph", "lenet5", "--logdir", str(logdir)]).exit_code == 1
    assert list(logdir.glob("events.out.tfevents.*")) == [events]


# --- small print -----------------------------------------------------------------------------------


def test_one_layer_agrees_in_the_singular(write_spec) -> None:  # type: ignore[no-untyped-def]
    path = write_spec("input: [4]\nlayers: [{type: ReLU}]\n")
    result = runner.invoke(app, ["verify", str(path)], env=WIDE)
    assert result.exit_code == 0 and result.stdout.endswith("\nthe 1 layer agrees with torch\n")


def test_summary_shows_mult_adds_as_a_count() -> None:
    result = runner.invoke(app, ["build", "--summary"], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    assert "Units." not in result.stdout
    assert re.search(r"^Total mult-adds: 793,555,584$", result.stdout, re.MULTILINE)


@pytest.mark.skipif(not hasattr(signal, "SIGPIPE"), reason="no SIGPIPE on this platform")
def test_a_reader_that_stops_early_ends_the_command_quietly() -> None:
    """`shapecalc check resnet50 | head -1`: killed by SIGPIPE as `cat` would be (the shell's
    141), or done before the pipe closed; never exit 1 ("invalid") or a message."""
    process = subprocess.Popen(
        [sys.executable, "-m", "shapecalc", "check", "resnet50", "--depth", "9"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert process.stdout is not None and process.stderr is not None
    assert process.stdout.readline().startswith(b"/")
    process.stdout.close()
    error = process.stderr.read()
    process.stderr.close()
    assert process.wait() in (0, -signal.SIGPIPE)
    assert error == b""
