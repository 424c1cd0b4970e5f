"""Operations per node and in total, in two named conventions.

* ``mult_adds``: torchinfo's multiply-adds (``torchinfo.summary``'s "Mult-Adds"), bias included:
  a convolution counts ``parameters × N × output positions``, any other layer with parameters
  ``N × parameters`` (N: the output's first dim, so a Linear on (N, L, F) counts N·params, not
  N·L·params). Layers without parameters count 0.
* ``flops``: ``torch.utils.flop_counter.FlopCounterMode``'s FLOPs: 2 per multiply-add of a
  convolution, transposed convolution, linear layer or matrix product, the bias not counted, every
  other operation 0 (https://github.com/pytorch/pytorch/blob/main/torch/utils/flop_counter.py).
  A convolution counts ``2 · N · output positions · C_out · C_in/groups · kernel elements``; a
  transposed one the same over its *input* positions; a Linear ``2 · rows · in · out``, rows
  being every dim but the last.

So for a convolution with bias, FLOPs = 2 · (mult-adds − N · output positions · C_out); for a Linear
on a 2-D input, 2 · (mult-adds − N · out_features); they agree exactly (up to the factor 2) only
without bias. Merges count 0 in both.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..trace import Trace

__all__ = ["NodeOperations", "Operations", "count_operations"]


@dataclass(frozen=True)
class NodeOperations:
    name: str
    mult_adds: int  # torchinfo's convention
    flops: int  # FlopCounterMode's convention


@dataclass(frozen=True)
class Operations:
    nodes: tuple[NodeOperations, ...]

    @property
    def mult_adds(self) -> int:
        return sum(n.mult_adds for n in self.nodes)

    @property
    def flops(self) -> int:
        return sum(n.flops for n in self.nodes)

    def __getitem__(self, name: str) -> NodeOperations:
        return self._by_name[name]

    @cached_property
    def _by_name(self) -> dict[str, NodeOperations]:
        return {n.name: n for n in self.nodes}


def count_operations(trace: Trace) -> Operations:
    """Mult-adds and FLOPs of every layer and merge of ``trace``.

    >>> from shapecalc import bundled, load, propagate
    >>> ops = count_operations(propagate(load(bundled("cifar10")).spec))
    >>> ops["conv1"].mult_adds, ops["conv1"].flops
    (159383552, 314572800)
    """
    nodes = []
    for row in trace.layers:
        assert row.op is not None
        nodes.append(
            NodeOperations(row.name, row.macs, row.op.flops(row.input_shapes, row.output_shape))
        )
    return Operations(tuple(nodes))
