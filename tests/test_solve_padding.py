"""solve_padding: brute force over a grid, round trips through the calculator, torch spot checks."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st
from oracle import torch_layer
from typer.testing import CliRunner

from shapecalc.cli import app
from shapecalc.formulas import conv_size, pool_size
from shapecalc.layers import Conv2d, MaxPool2d
from shapecalc.solvers.padding import padding_candidates, pool_padding_limit, solve_padding

runner = CliRunner()
CONV_P_MAX = 40


def _expand(spans: list[tuple[int, int]]) -> set[int]:
    return {p for lo, hi in spans for p in range(lo, hi + 1)}


@pytest.mark.parametrize("mode", ["conv", "pool", "pool-ceil"])
def test_closed_form_equals_brute_force_on_the_grid(mode: str) -> None:
    pool, ceil = mode != "conv", mode == "pool-ceil"
    checked = 0
    for k in range(1, 12):
        for s in range(1, 5):
            for d in range(1, 4):
                p_max = pool_padding_limit(k, d) if pool else CONV_P_MAX
                for n in range(1, 65):
                    outputs: dict[int, set[int]] = {}
                    for p in range(p_max + 1):
                        out = (
                            pool_size(n, k, s, p, d, ceil) if pool else conv_size(n, k, s, p, p, d)
                        )
                        if out >= 1:
                            outputs.setdefault(out, set()).add(p)
                    # every m whose solutions all lie below p_max (conv outputs grow with p)
                    top = (
                        max(outputs, default=0) + 2 if pool else conv_size(n, k, s, p_max, p_max, d)
                    )
                    for m in range(1, top):
                        assert _expand(
                            padding_candidates(k, n, m, s, d, pool, ceil)
                        ) == outputs.get(m, set()), (
                            k,
                            n,
                            m,
                            s,
                            d,
                            mode,
                        )
                        checked += 1
    assert checked > 100_000


solver_args = st.tuples(
    st.integers(1, 11),
    st.integers(1, 64),
    st.integers(1, 70),
    st.integers(1, 4),
    st.integers(1, 3),
    st.sampled_from(["conv", "pool", "pool-ceil"]),
)


@given(solver_args)
def test_every_padding_round_trips_through_the_calculator(args) -> None:  # type: ignore[no-untyped-def]
    k, n, m, s, d, mode = args
    pool, ceil = mode != "conv", mode == "pool-ceil"
    solution = solve_padding(k, n, m, s, d, pool=pool, ceil_mode=ceil)
    assert solution.ok == bool(solution.paddings)
    for p in solution.paddings:
        if pool:
            layer = MaxPool2d(
                type="MaxPool2d", kernel_size=k, stride=s, padding=p, dilation=d, ceil_mode=ceil
            )
        else:
            layer = Conv2d(
                type="Conv2d", out_channels=1, kernel_size=k, stride=s, padding=p, dilation=d
            )
        assert layer.infer((1, 1, n, n)).output[-2:] == (m, m)
    if solution.ok:
        assert solution.recommended == min(solution.paddings)
    else:
        assert solution.recommended is None
        assert solution.dims[0].reason


@given(solver_args)
def test_spot_check_against_torch(args) -> None:  # type: ignore[no-untyped-def]
    k, n, m, s, d, mode = args
    pool, ceil = mode != "conv", mode == "pool-ceil"
    solution = solve_padding(k, n, m, s, d, pool=pool, ceil_mode=ceil)
    layer_type = "MaxPool2d" if pool else "Conv2d"
    base = {"kernel_size": k, "stride": s, "dilation": d}
    base.update({"ceil_mode": ceil} if pool else {"in_channels": 1, "out_channels": 1})
    for p in solution.paddings[:3]:
        assert torch_layer(layer_type, {**base, "padding": p}, (1, 1, n, n)).shape == (1, 1, m, m)
    if not solution.ok:
        # torch agrees: no padding in a generous range gives m
        limit = pool_padding_limit(k, d) if pool else m + k * d
        for p in range(limit + 1):
            assert torch_layer(layer_type, {**base, "padding": p}, (1, 1, n, n)).shape != (
                1,
                1,
                m,
                m,
            )


def test_pairs_are_solved_per_dimension() -> None:
    solution = solve_padding((5, 3), 32, (32, 30))
    assert solution.paddings == [[2], [0]]
    assert solution.recommended == [2, 0]


def test_strided_conv_lists_every_padding() -> None:
    assert solve_padding(4, 32, 16, stride=2).paddings == [1]
    assert solve_padding(3, 32, 16, stride=4).paddings == [16, 17]
    assert solve_padding(1, 10, 4, stride=3).paddings == [0, 1]


def test_ceil_mode_trap() -> None:
    # MaxPool2d(2, stride 2, ceil_mode) maps 5 to 3 with padding 0 and with padding 1 (not 4)
    assert solve_padding(2, 5, 3, 2, pool=True, ceil_mode=True).paddings == [0, 1]
    assert solve_padding(2, 5, 4, 2, pool=True, ceil_mode=True).paddings == []


def test_library_rejects_bad_values() -> None:
    with pytest.raises(ValueError, match=r"^kernel_size must be positive integers, but got \[0\]$"):
        solve_padding(0, 32, 32)
    with pytest.raises(ValueError, match="ceil_mode applies to pooling layers only"):
        solve_padding(2, 32, 32, ceil_mode=True)


# --- CLI ------------------------------------------------------------------------------------------


def test_cli_seed_question_golden(golden) -> None:  # type: ignore[no-untyped-def]
    result = runner.invoke(
        app, ["solve-padding", "--k", "5", "--in", "32", "--out", "32"], env={"COLUMNS": "120"}
    )
    assert result.exit_code == 0
    golden("solve_padding_k5.txt", result.stdout)
    assert "32 = ⌊(32 + 2p − 1·(5−1) − 1)/1⌋ + 1  ⇒  2p = 4  ⇒  p = 2" in result.stdout


def test_cli_no_solution_golden(golden) -> None:  # type: ignore[no-untyped-def]
    result = runner.invoke(
        app, ["solve-padding", "--k", "4", "--in", "32", "--out", "32"], env={"COLUMNS": "120"}
    )
    assert result.exit_code == 1
    golden("solve_padding_k4.txt", result.stdout)
    assert result.stderr.startswith(
        "error: no padding maps 32 to 32: at stride 1 the output is 32 + 2p − 3"
    )
    assert "padding='same'" in result.stdout and "nn.ZeroPad2d" in result.stdout


def test_cli_json() -> None:
    result = runner.invoke(
        app, ["solve-padding", "--k", "3", "--in", "32", "--out", "16", "--stride", "4", "--json"]
    )
    assert result.exit_code == 0
    doc = json.loads(result.stdout)
    assert doc["paddings"] == [16, 17] and doc["recommended"] == 16
    assert "⇒  31 ≤ 2p ≤ 34  ⇒  p ∈ [16, 17]" in doc["derivation"]
    result = runner.invoke(
        app, ["solve-padding", "--k", "4", "--in", "32", "--out", "32", "--json"]
    )
    assert result.exit_code == 1
    doc = json.loads(result.stdout)
    assert doc["paddings"] == [] and doc["recommended"] is None
    assert doc["dims"][0]["nearest"] == [{"out": 31, "padding": 1}, {"out": 33, "padding": 2}]


def test_cli_pairs_and_pool() -> None:
    result = runner.invoke(
        app, ["solve-padding", "--k", "5,3", "--in", "32", "--out", "32,30", "--json"]
    )
    assert json.loads(result.stdout)["recommended"] == [2, 0]
    result = runner.invoke(
        app, ["solve-padding", "--k", "2", "--in", "32", "--out", "17", "--stride", "2", "--pool"]
    )
    assert result.exit_code == 0 and "padding = 1" in result.stdout
    result = runner.invoke(
        app, ["solve-padding", "--k", "2", "--in", "32", "--out", "18", "--stride", "2", "--pool"]
    )
    assert result.exit_code == 1
    assert "pooling padding is at most half the kernel (1 for kernel_size=2)" in result.stderr


@pytest.mark.parametrize(
    "args",
    [
        ["--k", "0", "--in", "32", "--out", "32"],
        ["--k", "five", "--in", "32", "--out", "32"],
        ["--k", "2.5", "--in", "32", "--out", "32"],
        ["--k", "3", "--in", "32", "--out", "32", "--stride", "0"],
        ["--k", "3", "--in", "32", "--out", "32", "--ceil-mode"],
        ["--k", "3", "--in", "32"],
    ],
)
def test_cli_usage_errors_exit_2(args: list[str]) -> None:
    result = runner.invoke(app, ["solve-padding", *args])
    assert result.exit_code == 2
    assert "Traceback" not in result.stderr
    assert "Usage" in result.stderr
