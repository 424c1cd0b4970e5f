"""The layer types a spec may use: one pydantic model each, with torch.nn's argument names and defaults,
and the rule that maps an incoming shape to an outgoing one.

The registry is closed: ``LAYER_TYPES`` maps the ``type:`` string of a spec to its model and nothing else
is ever looked up. Shapes are tuples that include the batch dimension, as torch reports them.
Spatial layers are written once for any number of dimensions (``n``); Conv1d/3d and the like are a
matter of registering a subclass with another ``n``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from .errors import LayerError
from .formulas import DimStep, check_pool_padding, conv_dim, pool_dim, same_padding
from .names import check_identifier

Shape = tuple[int, ...]

# Sizes larger than this are refused as absurd (torch indexes with 64-bit ints, but no real net
# has a layer this wide, and such a number is almost always a typo).
MAX_SIZE = 2**31 - 1

AXES = {1: ("L",), 2: ("H", "W"), 3: ("D", "H", "W")}


@dataclass(frozen=True)
class Outcome:
    """What a layer does to one incoming shape."""

    output: Shape
    params: int = 0
    dims: tuple[DimStep, ...] = ()
    formula: str = ""  # explanation for layers without spatial formulas
    notes: tuple[str, ...] = ()  # things torch would warn about
    inferred: dict[str, int] = field(default_factory=dict)  # in_channels, in_features, ...


def shape_str(shape: Shape) -> str:
    return "[" + ", ".join(map(str, shape)) + "]"


# --- value checks shared by the models --------------------------------------------------------------


def _describe(value: object) -> str:
    if isinstance(value, bool):
        return f"the boolean {str(value).lower()} (YAML reads yes/no/on/off/true/false as booleans)"
    if isinstance(value, float):
        return f"the float {value!r}"
    if isinstance(value, str):
        return f"the string {value!r}"
    if value is None:
        return "null"
    if isinstance(value, (list, tuple)):
        return f"a list of {len(value)}"
    if isinstance(value, dict):
        return "a mapping"
    return repr(value)


class FieldRuleError(ValueError):
    """A rule across several arguments, blamed on one of them (pydantic can't locate those itself)."""

    def __init__(self, field: str, message: str) -> None:
        self.field = field
        super().__init__(message)


def check_int(value: object, minimum: int | None, what: str) -> int:
    """An int that is not a bool, within [minimum, MAX_SIZE]."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"must be {what}, but got {_describe(value)}")
    if minimum is not None and value < minimum:
        raise ValueError(f"must be {what}, but got {value}")
    if abs(value) > MAX_SIZE:
        raise ValueError(f"must be {what} of at most {MAX_SIZE}, but got {value}")
    return value


def _int_tuple(value: object, n: int, minimum: int, what: str) -> tuple[int, ...]:
    """Normalise "int or n-list" once, like PyTorch's ``_pair``."""
    desc = f"{what} or a list of {n} such integers"
    if isinstance(value, (list, tuple)):
        if len(value) != n:
            raise ValueError(f"must be {desc}, but got a list of {len(value)}")
        return tuple(check_int(v, minimum, what) for v in value)
    return (check_int(value, minimum, desc),) * n


def _number(value: object, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"must be {what}, but got {_describe(value)}")
    return float(value)


def _bool(value: object) -> bool:
    if not isinstance(value, bool):
        raise ValueError(f"must be true or false, but got {_describe(value)}")
    return value


# the bool arguments of every registered layer (a test checks this list against the models)
BOOL_ARGUMENTS = (
    "bias",
    "ceil_mode",
    "count_include_pad",
    "affine",
    "track_running_stats",
    "inplace",
)

POSITIVE = "a positive integer"
NON_NEGATIVE = "a non-negative integer"


class Layer(BaseModel):
    """Base of every layer model: ``type`` and an optional ``name``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    type: str
    name: str | None = None

    # names of arguments the calculator can infer from the incoming tensor
    inferable: ClassVar[tuple[str, ...]] = ()
    # False for layers that mix or drop the spatial dims (Flatten, Linear): shapecalc solve-input
    # treats each spatial dimension on its own only up to the first such layer
    separable: ClassVar[bool] = True

    @field_validator(*BOOL_ARGUMENTS, mode="before", check_fields=False)
    @classmethod
    def _booleans(cls, value: object) -> object:
        """Every bool argument is a real YAML boolean: no 0/1, no strings."""
        return _bool(value)

    @field_validator("name", mode="before")
    @classmethod
    def _name(cls, value: object) -> object:
        if value is not None and not isinstance(value, str):
            raise ValueError(f"must be a string, but got {_describe(value)}")
        return value if value is None else check_identifier(value, "name")

    def infer(self, shape: Shape) -> Outcome:  # pragma: no cover - every subclass overrides it
        raise NotImplementedError

    def dim_step(self, i: int, size: int) -> DimStep | None:
        """What spatial dimension ``i`` goes through, for a separable layer; None keeps the size."""
        return None

    def constructor_args(self, inferred: dict[str, int] | None = None) -> dict[str, Any]:
        """Keyword arguments for the torch.nn constructor, with inferred sizes filled in.

        Unset optionals are left out (torch applies its own default), and a tuple of equal values is
        passed as one int, as a person would write it (torch prints ``MaxPool2d(kernel_size=2, ...)``).
        """
        args: dict[str, Any] = {}
        for key, value in self.model_dump(exclude={"type", "name"}).items():
            if value is None:
                value = (inferred or {}).get(key)
                if value is None:
                    continue
            if isinstance(value, tuple) and len(set(value)) == 1:
                value = value[0]
            args[key] = value
        return args


# --- spatial layers ---------------------------------------------------------------------------------


class _Spatial(Layer):
    n: ClassVar[int] = 2

    @classmethod
    def _axes(cls) -> tuple[str, ...]:
        return AXES[cls.n]

    @classmethod
    def _split(cls, shape: Shape) -> tuple[Shape, Shape]:
        """Leading dims (batch?, channels) and the n spatial dims; torch takes n+1 or n+2 dims."""
        if len(shape) not in (cls.n + 1, cls.n + 2):
            raise LayerError(
                f"{cls.__name__} expects a {cls.n + 2}-D (batch, channels, "
                f"{', '.join(cls._axes())}) or {cls.n + 1}-D unbatched input, but got a "
                f"{len(shape)}-D tensor {shape_str(shape)}",
                "Put Flatten after the last convolution or pooling layer"
                if len(shape) < cls.n + 1
                else None,
            )
        return shape[: -cls.n], shape[-cls.n :]


def _tuple_validator(*names: str, minimum: int, what: str):  # type: ignore[no-untyped-def]
    def validate(cls: type[_Spatial], value: object) -> object:
        if value is None:
            return value
        return _int_tuple(value, cls.n, minimum, what)

    return field_validator(*names, mode="before")(classmethod(validate))


class ConvNd(_Spatial):
    in_channels: int | None = None
    out_channels: int
    kernel_size: tuple[int, ...]
    # int defaults, made n-tuples by the validators, so Conv1d/Conv3d need no defaults of their own
    stride: tuple[int, ...] = Field(default=1, validate_default=True)
    padding: tuple[int, ...] | Literal["same", "valid"] = Field(default=0, validate_default=True)
    dilation: tuple[int, ...] = Field(default=1, validate_default=True)
    groups: int = 1
    bias: bool = True
    padding_mode: Literal["zeros", "reflect", "replicate", "circular"] = "zeros"

    inferable = ("in_channels",)
    _positive = _tuple_validator("kernel_size", "stride", "dilation", minimum=1, what=POSITIVE)

    @field_validator("padding", mode="before")
    @classmethod
    def _padding(cls, value: object) -> object:
        if isinstance(value, str):
            if value not in ("same", "valid"):
                raise ValueError(
                    f"must be 'same', 'valid' or a non-negative integer, but got {value!r}"
                )
            return value
        return _int_tuple(value, cls.n, 0, NON_NEGATIVE)

    @field_validator("in_channels", "out_channels", "groups", mode="before")
    @classmethod
    def _sizes(cls, value: object) -> object:
        return None if value is None else check_int(value, 1, POSITIVE)

    @field_validator("padding_mode", mode="before")
    @classmethod
    def _padding_mode(cls, value: object) -> object:
        modes = ("zeros", "reflect", "replicate", "circular")
        if value not in modes:
            raise ValueError(
                f"must be one of {', '.join(repr(m) for m in modes)}, but got {_describe(value)}"
            )
        return value

    @model_validator(mode="after")
    def _torch_constructor_rules(self) -> ConvNd:
        # the rules torch's _ConvNd.__init__ enforces with a ValueError
        stride = self.stride
        if self.padding == "same" and any(s != 1 for s in stride):
            raise FieldRuleError(
                "padding",
                f"padding='same' is not supported for strided convolutions (stride={list(stride)}); "
                "use stride 1, or an explicit padding (shapecalc solve-padding finds one)",
            )
        if self.out_channels % self.groups:
            raise FieldRuleError(
                "groups",
                f"out_channels must be divisible by groups, but got out_channels="
                f"{self.out_channels} and groups={self.groups}",
            )
        if self.in_channels is not None and self.in_channels % self.groups:
            raise FieldRuleError(
                "groups",
                f"in_channels must be divisible by groups, but got in_channels="
                f"{self.in_channels} and groups={self.groups}",
            )
        return self

    def pads(self) -> list[tuple[int, int]]:
        if self.padding == "same":
            return [
                same_padding(k, d) for k, d in zip(self.kernel_size, self.dilation, strict=True)
            ]
        if self.padding == "valid":
            return [(0, 0)] * self.n
        return [(p, p) for p in self.padding]

    def dim_step(self, i: int, size: int) -> DimStep:
        """Spatial dimension ``i`` of size ``size``: the conv formula and the padding-mode limits."""
        axis = self._axes()[i]
        left, right = self.pads()[i]
        big = max(left, right)
        if self.padding_mode == "reflect" and big >= size:
            raise LayerError(
                f"padding_mode='reflect' needs padding smaller than the input, but got "
                f"padding {big} for {axis} = {size}",
                "Use a smaller padding, padding_mode 'replicate' or 'zeros', or a larger input",
                field="padding",
            )
        if self.padding_mode == "circular" and big > size:
            raise LayerError(
                f"padding_mode='circular' needs padding at most the input size, but got "
                f"padding {big} for {axis} = {size} (it would wrap around more than once)",
                "Use a smaller padding, another padding_mode, or a larger input",
                field="padding",
            )
        return conv_dim(
            axis, size, self.kernel_size[i], self.stride[i], left, right, self.dilation[i]
        )

    def infer(self, shape: Shape) -> Outcome:
        lead, spatial = self._split(shape)
        channels = lead[-1]
        notes: list[str] = []
        if self.in_channels is not None and self.in_channels != channels:
            raise LayerError(
                f"in_channels is {self.in_channels}, but the incoming tensor has {channels} channels",
                f"Set in_channels: {channels}, or leave it out to infer it",
                field="in_channels",
            )
        if channels % self.groups:
            raise LayerError(
                f"in_channels must be divisible by groups, but the incoming tensor has {channels} "
                f"channels and groups={self.groups}",
                "Change groups to a divisor of the channel count",
                field="groups",
            )
        pads = self.pads()
        if self.padding == "same" and any(left != right for left, right in pads):
            notes.append(
                "padding='same' with an even effective kernel pads one more on the right/bottom "
                "(torch warns that it may need a zero-padded copy of the input)"
            )
        dims = tuple(self.dim_step(i, size) for i, size in enumerate(spatial))
        weights = self.out_channels * (channels // self.groups) * math.prod(self.kernel_size)
        params = weights + (self.out_channels if self.bias else 0)
        output = (*lead[:-1], self.out_channels, *(d.size_out for d in dims))
        return Outcome(output, params, dims, notes=tuple(notes), inferred={"in_channels": channels})


class PoolNd(_Spatial):
    kernel_size: tuple[int, ...]
    stride: tuple[int, ...] | None = None
    padding: tuple[int, ...] = Field(default=0, validate_default=True)
    ceil_mode: bool = False

    _positive = _tuple_validator("kernel_size", "stride", minimum=1, what=POSITIVE)
    _padding = _tuple_validator("padding", minimum=0, what=NON_NEGATIVE)

    @model_validator(mode="after")
    def _padding_limit(self) -> PoolNd:
        for axis, k, p, d in zip(
            self._axes(), self.kernel_size, self.padding, self._dilation(), strict=True
        ):
            try:
                check_pool_padding(axis, k, p, d)
            except LayerError as exc:
                raise FieldRuleError("padding", f"{exc.rule}. {exc.fix}") from None
        return self

    def _dilation(self) -> tuple[int, ...]:
        return (1,) * self.n

    def dim_step(self, i: int, size: int) -> DimStep:
        """Spatial dimension ``i`` of size ``size``: the pooling formula and its checks."""
        stride = (self.stride or self.kernel_size)[i]
        return pool_dim(
            self._axes()[i],
            size,
            self.kernel_size[i],
            stride,
            self.padding[i],
            self._dilation()[i],
            self.ceil_mode,
        )

    def infer(self, shape: Shape) -> Outcome:
        lead, spatial = self._split(shape)
        if 0 in shape:
            raise LayerError(f"{self.type} expects a non-empty input, but got {shape_str(shape)}")
        dims = tuple(self.dim_step(i, size) for i, size in enumerate(spatial))
        return Outcome((*lead, *(d.size_out for d in dims)), 0, dims)


class MaxPoolNd(PoolNd):
    dilation: tuple[int, ...] = Field(default=1, validate_default=True)
    _dil = _tuple_validator("dilation", minimum=1, what=POSITIVE)

    def _dilation(self) -> tuple[int, ...]:
        return self.dilation


class AvgPoolNd(PoolNd):
    count_include_pad: bool = True
    divisor_override: int | None = None

    @field_validator("divisor_override", mode="before")
    @classmethod
    def _divisor(cls, value: object) -> object:
        return None if value is None else check_int(value, 1, POSITIVE)


class Conv2d(ConvNd):
    type: Literal["Conv2d"]


class MaxPool2d(MaxPoolNd):
    type: Literal["MaxPool2d"]


class AvgPool2d(AvgPoolNd):
    type: Literal["AvgPool2d"]


# --- other layers -----------------------------------------------------------------------------------


class Flatten(Layer):
    type: Literal["Flatten"]
    separable = False
    start_dim: int = 1
    end_dim: int = -1

    @field_validator("start_dim", "end_dim", mode="before")
    @classmethod
    def _dims(cls, value: object) -> object:
        return check_int(value, None, "an integer")

    def infer(self, shape: Shape) -> Outcome:
        ndim = len(shape)
        bounds = []
        for arg in ("start_dim", "end_dim"):
            dim = getattr(self, arg)
            if not -ndim <= dim < ndim:
                raise LayerError(
                    f"{arg}={dim} is out of range for a {ndim}-D tensor (valid: {-ndim} to {ndim - 1})",
                    f"Set {arg} between {-ndim} and {ndim - 1}",
                    field=arg,
                )
            bounds.append(dim % ndim)
        start, end = bounds
        if start > end:
            raise LayerError(
                f"start_dim ({self.start_dim}) comes after end_dim ({self.end_dim}) "
                f"for a {ndim}-D tensor",
                "Swap them",
                field="start_dim",
            )
        merged = shape[start : end + 1]
        size = math.prod(merged)
        formula = "·".join(map(str, merged)) + f" = {size}" if len(merged) > 1 else "shape kept"
        return Outcome((*shape[:start], size, *shape[end + 1 :]), 0, formula=formula)


class Linear(Layer):
    type: Literal["Linear"]
    separable = False
    in_features: int | None = None
    out_features: int
    bias: bool = True

    inferable = ("in_features",)

    @field_validator("in_features", "out_features", mode="before")
    @classmethod
    def _sizes(cls, value: object) -> object:
        return None if value is None else check_int(value, 1, POSITIVE)

    def infer(self, shape: Shape) -> Outcome:
        features = shape[-1]
        if self.in_features is not None and self.in_features != features:
            raise LayerError(
                f"in_features is {self.in_features}, but the incoming tensor has {features} "
                "features in its last dimension",
                f"Set in_features: {features}, or leave it out to infer it",
                field="in_features",
            )
        params = features * self.out_features + (self.out_features if self.bias else 0)
        return Outcome(
            (*shape[:-1], self.out_features),
            params,
            formula=f"features: {features} → {self.out_features}",
            inferred={"in_features": features},
        )


class BatchNorm2d(Layer):
    type: Literal["BatchNorm2d"]
    num_features: int | None = None
    eps: float = 1e-5
    momentum: float | None = 0.1
    affine: bool = True
    track_running_stats: bool = True

    inferable = ("num_features",)

    @field_validator("num_features", mode="before")
    @classmethod
    def _size(cls, value: object) -> object:
        return None if value is None else check_int(value, 1, POSITIVE)

    @field_validator("eps", mode="before")
    @classmethod
    def _eps(cls, value: object) -> object:
        return _number(value, "a number")

    @field_validator("momentum", mode="before")
    @classmethod
    def _momentum(cls, value: object) -> object:
        return None if value is None else _number(value, "a number or null")

    def infer(self, shape: Shape) -> Outcome:
        if len(shape) != 4:
            raise LayerError(
                f"BatchNorm2d expects a 4-D (batch, channels, H, W) input, but got a {len(shape)}-D "
                f"tensor {shape_str(shape)}",
                "Use it only between 2-D convolution or pooling layers",
            )
        channels = shape[1]
        if self.num_features is not None and self.num_features != channels:
            raise LayerError(
                f"num_features is {self.num_features}, but the incoming tensor has {channels} channels",
                f"Set num_features: {channels}, or leave it out to infer it",
                field="num_features",
            )
        return Outcome(
            shape,
            2 * channels if self.affine else 0,
            formula="shape kept",
            inferred={"num_features": channels},
        )


class _ShapeKept(Layer):
    def infer(self, shape: Shape) -> Outcome:
        return Outcome(shape, formula="shape kept")


class _Inplace(_ShapeKept):
    inplace: bool = False


class _DropoutBase(_Inplace):
    p: float = 0.5

    @field_validator("p", mode="before")
    @classmethod
    def _p(cls, value: object) -> object:
        p = _number(value, "a probability between 0 and 1")
        if not 0 <= p <= 1:
            raise ValueError(f"must be a probability between 0 and 1, but got {p}")
        return p


class Dropout(_DropoutBase):
    type: Literal["Dropout"]


class Dropout2d(_DropoutBase):
    type: Literal["Dropout2d"]

    def infer(self, shape: Shape) -> Outcome:
        notes: tuple[str, ...] = ()
        if len(shape) == 3:
            notes = ("a 3-D input is taken as unbatched (C, H, W); torch warns about this",)
        elif len(shape) != 4:
            notes = (f"torch warns that a {len(shape)}-D input to Dropout2d is deprecated",)
        return Outcome(shape, formula="shape kept", notes=notes)


class Identity(_ShapeKept):
    type: Literal["Identity"]


class ReLU(_Inplace):
    type: Literal["ReLU"]


class SiLU(_Inplace):
    type: Literal["SiLU"]


class LeakyReLU(_Inplace):
    type: Literal["LeakyReLU"]
    negative_slope: float = 0.01

    @field_validator("negative_slope", mode="before")
    @classmethod
    def _slope(cls, value: object) -> object:
        return _number(value, "a number")


class GELU(_ShapeKept):
    type: Literal["GELU"]
    approximate: Literal["none", "tanh"] = "none"

    @field_validator("approximate", mode="before")
    @classmethod
    def _approx(cls, value: object) -> object:
        if value not in ("none", "tanh"):
            raise ValueError(f"must be 'none' or 'tanh', but got {_describe(value)}")
        return value


class Sigmoid(_ShapeKept):
    type: Literal["Sigmoid"]


class Tanh(_ShapeKept):
    type: Literal["Tanh"]


class Softmax(_ShapeKept):
    type: Literal["Softmax"]
    dim: int | None = None

    @field_validator("dim", mode="before")
    @classmethod
    def _dim(cls, value: object) -> object:
        return None if value is None else check_int(value, None, "an integer")

    def infer(self, shape: Shape) -> Outcome:
        ndim = len(shape)
        if self.dim is None:
            # torch's legacy _get_softmax_dim
            chosen = 0 if ndim in (0, 1, 3) else 1
            return Outcome(
                shape,
                formula="shape kept",
                notes=(f"no dim given: torch picks dim={chosen} and warns; set dim explicitly",),
            )
        if not -ndim <= self.dim < ndim:
            raise LayerError(
                f"dim={self.dim} is out of range for a {ndim}-D tensor (valid: {-ndim} to {ndim - 1})",
                "Set dim to -1 for the last dimension",
                field="dim",
            )
        return Outcome(shape, formula="shape kept")


LAYER_TYPES: dict[str, type[Layer]] = {
    cls.__name__: cls
    for cls in (
        Conv2d,
        MaxPool2d,
        AvgPool2d,
        Flatten,
        Linear,
        BatchNorm2d,
        Dropout,
        Dropout2d,
        Identity,
        ReLU,
        LeakyReLU,
        GELU,
        SiLU,
        Sigmoid,
        Tanh,
        Softmax,
    )
}
