"""Analyses of a compiled trace: receptive fields, memory and operations, per node and in total.

Pure: each reads a :class:`~shapecalc.trace.Trace` and what its layers declare about themselves
(``reach``, ``saved``, ``flops``…, see :mod:`shapecalc.ops.base`), and returns frozen records.
"""

from .receptive import AxisField, NodeField, ReceptiveFields, receptive_fields

__all__ = ["AxisField", "NodeField", "ReceptiveFields", "receptive_fields"]
