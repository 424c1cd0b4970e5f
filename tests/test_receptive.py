"""Receptive fields against torch: the input-gradient footprint of outputs of a linear copy of the net."""

from __future__ import annotations

from fractions import Fraction
from typing import Any

import pytest
import torch
from analysis_oracle import footprint, probes, run_linear_copy
from conftest import SPECS
from hypothesis import given
from hypothesis import strategies as st

from shapecalc.analysis import ReceptiveFields, receptive_fields
from shapecalc.errors import ShapecalcError
from shapecalc.loader import load
from shapecalc.spec import Spec
from shapecalc.trace import Trace, propagate

BUNDLED = sorted(SPECS.glob("*.yaml"))


def check_against_torch(trace: Trace, fields: ReceptiveFields, every: int = 1) -> tuple[int, int]:
    """Every ``every``-th node, at its first, middle and last outputs: where the field lies inside
    the input on every axis, torch's footprint is exactly the field; elsewhere (padding on some
    axis) it lies within the field's real part, and is empty when some axis reads only padding.
    (Axis by axis a union over paths is exact for the field, but not for its real part: a path
    that reads only padding along one axis reads nothing at all.) Returns the probes made, and
    how many of them had their field inside the input."""
    x = torch.ones((1, 1, *trace.input_shape[2:]), dtype=torch.float64, requires_grad=True)
    values = run_linear_copy(trace, x)
    sizes = trace.input_shape[2:]
    made = exact = 0
    for i, row in enumerate(trace.layers):
        if i % every and row is not trace.layers[-1]:
            continue
        node = fields[row.name]
        axes = list(enumerate(node.axes))
        if any(not a.whole and not fields.tracked(row.name, k) for k, a in axes):
            continue  # an axis merged by Flatten has no per-position answer
        tracked = [(k, a) for k, a in axes if not a.whole]
        dims = [fields_dim(row.output_shape, trace.input_shape, k) for k, _ in tracked]
        for position in probes([row.output_shape[d] for d in dims]) if tracked else [()]:
            index: list[Any] = [0] + [slice(None)] * (len(row.output_shape) - 1)
            for d, u in zip(dims, position, strict=True):
                index[d] = u
            if not tracked:  # every axis whole: probe the first output element
                index = [0] + [0] * (len(row.output_shape) - 1)
            seen = footprint(values, row, tuple(index))
            visible: list[tuple[int, int] | None] = []
            inside = True
            for k, a in axes:
                if a.whole:
                    visible.append(fields.reads(row.name, k))
                    continue
                u = position[[t for t, _ in tracked].index(k)]
                visible.append(fields.visible(row.name, k, u))
                span = fields.extent(row.name, k, u)
                inside &= span is not None and span[0] >= 0 and span[1] < sizes[k]
                if a.uniform and a.jump is not None and a.first is not None and span is not None:
                    # the reported (r, j, start) place this output's field
                    shift = a.jump * u
                    assert span == (a.first[0] + shift, a.first[1] + shift), (row.name, u, span)
            context = f"{row.name} at {position}: torch's gradient reaches {seen}, field {visible}"
            if None in visible:  # one axis reads only padding: no input element is read
                assert seen == (None,) * len(axes), context
            elif inside and not merged_above(trace, row, gappy):
                assert list(seen) == visible, context
                exact += 1
            else:
                # at the borders, and below a merge of paths through a transposed convolution
                # with gaps (a union over paths, axis by axis: a path may hit a gap along one axis
                # and so read nothing at all), torch's footprint lies within the field
                for got, real in zip(seen, visible, strict=True):
                    assert got is None or real[0] <= got[0] <= got[1] <= real[1], context
            made += 1
    return made, exact


def gappy(row: Any) -> bool:
    """A transposed convolution some of whose outputs read no input along an axis (stride 3 with
    kernel 1, or kernel 2 at dilation 2: the taps miss a residue of the stride)."""
    op = row.op
    if "ConvTranspose" not in row.type:
        return False
    return any(
        {t * d % s for t in range(k)} != set(range(s))
        for k, s, d in zip(op.kernel_size, op.stride, op.dilation, strict=True)
    )


def merged_above(trace: Trace, row: Any, below: Any) -> bool:
    """Whether a merge lies on some path from the input to ``row`` with a node ``below`` it
    (``below(node)`` true) on one of the merged paths."""
    by_name = {r.name: r for r in trace.layers}
    todo, seen = [(row, False)], set()
    while todo:
        node, merged = todo.pop()
        merged = merged or node.kind == "merge"
        if merged and below(node):
            return True
        for name in node.inputs:
            if name in by_name and (name, merged) not in seen:
                seen.add((name, merged))
                todo.append((by_name[name], merged))
    return False


