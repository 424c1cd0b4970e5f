"""Benchmarks for the calculator and the solvers. Run: python tests/benchmark.py

Each line measures two things side by side in the same run and prints their ratio, so the numbers
mean something on a shared, noisy machine. Not collected by pytest (no test_ prefix).
"""

from __future__ import annotations

import contextlib
import time
import tracemalloc
from collections.abc import Callable

from shapecalc.errors import ShapeError
from shapecalc.loader import bundled, load, loads
from shapecalc.solvers import solve_input
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


def main() -> None:
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

    solve_input_figures()


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


if __name__ == "__main__":
    main()
