"""The spec model: a network as data.

    name: Tudui            # optional; the class name of a built module class
    input: [3, 32, 32]     # per-sample shape, batch excluded
    batch: 64              # optional, default 1
    layers: [...]          # see shapecalc.layers

A Spec holds validated layer models only; ``shapecalc.loader`` turns a YAML file into one with
located errors. ``Spec.model_validate`` works on plain data too.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from .layers import (
    GELU,
    AvgPool2d,
    BatchNorm2d,
    Conv2d,
    Dropout,
    Dropout2d,
    FieldRuleError,
    Flatten,
    Identity,
    LeakyReLU,
    Linear,
    MaxPool2d,
    ReLU,
    Sigmoid,
    SiLU,
    Softmax,
    Tanh,
    check_int,
)
from .names import check_identifier, default_names

AnyLayer = Annotated[
    Conv2d
    | MaxPool2d
    | AvgPool2d
    | Flatten
    | Linear
    | BatchNorm2d
    | Dropout
    | Dropout2d
    | Identity
    | ReLU
    | LeakyReLU
    | GELU
    | SiLU
    | Sigmoid
    | Tanh
    | Softmax,
    Field(discriminator="type"),
]


@lru_cache(maxsize=64)
def _names_for(types: tuple[str, ...], given: tuple[str | None, ...]) -> tuple[str, ...]:
    # propagate, the builder and the CLI all ask; a 10,000-layer spec is named once
    return tuple(default_names(list(types), list(given)))


class Spec(BaseModel):
    """A whole network: input shape, batch size and the layers in order."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = "Net"
    input: tuple[int, ...]
    batch: int = 1
    layers: tuple[AnyLayer, ...]

    @field_validator("name", mode="before")
    @classmethod
    def _name(cls, value: object) -> object:
        return check_identifier(value, "name")

    @field_validator("input", mode="before")
    @classmethod
    def _input(cls, value: object) -> object:
        what = "a list of 1 to 5 positive integers, e.g. [3, 32, 32]"
        if not isinstance(value, (list, tuple)) or not 1 <= len(value) <= 5:
            raise ValueError(f"must be {what}, but got {value!r}")
        return tuple(check_int(v, 1, "a positive integer") for v in value)

    @field_validator("batch", mode="before")
    @classmethod
    def _batch(cls, value: object) -> object:
        return check_int(value, 1, "a positive integer")

    @field_validator("layers", mode="before")
    @classmethod
    def _layers(cls, value: object) -> object:
        if not isinstance(value, (list, tuple)) or not value:
            raise ValueError("must be a list of at least one layer")
        return value

    @model_validator(mode="after")
    def _names(self) -> Spec:
        seen: dict[str, int] = {}
        for index, name in enumerate(self.layer_names):
            if name in seen:
                raise FieldRuleError(
                    f"layers[{index}].name",
                    f"is {name!r}, like layers[{seen[name]}]; layer names must be unique",
                )
            seen[name] = index
        return self

    @property
    def layer_names(self) -> list[str]:
        """Each layer's name, given or derived (conv1, maxpool1, flatten, linear1, ...)."""
        types = tuple(layer.type for layer in self.layers)
        return list(_names_for(types, tuple(layer.name for layer in self.layers)))

    @property
    def input_shape(self) -> tuple[int, ...]:
        """The full input shape, batch first: ``(batch, *input)``."""
        return (self.batch, *self.input)
