"""Differential tests: hypothesis draws layers and inputs, torch decides, the calculator must agree on
the output shape and on which configurations are refused."""

from __future__ import annotations

import warnings
from typing import Any

import torch
from hypothesis import given
from hypothesis import strategies as st
from oracle import TORCH_ERRORS, agree, calc_layer, torch_layer
from pydantic import ValidationError

from shapecalc.builder import make_module
from shapecalc.errors import ShapeError
from shapecalc.layers import LAYER_TYPES
from shapecalc.spec import Spec
from shapecalc.trace import propagate


def int_or_pair(lo: int, hi: int) -> st.SearchStrategy[Any]:
    return st.one_of(st.integers(lo, hi), st.lists(st.integers(lo, hi), min_size=2, max_size=2))


sizes = st.tuples(st.integers(1, 3), st.integers(1, 4), st.integers(1, 24), st.integers(1, 24))


@st.composite
def conv_args(draw: st.DrawFn) -> dict[str, Any]:
    args: dict[str, Any] = {
        "in_channels": draw(st.integers(1, 6)),
        "out_channels": draw(st.integers(1, 6)),
        "kernel_size": draw(int_or_pair(1, 7)),
    }
    if draw(st.booleans()):
        args["stride"] = draw(int_or_pair(1, 4))
    if draw(st.booleans()):
        args["padding"] = draw(st.one_of(int_or_pair(0, 5), st.sampled_from(["same", "valid"])))
    if draw(st.booleans()):
        args["dilation"] = draw(int_or_pair(1, 3))
    if draw(st.booleans()):
        args["groups"] = draw(st.integers(1, 4))
    if draw(st.booleans()):
        args["padding_mode"] = draw(st.sampled_from(["zeros", "reflect", "replicate", "circular"]))
    if draw(st.booleans()):
        args["bias"] = draw(st.booleans())
    return args


@st.composite
def pool_args(draw: st.DrawFn, dilation: bool) -> dict[str, Any]:
    args: dict[str, Any] = {"kernel_size": draw(int_or_pair(1, 6))}
    if draw(st.booleans()):
        args["stride"] = draw(int_or_pair(1, 4))
    if draw(st.booleans()):
        args["padding"] = draw(int_or_pair(0, 3))
    if dilation and draw(st.booleans()):
        args["dilation"] = draw(int_or_pair(1, 3))
    if draw(st.booleans()):
        args["ceil_mode"] = draw(st.booleans())
    return args


@given(conv_args(), sizes)
def test_conv2d_matches_torch(args: dict[str, Any], size: tuple[int, int, int, int]) -> None:
    batch, _, h, w = size
    # mostly the right channel count, sometimes a wrong one
    shape = (batch, args["in_channels"] if h % 5 else size[1], h, w)
    agree(calc_layer("Conv2d", args, shape), torch_layer("Conv2d", args, shape), (args, shape))


@given(pool_args(dilation=True), sizes)
def test_maxpool2d_matches_torch(args: dict[str, Any], shape: tuple[int, int, int, int]) -> None:
    agree(
        calc_layer("MaxPool2d", args, shape), torch_layer("MaxPool2d", args, shape), (args, shape)
    )


@given(pool_args(dilation=False), sizes, st.booleans())
def test_avgpool2d_matches_torch(
    args: dict[str, Any], shape: tuple[int, int, int, int], include_pad: bool
) -> None:
    args = {**args, "count_include_pad": include_pad}
    agree(
        calc_layer("AvgPool2d", args, shape), torch_layer("AvgPool2d", args, shape), (args, shape)
    )


@given(pool_args(dilation=True), st.integers(1, 24), st.integers(1, 24))
def test_pool_unbatched_3d_input(args: dict[str, Any], h: int, w: int) -> None:
    shape = (2, h, w)
    agree(
        calc_layer("MaxPool2d", args, shape), torch_layer("MaxPool2d", args, shape), (args, shape)
    )


# --- whole chains ------------------------------------------------------------------------------------


