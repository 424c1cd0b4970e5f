"""Operations against their oracles: mult-adds against torchinfo, FLOPs against FlopCounterMode,
per layer and in total, on every bundled spec and the graph examples."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
import torchinfo
from analysis_oracle import merge, modules_of
from conftest import ROOT, SPECS
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from shapecalc.analysis import count_operations
from shapecalc.loader import load
from shapecalc.trace import Trace, propagate

NETS = [*sorted(SPECS.glob("*.yaml")), ROOT / "tests" / "specs" / "graph_inception3a.yaml"]


class Interpreted(nn.Module):
    """A trace's layers as children of one module, run node by node (merges: torch functions)."""

    def __init__(self, trace: Trace) -> None:
        super().__init__()
        self.trace = trace
        self.nodes = nn.ModuleDict(
            {name.replace(".", "__"): m for name, m in modules_of(trace).items()}
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        values = {"x": x}
        for row in self.trace.layers:
            assert row.op is not None
            inputs = [values[name] for name in row.inputs]
            if row.op.merge:
                values[row.name] = merge(row.op, inputs, thin=False)
            else:
                values[row.name] = self.nodes[row.name.replace(".", "__")](inputs[0])
        return values[self.trace.layers[-1].name]


@pytest.mark.parametrize("path", NETS, ids=[p.stem for p in NETS])
def test_flops_equal_flop_counter_mode_per_layer(path: Path) -> None:
    trace = propagate(load(path).spec)
    ops = count_operations(trace)
    modules = {k: m.to("meta").eval() for k, m in modules_of(trace).items()}
    values = {"x": torch.empty(trace.input_shape, device="meta")}
    total = 0
    for row in trace.layers:
        assert row.op is not None
        inputs = [values[name] for name in row.inputs]
        counter = FlopCounterMode(display=False)
        with counter:
            if row.op.merge:
                values[row.name] = merge(row.op, inputs, thin=False)
            else:
                values[row.name] = modules[row.name](inputs[0])
        assert ops[row.name].flops == counter.get_total_flops(), row.name
        total += counter.get_total_flops()
    assert ops.flops == total > 0


@pytest.mark.parametrize("path", NETS, ids=[p.stem for p in NETS])
def test_mult_adds_equal_torchinfo_per_layer(path: Path) -> None:
    trace = propagate(load(path).spec)
    ops = count_operations(trace)
    model = Interpreted(trace)
    stats = torchinfo.summary(model, input_size=trace.input_shape, device="meta", verbose=0)
    found = {
        info.var_name.replace("__", "."): info.macs
        for info in stats.summary_list
        if info.is_leaf_layer and info.depth == 2
    }
    expected = {n.name: n.mult_adds for n in ops.nodes if n.name in found}
    assert found == expected
    assert set(found) | {r.name for r in trace.layers if r.kind == "merge"} == {
        r.name for r in trace.layers
    }
    assert ops.mult_adds == stats.total_mult_adds == trace.total_macs


def test_the_two_conventions_differ_by_the_bias_and_the_factor_two() -> None:
    """Conv2d 3→32, 5×5, on [64, 3, 32, 32]: mult-adds count the bias, FLOPs count 2 per
    multiply-add without it."""
    trace = propagate(load(SPECS / "cifar10.yaml").spec)
    ops = count_operations(trace)
    conv1 = ops["conv1"]
    positions = 64 * 32 * 32
    assert conv1.mult_adds == (32 * 3 * 25 + 32) * positions
    assert conv1.flops == 2 * 32 * 3 * 25 * positions
    assert conv1.flops == 2 * (conv1.mult_adds - 32 * positions)
    assert ops["maxpool1"].flops == ops["maxpool1"].mult_adds == 0
