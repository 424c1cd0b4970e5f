"""solve_input against brute-force scans with real torch (chains and graphs, 1-D to 3-D), plus the CLI.

The torch side is built here, independently of shapecalc's builder: one torch.nn module per layer
row of the trace (inferred sizes pinned at the spec's own input, as solve_input pins them) and
torch.add / torch.cat / torch.mul for the merges.
"""

from __future__ import annotations

import functools
import itertools
import json
import warnings
from collections.abc import Callable
from typing import Any

import pytest
import torch
from conftest import SPECS
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from oracle import TORCH_ERRORS
from typer.testing import CliRunner

from shapecalc.builder import make_module
from shapecalc.cli import app
from shapecalc.errors import CompileError, ShapeError
from shapecalc.loader import load
from shapecalc.ops import REGISTRY, Layer
from shapecalc.solvers.inputs import InputSolution, describe, solve_input
from shapecalc.spec import Spec
from shapecalc.trace import Row, Trace, propagate

runner = CliRunner()


@pytest.fixture(autouse=True, scope="module")
def _one_thread():  # type: ignore[no-untyped-def]
    """Tiny tensors: torch's thread pool only adds overhead (tenfold on a busy machine)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


CONV = {1: "Conv1d", 2: "Conv2d", 3: "Conv3d"}
SCAN = {1: 16, 2: 9, 3: 4}  # sizes tried per axis by the torch scans


# --- the torch side ---------------------------------------------------------------------------------


def torch_rows(trace: Trace) -> Callable[[Row, list[torch.Tensor]], torch.Tensor]:
    """One row of the trace in torch: its module for a layer, a torch op for a merge."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        modules = {
            row.name: make_module(row.op, row.inferred).eval()
            for row in trace.layers
            if row.op is not None and not row.op.merge
        }

    def apply(row: Row, inputs: list[torch.Tensor]) -> torch.Tensor:
        op: Any = row.op
        if row.type == "Add":
            if not op.broadcast and any(t.shape != inputs[0].shape for t in inputs):
                raise RuntimeError("Add without broadcast: true needs equal shapes")
            return functools.reduce(torch.add, inputs)
        if row.type == "Multiply":
            return functools.reduce(torch.mul, inputs)
        if row.type == "Concat":
            return torch.cat(inputs, dim=op.dim)
        return modules[row.name](inputs[0])  # type: ignore[no-any-return]

    return apply


def torch_net(trace: Trace) -> Callable[[torch.Tensor], dict[str, torch.Tensor]]:
    """A forward function over the trace's layers: every row's output by name."""
    apply = torch_rows(trace)

    def forward(x: torch.Tensor) -> dict[str, torch.Tensor]:
        values = {"x": x}
        for row in trace.layers:
            values[row.name] = apply(row, [values[name] for name in row.inputs])
        return values

    return forward