@st.composite
def any_layer(draw: st.DrawFn) -> dict[str, Any]:
    kind = draw(st.sampled_from(sorted(LAYER_TYPES)))
    layer: dict[str, Any] = {"type": kind}
    if kind == "Conv2d":
        args = draw(conv_args())
        if draw(st.integers(0, 4)):  # usually inferred
            del args["in_channels"]
        layer.update(args)
    elif kind == "MaxPool2d":
        layer.update(draw(pool_args(dilation=True)))
    elif kind == "AvgPool2d":
        layer.update(draw(pool_args(dilation=False)))
    elif kind == "Flatten":
        if draw(st.integers(0, 3)) == 0:
            layer["start_dim"] = draw(st.integers(-3, 3))
            layer["end_dim"] = draw(st.integers(-3, 3))
    elif kind == "Linear":
        layer["out_features"] = draw(st.integers(1, 12))
        if draw(st.integers(0, 4)) == 0:
            layer["in_features"] = draw(st.integers(1, 64))
    elif kind == "BatchNorm2d":
        if draw(st.integers(0, 4)) == 0:
            layer["num_features"] = draw(st.integers(1, 6))
    elif kind == "Softmax":
        layer["dim"] = draw(st.integers(-4, 4))
    elif kind in ("Dropout", "Dropout2d"):
        layer["p"] = draw(st.sampled_from([0.0, 0.25, 1.0]))
    return layer


def _run_torch_chain(
    spec: Spec, rows_inferred: list[dict[str, int]]
) -> tuple[list[tuple[int, ...]], int | None, str]:
    """Run the layers one by one; return the shapes seen and the index where torch failed."""
    x = torch.ones(spec.input_shape)
    shapes = []
    for index, layer in enumerate(spec.layers):
        inferred = (
            rows_inferred[index] if index < len(rows_inferred) else _guess(layer, tuple(x.shape))
        )
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                module = make_module(layer, inferred).eval()
                with torch.no_grad():
                    x = module(x)
        except TORCH_ERRORS as exc:
            return shapes, index, f"{type(exc).__name__}: {exc}"
        shapes.append(tuple(x.shape))
    return shapes, None, ""


def _guess(layer: Any, shape: tuple[int, ...]) -> dict[str, int]:
    """Sizes the calculator could not infer (it refused the layer): take them from the real tensor."""
    channels = shape[1] if len(shape) > 1 else 1
    return {"in_channels": channels, "num_features": channels, "in_features": shape[-1]}


@given(
    st.tuples(st.integers(1, 4), st.integers(4, 20), st.integers(4, 20)),
    st.integers(1, 3),
    st.lists(any_layer(), min_size=1, max_size=6),
)
def test_random_chains_match_torch(
    input_shape: tuple[int, int, int], batch: int, layers: list[dict[str, Any]]
) -> None:
    try:
        spec = Spec.model_validate({"input": list(input_shape), "batch": batch, "layers": layers})
    except ValidationError:
        # refused by the schema: the first refused layer must also be refused by torch's constructor
        for layer in layers:
            try:
                LAYER_TYPES[layer["type"]].model_validate(layer)
            except ValidationError:
                args = {k: v for k, v in layer.items() if k != "type"}
                args.setdefault("in_channels", 4) if layer["type"] == "Conv2d" else None
                shape = (1, args.get("in_channels", 4), 16, 16)
                assert not torch_layer(layer["type"], args, shape).ok, layer
                return
        raise
    try:
        trace = propagate(spec)
        failed_at = None
        rows = trace.rows
    except ShapeError as exc:
        failed_at = exc.index
        rows = exc.trace.rows if exc.trace else ()
    real_shapes, real_failed_at, message = _run_torch_chain(spec, [row.inferred for row in rows])
    assert failed_at == real_failed_at, (
        f"verdict mismatch: shapecalc failed at {failed_at}, torch at {real_failed_at} ({message}) "
        f"for {layers} on {spec.input_shape}"
    )
    assert [row.output_shape for row in rows] == real_shapes