def fields_dim(output: tuple[int, ...], input_shape: tuple[int, ...], axis: int) -> int:
    """Where axis ``axis`` of the input lives in an output of the same rank (nets that keep it)."""
    assert len(output) == len(input_shape), (output, input_shape)
    return 2 + axis


# --- known answers ------------------------------------------------------------------------------------


def test_cifar10_receptive_fields() -> None:
    """The CIFAR10 net: r = 36 and jump 8 at the last pool, its first output centred on 3.5."""
    trace = propagate(load(SPECS / "cifar10.yaml").spec)
    fields = receptive_fields(trace)
    table = {
        "conv1": (5, 1, Fraction(0), (-2, 2)),
        "maxpool1": (6, 2, Fraction(1, 2), (-2, 3)),
        "conv2": (14, 2, Fraction(1, 2), (-6, 7)),
        "maxpool2": (16, 4, Fraction(3, 2), (-6, 9)),
        "conv3": (32, 4, Fraction(3, 2), (-14, 17)),
        "maxpool3": (36, 8, Fraction(7, 2), (-14, 21)),
    }
    for name, (r, j, start, first) in table.items():
        for axis in fields[name].axes:
            assert (axis.size, axis.jump, axis.start, axis.first) == (r, j, start, first), name
    assert fields["maxpool3"].describe() == "36 (j 8, start 3.5)"
    assert fields["maxpool3"].formula() == (
        "r = 32 + (2−1)·4 = 36, j = 4·2 = 8, start = 1.5 + ((2−1)/2 − 0)·4 = 3.5"
    )
    assert fields["flatten"].axes[0].size == 36
    assert all(a.whole for a in fields["linear2"].axes)
    assert fields["linear2"].describe() == "whole input"
    made, exact = check_against_torch(trace, fields)
    assert made > exact > 0


def spec(
    layers: list[dict[str, Any]], size: tuple[int, ...] = (12, 12), channels: int = 1
) -> Trace:
    return propagate(Spec.model_validate({"input": [channels, *size], "layers": layers}))


def test_dilation_ceil_mode_and_rectangles() -> None:
    trace = spec(
        [
            {
                "type": "Conv2d",
                "out_channels": 2,
                "kernel_size": [3, 1],
                "dilation": [2, 1],
                "padding": [1, 0],
            },
            {"type": "MaxPool2d", "kernel_size": 3, "stride": 2, "padding": 1, "ceil_mode": True},
        ],
        size=(11, 9),
    )
    fields = receptive_fields(trace)
    h, w = fields["conv1"].axes
    assert (h.size, h.first, w.size, w.first) == (5, (-1, 3), 1, (0, 0))
    h, w = fields["maxpool1"].axes
    # r = 5 + (3−1)·1 = 7 along H; 1 + 2 = 3 along W; jump 2
    assert (h.size, h.jump, w.size, w.jump) == (7, 2, 3, 2)
    assert (h.first, w.first) == ((-2, 4), (-1, 1))
    check_against_torch(trace, fields)


def test_merge_is_the_union_of_its_paths() -> None:
    """A 1×1 shortcut and two 3×3 convolutions: the sum sees 5×5 from the long path; its start is
    the centre of the union. A 1-pixel shift on one path moves the union's start by half."""
    trace = spec(
        [
            {"type": "Conv2d", "name": "a", "out_channels": 2, "kernel_size": 3, "padding": 1},
            {"type": "Conv2d", "name": "b", "out_channels": 2, "kernel_size": 3, "padding": 1},
            {"type": "Conv2d", "name": "s", "from": "x", "out_channels": 2, "kernel_size": 1},
            {"type": "Add", "name": "add", "from": ["b", "s"]},
            {
                "type": "Conv2d",
                "name": "c",
                "from": "x",
                "out_channels": 2,
                "kernel_size": 3,
                "padding": 1,
            },
            {
                "type": "Conv2d",
                "name": "d",
                "from": "x",
                "out_channels": 2,
                "kernel_size": 5,
                "padding": 2,
                "dilation": [1, 1],
            },
            {
                "type": "Conv2d",
                "name": "e",
                "from": "c",
                "out_channels": 2,
                "kernel_size": 1,
                "padding": 0,
            },
            {"type": "Concat", "name": "cat", "from": ["e", "d"], "dim": 1},
        ]
    )
    fields = receptive_fields(trace)
    add = fields["add"].axes[0]
    assert (add.size, add.jump, add.start, add.first) == (5, 1, 0, (-2, 2))
    assert fields["add"].formula() == "union of b 5, s 1 = 5"
    cat = fields["cat"].axes[0]  # e sees [−1, 1], d [−2, 2]
    assert (cat.size, cat.first, cat.start) == (5, (-2, 2), 0)
    check_against_torch(trace, fields)


