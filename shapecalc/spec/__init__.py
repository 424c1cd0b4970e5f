"""The spec format: the model (:class:`Spec`), its structure check, expressions and compilation.

A chain of layers is a spec; so is a graph with branches, merges, blocks and repeats. See
``Spec`` for the keys. :func:`shapecalc.trace.propagate` compiles a spec into a trace.
"""

from .model import Block, Entry, Spec
from .structure import Problem, StructureError

__all__ = ["Block", "Entry", "Problem", "Spec", "StructureError"]