def torch_valid(spec: Spec, sizes: int | tuple[int, ...]) -> set[tuple[int, ...]]:
    """Input sizes (1..sizes per axis) for which the torch net built at the spec's input runs."""
    forward = torch_net(propagate(spec))
    n = len(spec.input) - 1
    limits = sizes if isinstance(sizes, tuple) else (sizes,) * n
    valid = set()
    with torch.inference_mode(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for combo in itertools.product(*(range(1, m + 1) for m in limits)):
            try:
                values = forward(torch.ones(spec.batch, spec.input[0], *combo))
            except TORCH_ERRORS:
                continue
            # shapecalc refuses on purpose what torch lets through empty (as tests/oracle.py)
            if all(t.numel() for t in values.values()):
                valid.add(combo)
    return valid


def solved(solution: InputSolution) -> set[tuple[int, ...]]:
    """Every input the solution's families contain (each family counted once)."""
    assert solution.families_total == len(solution.families)
    found: set[tuple[int, ...]] = set()
    for family in solution.families:
        box = set(itertools.product(*(range(lo, hi + 1) for lo, hi in family.ranges)))
        assert not box & found, "families overlap"
        found |= box
    assert len(found) == solution.count
    return found


def spec_of(layers: list[dict[str, Any]], input_: list[int], batch: int = 1) -> Spec:
    return Spec.model_validate({"input": input_, "batch": batch, "layers": layers})


def agree_with_torch(spec: Spec, max_size: int) -> InputSolution:
    solution = solve_input(spec, max_size)
    assert solved(solution) == torch_valid(spec, max_size)
    return solution


# --- the examples ---------------------------------------------------------------------------


def test_a_range_statement_holds_for_every_member() -> None:
    # the output varies with H: 2, 3 → 1 … 10, 11 → 5; nothing may claim they share it
    spec = spec_of([{"type": "MaxPool2d", "kernel_size": 2}], [1, 8, 8])
    solution = agree_with_torch(spec, 11)
    assert solution.valid == (((2, 11),), ((2, 11),)) and solution.separable
    assert [d.expression for d in solution.dims] == ["⌊H/2⌋", "⌊W/2⌋"]
    forward = torch_net(propagate(spec))
    for h in range(2, 12):
        assert forward(torch.ones(1, 1, h, 5))["maxpool1"].shape[2] == h // 2
    assert not any("all give the output shape" in note for note in solution.ignored)
    (note,) = solution.ignored
    assert note.startswith("H, W: only even sizes keep every row and column;")
    # the notes do not depend on --max
    for max_size in (3, 40, 700, 720):
        assert solve_input(spec, max_size).ignored == solution.ignored


def encoder(pools: int) -> Spec:
    layers: list[dict[str, Any]] = []
    for _ in range(pools):
        layers += [
            {"type": "Conv2d", "out_channels": 2, "kernel_size": 3, "padding": 1},
            {"type": "MaxPool2d", "kernel_size": 2},
        ]
    return spec_of(layers, [1, 64, 64])


def test_rows_kept_are_stated_for_all_sizes() -> None:
    spec = encoder(4)
    notes = {solve_input(spec, m).ignored for m in (20, 700, 720, 1024)}
    assert len(notes) == 1
    (note,) = notes.pop()
    assert note.startswith(
        "H, W: only multiples of 16 keep every row and column; the others lose rows and columns "
        "that no window reads (4 layers of stride 2: maxpool1, maxpool2, maxpool3, maxpool4)"
    )
    assert "e.g. H = 65: maxpool1 drops 1 of 65; H = 64 gives the same output" in note
    kept = solve_input(spec, 100).dims[0].kept
    assert kept is not None and (kept.period, kept.residues) == (16, (0,))


@st.composite
def windowed_chains(draw: st.DrawFn) -> Spec:
    n = draw(st.integers(1, 2))
    layers = []
    for _ in range(draw(st.integers(1, 3))):
        k = draw(st.integers(1, 3))
        if draw(st.booleans()):
            layers.append(
                {
                    "type": CONV[n],
                    "out_channels": 1,
                    "kernel_size": k,
                    "stride": draw(st.integers(1, 3)),
                    "padding": draw(st.integers(0, 1)),
                    "dilation": draw(st.integers(1, 2)),
                }
            )
        else:
            layers.append(
                {
                    "type": f"{draw(st.sampled_from(['Max', 'Avg']))}Pool{n}d",
                    "kernel_size": k,
                    "stride": draw(st.integers(1, 3)),
                    "padding": draw(st.integers(0, k // 2)),
                    "ceil_mode": draw(st.booleans()),
                }
            )
    return spec_of(layers, [1] + [12] * n)


@settings(max_examples=max(10, settings().max_examples // 20))
@given(windowed_chains())
def test_rows_kept_match_torch(spec: Spec) -> None:
    """A size keeps every row when each layer's output changes with every row of its input."""
    try:
        trace = propagate(spec)
    except ShapeError:
        assume(False)
    n = len(spec.input) - 1
    solution = solve_input(spec, 16)
    forward = torch_net(trace)
    modules = {row.name: make_module(row.op, row.inferred).eval() for row in trace.layers}
    torch.manual_seed(0)
    for size in range(1, 17):
        if not all(size in range(lo, hi + 1) for lo, hi in solution.valid[0]):
            continue
        shape = (1, 1, *([size] * n))
        with torch.no_grad():
            values = forward(torch.rand(shape))
            loses = False
            for row in trace.layers:
                x = values[row.inputs[0]]
                for position in range(x.shape[-1]):  # every position along the last axis
                    bumped = x.clone()
                    bumped[..., position] += 1.0
                    if torch.equal(modules[row.name](x), modules[row.name](bumped)):
                        loses = True
        kept = solution.dims[-1].kept
        says_kept = kept is None or kept.keeps(size)
        assert says_kept == (not loses), (size, solution.ignored)


def test_cifar10_pins_linear_and_lists_families() -> None:
    spec = load(SPECS / "cifar10.yaml").spec
    solution = solve_input(spec)
    assert "in_features=1024 for linear1" in solution.pinned
    assert [(f.h_lo, f.h_hi, f.w_lo, f.w_hi) for f in solution.families] == [
        (8, 15, 128, 135),
        (16, 23, 64, 71),
        (32, 39, 32, 39),
        (64, 71, 16, 23),
        (128, 135, 8, 15),
    ]
    assert solution.square == ((32, 39),) and not solution.separable
    (blocked,) = solution.joint_blocked
    assert (blocked.layer_name, blocked.field) == ("linear1", "layers[7]")
    # the documented maximum
    big = solve_input(spec, 16384)
    assert [f.ranges for f in big.families] == [f.ranges for f in solution.families]


def test_a_linear_after_flatten_is_an_equation_in_the_product() -> None:
    # no downsampling: (H, W) with 2·H·W = 2·6·6, and nothing else
    layers = [{"type": "Conv2d", "out_channels": 2, "kernel_size": 3, "padding": 1}] * 2
    spec = spec_of([*layers, {"type": "Flatten"}, {"type": "Linear", "out_features": 3}], [2, 6, 6])
    solution = agree_with_torch(spec, 20)
    assert solved(solution) == {(h, 36 // h) for h in (2, 3, 4, 6, 9, 12, 18)}
    assert solution.symbolic
    large = solve_input(spec, 1024)
    assert large.count == 9


def test_not_square_answer_matches_torch() -> None:
    spec = spec_of(
        [
            {"type": "Conv2d", "out_channels": 4, "kernel_size": 3, "padding": 1},
            {"type": "MaxPool2d", "kernel_size": 2},
            {"type": "Conv2d", "out_channels": 2, "kernel_size": 3, "padding": 1},
            {"type": "MaxPool2d", "kernel_size": 2},
            {"type": "Flatten"},
            {"type": "Linear", "out_features": 3},
        ],
        [3, 16, 16],
    )  # Linear(2·4·4 = 32): ⌊H/4⌋·⌊W/4⌋ = 16
    solution = agree_with_torch(spec, 36)
    assert not solution.separable
    assert {f.ranges for f in solution.families} >= {((16, 19), (16, 19)), ((8, 11), (32, 35))}
    assert solution.square == ((16, 19),)
    assert [d.expression for d in solution.dims] == ["⌊⌊H/2⌋/2⌋", "⌊⌊W/2⌋/2⌋"]


def test_empty_answer_names_each_layer() -> None:
    # 2·h·w features can never be 7; the spec's own input already fails at the Linear
    spec = spec_of(
        [
            {"type": "Conv2d", "out_channels": 2, "kernel_size": 3},
            {"type": "Flatten"},
            {"type": "Linear", "in_features": 7, "out_features": 2},
        ],
        [2, 8, 8],
    )
    solution = solve_input(spec, 20)
    model = torch.nn.Sequential(torch.nn.Conv2d(2, 2, 3), torch.nn.Flatten(), torch.nn.Linear(7, 2))
    for h, w in itertools.product(range(1, 21), repeat=2):
        with pytest.raises(RuntimeError):
            model(torch.ones(1, 2, h, w))
    assert not solution.ok and solved(solution) == set()
    assert {(b.axis, b.lo, b.hi, b.layer) for d in solution.dims for b in d.blocked} == {
        ("H", 1, 2, 0),
        ("W", 1, 2, 0),
    }
    assert [(b.layer, b.layer_name) for b in solution.joint_blocked] == [(2, "linear1")]


def test_an_own_input_that_fails_is_not_pinned_past_the_failure() -> None:
    # input 30 fails at the explicit in_features; the solver still finds the sizes that work
    spec = spec_of(
        [
            {"type": "MaxPool2d", "kernel_size": 2},
            {"type": "MaxPool2d", "kernel_size": 2},
            {"type": "Flatten"},
            {"type": "Linear", "in_features": 16, "out_features": 2},
        ],
        [1, 30, 30],
    )
    with pytest.raises(ShapeError):
        propagate(spec)
    solution = solve_input(spec, 40)
    model = torch.nn.Sequential(
        torch.nn.MaxPool2d(2), torch.nn.MaxPool2d(2), torch.nn.Flatten(), torch.nn.Linear(16, 2)
    )
    expected = set()
    for h, w in itertools.product(range(1, 41), repeat=2):
        try:
            model(torch.ones(1, 1, h, w))
        except TORCH_ERRORS:
            continue
        expected.add((h, w))
    assert solved(solution) == expected


def test_fully_convolutional_answer_is_a_product() -> None:
    spec = spec_of(
        [
            {
                "type": "Conv2d",
                "out_channels": 2,
                "kernel_size": [3, 5],
                "stride": [1, 2],
                "dilation": 2,
            },
            {"type": "MaxPool2d", "kernel_size": 3, "stride": 2, "padding": 1, "ceil_mode": True},
            {"type": "ReLU"},
        ],
        [2, 20, 20],
    )
    solution = agree_with_torch(spec, 30)
    assert solution.separable
    assert solution.valid == (((5, 30),), ((9, 30),))
    assert "*" in solution.dims[0].expression  # ceil_mode correction marked


# --- random chains, every rank ----------------------------------------------------------------------


@st.composite
def chains(draw: st.DrawFn) -> Spec:
    n = draw(st.integers(1, 3))
    kinds = [CONV[n], f"MaxPool{n}d", f"AvgPool{n}d", "ReLU", f"BatchNorm{n}d"]
    layers: list[dict[str, Any]] = []
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(kinds))
        k = draw(st.integers(1, 4))
        layer: dict[str, Any] = {"type": kind}
        if kind.startswith("Conv"):
            layer.update(
                out_channels=draw(st.integers(1, 3)),
                kernel_size=k,
                stride=draw(st.integers(1, 3)),
                padding=draw(st.integers(0, 2)),
                dilation=draw(st.integers(1, 2)),
                padding_mode=draw(st.sampled_from(["zeros", "reflect", "circular"])),
            )
        elif "Pool" in kind:
            layer.update(
                kernel_size=k,
                stride=draw(st.integers(1, 3)),
                padding=draw(st.integers(0, k // 2)),
                ceil_mode=draw(st.booleans()),
            )
        layers.append(layer)
    if draw(st.booleans()):
        layers += [{"type": "Flatten"}, {"type": "Linear", "out_features": 2}]
    size = draw(st.integers(3, SCAN[n] + 1))
    return spec_of(layers, [draw(st.integers(1, 2))] + [size] * n)


@settings(max_examples=max(10, settings().max_examples // 10))
@given(chains())
def test_random_chains_match_a_torch_scan(spec: Spec) -> None:
    try:
        propagate(spec)
    except ShapeError:
        assume(False)
    agree_with_torch(spec, SCAN[len(spec.input) - 1])


def layer_examples() -> list[str]:
    return sorted(
        name
        for name, cls in REGISTRY.items()
        if issubclass(cls, Layer) and cls.rank in (None, 1, 2, 3)
    )


@pytest.mark.parametrize("layer_type", layer_examples())
@settings(
    max_examples=max(2, settings().max_examples // 60),
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
@given(data=st.data())
def test_every_layer_type_alone_matches_a_torch_scan(layer_type: str, data: st.DataObject) -> None:
    """Each registered layer, with the registry's own differential-test arguments, as a
    one-layer spec: the sizes solve_input accepts are the ones torch runs."""
    cls = REGISTRY[layer_type]
    args, shape = data.draw(cls.examples(st))
    rank = cls.rank or len(shape) - 2
    if cls.rank is not None and len(shape) == rank + 1:
        shape = (1, *shape)  # unbatched example: the spec adds the batch
    assume(1 <= len(shape) - 2 <= 3 and len(shape) - 2 == rank)
    try:
        spec = spec_of([{"type": layer_type, **args}], list(shape[1:]), batch=shape[0])
        propagate(spec)
    except (ShapeError, CompileError, ValueError):
        assume(False)
    n = len(shape) - 2
    limit = {1: 16, 2: 7, 3: 4}[n]
    solution = solve_input(spec, limit)
    expected = torch_valid(spec, limit)
    # sizes where torch's verdict depends on the tensor's memory layout (it may return unwritten
    # memory): shapecalc refuses them on purpose, as the differential test leaves them out
    undefined = getattr(cls, "layout_dependent", None)
    if undefined is not None:
        expected = {c for c in expected if not undefined(args, (*shape[:2], *c))}
    assert solved(solution) == expected


# --- graphs -----------------------------------------------------------------------------------------


def graph_spec(text: str) -> Spec:
    from shapecalc.loader import loads

    return loads(text).spec


def test_merges_accept_exactly_the_multiples_of_8_and_name_the_merge() -> None:
    # three 2× pools on one path, one stride-8 1×1 convolution on the other: ⌊x/8⌋ = ⌈x/8⌉
    spec = graph_spec(
        """
input: [2, 32, 32]
layers:
  - {type: MaxPool2d, name: pool1, kernel_size: 2}
  - {type: MaxPool2d, name: pool2, kernel_size: 2}
  - {type: MaxPool2d, name: pool3, kernel_size: 2}
  - {type: Conv2d, name: proj, from: x, out_channels: 2, kernel_size: 1, stride: 8}
  - {type: Add, name: add, from: [pool3, proj]}
"""
    )
    solution = agree_with_torch(spec, 40)
    assert solution.valid[0] == tuple((k, k) for k in range(8, 41, 8))
    assert solution.valid_texts[0] == "multiples of 8 in [8, 40]"
    blocked = {b.layer_name: b for b in solution.dims[0].blocked}
    assert blocked["add"].sizes_text == "sizes that are not multiples of 8 in [9, 39]"
    assert blocked["add"].field == "layers[4]"


UNET = """
input: [1, 64, 64]
blocks:
  Down:
    params: {out_channels: required}
    layers:
      - {type: Conv2d, out_channels: $out_channels, kernel_size: 3, padding: 1}
      - {type: ReLU}
  Up:
    inputs: [x, skip]
    params: {out_channels: required}
    layers:
      - {type: UP, name: up, SCALE}
      - {type: Concat, name: cat, from: [skip, up]}
      - {type: Conv2d, out_channels: $out_channels, kernel_size: 3, padding: 1}
layers:
  - {type: Down, name: enc1, out_channels: 2}
  - {type: MaxPool2d, name: pool1, kernel_size: 2}
  - {type: Down, name: enc2, out_channels: 2}
  - {type: MaxPool2d, name: pool2, kernel_size: 2}
  - {type: Down, name: enc3, out_channels: 2}
  - {type: MaxPool2d, name: pool3, kernel_size: 2}
  - {type: Down, name: bottleneck, out_channels: 2}
  - {type: Up, name: up3, from: [bottleneck, enc3], out_channels: 2}
  - {type: Up, name: up2, from: [up3, enc2], out_channels: 2}
  - {type: Up, name: up1, from: [up2, enc1], out_channels: 2}
"""

UPSAMPLERS = [
    ("ConvTranspose2d", "out_channels: 2, kernel_size: 2, stride: 2"),
    ("Upsample", "scale_factor: 2"),
]


@pytest.mark.parametrize(
    ("up", "scale"), [u for u in UPSAMPLERS if u[0] in REGISTRY] or [(None, "")]
)
def test_unet_accepts_the_multiples_of_8(up: str | None, scale: str) -> None:
    if up is None:
        pytest.skip(f"none of {[u for u, _ in UPSAMPLERS]} is registered")
    spec = graph_spec(UNET.replace("UP", up).replace("SCALE", scale))
    solution = agree_with_torch(spec, 40)
    assert solution.valid_texts == ("multiples of 8 in [8, 40]",) * 2
    assert {b.layer_name for b in solution.dims[0].blocked} >= {"up3.cat", "up2.cat", "up1.cat"}
    assert not solution.ignored  # every valid size keeps every row


@st.composite
def graphs(draw: st.DrawFn) -> Spec:
    """Small random graphs: residual adds, concatenations, gates, strided paths."""
    n = draw(st.integers(1, 3))
    conv, pool = CONV[n], f"{draw(st.sampled_from(['Max', 'Avg']))}Pool{n}d"
    layers: list[dict[str, Any]] = []
    count = [0]

    def add(entry: dict[str, Any]) -> str:
        count[0] += 1
        name = f"n{count[0]}"
        layers.append({"name": name, **entry})
        return name

    def path(source: str) -> str:
        kind = draw(st.sampled_from(["conv", "pool", "same", "stride"]))
        if kind == "conv":
            k = draw(st.integers(1, 3))
            return add(
                {
                    "type": conv,
                    "from": source,
                    "out_channels": 2,
                    "kernel_size": k,
                    "padding": draw(st.integers(0, k // 2 + 1)),
                    "stride": draw(st.integers(1, 2)),
                }
            )
        if kind == "pool":
            k = draw(st.integers(1, 3))
            return add(
                {
                    "type": pool,
                    "from": source,
                    "kernel_size": k,
                    "stride": draw(st.integers(1, 2)),
                    "padding": draw(st.integers(0, k // 2)),
                    "ceil_mode": draw(st.booleans()),
                }
            )
        if kind == "stride":
            return add(
                {"type": conv, "from": source, "out_channels": 2, "kernel_size": 1, "stride": 2}
            )
        return add(
            {"type": conv, "from": source, "out_channels": 2, "kernel_size": 3, "padding": 1}
        )

    current = add({"type": conv, "from": "x", "out_channels": 2, "kernel_size": 1})
    for _ in range(draw(st.integers(1, 3))):
        kind = draw(st.sampled_from(["res", "cat", "gate", "chain"]))
        if kind == "res":
            a = path(current)
            b = current if draw(st.booleans()) else path(current)
            current = add({"type": "Add", "from": [a, b]})
        elif kind == "cat":
            a, b = path(current), path(current)
            current = add({"type": "Concat", "from": [a, b]})
            current = add({"type": conv, "from": current, "out_channels": 2, "kernel_size": 1})
        elif kind == "gate":
            g = add({"type": conv, "from": current, "out_channels": 2, "kernel_size": 1})
            g = add({"type": "Sigmoid", "from": g})
            current = add({"type": "Multiply", "from": [current, g]})
        else:
            current = path(current)
    if draw(st.booleans()):
        current = add({"type": "Flatten", "from": current})
        add({"type": "Linear", "from": current, "out_features": 2})
    size = draw(st.integers(3, SCAN[n]))
    return Spec.model_validate({"input": [2] + [size] * n, "layers": layers})


@settings(max_examples=max(10, settings().max_examples // 10))
@given(graphs())
def test_random_graphs_match_a_torch_scan(spec: Spec) -> None:
    try:
        propagate(spec)
    except ShapeError:
        assume(False)
    agree_with_torch(spec, SCAN[len(spec.input) - 1])


def test_a_graph_whose_own_input_fails_is_solved_from_a_nearby_one() -> None:
    # 9 fails at the Add (⌊9/2⌋ = 4 but ⌈9/2⌉ = 5); 8 compiles, and the answer is the even sizes
    text = """
input: [2, 9]
layers:
  - {type: MaxPool1d, name: pool, kernel_size: 2}
  - {type: Conv1d, name: proj, from: x, out_channels: 2, kernel_size: 1, stride: 2}
  - {type: Add, name: add, from: [pool, proj]}
"""
    spec = graph_spec(text)
    with pytest.raises(ShapeError):
        propagate(spec)
    solution = solve_input(spec, 30)
    assert solution.valid == (tuple((k, k) for k in range(2, 31, 2)),)
    assert solution.valid_texts == ("even sizes in [2, 30]",)
    good = graph_spec(text.replace("[2, 9]", "[2, 8]"))
    assert solved(solution) == torch_valid(good, 30)


def test_three_d_and_one_d_inputs() -> None:
    video = spec_of(
        [
            {"type": "Conv3d", "out_channels": 2, "kernel_size": 3, "padding": 1},
            {"type": "MaxPool3d", "kernel_size": [1, 2, 2]},
            {"type": "Flatten"},
            {"type": "Linear", "out_features": 2},
        ],
        [1, 2, 4, 4],
    )
    solution = agree_with_torch(video, 5)
    assert solution.axes == ("D", "H", "W")
    assert [d.expression for d in solution.dims] == ["D", "⌊H/2⌋", "⌊W/2⌋"]
    audio = spec_of(
        [
            {"type": "Conv1d", "out_channels": 2, "kernel_size": 8, "stride": 4},
            {"type": "MaxPool1d", "kernel_size": 4},
        ],
        [1, 64],
    )
    solution = agree_with_torch(audio, 80)
    assert solution.axes == ("L",) and solution.max_size == 80
    assert solution.dims[0].expression == "⌊⌊(L − 4)/4⌋/4⌋"
    assert solve_input(spec_of(audio_layers(), [1, 8000])).max_size == 8000


def audio_layers() -> list[dict[str, Any]]:
    return [{"type": "Conv1d", "out_channels": 2, "kernel_size": 80, "stride": 16}]


def test_describe_periodic_sets() -> None:
    assert describe(list(range(16, 1025, 8)), 1024) == "multiples of 8 in [16, 1024]"
    assert describe([1, 2, *range(8, 200, 4)], 200) == "[1, 2] ∪ multiples of 4 in [8, 196]"
    odd = [x for x in range(3, 100) if x % 2]
    assert describe(odd, 100) == "odd sizes in [3, 99]"


# --- CLI ------------------------------------------------------------------------------------------


def test_cli_cifar10_golden(golden) -> None:  # type: ignore[no-untyped-def]
    result = runner.invoke(app, ["solve-input", "specs/cifar10.yaml"], env={"COLUMNS": "120"})
    assert result.exit_code == 0
    golden("solve_input_cifar10.txt", result.stdout)
    # the README's excerpt
    for line in (
        "  H → ⌊⌊⌊H/2⌋/2⌋/2⌋",
        "  H ∈ [8, 15], W ∈ [128, 135]",
        "  H ∈ [32, 39], W ∈ [32, 39]",
        "square inputs: H = W ∈ [32, 39]",
        "note: H, W: only multiples of 8 keep every row and column",
    ):
        assert line in result.stdout


def test_cli_json_and_empty_exit(write_spec) -> None:  # type: ignore[no-untyped-def]
    result = runner.invoke(app, ["solve-input", "--json", "--max", "64"])
    doc = json.loads(result.stdout)
    assert result.exit_code == 0 and doc["ok"] and not doc["separable"]
    assert {"H": [32, 39], "W": [32, 39]} in doc["families"]
    assert doc["expressions"] == {"H": "⌊⌊⌊H/2⌋/2⌋/2⌋", "W": "⌊⌊⌊W/2⌋/2⌋/2⌋"}
    assert doc["kept"]["H"]["period"] == 8 and doc["kept"]["H"]["residues"] == [0]
    keys = {"ok", "name", "max", "separable", "H", "W", "square", "families", "expressions"}
    assert keys | {"blocked", "ignored", "pinned"} <= doc.keys()
    path = write_spec(
        "input: [2, 8, 8]\nlayers:\n  - {type: Flatten}\n  - {type: Linear, in_features: 7, out_features: 2}\n"
    )
    result = runner.invoke(app, ["solve-input", str(path), "--max", "20"])
    assert result.exit_code == 1
    assert (
        "every (H, W) that gets this far: layers[1] Linear 'linear1': in_features is 7"
        in result.stdout
    )
    assert result.stderr.startswith("error: no input size in 1..20 works for")


def test_cli_needs_spatial_input(write_spec) -> None:  # type: ignore[no-untyped-def]
    path = write_spec("input: [10]\nlayers: [{type: Linear, out_features: 2}]\n")
    result = runner.invoke(app, ["solve-input", str(path)])
    assert result.exit_code == 1
    assert result.stderr.strip() == (
        "error: solve-input needs a spatial input, [C, L], [C, H, W] or [C, D, H, W], but the "
        "spec's input is [10]"
    )


@pytest.mark.parametrize("args", [["--max", "0"], ["--max", "x"], ["--max", "16385"]])
def test_cli_usage_errors(args: list[str]) -> None:
    assert runner.invoke(app, ["solve-input", *args]).exit_code == 2


def test_pins_that_depend_on_the_input_size_are_named() -> None:
    solution = solve_input(load(SPECS / "cifar10.yaml").spec)
    assert solution.pinned_sizes == ("in_features=1024 for linear1",)
    assert len(solution.pinned) == 5  # the channel counts do not depend on the input size


def test_notes_only_the_smallest_valid_input_brings_are_reported() -> None:
    spec = spec_of(
        [
            {"type": "Conv2d", "out_channels": 2, "kernel_size": 3, "padding": 1},
            {"type": "MaxPool2d", "kernel_size": 2},
            {"type": "BatchNorm2d"},
            {"type": "MaxPool2d", "kernel_size": 2},
        ],
        [1, 16, 16],
    )
    solution = solve_input(spec, 20)
    at_own = {row.name: row.notes for row in propagate(spec).layers}
    small = propagate(spec, (1, 1, 4, 4)).layers
    expected = [
        f"{row.name} {row.type}: {note}"
        for row in small
        if not at_own[row.name]
        for note in row.notes
    ]
    found = [
        n for n in solution.ignored if n.startswith("at H = 4, W = 4, the smallest valid input")
    ]
    assert bool(found) == bool(expected)
    for note in expected:
        assert note in found[0]


def test_a_layer_that_cannot_answer_per_axis_is_solved_jointly(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    spec = spec_of(
        [
            {"type": "MaxPool2d", "kernel_size": 2},
            {"type": "Conv2d", "out_channels": 1, "kernel_size": 3, "stride": 2},
        ],
        [1, 12, 12],
    )
    expected = solved(solve_input(spec, 16))

    def broken(self: Any, i: int, sizes: Any) -> Any:  # a rank it cannot tell
        raise IndexError("no per-axis rule here")

    monkeypatch.setattr(REGISTRY["MaxPool2d"], "dim_sizes", broken)
    solution = solve_input(spec, 16)
    assert solved(solution) == expected == torch_valid(spec, 16)


def test_the_readme_example_is_what_the_cli_prints() -> None:
    readme = (SPECS.parent / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("## `shapecalc solve-input") :]
    block = section[section.index("$ shapecalc solve-input\n") : section.index("```\n\n")]
    result = runner.invoke(app, ["solve-input"], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    lines = block.splitlines()[1:]
    assert len(lines) > 10
    for line in lines:
        for part in line.split("..."):  # "..." stands for what the README leaves out
            assert part.strip() in result.stdout, part


# the graph format reference's U-Net is the bundled one
GRAPH_FORMAT_UNET = (SPECS / "unet.yaml").read_text(encoding="utf-8")


@pytest.mark.parametrize("registered", ["ConvTranspose2d" in REGISTRY])
def test_the_readme_unet_claims(registered: bool) -> None:
    if not registered:
        pytest.skip("ConvTranspose2d is not registered")
    solution = solve_input(graph_spec(GRAPH_FORMAT_UNET), 200)
    assert solution.valid_texts == ("multiples of 8 in [8, 200]",) * 2 and solution.separable
    by_merge = {b.layer_name: b.sizes_text for b in solution.dims[0].blocked}
    assert by_merge["up1.cat"] == "sizes ≡ 1 (mod 8) in [9, 193]"
    assert by_merge["up2.cat"] == "sizes ≡ 2, 3 (mod 8) in [10, 195]"
    assert by_merge["up3.cat"] == "sizes ≡ 4, 5, 6, 7 (mod 8) in [12, 199]"
    assert not any("keep every row" in note for note in solution.ignored)


def torch_loses_rows(trace: Trace, sizes: tuple[int, ...]) -> bool:
    """Whether some row (along the last axis) of some tensor changes none of the outputs of the
    rows that read it, in torch: bump each position in turn and compare."""
    apply = torch_rows(trace)
    forward = torch_net(trace)
    torch.manual_seed(0)
    with torch.no_grad():
        values = forward(torch.rand(1, trace.input_shape[1], *sizes))
        for tensor in ["x", *(row.name for row in trace.layers)]:
            readers = [row for row in trace.layers if tensor in row.inputs]
            if not readers or tensor in trace.outputs:
                continue
            for position in range(values[tensor].shape[-1]):
                bumped = values[tensor].clone()
                bumped[..., position] += 1.0
                changed = False
                for row in readers:
                    inputs = [values[n] for n in row.inputs]
                    again = [bumped if n == tensor else values[n] for n in row.inputs]
                    if not torch.equal(apply(row, inputs), apply(row, again)):
                        changed = True
                        break
                if not changed:
                    return True
    return False


@settings(max_examples=max(10, settings().max_examples // 20))
@given(graphs())
def test_rows_kept_in_graphs_match_torch(spec: Spec) -> None:
    """A row one branch skips is kept when another branch reads it."""
    try:
        trace = propagate(spec)
    except ShapeError:
        assume(False)
    n = len(spec.input) - 1
    solution = solve_input(spec, SCAN[n])
    kept = solution.dims[-1].kept
    for size in range(1, SCAN[n] + 1):
        sizes = (*[solution.valid[j][0][0] if solution.valid[j] else 1 for j in range(n - 1)], size)
        if sizes not in solved(solution):
            continue
        says_kept = kept is None or kept.keeps(size)
        assert says_kept == (not torch_loses_rows(trace, sizes)), (size, solution.ignored)


def test_a_strided_shortcut_loses_no_row_the_main_path_reads() -> None:
    spec = graph_spec(
        """
input: [2, 16, 16]
layers:
  - {type: Conv2d, name: main, out_channels: 2, kernel_size: 3, stride: 2, padding: 1}
  - {type: Conv2d, name: shortcut, from: x, out_channels: 2, kernel_size: 1, stride: 2}
  - {type: Add, name: add, from: [main, shortcut]}
"""
    )
    solution = solve_input(spec, 64)
    assert solution.ignored == ()
    assert not torch_loses_rows(propagate(spec), (16, 16))


def evaluate_expression(text: str, axis: str, size: int) -> int | None:
    """The value of a solve-input expression (⌊ ⌋, ·, +, −), or None for one it cannot read."""
    if "*" in text or "⌈" in text or any(c.isalpha() and c != axis for c in text):
        return None
    code = (
        text.replace("⌊", "(")
        .replace("⌋", ")")
        .replace("/", "//")
        .replace("·", "*")
        .replace("−", "-")
        .replace(axis, str(size))
    )
    return int(eval(code, {"__builtins__": {}}))  # digits and operators only, checked above


@settings(max_examples=max(10, settings().max_examples // 10))
@given(chains())
def test_expressions_give_torch_output_sizes(spec: Spec) -> None:
    try:
        trace = propagate(spec)
    except ShapeError:
        assume(False)
    n = len(spec.input) - 1
    solution = solve_input(spec, SCAN[n])
    assume(solution.ok and solution.dims[0].at == "output")
    forward = torch_net(trace)
    for combo in itertools.islice(sorted(solved(solution)), 20):
        with torch.no_grad():
            out = forward(torch.ones(spec.batch, spec.input[0], *combo))[trace.outputs[0]]
        for j, dim in enumerate(solution.dims):
            value = evaluate_expression(dim.expression, dim.axis, combo[j])
            if value is not None:
                assert value == out.shape[2 + j], (dim.expression, combo)


def test_resizing_layers_fold_into_one_linear_expression() -> None:
    spec = graph_spec(
        """
input: [4, 8, 8]
layers:
  - {type: ConvTranspose2d, out_channels: 4, kernel_size: 3, stride: 2, padding: 1}
  - {type: ZeroPad2d, padding: 1}
  - {type: Upsample, scale_factor: 2}
  - {type: PixelShuffle, upscale_factor: 2}
  - {type: MaxPool2d, kernel_size: 2}
"""
    )
    solution = agree_with_torch(spec, 9)
    assert [d.expression for d in solution.dims] == ["4·H + 2", "4·W + 2"]
    out = torch_net(propagate(spec))(torch.ones(1, 4, 5, 7))["maxpool1"]
    assert tuple(out.shape[2:]) == (4 * 5 + 2, 4 * 7 + 2)


@pytest.mark.parametrize(("stride", "symbolic"), [(1, True), (2, False)])
def test_layers_after_a_partial_flatten(stride: int, symbolic: bool) -> None:
    """(N, C, h·w) into a Conv1d: stride 1 stays symbolic; a stride of 2 divides a symbolic size,
    so each class of inputs is tried (with each node's answer remembered by its input)."""
    spec = spec_of(
        [
            {"type": "Conv2d", "out_channels": 2, "kernel_size": 3, "padding": 1},
            {"type": "Flatten", "start_dim": 2},
            {"type": "Conv1d", "out_channels": 2, "kernel_size": 3, "stride": stride},
            {"type": "Linear", "out_features": 3},
        ],
        [2, 4, 6],
    )
    solution = agree_with_torch(spec, 14)
    assert solution.symbolic is symbolic and solution.ok and not solution.separable


@pytest.mark.parametrize(
    ("input_", "mode", "axes", "torch_says"),
    [
        ([1, 8, 8], "area", ("H", "W"), "torch returns an empty tensor for mode='area'"),
        ([1, 8], "nearest", ("L",), "torch: Input and output sizes should be greater than 0"),
        ([1, 8, 8, 8], "nearest", ("D", "H", "W"), "torch: Input and output sizes should be"),
    ],
)
def test_upsample_refusals_name_the_axis(
    input_: list[int], mode: str, axes: tuple[str, ...], torch_says: str
) -> None:
    """Upsample takes any rank; the solver tells it the input's, so each refusal names its axis
    and says what torch does with a size of 0."""
    spec = spec_of([{"type": "Upsample", "scale_factor": 0.5, "mode": mode}], input_)
    solution = solve_input(spec, 20)
    assert solution.valid[0] == ((2, 20),)
    for dim, axis in zip(solution.dims, axes, strict=True):
        (blocked,) = dim.blocked
        assert (blocked.axis, blocked.lo, blocked.hi) == (axis, 1, 1)
        assert blocked.reason.startswith(
            f"output size is too small: ⌊1·0.5⌋ = 0 along {axis} ({torch_says}"
        )
    module = torch.nn.Upsample(scale_factor=0.5, mode=mode)
    smallest = torch.ones(1, *input_[:1], *[1] * len(axes))
    if mode == "area":
        assert 0 in module(smallest).shape
    else:
        with pytest.raises(RuntimeError, match="Input and output sizes should be greater than 0"):
            module(smallest)
    assert module(torch.ones(1, *input_[:1], *[2] * len(axes))).shape[2:] == (1,) * len(axes)