def test_unaligned_paths_have_no_single_jump() -> None:
    """Jumps 1 and 2 meet in an Add: output v sees a's [v−1, v+1] and b's [2v−4, 2v−3], so the
    union's size depends on v and there is no single jump."""
    trace = spec(
        [
            {"type": "Conv2d", "name": "a", "out_channels": 1, "kernel_size": 3, "padding": 1},
            {"type": "MaxPool2d", "name": "p", "from": "x", "kernel_size": 2},
            {"type": "Conv2d", "name": "b", "out_channels": 1, "kernel_size": 1, "padding": 2},
            {"type": "Add", "name": "add", "from": ["a", "b"]},
        ],
        size=(8, 8),
    )
    fields = receptive_fields(trace)
    axis = fields["add"].axes[0]
    assert axis.jump is None and not axis.uniform
    spans = [fields.extent("add", 0, v) for v in range(8)]
    assert spans == [(min(v - 1, 2 * v - 4), max(v + 1, 2 * v - 3)) for v in range(8)]
    assert axis.size == 6 and axis.describe() == "≤6"
    assert fields.visible("add", 0, 0) == (0, 1)  # b's first output reads only padding
    check_against_torch(trace, fields)


def test_global_pooling_sees_the_whole_input() -> None:
    trace = spec(
        [
            {"type": "Conv2d", "out_channels": 2, "kernel_size": 3},
            {"type": "AvgPool2d", "kernel_size": 10},  # a 10×10 map to 1×1: a window, not global
            {"type": "Flatten"},
            {"type": "Linear", "out_features": 3},
        ]
    )
    fields = receptive_fields(trace)
    assert fields["avgpool1"].axes[0].size == 12 and not fields["avgpool1"].axes[0].whole
    assert fields["linear1"].axes[0].whole
    check_against_torch(trace, fields)


# --- random graphs ------------------------------------------------------------------------------------


