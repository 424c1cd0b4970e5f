"""The spec model: a network as data.

    name: Tudui            # optional; the class name of a built module (default Net)
    input: [3, 32, 32]     # per-sample shape, batch excluded
    batch: 64              # optional, default 1
    params: {...}          # optional: named values, used as $name in `layers`
    blocks: {...}          # optional: reusable sub-networks, by class name
    layers: [...]          # the network, in order
    output: fc             # optional: default the last entry; a list returns a tuple

``Spec.model_validate`` reads plain data and checks its structure: keys, names, scopes, ``from:``
references, expressions' syntax and every layer whose arguments are literal. What needs shapes
(``$in_channels``, inferred sizes, merges) is checked when the spec is compiled
(:func:`shapecalc.trace.propagate`). ``shapecalc.loader`` adds file positions to the problems.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ConfigDict, model_validator

from ..ops import Op

# keys of an entry that are not constructor arguments or block parameters
ENTRY_KEYS = (
    "type",
    "name",
    "from",
    "if",
    "repeat",
    "first",
    "layers",
    "repeat_name",
    "splice",
    "trainable",
)
SPEC_KEYS = ("name", "input", "batch", "params", "blocks", "layers", "output")
BLOCK_KEYS = ("params", "inputs", "layers", "output")
SEQUENTIAL = "Sequential"
REQUIRED = "required"


@dataclass(frozen=True)
class Entry:
    """One entry of a ``layers:`` list, as written (expressions not yet evaluated)."""

    type: str
    path: str  # where it is in the spec: "layers[3]", "blocks.BasicBlock.layers[6]"
    name: str | None = None  # as given
    local: str = ""  # its name in its scope: given, or the default (conv1, relu2, 0, 1, ...)
    from_: tuple[str, ...] | None = None
    if_: bool | str | None = None
    repeat: int | str | None = None
    first: Mapping[str, Any] | None = None
    layers: tuple[Entry, ...] | None = None  # Sequential only
    repeat_name: str | None = None  # "denselayer{n}": names of the copies (n from 1, i from 0)
    splice: bool = False  # repeat copies become children of the enclosing Sequential
    trainable: bool = True
    args: Mapping[str, Any] = field(default_factory=dict)  # constructor arguments / block params
    op: Op | None = None  # the validated layer, when its arguments hold no expression

    @property
    def index(self) -> int | None:
        """Index in the top-level ``layers`` list of the entry this one is, or is inside of."""
        if not self.path.startswith("layers["):
            return None
        return int(self.path[len("layers[") : self.path.index("]")])


@dataclass(frozen=True)
class Block:
    """A reusable sub-network under ``blocks:``, used as ``type: <its name>``."""

    name: str
    params: Mapping[str, Any]  # name → default, or "required"
    inputs: tuple[str, ...]
    layers: tuple[Entry, ...]
    output: str | None
    path: str  # "blocks.BasicBlock"

    @property
    def required(self) -> tuple[str, ...]:
        return tuple(k for k, v in self.params.items() if v == REQUIRED)


class Spec(BaseModel):
    """A whole network: input shape, batch size, parameters, blocks and the layers in order."""

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True, defer_build=True)

    name: str = "Net"
    input: tuple[int, ...]
    batch: int = 1
    params: Mapping[str, Any] = {}
    blocks: Mapping[str, Block] = {}
    layers: tuple[Entry, ...]
    output: tuple[str, ...] | None = None

    @model_validator(mode="before")
    @classmethod
    def _read(cls, data: Any) -> Any:
        from .structure import StructureError, read

        if isinstance(data, Spec):
            return data
        fields, problems = read(data)
        if problems:
            raise StructureError(problems)
        return fields

    @property
    def input_shape(self) -> tuple[int, ...]:
        """The full input shape, batch first: ``(batch, *input)``."""
        return (self.batch, *self.input)

    @property
    def is_chain(self) -> bool:
        """True when every entry is a torch layer reading the one above (no graph features)."""
        return (
            not self.blocks
            and not self.params
            and self.output is None
            and all(
                e.op is not None
                and not e.op.merge
                and e.from_ is None
                and e.if_ is None
                and e.repeat is None
                for e in self.layers
            )
        )

    @property
    def layer_names(self) -> list[str]:
        """Each top-level entry's name, given or derived (conv1, maxpool1, flatten, ...)."""
        return [e.local for e in self.layers]
