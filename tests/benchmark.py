"""Benchmarks for the calculator and the solvers. Run: python tests/benchmark.py

Each line measures two things side by side in the same run and prints their ratio, so the numbers
mean something on a shared, noisy machine. Not collected by pytest (no test_ prefix).
"""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path

from shapecalc.errors import ShapeError
from shapecalc.formulas import pool_size
from shapecalc.loader import bundled, load, loads
from shapecalc.solvers import solve_input, solve_padding
from shapecalc.spec import Spec
from shapecalc.trace import propagate


def best_of(fn: Callable[[], object], repeat: int = 5) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def deep_spec_text(layers: int) -> str:
    """A valid spec of ``layers`` layers: 3×3 convolutions (padding 1) with ReLU and BatchNorm."""
    lines = ["name: Deep", "input: [8, 32, 32]", "batch: 8", "layers:"]
    kinds = [
        "  - {type: Conv2d, out_channels: 8, kernel_size: 3, padding: 1}",
        "  - {type: BatchNorm2d}",
        "  - {type: ReLU}",
    ]
    lines += [kinds[i % 3] for i in range(layers - 2)]
    lines += ["  - {type: Flatten}", "  - {type: Linear, out_features: 10}"]
    return "\n".join(lines) + "\n"


def pooled_spec(layers: int) -> Spec:
    """``layers`` layers: padded convolutions, with a stride-2 pool every 25 layers, then Linear."""
    body = []
    for i in range(layers - 2):
        if i % 25 == 24:
            body.append({"type": "MaxPool2d", "kernel_size": 2})
        else:
            body.append({"type": "Conv2d", "out_channels": 4, "kernel_size": 3, "padding": 1})
    body += [{"type": "Flatten"}, {"type": "Linear", "out_features": 10}]
    return Spec.model_validate({"input": [3, 64, 64], "layers": body})


