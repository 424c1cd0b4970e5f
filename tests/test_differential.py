"""Differential tests: hypothesis draws layers and inputs, torch decides, the calculator must agree on
the output shape and on which configurations are refused.

The examples come from the registry: each registered type declares its strategy
(``Op.examples``), and a type without one fails here.
"""

from __future__ import annotations

import functools
import warnings
from typing import Any

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from oracle import EMPTY, TORCH_ERRORS, Verdict, agree, calc_layer, torch_layer
from pydantic import ValidationError

from shapecalc.builder import make_module
from shapecalc.errors import LayerError, ShapeError
from shapecalc.ops import REGISTRY
from shapecalc.spec import Spec
from shapecalc.trace import propagate

LAYERS = sorted(kind for kind, cls in REGISTRY.items() if not cls.merge)
MERGES = sorted(kind for kind, cls in REGISTRY.items() if cls.merge)


def per_type() -> Any:
    """A third of the profile's examples for each of the registry's many types."""
    return settings(max_examples=max(10, settings.default.max_examples // 3))


@pytest.mark.parametrize("kind", LAYERS)
def test_every_layer_matches_torch(kind: str) -> None:
    strategy = REGISTRY[kind].examples(st)

    @per_type()
    @given(strategy)
    def check(example: tuple[dict[str, Any], tuple[int, ...]]) -> None:
        args, shape = example
        agree(calc_layer(kind, args, shape), torch_layer(kind, args, shape), (kind, args, shape))

    check()


def _torch_merge(kind: str, args: dict[str, Any], shapes: tuple[tuple[int, ...], ...]) -> Verdict:
    tensors = [torch.ones(s) for s in shapes]
    try:
        if kind == "Concat":
            out = torch.cat(tensors, dim=args.get("dim", 1))
        else:
            fn = torch.add if kind == "Add" else torch.mul
            out = functools.reduce(fn, tensors)
    except TORCH_ERRORS as exc:
        return Verdict(False, error=f"{type(exc).__name__}: {exc}")
    # an Add that only works by broadcasting is refused unless the spec says broadcast: true
    if kind == "Add" and not args.get("broadcast") and len(set(shapes)) > 1:
        return Verdict(False, error="broadcasting Add without broadcast: true")
    return Verdict(True, tuple(out.shape))


@pytest.mark.parametrize("kind", MERGES)
def test_every_merge_matches_torch(kind: str) -> None:
    strategy = REGISTRY[kind].examples(st)

    @per_type()
    @given(strategy)
    def check(example: tuple[dict[str, Any], tuple[tuple[int, ...], ...]]) -> None:
        args, shapes = example
        try:
            op = REGISTRY[kind].model_validate({"type": kind, **args})
            calc = Verdict(True, op.infer_all(shapes).output)
        except (ValidationError, LayerError) as exc:
            calc = Verdict(False, error=str(exc))
        agree(calc, _torch_merge(kind, args, shapes), (kind, args, shapes))

    check()


def test_every_registered_type_has_a_torch_module_or_function() -> None:
    for kind, cls in REGISTRY.items():
        if not cls.merge:
            assert hasattr(torch.nn, kind), kind
        assert cls.family, kind
        assert "https://pytorch.org/docs/" in (cls.__doc__ or ""), f"{kind}: no torch doc link"
        assert "Shape" in (cls.__doc__ or "") or "shape" in (cls.__doc__ or ""), kind


# --- whole chains ------------------------------------------------------------------------------------


@st.composite
def any_layer(draw: st.DrawFn) -> dict[str, Any]:
    """One layer of any registered single-input type, its size arguments usually inferred."""
    kind = draw(st.sampled_from(LAYERS))
    args, _ = draw(REGISTRY[kind].examples(st))
    for inferable in REGISTRY[kind].inferable:
        if inferable in args and draw(st.integers(0, 4)):
            del args[inferable]
    return {"type": kind, **args}


def _run_torch_chain(
    spec: Spec, rows_inferred: list[dict[str, int]]
) -> tuple[list[tuple[int, ...]], int | None, str]:
    """Run the layers one by one; return the shapes seen and the index where torch failed."""
    x = torch.ones(spec.input_shape)
    shapes = []
    for index, layer in enumerate(entry.op for entry in spec.layers):
        assert layer is not None
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
        if 0 in x.shape:
            return shapes, index, f"{EMPTY}: {tuple(x.shape)}"
        shapes.append(tuple(x.shape))
    return shapes, None, ""


def _constructs(kind: str, args: dict[str, Any]) -> bool:
    """Whether torch.nn.<kind>(**args) builds a module."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            getattr(torch.nn, kind)(
                **{k: tuple(v) if isinstance(v, list) else v for k, v in args.items()}
            )
    except TORCH_ERRORS:
        return False
    return True


def _guess(layer: Any, shape: tuple[int, ...]) -> dict[str, Any]:
    """Sizes the calculator could not infer (it refused the layer): take them from the real tensor."""
    channels = shape[1] if len(shape) > 1 else 1
    return {
        "in_channels": channels,
        "num_features": channels,
        "num_channels": channels,
        "in_features": shape[-1],
        "normalized_shape": shape[-1:],
    }


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
        # refused by the schema: the first refused layer's constructor must refuse it in torch too
        for layer in layers:
            try:
                REGISTRY[layer["type"]].model_validate(layer)
            except ValidationError:
                args = {k: v for k, v in layer.items() if k != "type"}
                guessed = _guess(None, (1, 4, 16, 16))
                for name in REGISTRY[layer["type"]].inferable:
                    args.setdefault(name, guessed[name])
                # torch refuses it when constructing, or on the first forward pass
                cls = REGISTRY[layer["type"]]
                shape = (1, 4, *(16,) * (getattr(cls, "n", 2)))
                assert (
                    not _constructs(layer["type"], args)
                    or not torch_layer(layer["type"], args, shape).ok
                ), layer
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
