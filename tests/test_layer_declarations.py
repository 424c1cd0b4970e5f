"""What every registered type declares for the analyses, against torch, one layer at a time.

For each type the registry's own examples (``Op.examples``) are drawn; torch runs the layer and is
asked what autograd saved (``saved_tensors_hooks``), whether the output shares the input's storage,
which buffers the module holds, what an inference forward allocates besides its output, how many
FLOPs ``FlopCounterMode`` counts, and which input positions each output's gradient reaches.
"""

from __future__ import annotations

import math
import warnings
from typing import Any

import pytest
import torch
from analysis_oracle import (
    LiveBytes,
    SavedTensors,
    linear_layer,
    merge,
    module_storages,
    storage_key,
)
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError
from torch.utils.flop_counter import FlopCounterMode

from shapecalc.builder import make_module
from shapecalc.errors import LayerError
from shapecalc.formulas import Reach
from shapecalc.ops import REGISTRY, Op, Outcome, Shape

KINDS = sorted(REGISTRY)
DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16}


def per_type() -> Any:
    """Few examples per type: four checks over some ninety types, each running torch."""
    return settings(max_examples=max(6, settings.default.max_examples // 40))


def _calc(kind: str, args: dict[str, Any], shapes: tuple[Shape, ...]) -> tuple[Op, Outcome] | None:
    try:
        op = REGISTRY[kind].model_validate({"type": kind, **args})
        return op, op.infer_all(shapes)
    except (ValidationError, LayerError):
        return None


def _example(kind: str) -> Any:
    """(op, outcome, input shapes) drawn from the type's examples, those the calculator accepts."""
    strategy = REGISTRY[kind].examples(st)

    def valid(example: tuple[dict[str, Any], Any]) -> tuple[Op, Outcome, tuple[Shape, ...]] | None:
        args, shape = example
        shapes = shape if REGISTRY[kind].merge else (shape,)
        found = _calc(kind, args, shapes)
        return None if found is None else (*found, shapes)

    return strategy.map(valid).filter(lambda e: e is not None)


def _refused_in_training(op: Op, shapes: tuple[Shape, ...], outcome: Outcome) -> bool:
    """What torch refuses in training mode only: normalisation with one value per channel or
    group (the calculator notes it), feature dropout of a 1-D tensor (it does not)."""
    if op.type in ("Dropout2d", "FeatureAlphaDropout") and len(shapes[0]) < 2:
        return True  # "Feature dropout requires at least 2 dimensions in the input"
    refusals = ("one value per", "one spatial element per")
    return any(r in note for note in outcome.notes for r in refusals)


def _forward(op: Op, outcome: Outcome, inputs: list[torch.Tensor], module: Any) -> torch.Tensor:
    if op.merge:
        return merge(op, inputs, thin=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # 'same' padding, unbatched Dropout2d…
        out: torch.Tensor = module(inputs[0])
    return out


def _module(op: Op, outcome: Outcome, dtype: torch.dtype) -> Any:
    return None if op.merge else make_module(op, outcome.inferred).to(dtype)


@pytest.mark.parametrize("kind", KINDS)
def test_saved_for_backward_matches_autograd(kind: str) -> None:
    """The bytes autograd keeps, storages counted once, for every mix of which inputs require
    grad and whether the parameters are trainable."""

    @per_type()
    @given(_example(kind), st.data())
    def check(example: tuple[Op, Outcome, tuple[Shape, ...]], data: Any) -> None:
        op, outcome, shapes = example
        assume(not _refused_in_training(op, shapes, outcome))
        dtype_name = data.draw(st.sampled_from(sorted(DTYPES)))
        dtype = DTYPES[dtype_name]
        size = torch.empty((), dtype=dtype).element_size()
        grads = tuple(data.draw(st.booleans()) for _ in shapes)
        trainable = data.draw(st.booleans())
        module = _module(op, outcome, dtype)
        if module is not None:
            module.train()
            for p in module.parameters():
                p.requires_grad_(trainable)
        # non-leaf inputs: an in-place layer may overwrite them
        inputs = [
            torch.rand(s, dtype=dtype, requires_grad=True) * 1 if g else torch.rand(s, dtype=dtype)
            for s, g in zip(shapes, grads, strict=True)
        ]
        with SavedTensors() as saved:
            try:
                out = _forward(op, outcome, inputs, module)
            except NotImplementedError:  # a kernel the CPU lacks for bfloat16 (avg_pool3d)
                assume(dtype_name == "float32")
                raise
        trainable = trainable and outcome.params > 0
        assert out.requires_grad == (any(grads) or trainable)
        expected = 0
        if out.requires_grad:
            keys: dict[object, int] = {}
            output_key = ("input", 0) if not op.merge and op.aliases(True) else ("output",)
            for i, kept in enumerate(op.saved(shapes, outcome.output, grads, trainable)):
                if kept.what == "new":
                    keys[("new", i)] = kept.nbytes(size)
                elif kept.what == "input":
                    keys[("input", kept.index)] = math.prod(shapes[kept.index]) * size
                else:
                    keys[output_key] = math.prod(outcome.output) * size
            expected = sum(keys.values())
        exclude = module_storages([module]) if module is not None else set()
        assert saved.nbytes(exclude) == expected, (
            f"{op!r} on {shapes} ({dtype_name}, grads {grads}, trainable {trainable}): autograd "
            f"saved {[(tuple(t.shape), t.dtype) for t in saved.tensors]}"
        )

    check()


@pytest.mark.parametrize("kind", KINDS)
def test_storage_sharing_buffers_and_workspace_match_torch(kind: str) -> None:
    """Whether the output is the input's storage (training and inference), the buffers' bytes,
    and what an inference forward allocates besides its output (seen by a dispatch mode)."""

    @per_type()
    @given(_example(kind))
    def check(example: tuple[Op, Outcome, tuple[Shape, ...]]) -> None:
        op, outcome, shapes = example
        module = _module(op, outcome, torch.float32)
        for training in (
            (False, True) if not _refused_in_training(op, shapes, outcome) else (False,)
        ):
            if module is not None:
                module.train(training)
            inputs = [torch.rand(s) for s in shapes]
            with torch.no_grad():
                out = _forward(op, outcome, inputs, module)
            shared = storage_key(out) == storage_key(inputs[0])
            if not op.merge:
                assert shared == op.aliases(training), (op, shapes, training)
        if module is not None:
            buffers = sum(b.untyped_storage().nbytes() for b in module.buffers())
            declared = op.buffers(shapes, outcome.output)
            assert buffers == sum(b.nbytes(4) for b in declared), (op, shapes)
            params = sum(p.untyped_storage().nbytes() for p in module.parameters())
            assert params == outcome.params * 4
            module.eval()
        inputs = [torch.rand(s) for s in shapes]
        exclude = module_storages([module]) if module is not None else set()
        with torch.no_grad(), LiveBytes(exclude, *inputs) as live:
            out = _forward(op, outcome, inputs, module)
        held = {storage_key(t): t.untyped_storage().nbytes() for t in (*inputs, out)}
        assert live.peak == sum(held.values()) + op.workspace(shapes, outcome.output, 4), (
            op,
            shapes,
            live.totals,
        )

    check()


@pytest.mark.parametrize("kind", KINDS)
def test_flops_match_flop_counter_mode(kind: str) -> None:
    @per_type()
    @given(_example(kind))
    def check(example: tuple[Op, Outcome, tuple[Shape, ...]]) -> None:
        op, outcome, shapes = example
        module = _module(op, outcome, torch.float32)
        if module is not None:
            module.eval()
        inputs = [torch.rand(s, device="meta") for s in shapes]
        if module is not None:
            module.to("meta")
        counter = FlopCounterMode(display=False)
        with counter:
            _forward(op, outcome, inputs, module)
        assert counter.get_total_flops() == op.flops(shapes, outcome.output), (op, shapes)

    check()


# --- receptive field of one layer -------------------------------------------------------------------


def _spatial_dims(op: Op, shape: Shape) -> range:
    """The dims a single-layer check probes: every dim after (batch, channels)."""
    return range(2, len(shape))


def _other_dims_read(op: Op, shapes: tuple[Shape, ...], output: Shape, dim: int) -> bool:
    """Whether, along every other dim after (N, C), some output position reads an input one."""
    for other in _spatial_dims(op, shapes[0]):
        reach = op.reach(other, shapes, output)
        if other == dim or reach is None or reach.whole or reach.merged:
            continue
        target = other if reach.dim is None else reach.dim
        if not any(reach.reads(v, shapes[0][other]) for v in range(output[target])):
            return False
    return True


@pytest.mark.parametrize("kind", sorted(k for k in KINDS if not REGISTRY[k].merge))
def test_reach_matches_gradient_footprint(kind: str) -> None:
    """Along each dim after (N, C): output position u's gradient reaches exactly the real input
    positions ``reach.positions(u)`` names (on the layer's linear stand-in)."""

    @per_type()
    @given(_example(kind), st.data())
    def check(example: tuple[Op, Outcome, tuple[Shape, ...]], data: Any) -> None:
        op, outcome, shapes = example
        (shape,) = shapes
        output = outcome.output
        assume(len(shape) >= 3)
        layer = linear_layer(op, outcome.inferred)
        x = torch.ones(shape, dtype=torch.float64, requires_grad=True)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            out = layer(x)
        (anything,) = torch.autograd.grad((out * torch.rand(out.shape)).sum(), x, retain_graph=True)
        # normalising over one element (LayerNorm, a softmax over a dim of size 1) gives a
        # constant: the output reads nothing
        assume(bool(anything.any()))
        for dim in _spatial_dims(op, shape):
            reach: Reach | None = op.reach(dim, shapes, output)
            if reach is not None and reach.merged:
                continue  # merged with other dims (Flatten): no position along it to probe
            target = dim if reach is None or reach.dim is None else reach.dim
            u = data.draw(st.integers(0, output[target] - 1))
            index = [slice(None)] * len(output)
            index[target] = slice(u, u + 1)
            part = out[tuple(index)]
            seed = torch.rand(part.shape, dtype=part.dtype) + 1  # no sum that is constant
            (grad,) = torch.autograd.grad((part * seed).sum(), x, retain_graph=True)
            other = tuple(d for d in range(len(shape)) if d != dim)
            hit = torch.nonzero((grad != 0).any(dim=other) if other else grad != 0).flatten()
            seen = set(hit.tolist())
            if not _other_dims_read(op, shapes, output, dim):
                expected: set[int] = set()  # every output along another dim reads only padding
            elif reach is None:
                expected = {u}
            elif reach.whole:
                expected = set(range(shape[dim]))
            else:
                expected = set(reach.reads(u, shape[dim]))
            assert seen == expected, (op, shape, dim, u, reach)

    check()
