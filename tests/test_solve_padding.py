"""solve_padding: brute force over a grid, torch round trips and scans, huge arguments, the CLI."""

from __future__ import annotations

import json
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st
from oracle import torch_layer
from typer.testing import CliRunner

from shapecalc.cli import app
from shapecalc.formulas import conv_size, effective_kernel, pool_size
from shapecalc.solvers.padding import (
    MAX_LISTED,
    MAX_SIZE,
    PaddingAnswer,
    padding_candidates,
    pool_padding_limit,
    solve_padding,
)

runner = CliRunner()
CONV_P_MAX = 24
MODES = ["conv", "pool", "pool-ceil", "transposed"]


def _expand(spans: list[tuple[int, int]]) -> set[int]:
    return {p for lo, hi in spans for p in range(lo, hi + 1)}


def _flags(mode: str) -> dict[str, bool]:
    return {
        "pool": mode.startswith("pool"),
        "ceil_mode": mode == "pool-ceil",
        "transposed": mode == "transposed",
    }


def out_size(mode: str, n: int, k: int, s: int, p: int, d: int, op: int = 0) -> int:
    """The output size by the formula torch documents (no validity checks but a fitting kernel)."""
    if mode == "transposed":
        return (n - 1) * s - 2 * p + d * (k - 1) + op + 1
    if mode == "conv":
        return conv_size(n, k, s, p, p, d)
    return pool_size(n, k, s, p, d, mode == "pool-ceil")


def transposed_ok(k: int, s: int, d: int, p: int, op: int, out: int) -> bool:
    """torch's rules: output_padding < max(stride, dilation), padding ≥ 0, a non-empty output."""
    return p >= 0 and 0 <= op < max(s, d) and out >= 1


