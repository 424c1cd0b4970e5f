"""Benchmarks for the calculator and the solvers. Run: python tests/benchmark.py

Each line measures two things side by side in the same run and prints their ratio, so the numbers
mean something on a shared, noisy machine. Not collected by pytest (no test_ prefix).
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from collections.abc import Callable

from shapecalc.formulas import pool_size
from shapecalc.loader import loads
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


def main() -> None:
    graph_figures()
    text = deep_spec_text(10_000)
    spec = loads(text).spec
    t_load = best_of(lambda: loads(text))
    t_prop = best_of(lambda: propagate(spec))
    print(
        f"10,000-layer spec: read + validate {t_load * 1e3:.0f} ms, propagate {t_prop * 1e3:.0f} ms, "
        f"check in all {(t_load + t_prop) * 1e3:.0f} ms"
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

    spec100 = pooled_spec(100)
    t_solve = best_of(lambda: solve_input(spec100, 1024), repeat=3)
    one = statistics.median(
        [best_of(lambda: propagate(spec100, (1, 3, 64, 64)), repeat=3) for _ in range(3)]
    )
    print(
        f"solve-input, 100 layers, N = 1024: {t_solve * 1e3:.0f} ms; one propagate {one * 1e6:.0f} µs; "
        f"a brute-force scan of 1024² inputs would take ~{one * 1024 * 1024:.0f} s "
        f"({one * 1024 * 1024 / t_solve:.0f}x slower)"
    )
    solve_padding_figures()


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


if __name__ == "__main__":
    main()
