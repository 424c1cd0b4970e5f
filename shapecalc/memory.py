"""How much memory a forward pass of a spec needs, from its trace alone (pure; no torch).

The estimate is the parameters plus the largest live activations of an inference forward pass
(``torch.no_grad()``, as ``verify`` runs it) through a chain of layers: while layer i runs, its input
and its output are alive and every earlier activation has been freed, so

    bytes = (parameters + max over layers of (input values + output values)) × bytes per value

with the batch included in the activations. It ignores the allocator's rounding and the framework's
own overhead (tens of MiB), and training (gradients, optimizer state, saved activations needs several
times more). The commands refuse a device whose free memory is below it.
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
    params = trace.total_params
    peak, where = 0, None
    for row in trace.layers:  # layers and merges: a container's row repeats its contents
        live = math.prod(row.input_shape) + math.prod(row.output_shape)
        if live > peak:
            peak, where = live, row.index
    return MemoryEstimate(params * size, peak * size, where, dtype)


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