def brute_force(mode: str, k: int, n: int, s: int, d: int) -> dict[int, set[tuple[int, int]]]:
    """Every output size ≥ 1 reachable with a valid padding (and output_padding), scanned."""
    outputs: dict[int, set[tuple[int, int]]] = {}
    if mode == "transposed":
        reach = max(s, d)
        base = (n - 1) * s + effective_kernel(k, d)
        for p in range((base + reach) // 2 + 1):  # beyond this every output is < 1
            for op in range(reach):
                out = out_size(mode, n, k, s, p, d, op)
                if transposed_ok(k, s, d, p, op, out):
                    outputs.setdefault(out, set()).add((p, op))
        return outputs
    p_max = pool_padding_limit(k, d) if mode != "conv" else CONV_P_MAX
    for p in range(p_max + 1):
        out = out_size(mode, n, k, s, p, d)
        if out >= 1:
            outputs.setdefault(out, set()).add((p, 0))
    return outputs


def pairs(dim: PaddingAnswer) -> set[tuple[int, int]]:
    """Every (padding, output_padding) of an answer (output_padding 0 unless transposed)."""
    return {(p, dim.output_padding_for(p) or 0) for lo, hi in dim.ranges for p in range(lo, hi + 1)}


def solver_pairs(k: int, n: int, m: int, s: int, d: int, mode: str) -> set[tuple[int, int]]:
    return pairs(solve_padding(k, n, m, s, d, **_flags(mode)).dims[0])


def scanned_nearest(outputs: dict[int, set[tuple[int, int]]], m: int) -> list[tuple[int, int, int]]:
    """The reachable sizes next to m, each with its smallest padding (then output_padding)."""
    below = [o for o in outputs if o < m]
    above = [o for o in outputs if o > m]
    picked = ([max(below)] if below else []) + ([min(above)] if above else [])
    return [(o, *min(outputs[o])) for o in picked]


@pytest.mark.parametrize("mode", MODES)
def test_closed_form_equals_brute_force_on_the_grid(mode: str) -> None:
    """Every (padding, output_padding) a scan finds, the solver finds, and nothing else; when
    there is none, the nearest sizes are the scan's nearest, with the smallest padding."""
    transposed = mode == "transposed"
    flags = _flags(mode)
    checked = nearest_checked = 0
    for k in range(1, 12 if not transposed else 7):
        for s in range(1, 5):
            for d in range(1, 4):
                for n in range(1, 49 if not transposed else 17):
                    outputs = brute_force(mode, k, n, s, d)
                    if mode == "conv":  # every m whose paddings all lie below CONV_P_MAX
                        top = conv_size(n, k, s, CONV_P_MAX, CONV_P_MAX, d)
                    else:
                        top = max(outputs, default=0) + 2
                    for m in range(1, top):
                        found = outputs.get(m, set())
                        dim = solve_padding(k, n, m, s, d, **flags).dims[0]
                        assert pairs(dim) == found, (k, n, m, s, d, mode)
                        checked += 1
                        if found:
                            continue
                        ops = dim.nearest_output_paddings or (0,) * len(dim.nearest)
                        nearest = [(o, p, op) for (o, p), op in zip(dim.nearest, ops, strict=True)]
                        expected = scanned_nearest(outputs, m)
                        assert nearest == expected, (k, n, m, s, d, mode)
                        nearest_checked += 1
    assert checked > (60_000 if not transposed else 10_000), checked
    assert nearest_checked > 1_000


def test_output_never_decreases_as_padding_grows() -> None:
    """What makes each answer one interval (and the nearest sizes thresholds)."""
    for mode in ("conv", "pool", "pool-ceil"):
        for k in range(1, 10):
            for s in range(1, 7):
                for d in range(1, 4):
                    for n in range(1, 40):
                        sizes = [out_size(mode, n, k, s, p, d) for p in range(30)]
                        assert sizes == sorted(sizes), (mode, k, s, d, n)


# --- torch as the oracle --------------------------------------------------------------------------

solver_args = st.tuples(
    st.integers(1, 9),  # kernel_size
    st.integers(1, 24),  # in
    st.integers(1, 48),  # out
    st.integers(1, 4),  # stride
    st.integers(1, 3),  # dilation
    st.sampled_from(MODES),
    st.sampled_from([1, 2]),  # spatial dims: Conv1d / Conv2d, ...
)


def _torch_type(mode: str, ndim: int) -> str:
    family = {"conv": "Conv", "transposed": "ConvTranspose"}.get(mode, "MaxPool")
    return f"{family}{ndim}d"


def _torch_args(mode: str, k: int, s: int, d: int, p: int, op: int) -> dict[str, object]:
    args: dict[str, object] = {"kernel_size": k, "stride": s, "dilation": d, "padding": p}
    if mode in ("conv", "transposed"):
        args.update(in_channels=1, out_channels=1)
    if mode == "transposed":
        args["output_padding"] = op
    if mode.startswith("pool"):
        args["ceil_mode"] = mode == "pool-ceil"
    return args


@given(solver_args)
def test_torch_finds_exactly_what_the_solver_finds(args) -> None:  # type: ignore[no-untyped-def]
    """Every answer round-trips through the torch layer, and a scan of torch over paddings (and
    output_paddings, valid or not) finds no other way to reach the size."""
    k, n, m, s, d, mode, ndim = args
    solution = solve_padding(k, n, m, s, d, **_flags(mode))
    dim = solution.dims[0]
    layer = _torch_type(mode, ndim)
    shape = (1, 1) + (n,) * ndim
    want = (1, 1) + (m,) * ndim
    ours = solver_pairs(k, n, m, s, d, mode)
    for p, op in ours:
        assert torch_layer(layer, _torch_args(mode, k, s, d, p, op), shape).shape == want
    # scan a little past every limit, so that torch's refusals are seen too
    if mode == "transposed":
        base = (n - 1) * s + effective_kernel(k, d)
        grid = [(p, op) for p in range((base + max(s, d)) // 2 + 2) for op in range(max(s, d) + 1)]
    else:
        top = pool_padding_limit(k, d) + 1 if mode != "conv" else (s * m + k * d) // 2 + 2
        grid = [(p, 0) for p in range(top + 1)]
    theirs = {
        (p, op)
        for p, op in grid
        if torch_layer(layer, _torch_args(mode, k, s, d, p, op), shape).shape == want
    }
    assert ours == theirs, (args, ours, theirs)
    assert solution.ok == bool(ours)
    if solution.ok:
        assert solution.recommended == min(p for p, _ in ours)
        if mode == "transposed":
            # the smallest padding also has the smallest output_padding
            assert (solution.recommended, solution.output_padding) == min(ours)
    else:
        assert solution.recommended is None and dim.reason


def test_transposed_classic_doubling() -> None:
    """k3 s2 p1 gives 2n−1; output_padding=1 gives 2n. k4 s2 p1 gives 2n without it."""
    solution = solve_padding(3, 32, 64, stride=2, transposed=True)
    assert (solution.paddings, solution.recommended, solution.output_padding) == ([1], 1, 1)
    text = "\n".join(solution.dims[0].derivation)
    assert "with padding 1 and output_padding 0 the output is 63 = 2·32 − 1" in text
    assert "output_padding=1 adds 1 at the end" in text
    assert "maps both 63 and 64 to 32" in text
    solution = solve_padding(4, 32, 64, stride=2, transposed=True)
    assert (solution.recommended, solution.output_padding) == (1, 0)
    # stride 4: two paddings, each with its own output_padding
    solution = solve_padding(4, 8, 32, stride=4, transposed=True)
    assert solution.paddings == [0, 1] and solution.dims[0].output_paddings == (0, 2)
    # dilation widens what torch accepts: output_padding < max(stride, dilation)
    solution = solve_padding(3, 8, 16, stride=1, dilation=3, transposed=True)
    assert (solution.paddings, solution.output_padding) == ([0], 2)
    layer = {"in_channels": 1, "out_channels": 1, "kernel_size": 3, "dilation": 3}
    assert torch_layer("ConvTranspose1d", {**layer, "output_padding": 2}, (1, 1, 8)).shape == (
        1,
        1,
        16,
    )


def test_transposed_without_a_solution_says_why() -> None:
    dim = solve_padding(3, 32, 33, transposed=True).dims[0]
    assert dim.reason is not None and "output_padding must be 0" in dim.reason
    assert "34 − 2p: even for every padding, while 33 is odd" in dim.reason
    assert dim.nearest == ((32, 1), (34, 0)) and dim.nearest_output_paddings == (0, 0)
    assert any("kernel_size=4 reaches 33 with padding 1" in a for a in dim.alternatives)
    dim = solve_padding(3, 32, 500, stride=2, transposed=True).dims[0]
    assert dim.reason is not None and dim.reason.startswith("the largest output is 66")
    assert dim.nearest == ((66, 0),) and dim.nearest_output_paddings == (1,)
    assert "stride=16 reaches 500 with padding 0 and output_padding 1" in dim.alternatives
    # the suggested stride works
    assert solve_padding(3, 32, 500, stride=16, transposed=True).recommended == 0


# --- huge arguments: closed form, answered as intervals --------------------------------------------

big = st.integers(1, MAX_SIZE)


@st.composite
def huge_questions(draw: st.DrawFn) -> tuple[int, int, int, int, int, str]:
    mode = draw(st.sampled_from(MODES))
    k, n, s, d = draw(big), draw(big), draw(big), draw(big)
    if draw(st.booleans()):  # a size some padding reaches
        p = draw(st.integers(0, pool_padding_limit(k, d) if mode.startswith("pool") else MAX_SIZE))
        op = draw(st.integers(0, max(s, d) - 1)) if mode == "transposed" else 0
        m = out_size(mode, n, k, s, p, d, op)
        if not 1 <= m <= MAX_SIZE:
            m = draw(big)
    else:
        m = draw(big)
    return k, n, m, s, d, mode


@given(huge_questions())
def test_huge_arguments_are_answered_as_exact_intervals(
    args: tuple[int, int, int, int, int, str],
) -> None:
    """Sizes up to 2³¹−1: each interval's ends reach m, one step past either end does not (the
    output is monotone in p, so this proves the interval exact), and the listed paddings are the
    interval's first MAX_LISTED."""
    k, n, m, s, d, mode = args
    dim = solve_padding(k, n, m, s, d, **_flags(mode)).dims[0]
    limit = pool_padding_limit(k, d) if mode.startswith("pool") else None

    def reaches(p: int) -> bool:
        if p < 0 or (limit is not None and p > limit):
            return False
        if mode == "transposed":
            op = dim.output_padding_for(p)
            assert op is not None
            return transposed_ok(k, s, d, p, op, m) and out_size(mode, n, k, s, p, d, op) == m
        return out_size(mode, n, k, s, p, d) == m

    assert len(dim.ranges) <= 1
    for lo, hi in dim.ranges:
        assert reaches(lo) and reaches(hi)
        assert not reaches(lo - 1) and not reaches(hi + 1)
        assert dim.count == hi - lo + 1
        assert len(dim.paddings) == min(dim.count, MAX_LISTED)
        assert dim.paddings[0] == lo and dim.paddings[-1] == min(hi, lo + MAX_LISTED - 1)
        assert dim.truncated == (dim.count > MAX_LISTED)
    if not dim.ranges:
        assert dim.reason
        for i, (out, p) in enumerate(dim.nearest):
            op = dim.nearest_output_paddings[i] if mode == "transposed" else 0
            assert out != m and out >= 1
            assert out_size(mode, n, k, s, p, d, op) == out
            if mode != "transposed" and p > 0:  # the smallest padding giving it
                assert out_size(mode, n, k, s, p - 1, d) != out


def test_issue_inputs_answered_in_closed_form() -> None:
    # a size of 10⁸: one padding, no table of outputs
    assert solve_padding(3, 32, 100_000_000).recommended == 49_999_985
    # stride 10⁸: 5·10⁷ paddings, kept as one interval, listed up to MAX_LISTED
    dim = solve_padding(3, 32, 1, stride=100_000_000).dims[0]
    assert dim.ranges == ((0, 49_999_985),) and dim.count == 49_999_986
    assert dim.paddings == tuple(range(MAX_LISTED)) and dim.truncated
    # the largest kernel, pooling: no scan over a billion paddings
    dim = solve_padding(MAX_SIZE, 32, 31, pool=True).dims[0]
    assert not dim.ranges and dim.nearest == ((30, 1_073_741_822), (32, 1_073_741_823))
    assert solve_padding(MAX_SIZE, 32, 16, stride=2, pool=True).paddings == [1_073_741_823]


def test_arguments_are_bounded() -> None:
    with pytest.raises(
        ValueError, match=r"^stride must be at most 2147483647, but got \[2147483648\]$"
    ):
        solve_padding(3, 32, 32, stride=2**31)
    with pytest.raises(ValueError, match=r"^kernel_size must be positive integers, but got \[0\]$"):
        solve_padding(0, 32, 32)
    with pytest.raises(ValueError, match="ceil_mode applies to pooling layers only"):
        solve_padding(2, 32, 32, ceil_mode=True)
    with pytest.raises(ValueError, match="transposed applies to convolutions only"):
        solve_padding(2, 32, 32, pool=True, transposed=True)


# --- reasons and advice ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("k", "d", "n", "m", "says"),
    [
        (4, 1, 32, 32, "the kernel spans 4, an even number, so it cannot keep the size"),
        (3, 1, 32, 31, "the kernel spans 3, an odd number, so the output keeps the input's parity"),
        (
            2,
            1,
            32,
            34,
            "the kernel spans 2, an even number, so the output's parity is always the opposite",
        ),
        (2, 3, 32, 32, "the kernel spans 4 (dilation·(kernel_size−1) + 1), an even number"),
    ],
)
def test_parity_reason_matches_the_case(k: int, d: int, n: int, m: int, says: str) -> None:
    dim = solve_padding(k, n, m, dilation=d).dims[0]
    assert dim.reason is not None and says in dim.reason
    e = effective_kernel(k, d)
    assert f"every output is {'odd' if (n - e + 1) % 2 else 'even'}" in dim.reason
    assert "even kernel" not in dim.reason


def test_growing_a_size_points_to_upsampling() -> None:
    dim = solve_padding(3, 32, 64).dims[0]
    assert dim.recommended == 17
    (note,) = dim.notes
    assert (
        "padding 17 is not less than the kernel's span (3): 15 outputs at each end see only" in note
    )
    assert "nn.Upsample(scale_factor=2), then this convolution with padding=1" in note
    assert "nn.ConvTranspose2d(kernel_size=3, stride=2, padding=1, output_padding=1)" in note
    # the suggested layers do map 32 to 64
    assert torch_layer("Upsample", {"scale_factor": 2}, (1, 1, 32, 32)).shape == (1, 1, 64, 64)
    transposed = solve_padding(3, 32, 64, stride=2, transposed=True)
    assert (transposed.recommended, transposed.output_padding) == (1, 1)
    # a padding within the kernel's span, a stride, or a shrinking size: no such note
    assert solve_padding(3, 32, 34).dims[0].notes == ()
    assert solve_padding(3, 32, 34).dims[0].notes == ()  # p = 2: every window touches the input
    assert "1 output at each end sees only padding" in solve_padding(3, 32, 36).dims[0].notes[0]
    assert solve_padding(3, 32, 37).dims[0].notes != ()  # no padding works, the note holds
    assert solve_padding(3, 32, 64, stride=2).dims[0].notes == ()
    assert "nn.Upsample(size=50)" in solve_padding(3, 32, 50).dims[0].notes[0]


def test_pairs_are_solved_per_dimension() -> None:
    solution = solve_padding((5, 3), 32, (32, 30))
    assert solution.paddings == [[2], [0]]
    assert solution.recommended == [2, 0]
    solution = solve_padding(3, (16, 8), (32, 16), stride=2, transposed=True)
    assert solution.recommended == [1, 1] and solution.output_padding == [1, 1]


def test_strided_conv_lists_every_padding() -> None:
    assert solve_padding(4, 32, 16, stride=2).paddings == [1]
    assert solve_padding(3, 32, 16, stride=4).paddings == [16, 17]
    assert solve_padding(1, 10, 4, stride=3).paddings == [0, 1]


def test_ceil_mode_trap() -> None:
    # MaxPool2d(2, stride 2, ceil_mode) maps 5 to 3 with padding 0 and with padding 1 (not 4)
    assert solve_padding(2, 5, 3, 2, pool=True, ceil_mode=True).paddings == [0, 1]
    assert solve_padding(2, 5, 4, 2, pool=True, ceil_mode=True).paddings == []


def test_candidates_are_one_interval() -> None:
    assert padding_candidates(2, 5, 3, 2, 1, True, True) == [(0, 1)]
    assert padding_candidates(4, 32, 32, 1, 1, False, False) == []


# --- CLI ------------------------------------------------------------------------------------------


def _run(*args: str):  # type: ignore[no-untyped-def]
    return runner.invoke(app, ["solve-padding", *args], env={"COLUMNS": "120"})


def test_cli_seed_question_golden(golden) -> None:  # type: ignore[no-untyped-def]
    result = _run("--k", "5", "--in", "32", "--out", "32")
    assert result.exit_code == 0
    golden("solve_padding_k5.txt", result.stdout)
    assert "32 = ⌊(32 + 2p − 1·(5−1) − 1)/1⌋ + 1  ⇒  2p = 4  ⇒  p = 2" in result.stdout


def test_cli_no_solution_golden(golden) -> None:  # type: ignore[no-untyped-def]
    result = _run("--k", "4", "--in", "32", "--out", "32")
    assert result.exit_code == 1
    golden("solve_padding_k4.txt", result.stdout)
    assert result.stderr.startswith(
        "error: no padding maps 32 to 32: at stride 1 the output is 32 + 2p − 3"
    )
    assert "padding='same'" in result.stdout and "nn.ZeroPad2d" in result.stdout


def test_cli_transposed_golden(golden) -> None:  # type: ignore[no-untyped-def]
    result = _run("--k", "3", "--in", "32", "--out", "64", "--stride", "2", "--transposed")
    assert result.exit_code == 0
    golden("solve_padding_transposed_k3s2.txt", result.stdout)
    assert result.stdout.endswith("padding = 1, output_padding = 1\n")


def test_cli_upsampling_note_golden(golden) -> None:  # type: ignore[no-untyped-def]
    result = _run("--k", "3", "--in", "32", "--out", "64")
    assert result.exit_code == 0
    golden("solve_padding_k3_grow.txt", result.stdout)
    assert "note: padding 17 is not less than the kernel's span (3)" in result.stdout


def test_cli_odd_kernel_reason() -> None:
    result = _run("--k", "3", "--in", "32", "--out", "31")
    assert result.exit_code == 1
    assert "an odd number, so the output keeps the input's parity" in result.stderr
    assert "even kernel" not in result.stderr + result.stdout


def test_cli_json() -> None:
    result = _run("--k", "3", "--in", "32", "--out", "16", "--stride", "4", "--json")
    assert result.exit_code == 0
    doc = json.loads(result.stdout)
    assert doc["paddings"] == [16, 17] and doc["recommended"] == 16
    assert doc["padding_ranges"] == [[16, 17]] and doc["padding_count"] == 2
    assert doc["paddings_truncated"] is False
    assert doc["transposed"] is False and doc["output_padding"] is None
    assert doc["dims"][0]["axis"] is None
    assert "⇒  31 ≤ 2p ≤ 34  ⇒  p ∈ [16, 17]" in doc["derivation"]
    result = _run("--k", "4", "--in", "32", "--out", "32", "--json")
    assert result.exit_code == 1
    doc = json.loads(result.stdout)
    assert doc["paddings"] == [] and doc["recommended"] is None and doc["padding_ranges"] == []
    assert doc["dims"][0]["nearest"] == [{"out": 31, "padding": 1}, {"out": 33, "padding": 2}]


def test_cli_json_transposed() -> None:
    result = _run("--k", "4", "--in", "8", "--out", "32", "--stride", "4", "--transposed", "--json")
    assert result.exit_code == 0
    doc = json.loads(result.stdout)
    assert doc["transposed"] is True
    assert doc["paddings"] == [0, 1] and doc["output_paddings"] == [0, 2]
    assert doc["recommended"] == 0 and doc["output_padding"] == 0
    result = _run(
        "--k", "3", "--in", "32", "--out", "500", "--stride", "2", "--transposed", "--json"
    )
    assert result.exit_code == 1
    doc = json.loads(result.stdout)
    assert doc["output_padding"] is None
    assert doc["dims"][0]["nearest"] == [{"out": 66, "padding": 0, "output_padding": 1}]


def test_cli_huge_answers_are_intervals() -> None:
    result = _run("--k", "3", "--in", "32", "--out", "1", "--stride", "100000000", "--json")
    assert result.exit_code == 0
    doc = json.loads(result.stdout)
    assert doc["padding_ranges"] == [[0, 49_999_985]] and doc["padding_count"] == 49_999_986
    assert doc["paddings"] == list(range(MAX_LISTED)) and doc["paddings_truncated"] is True
    result = _run("--k", "3", "--in", "32", "--out", "100000000")
    assert result.exit_code == 0 and "padding = 49999985" in result.stdout
    result = _run("--k", "2147483647", "--in", "32", "--out", "31", "--pool")
    assert result.exit_code == 1 and "nearest: 32 with padding 1073741823" in result.stdout
    result = _run("--k", "3", "--in", "32", "--out", "1", "--stride", "100000000")
    assert "paddings: p ∈ [0, 49999985]; recommended: 0" in result.stdout


def test_cli_pairs_and_pool() -> None:
    result = _run("--k", "5,3", "--in", "32", "--out", "32,30", "--json")
    assert json.loads(result.stdout)["recommended"] == [2, 0]
    result = _run("--k", "2", "--in", "32", "--out", "17", "--stride", "2", "--pool")
    assert result.exit_code == 0 and "padding = 1" in result.stdout
    result = _run("--k", "2", "--in", "32", "--out", "18", "--stride", "2", "--pool")
    assert result.exit_code == 1
    assert "pooling padding is at most half the kernel (1 for kernel_size=2)" in result.stderr


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--k", "0", "--in", "32", "--out", "32"], "must be at least 1"),
        (["--k", "five", "--in", "32", "--out", "32"], "digits 0-9 only"),
        (["--k", "2.5", "--in", "32", "--out", "32"], "digits 0-9 only"),
        (["--k", "1_1", "--in", "32", "--out", "32"], "'1_1' is not an integer"),
        (["--k", "３", "--in", "32", "--out", "32"], "'３' is not an integer"),
        (["--k", "٣", "--in", "32", "--out", "32"], "'٣' is not an integer"),
        (["--k", "-3", "--in", "32", "--out", "32"], "digits 0-9 only"),
        (["--k", "3", "--in", "2147483648", "--out", "32"], "must be at most 2147483647"),
        (["--k", "3", "--in", "9" * 5000, "--out", "32"], "must be at most 2147483647"),
        (["--k", "3", "--in", "32", "--out", "32", "--stride", "0"], "must be at least 1"),
        (["--k", "3,3,3", "--in", "32", "--out", "32"], "give one integer or a pair H,W"),
        (["--k", "3", "--in", "32", "--out", "32", "--ceil-mode"], "add --pool"),
        (["--k", "3", "--in", "32", "--out", "32", "--pool", "--transposed"], "drop --pool"),
        (["--k", "3", "--in", "32", "--out", "32", "--ceil-mode", "--transposed"], "--ceil-mode"),
        (["--k", "3", "--in", "32"], "Missing option"),
    ],
)
def test_cli_usage_errors_exit_2(args: list[str], says: str) -> None:
    result = _run(*args)
    assert result.exit_code == 2
    assert "Traceback" not in result.stderr
    assert "Usage" in result.stderr
    assert says in " ".join(result.stderr.replace("│", " ").split())
    assert len(result.stderr) < 2000  # a 5,000-digit value is not echoed whole


def test_readme_examples_match_the_cli() -> None:
    """The README's solve-padding examples are what the command prints."""
    from conftest import ROOT

    text = (ROOT / "README.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```\n\$ shapecalc (solve-padding [^\n]*)\n(.*?)```", text, re.S)
    assert len(blocks) >= 2
    for command, expected in blocks:
        result = runner.invoke(app, command.split(), env={"COLUMNS": "200"})
        assert result.stdout == expected, command
