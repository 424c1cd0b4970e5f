"""Memory against torch: module tensors, outputs, what autograd saves, and the inference peak."""

from __future__ import annotations

import contextlib
import math
from pathlib import Path

import pytest
import torch
from analysis_oracle import LiveBytes, SavedTensors, module_storages, modules_of, run_real
from conftest import ROOT, SPECS

from shapecalc.analysis import DTYPES, format_bytes, memory_use
from shapecalc.builder import build
from shapecalc.errors import ShapecalcError
from shapecalc.loader import load, loads
from shapecalc.trace import Trace, propagate

TORCH_DTYPES = {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16}
BUNDLED = sorted(SPECS.glob("*.yaml"))
NETS = [*BUNDLED, ROOT / "tests" / "specs" / "graph_inception3a.yaml"]


def _trace(path: Path) -> Trace:
    return propagate(load(path).spec)


@pytest.mark.parametrize("dtype", sorted(TORCH_DTYPES))
@pytest.mark.parametrize("path", NETS, ids=[p.stem for p in NETS])
def test_parameter_buffer_and_output_bytes_equal_the_modules(path: Path, dtype: str) -> None:
    trace = _trace(path)
    result = memory_use(trace, dtype)
    modules = modules_of(trace, TORCH_DTYPES[dtype])
    x = torch.empty(trace.input_shape, dtype=TORCH_DTYPES[dtype], device="meta")
    values = run_real(trace, {k: m.to("meta") for k, m in modules.items()}, x)
    for row in trace.layers:
        node = result[row.name]
        module = modules.get(row.name)
        params = sum(p.numel() * p.element_size() for p in module.parameters()) if module else 0
        buffers = sum(b.numel() * b.element_size() for b in module.buffers()) if module else 0
        out = values[row.name]
        assert (node.param_bytes, node.buffer_bytes, node.output_bytes) == (
            params,
            buffers,
            out.numel() * out.element_size(),
        ), row.name
    assert result.input_bytes == x.numel() * x.element_size()


def _saved_per_node(
    trace: Trace, dtype: torch.dtype, frozen: frozenset[str] = frozenset()
) -> dict[str, int]:
    """What saved_tensors_hooks sees during a CPU training forward, each storage at the first node
    that saves it; parameters and buffers left out."""
    torch.manual_seed(0)
    modules = modules_of(trace, dtype)
    for name, module in modules.items():
        module.train()
        for p in module.parameters():
            p.requires_grad_(name not in frozen)
    exclude = module_storages(modules)
    per_node: dict[str, int] = {}
    seen: set[int] = set()
    with SavedTensors() as saved:

        def after(name: str) -> None:
            found = saved.storages(exclude, after.start)  # type: ignore[attr-defined]
            per_node[name] = sum(size for key, size in found.items() if key not in seen)
            seen.update(found)
            after.start = len(saved.tensors)  # type: ignore[attr-defined]

        after.start = 0  # type: ignore[attr-defined]
        x = torch.rand(trace.input_shape, dtype=dtype)
        values = run_real(trace, modules, x, after=after)
    assert values
    return per_node


@pytest.mark.parametrize("path", NETS, ids=[p.stem for p in NETS])
def test_saved_for_backward_equals_autograd(path: Path) -> None:
    """The built module's total, and node by node (each storage at its first saver)."""
    spec = load(path).spec
    trace = propagate(spec)
    result = memory_use(trace)
    model = build(spec, trace=trace).train()
    torch.manual_seed(0)
    with SavedTensors() as saved:
        model(torch.rand(trace.input_shape))
    assert result.saved_bytes == saved.nbytes(module_storages(list(model.modules()))) > 0
    # node by node on a smaller image where the spec's is large and allows it (the same layers
    # at half the side: the big nets stay quick; AlexNet's in_features pins its size)
    shape = trace.input_shape
    if math.prod(shape[2:]) > 128 * 128:
        with contextlib.suppress(ShapecalcError):
            trace = propagate(spec, (shape[0], shape[1], *(n // 2 for n in shape[2:])))
            result = memory_use(trace)
    observed = _saved_per_node(trace, torch.float32)
    assert {n.name: n.saved_bytes for n in result.nodes} == observed


def test_saved_for_backward_in_bfloat16_and_with_frozen_layers() -> None:
    """Frozen leading layers save nothing until the first trainable one (whose input needs no
    gradient); bfloat16 halves the activations but not the int64 max-pool indices."""
    text = (
        (SPECS / "cifar10.yaml")
        .read_text()
        .replace("    name: conv1\n", "    name: conv1\n    trainable: false\n")
    )
    trace = propagate(loads(text).spec)
    assert not trace.by_name["conv1"].trainable
    for dtype in ("float32", "bfloat16"):
        result = memory_use(trace, dtype)
        observed = _saved_per_node(trace, TORCH_DTYPES[dtype], frozen=frozenset({"conv1"}))
        assert {n.name: n.saved_bytes for n in result.nodes} == observed, dtype
    assert result.nodes[0].saved_bytes == 0  # conv1: frozen, and its input needs no gradient
    assert result.trainable_params == 145_578 - 2_432 and result.frozen_params == 2_432


@pytest.mark.parametrize("path", NETS, ids=[p.stem for p in NETS])
def test_inference_peak_equals_the_live_storages_of_a_forward_pass(path: Path) -> None:
    """The largest total of live tensors while the built module runs under no_grad (an
    nn.Sequential for a chain, the generated graph module of each block for a graph)."""
    spec = load(path).spec
    trace = propagate(spec)
    model = build(spec, trace=trace).eval()
    x = torch.rand(trace.input_shape)
    exclude = module_storages(list(model.modules()))
    with torch.no_grad(), LiveBytes(exclude, x) as live:
        model(x)
    result = memory_use(trace)
    assert result.peak_bytes == live.peak, live.totals


def test_cifar10_memory_figures() -> None:
    """Batch 64, float32: 569 KiB of parameters, the peak at the first max-pool: input 768 KiB,
    conv1's output 8 MiB, the pool's output 2 MiB and its int64 indices 4 MiB."""
    result = memory_use(_trace(SPECS / "cifar10.yaml"))
    assert result.param_bytes == 145_578 * 4
    assert result.peak_node == "maxpool1"
    image, pooled = 32 * 32, 16 * 16
    assert result.peak_bytes == 64 * (3 * image * 4 + 32 * image * 4 + 32 * pooled * (4 + 8))
    assert format_bytes(result.peak_bytes) == "14.75 MiB"
    half = memory_use(_trace(SPECS / "cifar10.yaml"), "float16")
    assert half.param_bytes * 2 == result.param_bytes


def test_unknown_dtype_is_refused() -> None:
    with pytest.raises(
        ShapecalcError,
        match=r"^dtype must be one of float32, float16, bfloat16, float64, but got 'int8'$",
    ):
        memory_use(_trace(SPECS / "cifar10.yaml"), "int8")
    assert all(
        torch.empty((), dtype=getattr(torch, name)).element_size() == size
        for name, size in DTYPES.items()
    )