@st.composite
def random_graph(draw: Any) -> Trace:
    """A small random DAG of convolutions, pools, activations, sums and concatenations."""
    size = (draw(st.integers(6, 24)), draw(st.integers(6, 24)))
    layers: list[dict[str, Any]] = []
    names = ["x"]
    shapes: dict[str, tuple[int, ...]] = {"x": (1, 1, *size)}
    for i in range(draw(st.integers(1, 9))):
        name = f"n{i}"
        kind = draw(
            st.sampled_from(
                [
                    *("Conv2d", "Conv2d", "MaxPool2d", "AvgPool2d", "ReLU", "merge", "merge"),
                    *("ConvTranspose2d", "Upsample", "pad", "adaptive", "PixelShuffle"),
                ]
            )
        )
        source = draw(st.sampled_from(names))
        if kind == "merge":
            equal = [(a, b) for a in names for b in names if a < b and shapes[a] == shapes[b]]
            spatial = [
                (a, b) for a in names for b in names if a < b and shapes[a][2:] == shapes[b][2:]
            ]
            if equal and draw(st.booleans()):
                pair = draw(st.sampled_from(equal))
                entry: dict[str, Any] = {"type": "Add", "from": list(pair)}
            elif spatial:
                pair = draw(st.sampled_from(spatial))
                entry = {"type": "Concat", "from": list(pair)}
            else:
                continue
        elif kind == "Conv2d":
            entry = {
                "type": "Conv2d",
                "from": source,
                "out_channels": draw(st.sampled_from([1, 2, 4])),
                "kernel_size": [draw(st.integers(1, 5)), draw(st.integers(1, 5))],
                "stride": [draw(st.integers(1, 3)), draw(st.integers(1, 3))],
                "padding": [draw(st.integers(0, 3)), draw(st.integers(0, 3))],
                "dilation": [draw(st.integers(1, 3)), draw(st.integers(1, 3))],
            }
        elif kind in ("MaxPool2d", "AvgPool2d"):
            k = [draw(st.integers(1, 4)), draw(st.integers(1, 4))]
            entry = {
                "type": kind,
                "from": source,
                "kernel_size": k,
                "stride": [draw(st.integers(1, 3)), draw(st.integers(1, 3))],
                "padding": [draw(st.integers(0, k[0] // 2)), draw(st.integers(0, k[1] // 2))],
                "ceil_mode": draw(st.booleans()),
            }
            if kind == "MaxPool2d" and draw(st.booleans()):
                entry["dilation"] = [draw(st.integers(1, 2)), draw(st.integers(1, 2))]
        elif kind == "ConvTranspose2d":
            k = [draw(st.integers(1, 4)), draw(st.integers(1, 4))]
            entry = {
                "type": kind,
                "from": source,
                "out_channels": draw(st.integers(1, 2)),
                "kernel_size": k,
                "stride": [draw(st.integers(1, 3)), draw(st.integers(1, 3))],
                "padding": [draw(st.integers(0, k[0] - 1)), draw(st.integers(0, k[1] - 1))],
                "dilation": [draw(st.integers(1, 2)), draw(st.integers(1, 2))],
            }
        elif kind == "Upsample":
            entry = {"type": kind, "from": source}
            entry["mode"] = draw(st.sampled_from(["nearest", "bilinear", "nearest-exact"]))
            if draw(st.booleans()):
                entry["scale_factor"] = draw(st.sampled_from([2, 3, 1.5, 0.5]))
            else:
                entry["size"] = [draw(st.integers(1, 20)), draw(st.integers(1, 20))]
            if entry["mode"] == "bilinear" and draw(st.booleans()):
                entry["align_corners"] = True
        elif kind == "pad":
            mode = draw(st.sampled_from(["ZeroPad2d", "ReflectionPad2d", "ReplicationPad2d"]))
            entry = {"type": mode, "from": source}
            entry["padding"] = [draw(st.integers(-1, 2)) for _ in range(4)]
        elif kind == "adaptive":
            entry = {
                "type": draw(st.sampled_from(["AdaptiveAvgPool2d", "AdaptiveMaxPool2d"])),
                "from": source,
                "output_size": [draw(st.integers(1, 7)), draw(st.integers(1, 7))],
            }
        elif kind == "PixelShuffle":
            entry = {"type": kind, "from": source, "upscale_factor": 2}
        else:
            entry = {"type": "ReLU", "from": source}
        entry["name"] = name
        try:
            trace = spec([*layers, entry], size)
        except ShapecalcError:
            continue
        layers.append(entry)
        names.append(name)
        shapes[name] = trace.by_name[name].output_shape
    if not layers:
        layers = [{"type": "Conv2d", "name": "n0", "out_channels": 1, "kernel_size": 3}]
    return spec(layers, size)


@given(random_graph())
def test_random_graphs_against_torch(trace: Trace) -> None:
    fields = receptive_fields(trace)
    assert check_against_torch(trace, fields)[0] > 0


# --- every bundled spec -------------------------------------------------------------------------------


@pytest.mark.parametrize("path", BUNDLED, ids=[p.stem for p in BUNDLED])
def test_bundled_specs_against_torch(path: Any) -> None:
    trace = propagate(load(path).spec)
    fields = receptive_fields(trace)
    every = max(1, len(trace.layers) // 60)
    made, exact = check_against_torch(trace, fields, every)
    # a net whose input is one pixel (DCGAN's latent vector) has no field inside it
    assert made > 0 and (exact > 0 or min(trace.input_shape[2:]) == 1)


def test_a_stride_2_transposed_convolution_has_no_single_jump() -> None:
    """Outputs 2k and 2k + 1 of ConvTranspose2d(k=2, s=2) read input k alike: no (r, j, start)
    places them all; a stride-2 window after it restores one. Torch's footprints agree."""
    trace = spec(
        [
            {
                "type": "ConvTranspose2d",
                "name": "ct",
                "out_channels": 2,
                "kernel_size": 2,
                "stride": 2,
            },
            {"type": "Conv2d", "name": "c3", "out_channels": 2, "kernel_size": 3, "padding": 1},
            {"type": "Conv2d", "name": "c4", "out_channels": 2, "kernel_size": 2, "stride": 2},
        ],
        (6, 6),
        channels=2,
    )
    fields = receptive_fields(trace)
    ct, c4 = fields["ct"].axes[0], fields["c4"].axes[0]
    assert (ct.size, ct.jump, ct.uniform) == (1, None, False)
    assert [fields.extent("ct", 0, u) for u in range(4)] == [(0, 0), (0, 0), (1, 1), (1, 1)]
    assert (c4.size, c4.jump, c4.start, c4.uniform) == (3, 1, 0, True)
    made, exact = check_against_torch(trace, fields)
    assert made and exact
