"""Analyses of a compiled trace: receptive fields, memory and operations, per node and in total.

Pure: each reads a :class:`~shapecalc.trace.Trace` and what its layers declare about themselves
(``reach``, ``saved``, ``flops``…, see :mod:`shapecalc.ops.base`), and returns frozen records.
"""

from .memory import DTYPES, Memory, NodeMemory, format_bytes, memory_use
from .operations import NodeOperations, Operations, count_operations
from .receptive import AxisField, NodeField, ReceptiveFields, receptive_fields

__all__ = [
    "DTYPES",
    "AxisField",
    "Memory",
    "NodeField",
    "NodeMemory",
    "NodeOperations",
    "Operations",
    "ReceptiveFields",
    "count_operations",
    "format_bytes",
    "memory_use",
    "receptive_fields",
]