def process_seconds(commands: dict[str, list[str]], rounds: int = 5) -> dict[str, float]:
    """Best wall time of each whole process (start-up and imports included). The commands take
    turns, round after round, so a burst of load on a shared machine hits them alike."""
    best = dict.fromkeys(commands, float("inf"))
    for _ in range(rounds):
        for name, args in commands.items():
            start = time.perf_counter()
            subprocess.run(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            best[name] = min(best[name], time.perf_counter() - start)
    return best


def command_line() -> None:
    """The check command as users run it, against `python -c "import torch"` in the same run."""
    python = sys.executable
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "deep.yaml"
        path.write_text(deep_spec_text(10_000), encoding="utf-8")
        t = process_seconds(
            {
                "torch": [python, "-c", "import torch"],
                "check": [python, "-m", "shapecalc", "check", str(path)],
                "resnet50": [python, "-m", "shapecalc", "check", "resnet50"],
                "json": [python, "-m", "shapecalc", "check", str(path), "--json"],
                "pass": [python, "-c", "pass"],
                "version": [python, "-m", "shapecalc", "--version"],
                "help": [python, "-m", "shapecalc", "check", "--help"],
            }
        )
    print(
        f"shapecalc check, 10,000 layers, whole process: {t['check'] * 1e3:.0f} ms = "
        f"{t['check'] / t['torch']:.2f}x `python -c 'import torch'` ({t['torch'] * 1e3:.0f} ms; "
        f"goal <= 0.6x); --json {t['json'] / t['torch']:.2f}x"
    )
    print(
        f"shapecalc check resnet50, whole process: {t['resnet50'] * 1e3:.0f} ms = "
        f"{t['resnet50'] / t['torch']:.2f}x `python -c 'import torch'` (goal <= 0.2x)"
    )
    print(
        f"shapecalc --version: {t['version'] * 1e3:.0f} ms, check --help: {t['help'] * 1e3:.0f} ms "
        f"(python -c pass: {t['pass'] * 1e3:.0f} ms; {t['version'] / t['pass']:.1f}x and "
        f"{t['help'] / t['pass']:.1f}x)"
    )


def residual_graph_text(blocks: int) -> str:
    """A graph of ``blocks`` residual blocks (conv, BN, ReLU, conv, Add with the block's input):
    about 5 nodes and 6 edges per block."""
    return (
        "name: Residual\ninput: [8, 16, 16]\nblocks:\n  Res:\n    layers:\n"
        "      - {type: Conv2d, out_channels: 8, kernel_size: 3, padding: 1}\n"
        "      - {type: BatchNorm2d}\n      - {type: ReLU}\n"
        "      - {type: Conv2d, out_channels: 8, kernel_size: 3, padding: 1}\n"
        "      - {type: Add, from: [conv2, x]}\n"
        f"layers:\n  - {{type: Res, name: stage, repeat: {blocks}}}\n"
    )


def graph_figures() -> None:
    """Propagation is linear in nodes + edges: a 10,000-node residual graph beside a chain."""
    graph = loads(residual_graph_text(2_000)).spec
    chain = loads(deep_spec_text(10_000)).spec
    nodes = len(propagate(graph).layers)
    t_graph = best_of(lambda: propagate(graph), repeat=3)
    t_chain = best_of(lambda: propagate(chain), repeat=3)
    half = loads(residual_graph_text(1_000)).spec
    t_half = best_of(lambda: propagate(half), repeat=3)
    print(
        f"graph of {nodes:,} nodes (2,000 residual blocks): propagate {t_graph * 1e3:.0f} ms "
        f"in-process, {t_graph / t_chain:.1f}x a 10,000-layer chain; half the blocks take "
        f"{t_half / t_graph:.2f}x the time (linear: 0.5)"
    )


def analysis_figures() -> None:
    """Receptive fields, memory and operations are linear too: beside propagate, on the 10,000-layer
    chain and the 10,000-node residual graph."""
    from shapecalc.analysis.report import analyse

    for what, text in (
        ("10,000-layer chain", deep_spec_text(10_000)),
        ("10,000-node residual graph", residual_graph_text(2_000)),
    ):
        trace = propagate(loads(text).spec)
        t_prop = best_of(lambda text=text: propagate(loads(text).spec), repeat=3)  # type: ignore[misc]
        t_counts = best_of(lambda trace=trace: analyse(trace, fields=False), repeat=3)  # type: ignore[misc]
        t_all = best_of(lambda trace=trace: analyse(trace), repeat=3)  # type: ignore[misc]
        print(
            f"{what}: memory and operations {t_counts * 1e3:.0f} ms ({t_counts / t_prop:.2f}x "
            f"read + propagate), with receptive fields {t_all * 1e3:.0f} ms "
            f"({t_all / t_prop:.2f}x)"
        )


def main() -> None:
    command_line()
    graph_figures()
    analysis_figures()
    text = deep_spec_text(10_000)
    spec = loads(text).spec
    t_load = best_of(lambda: loads(text))
    t_prop = best_of(lambda: propagate(spec))
    print(
        f"10,000-layer spec: read + validate {t_load * 1e3:.0f} ms, propagate {t_prop * 1e3:.0f} ms, "
        f"check in all {(t_load + t_prop) * 1e3:.0f} ms"
    )
    big = deep_spec_text(100_000)
    t_big = best_of(lambda: loads(big), repeat=1)
    print(
        f"100,000-layer spec (no alias): read + validate {t_big * 1e3:.0f} ms = "
        f"{t_big / t_load:.1f}x the 10,000-layer one (linear would be 10x)"
    )

    try:
        import torch

        from shapecalc.builder import build

        model = build(spec, device="meta")
        x = torch.ones(spec.input_shape, device="meta")
        with torch.no_grad():
            t_meta = best_of(lambda: model(x), repeat=1)
        print(
            f"  vs a meta-device forward pass of the same net: {t_meta * 1e3:.0f} ms "
            f"(propagate is {t_meta / t_prop:.1f}x faster)"
        )
    except ImportError:
        print("  (torch not installed: no meta-device comparison)")

    solve_input_figures()
    solve_padding_figures()
    meta_verify_figures()


def plain_chain(blocks: int) -> Spec:
    """Conv k3 p1 + BatchNorm + ReLU blocks, Flatten, Linear: no downsampling anywhere."""
    layers: list[dict[str, object]] = []
    for _ in range(blocks):
        layers += [
            {"type": "Conv2d", "out_channels": 8, "kernel_size": 3, "padding": 1},
            {"type": "BatchNorm2d"},
            {"type": "ReLU"},
        ]
    layers += [{"type": "Flatten"}, {"type": "Linear", "out_features": 10}]
    return Spec.model_validate({"input": [3, 32, 32], "layers": layers})


def varied_chain(blocks: int) -> Spec:
    """Like plain_chain, but every convolution has its own channel count (no two layers equal)."""
    layers: list[dict[str, object]] = []
    for i in range(blocks):
        layers += [
            {"type": "Conv2d", "out_channels": 4 + i, "kernel_size": 3, "padding": 1},
            {"type": "BatchNorm2d"},
            {"type": "ReLU"},
        ]
    layers += [{"type": "Flatten"}, {"type": "Linear", "out_features": 10}]
    return Spec.model_validate({"input": [3, 32, 32], "layers": layers})


UNET = bundled("unet").read_text(encoding="utf-8")  # the graph format reference's U-Net


def peak_mib(fn: Callable[[], object]) -> float:
    """Peak Python memory of one call, in MiB (tracemalloc, measured apart from the timing)."""
    tracemalloc.start()
    try:
        fn()
        return tracemalloc.get_traced_memory()[1] / 2**20
    finally:
        tracemalloc.stop()


def compile_once(spec: Spec) -> None:
    """One propagate (up to the node where the spec's own input fails, if it does)."""
    with contextlib.suppress(ShapeError):
        propagate(spec)


def solve_input_figures() -> None:
    """solve-input on the questions that used to take seconds and gigabytes (goal: each under
    0.5 s and 100 MiB), side by side with one propagate of the same spec."""
    cifar = load(bundled()).spec
    cases: list[tuple[str, Spec, int | None]] = [
        ("10 layers, no downsampling, --max 1024", plain_chain(3), 1024),
        ("CIFAR10, --max 16384 (the documented maximum)", cifar, 16384),
        ("400 layers, no downsampling, default --max", loads(deep_spec_text(400)).spec, None),
        ("400 layers with 15 pools, default --max", pooled_spec(400), None),
        ("400 layers, no two alike, default --max", varied_chain(133), None),
        ("the graph format's U-Net (merges), default --max", loads(UNET).spec, None),
    ]
    print("solve-input (goal: each under 0.5 s and 100 MiB)")
    for name, spec, max_size in cases:
        took = best_of(lambda: solve_input(spec, max_size), repeat=3)  # noqa: B023
        one = best_of(lambda: compile_once(spec), repeat=5)  # noqa: B023
        peak = peak_mib(lambda: solve_input(spec, max_size))  # noqa: B023
        print(
            f"  {name}: {took * 1e3:.0f} ms = {took / one:.0f}x one propagate of it "
            f"({one * 1e3:.1f} ms); peak memory {peak:.1f} MiB"
        )
    one = best_of(lambda: propagate(cifar, (1, 3, 32, 32)), repeat=5)
    took = best_of(lambda: solve_input(cifar, 16384), repeat=3)
    print(
        f"  a torch-free brute force of CIFAR10's 16384² inputs, one propagate each, would take "
        f"~{one * 16384**2 / 3600:.0f} h ({one * 16384**2 / took:,.0f}x solve-input)"
    )


def solve_padding_figures() -> None:
    """The largest solve-padding questions cost what the CIFAR10 one does (closed form)."""
    baseline = best_of(lambda: solve_padding(5, 32, 32), repeat=200)
    print(f"solve-padding, k5 32 → 32 (the CIFAR10 question): {baseline * 1e6:.0f} µs")
    questions: dict[str, Callable[[], object]] = {
        "--out 100000000": lambda: solve_padding(3, 32, 100_000_000),
        "--stride 100000000 (5·10⁷ paddings)": lambda: solve_padding(3, 32, 1, 100_000_000),
        "--k 2147483647 --pool, no answer": lambda: solve_padding(2**31 - 1, 32, 31, pool=True),
        "--k 2147483647 --pool --ceil-mode": lambda: solve_padding(
            2**31 - 1, 2**31 - 1, 5, 7, pool=True, ceil_mode=True
        ),
        "--transposed, every value 2³¹−1": lambda: solve_padding(
            *(2**31 - 1,) * 5, transposed=True
        ),
        "--transposed k3 s2 32 → 64": lambda: solve_padding(3, 32, 64, 2, transposed=True),
    }
    for name, question in questions.items():
        took = best_of(question, repeat=200)
        print(f"  {name}: {took * 1e6:.0f} µs ({took / baseline:.1f}x the CIFAR10 question)")
    # what a scan of every padding up to the pooling limit (2³⁰) would cost, one formula per step
    one = best_of(lambda: [pool_size(32, 2**31 - 1, 1, p, 1, False) for p in range(1000)]) / 1000
    nearest = best_of(lambda: solve_padding(2**31 - 1, 32, 31, pool=True), repeat=200)
    print(
        f"  a scan of the 2³⁰ paddings of --k 2147483647 --pool would take ~{one * 2**30:.0f} s "
        f"({one * 2**30 / nearest:,.0f}x the closed form)"
    )

    def run(*args: str) -> float:
        return best_of(
            lambda: subprocess.run([sys.executable, *args], check=False, capture_output=True),
            repeat=5,
        )

    startup = run("-c", "pass")
    cli = ["-m", "shapecalc", "solve-padding", "--k", "3", "--in", "32"]
    small = run(*cli, "--out", "32")
    huge = run(*cli, "--out", "1", "--stride", "100000000", "--json")
    print(
        f"  whole process: python -c pass {startup * 1e3:.0f} ms; solve-padding k3 32 → 32 "
        f"{small / startup:.1f}x that; --stride 100000000 --json {huge / startup:.1f}x that "
        f"({huge / small:.2f}x the small question)"
    )


def _peak_kib(*args: str) -> int:
    """Peak resident memory (KiB) of ``python *args``, measured by a parent of its own."""
    code = (
        "import resource, subprocess, sys\n"
        "subprocess.run(sys.argv[1:], check=True, stdout=subprocess.DEVNULL)\n"
        "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)"
    )
    run = subprocess.run(
        [sys.executable, "-c", code, sys.executable, *args],
        check=True,
        capture_output=True,
        text=True,
    )
    return int(run.stdout)


_LAZY = """
import json, resource, sys, time
def resident():  # KiB now; the peak where /proc is missing
    try:
        with open("/proc/self/status") as status:
            return next(int(line.split()[1]) for line in status if line.startswith("VmRSS"))
    except OSError:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
start = time.perf_counter()
import torch
torch_s, torch_kib = time.perf_counter() - start, resident()
steps = []
for module in sys.argv[1:]:
    before, start = resident(), time.perf_counter()
    __import__(module)
    steps.append([time.perf_counter() - start, resident() - before])
print(json.dumps([torch_s, torch_kib, steps]))
"""


def meta_verify_figures() -> None:
    """verify --device meta: peak memory beside import torch's, and the lazy imports of torch's
    first meta operations (torch._dynamo is skipped by verify, sympy is not avoidable)."""
    try:
        import torch  # noqa: F401
    except ImportError:
        print("verify --device meta: torch not installed")
        return
    from shapecalc.loader import bundled

    resnet50 = str(bundled("resnet50"))
    torch_only = _peak_kib("-c", "import torch")
    verify = ["-m", "shapecalc", "verify", "--device", "meta", resnet50]
    at_256 = _peak_kib(*verify, "--batch", "256")
    at_1 = _peak_kib(*verify, "--batch", "1")
    trace = propagate(loads(bundled("resnet50").read_text()).spec, (256, 3, 224, 224))
    activations = sum(4 * _numel(row.output_shape) for row in trace.layers)
    print(
        f"verify --device meta resnet50 --batch 256: peak memory {at_256 / 1024:.0f} MiB, "
        f"{at_256 / torch_only:.2f}x python -c 'import torch' ({torch_only / 1024:.0f} MiB); "
        f"at --batch 1 {at_1 / 1024:.0f} MiB ({at_256 / at_1:.2f}x: no activations, which "
        f"would be {activations / 2**30:.0f} GiB at batch 256 in float32)"
    )
    # in the order the first meta operations import them: a conv's meta kernel imports the
    # symbolic-shapes module (and sympy), a BatchNorm's decomposition torch._dynamo
    modules = {
        "torch.fx.experimental.symbolic_shapes": "with sympy; torch's meta kernels need it",
        "torch._dynamo": "what remains of it; skipped by verify on meta",
    }
    run = subprocess.run(
        [sys.executable, "-c", _LAZY, *modules], check=True, capture_output=True, text=True
    )
    torch_s, torch_kib, steps = json.loads(run.stdout)
    for (module, what), (took, grew) in zip(modules.items(), steps, strict=True):
        print(
            f"  first meta operations import {module} ({what}): {took:.2f} s and "
            f"{grew / 1024:.0f} MiB, {took / torch_s:.2f}x the time and {grew / torch_kib:.2f}x "
            f"the memory of import torch ({torch_s:.2f} s)"
        )


def _numel(shape: tuple[int, ...]) -> int:
    n = 1
    for size in shape:
        n *= size
    return n


if __name__ == "__main__":
    main()
