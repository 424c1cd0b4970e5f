"""How much memory a forward pass of a spec needs, from its trace alone (pure; no torch).

The estimate is the parameters plus the largest live activations of an inference forward pass
(``torch.no_grad()``, as ``verify`` runs it). Through a chain of layers, while layer i runs its input
and its output are alive and every earlier activation has been freed, so

    bytes = (parameters + max over layers of (input values + output values)) × bytes per value

with the batch included in the activations. In a graph a tensor lives from the node that makes it
to the last node that reads it (a skip connection keeps it alive across a whole block), so the
peak is the largest sum of the tensors alive while one node runs; for a chain that is the formula
above. It ignores the allocator's rounding and the framework's own overhead (tens of MiB), and
training (gradients, optimizer state, saved activations need several times more). The commands
refuse a device whose free memory is below it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from .trace import Trace

#: bytes per value of each dtype the command line allocates (torch's default is float32)
DTYPE_BYTES = {"float32": 4, "float16": 2, "bfloat16": 2, "float64": 8}


@dataclass(frozen=True)
class MemoryEstimate:
    """Bytes a forward pass needs: parameters, and the peak of live activations at one layer."""

    param_bytes: int
    activation_bytes: int  # input + output of the layer where they peak
    peak_layer: int | None  # index of that layer; None for a spec without layers
    dtype: str

    @property
    def total_bytes(self) -> int:
        return self.param_bytes + self.activation_bytes


def forward_memory(trace: Trace, dtype: str = "float32") -> MemoryEstimate:
    """Estimate the memory of an inference forward pass of ``trace`` (see the module docstring).

    >>> from shapecalc.trace import Row, Trace
    >>> rows = (Row(0, "linear1", "Linear", (8, 100), (8, 10), 1010, 0, ()),)
    >>> estimate = forward_memory(Trace("Net", (8, 100), rows))
    >>> estimate.param_bytes, estimate.activation_bytes, estimate.total_bytes
    (4040, 3520, 7560)
    """
    size = DTYPE_BYTES[dtype]
    nodes = trace.layers  # layers and merges, in the order they run; containers only group them
    returns = {row.name: row.returns for row in trace.rows if row.returns}

    def source(name: str) -> str:
        while name in returns:  # a container's output is its returned node's
            name = returns[name]
        return name

    last_read: dict[str, int] = {}
    for step, row in enumerate(nodes):
        for name in row.inputs or ((nodes[step - 1].name,) if step else ("x",)):
            last_read[source(name)] = step
    for name in trace.outputs or ((nodes[-1].name,) if nodes else ()):
        last_read[source(name)] = len(nodes)  # returned: alive to the end
    live = {"x": math.prod(trace.input_shape)}
    peak, where = 0, None
    for step, row in enumerate(nodes):
        out = math.prod(row.output_shape)
        if sum(live.values()) + out > peak:
            peak, where = sum(live.values()) + out, row.index
        live[row.name] = out
        for name in [n for n in live if last_read.get(n, -1) <= step]:
            del live[name]  # nothing later reads it
    return MemoryEstimate(trace.total_params * size, peak * size, where, dtype)


def format_bytes(count: int) -> str:
    """Bytes in binary units with two decimals.

    >>> format_bytes(512), format_bytes(3 * 2**20), format_bytes(8_000_000_000_000_000)
    ('512 B', '3.00 MiB', '7.11 PiB')
    """
    if count < 1024:
        return f"{count} B"
    value = float(count)
    for unit in ("KiB", "MiB", "GiB", "TiB", "PiB", "EiB"):
        value /= 1024
        if value < 1024 or unit == "EiB":
            break
    return f"{value:.2f} {unit}"
