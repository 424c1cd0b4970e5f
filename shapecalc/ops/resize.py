"""Resizing: Upsample, UpsamplingNearest2d, UpsamplingBilinear2d, PixelShuffle, PixelUnshuffle."""

from __future__ import annotations

import math
from typing import Annotated, Any, ClassVar, Literal

from pydantic import BeforeValidator, PrivateAttr, field_validator, model_validator

from ..errors import LayerError
from ..formulas import DimStep, Reach, Resample, Slide, Spread, Window
from .base import (
    AXES,
    INPUT,
    MAX_SIZE,
    POSITIVE,
    FieldRuleError,
    Layer,
    Outcome,
    Shape,
    Stored,
    check_int,
    choice,
    number,
    register,
    shape_str,
    strict_bool,
)

MODES = ("nearest", "linear", "bilinear", "bicubic", "trilinear", "area", "nearest-exact")
# the interpolating modes, the only ones that take align_corners, and the input rank each needs
INTERPOLATING = {"linear": 3, "bilinear": 4, "bicubic": 4, "trilinear": 5}
BY_RANK = {3: "'linear'", 4: "'bilinear' or 'bicubic'", 5: "'trilinear'"}


def optional_flag(value: object) -> bool | None:
    return None if value is None else strict_bool(value)


# a bool argument whose default None means "torch decides" (align_corners, recompute_scale_factor)
OptionalFlag = Annotated[bool | None, BeforeValidator(optional_flag)]


def _entries(value: object, what: str, check: Any) -> Any:
    """One value, or a list of 1 to 3 (one per spatial dim), each checked by ``check``."""
    if isinstance(value, (list, tuple)):
        if not 1 <= len(value) <= 3:
            raise ValueError(
                f"must be {what} or a list of 1 to 3 of them (one per spatial dim), but got a "
                f"list of {len(value)}"
            )
        return tuple(check(v) for v in value)
    return check(value)


def _positive_scale(value: object) -> float:
    scale = number(value, "a positive number")
    if scale <= 0:
        raise ValueError(f"must be a positive number, but got {value}")
    return scale


class UpsampleBase(Layer):
    """Resizing by ``size`` or ``scale_factor`` (exactly one), as ``F.interpolate`` computes it."""

    family = "resizing"
    stem = "up"
    numbered = True
    # size and scale_factor reach torch as written: a list of one entry is not an int to torch

    size: int | tuple[int, ...] | None = None
    scale_factor: float | tuple[float, ...] | None = None
    # the input's spatial dims where the solvers tell them (for_spatial_dims)
    _spatial_dims: int | None = PrivateAttr(default=None)

    @field_validator("size", mode="before")
    @classmethod
    def _size(cls, value: object) -> object:
        if value is None:
            return None
        return _entries(value, POSITIVE, lambda v: check_int(v, 1, POSITIVE))

    @field_validator("scale_factor", mode="before")
    @classmethod
    def _scale_factor(cls, value: object) -> object:
        return None if value is None else _entries(value, "a positive number", _positive_scale)

    @model_validator(mode="after")
    def _size_or_scale(self) -> UpsampleBase:
        if self.size is not None and self.scale_factor is not None:
            raise FieldRuleError(
                "scale_factor",
                "only one of size or scale_factor should be defined, but got both; "
                "remove one of them",
            )
        if self.size is None and self.scale_factor is None:
            raise FieldRuleError(
                "size",
                "either size or scale_factor should be defined, but got neither; add "
                "scale_factor: 2 to double each spatial size, or size: the output size",
            )
        return self

    def corners(self) -> bool:
        """Whether the corner pixels are aligned (``align_corners``)."""
        return bool(getattr(self, "align_corners", False))

    def scale_passed(self, i: int) -> float | None:
        """The scale factor F.interpolate hands the kernel for spatial dim ``i``: the given one,
        unless the size was given or ``recompute_scale_factor`` is true."""
        if self.scale_factor is None or getattr(self, "recompute_scale_factor", None):
            return None
        scale = self.scale_factor
        return float(scale[i] if isinstance(scale, tuple) else scale)

    def reach(self, dim: int, shapes: tuple[Shape, ...], output: Shape, k: int = 0) -> Reach | None:
        """The input positions each output reads with a non-zero weight (see Resample)."""
        first = 2 if len(shapes[0]) > 2 else len(shapes[0])
        if dim < first:
            return None
        i = dim - first
        mode = self.interpolation()
        return Resample(shapes[0][dim], output[dim], mode, self.corners(), self.scale_passed(i))

    def saved(
        self, shapes: tuple[Shape, ...], output: Shape, grads: tuple[bool, ...], trainable: bool
    ) -> tuple[Stored, ...]:
        """Interpolation keeps nothing (its gradient needs only sizes); 'area' is an adaptive
        average pooling, which keeps its input unless every output size is 1 (a mean)."""
        if self.interpolation() != "area" or all(size == 1 for size in output[2:]):
            return ()
        return (INPUT,)

    def interpolation(self) -> str:
        """The ``mode`` it passes to ``F.interpolate``."""
        return "nearest"

    def _spatial(self, rank: int | None) -> int:
        """How many spatial dims the input has, from the tensor or else from the arguments."""
        if rank is not None:
            return rank - 2
        if self._spatial_dims is not None:
            return self._spatial_dims
        given = self.size if self.size is not None else self.scale_factor
        if isinstance(given, tuple):
            return len(given)
        return INTERPOLATING.get(self.interpolation(), 4) - 2

    def _step(self, i: int, size: int, axis: str) -> DimStep:
        if self.size is not None:
            out = self.size[i] if isinstance(self.size, tuple) else self.size
            return DimStep(axis, size, out, f"{axis}: {size} → {out} (size)")
        assert self.scale_factor is not None
        scale = self.scale_factor[i] if isinstance(self.scale_factor, tuple) else self.scale_factor
        # in double precision, as torch: ⌊100·0.29⌋ = ⌊28.999999999999996⌋ = 28
        product = size * scale
        body = f"⌊{size}·{scale!r}⌋"
        if product > MAX_SIZE:
            raise LayerError(
                f"output size is absurdly large: {body} along {axis} is more than {MAX_SIZE}",
                "Use a smaller scale_factor",
                field="scale_factor",
            )
        out = math.floor(product)
        if out < 1:
            # 'area' is an adaptive average pooling, which returns an empty tensor
            torch_does = (
                "torch returns an empty tensor for mode='area', which no later layer can use"
                if self.interpolation() == "area"
                else "torch: Input and output sizes should be greater than 0"
            )
            raise LayerError(
                f"output size is too small: {body} = {out} along {axis} ({torch_does})",
                "Use a larger scale_factor or input",
                field="scale_factor",
            )
        return DimStep(axis, size, out, f"{axis}: {body} = {out}")

    def dim_step(self, i: int, size: int) -> DimStep:
        """Spatial dimension ``i``: ``size[i]``, or ``⌊size·scale_factor[i]⌋``."""
        # the arguments may not tell the rank (an int size): then dimension i says at least i + 1
        return self._step(i, size, AXES[min(max(self._spatial(None), i + 1), 3)][i])

    def for_spatial_dims(self, n: int) -> UpsampleBase:
        told = self.model_copy()
        told._spatial_dims = n
        return told

    def infer(self, shape: Shape) -> Outcome:
        rank, mode = len(shape), self.interpolation()
        if rank not in (3, 4, 5):
            raise LayerError(
                f"{self.type_name()} expects a 3-D (N, C, L), 4-D (N, C, H, W) or 5-D "
                f"(N, C, D, H, W) input (it has no unbatched form), but got a {rank}-D tensor "
                f"{shape_str(shape)}",
                "Put it after a convolution" if rank < 3 else None,
            )
        needs = INTERPOLATING.get(mode)
        if needs is not None and rank != needs:
            raise LayerError(
                f"mode={mode!r} needs a {needs}-D input, but got a {rank}-D tensor "
                f"{shape_str(shape)}",
                f"Use mode {BY_RANK[rank]} for a {rank}-D input, or 'nearest'"
                if type(self) is Upsample
                else f"Use Upsample with mode {BY_RANK[rank]} for a {rank}-D input",
                field="mode" if type(self) is Upsample else None,
            )
        spatial = shape[2:]
        for arg in ("size", "scale_factor"):
            given = getattr(self, arg)
            if isinstance(given, tuple) and len(given) != len(spatial):
                raise LayerError(
                    f"{arg} has {len(given)} entr{'y' if len(given) == 1 else 'ies'}, but the "
                    f"input {shape_str(shape)} has "
                    f"{len(spatial)} spatial dims",
                    f"Give {arg} one entry per spatial dim, or one number for all",
                    field=arg,
                )
        axes = AXES[len(spatial)]
        dims = tuple(self._step(i, size, axes[i]) for i, size in enumerate(spatial))
        return Outcome((*shape[:2], *(d.size_out for d in dims)), dims=dims, notes=self._notes())

    def _notes(self) -> tuple[str, ...]:
        return ()

    @classmethod
    def examples(cls, st: Any) -> Any:
        fields = cls.model_fields
        sizes = st.integers(1, 8)
        scales = st.one_of(
            st.sampled_from([0.5, 1.0, 1.5, 2, 2.0, 3, 0.29, 0.3, 1.7, 2.5]),
            st.floats(0.05, 4.0, allow_nan=False, allow_infinity=False),
        )

        def draw(draw: Any) -> tuple[dict[str, Any], Shape]:
            rank = draw(st.sampled_from([3, 4, 4, 5, 2]))
            shape = (draw(st.integers(1, 2)), draw(st.integers(1, 3)))
            shape += tuple(draw(st.integers(1, 6)) for _ in range(rank - 2))
            spatial = max(1, rank - 2)
            # mostly one entry per spatial dim, sometimes a wrong count
            count = spatial if draw(st.integers(0, 4)) else draw(st.integers(1, 3))
            args: dict[str, Any] = {}
            which = draw(st.sampled_from(["size"] * 3 + ["scale_factor"] * 5 + ["both", "none"]))
            if which in ("size", "both"):
                one = draw(st.booleans())
                args["size"] = (
                    draw(sizes) if one else draw(st.lists(sizes, min_size=count, max_size=count))
                )
            if which in ("scale_factor", "both"):
                one = draw(st.booleans())
                args["scale_factor"] = (
                    draw(scales) if one else draw(st.lists(scales, min_size=count, max_size=count))
                )
            if "mode" in fields and draw(st.booleans()):
                args["mode"] = draw(st.sampled_from(MODES))
            # freely for the interpolating modes; rarely (refused) for the others
            interpolating = args.get("mode", "nearest") in INTERPOLATING
            if "align_corners" in fields and draw(st.integers(0, 9)) in (
                (3, 4, 5, 6) if interpolating else (7,)
            ):
                args["align_corners"] = draw(st.booleans())
            if "recompute_scale_factor" in fields and draw(st.integers(0, 9)) in (3, 4):
                args["recompute_scale_factor"] = draw(st.booleans())
            return args, shape

        return st.composite(draw)()


@register
class Upsample(UpsampleBase):
    """Upsampling by interpolation (https://pytorch.org/docs/stable/generated/torch.nn.Upsample.html).

    Shape: (N, C, L), (N, C, H, W) or (N, C, D, H, W) → the same with each spatial size
    ``S_out = ⌊S · scale_factor⌋`` (in double precision) or ``size``. Modes 'linear', 'bilinear'
    and 'bicubic', 'trilinear' need a 3-D, 4-D, 5-D input; the others take any of them.
    """

    type: Literal["Upsample"] = "Upsample"

    mode: Literal[
        "nearest", "linear", "bilinear", "bicubic", "trilinear", "area", "nearest-exact"
    ] = "nearest"
    align_corners: OptionalFlag = None
    recompute_scale_factor: OptionalFlag = None

    @field_validator("mode", mode="before")
    @classmethod
    def _mode(cls, value: object) -> object:
        return choice(value, MODES)

    @model_validator(mode="after")
    def _interpolate_rules(self) -> Upsample:
        # what F.interpolate refuses whatever the input
        if self.align_corners is not None and self.mode not in INTERPOLATING:
            raise FieldRuleError(
                "align_corners",
                f"align_corners option can only be set with the interpolating modes: linear | "
                f"bilinear | bicubic | trilinear, but got mode={self.mode!r}; leave "
                "align_corners out",
            )
        if self.recompute_scale_factor and self.size is not None:
            raise FieldRuleError(
                "recompute_scale_factor",
                "recompute_scale_factor is not meaningful with an explicit size; leave it out",
            )
        return self

    def interpolation(self) -> str:
        return self.mode


@register
class UpsamplingNearest2d(UpsampleBase):
    """Nearest-neighbour upsampling, ``Upsample(mode='nearest')`` under an older name
    (https://pytorch.org/docs/stable/generated/torch.nn.UpsamplingNearest2d.html).

    Shape: (N, C, H, W) → (N, C, ⌊H · scale_factor⌋, ⌊W · scale_factor⌋) or ``size``; torch takes
    3-D and 5-D inputs too.
    """

    type: Literal["UpsamplingNearest2d"] = "UpsamplingNearest2d"
    rank: ClassVar[int | None] = 2

    def _notes(self) -> tuple[str, ...]:
        return ("UpsamplingNearest2d is deprecated in favour of Upsample(mode='nearest')",)


@register
class UpsamplingBilinear2d(UpsampleBase):
    """Bilinear upsampling with ``align_corners=True``
    (https://pytorch.org/docs/stable/generated/torch.nn.UpsamplingBilinear2d.html).

    Shape: (N, C, H, W) → (N, C, ⌊H · scale_factor⌋, ⌊W · scale_factor⌋) or ``size``.
    """

    type: Literal["UpsamplingBilinear2d"] = "UpsamplingBilinear2d"
    rank: ClassVar[int | None] = 2

    def interpolation(self) -> str:
        return "bilinear"

    def corners(self) -> bool:
        return True

    def _notes(self) -> tuple[str, ...]:
        return (
            "UpsamplingBilinear2d is deprecated in favour of "
            "Upsample(mode='bilinear', align_corners=True)",
        )


# --- sub-pixel shuffles -------------------------------------------------------------------------------


class ShuffleBase(Layer):
    """Moves values between the channel dim and the last two dims: (*, C, H, W)."""

    family = "resizing"
    rank: ClassVar[int | None] = 2
    factor: ClassVar[str] = ""

    def saved(
        self, shapes: tuple[Shape, ...], output: Shape, grads: tuple[bool, ...], trainable: bool
    ) -> tuple[Stored, ...]:
        """A permutation of elements: nothing is kept."""
        return ()

    def _factor(self) -> int:
        value: int = getattr(self, self.factor)
        return value

    def _split(self, shape: Shape) -> tuple[Shape, int, int, int]:
        if len(shape) < 3:
            raise LayerError(
                f"{self.type_name()} expects at least 3 dims (*, C, H, W), but got a "
                f"{len(shape)}-D tensor {shape_str(shape)}",
                "Put it before Flatten",
            )
        return shape[:-3], shape[-3], shape[-2], shape[-1]

    @classmethod
    def examples(cls, st: Any) -> Any:
        def draw(draw: Any) -> tuple[dict[str, Any], Shape]:
            r = draw(st.integers(1, 3))
            rank = draw(st.sampled_from([4, 4, 3, 5, 2]))
            shape = tuple(draw(st.integers(1, 4)) for _ in range(max(0, rank - 3)))
            if rank >= 3:
                shape += (draw(st.sampled_from([r * r, 2 * r * r, draw(st.integers(1, 9))])),)
            shape += tuple(
                draw(st.sampled_from([r, 2 * r, draw(st.integers(1, 7))]))
                for _ in range(min(rank, 2))
            )
            return {cls.factor: r}, shape

        return st.composite(draw)()


@register
class PixelShuffle(ShuffleBase):
    """Sub-pixel convolution's rearrangement: r² channels become an r×r block
    (https://pytorch.org/docs/stable/generated/torch.nn.PixelShuffle.html).

    Shape: (*, C·r², H, W) → (*, C, H·r, W·r) with r = upscale_factor.
    """

    type: Literal["PixelShuffle"] = "PixelShuffle"

    def reach(self, dim: int, shapes: tuple[Shape, ...], output: Shape, k: int = 0) -> Reach | None:
        """Along H and W output u reads input u // r; output channel c reads input channels
        c·r² … c·r² + r² − 1."""
        r, rank = self.upscale_factor, len(shapes[0])
        if dim == rank - 3:
            return Slide(Window(r * r, r * r, 0, 0, 1))
        return Spread(r, r, 0, 1) if dim > rank - 3 else None

    stem = "pixel_shuffle"
    factor = "upscale_factor"

    upscale_factor: int

    @field_validator("upscale_factor", mode="before")
    @classmethod
    def _r(cls, value: object) -> object:
        return check_int(value, 1, POSITIVE)

    def dim_step(self, i: int, size: int) -> DimStep:
        """H or W times r."""
        axis, r = "HW"[i], self.upscale_factor
        return DimStep(axis, size, size * r, f"{axis}: {size}·{r} = {size * r}")

    def infer(self, shape: Shape) -> Outcome:
        lead, channels, h, w = self._split(shape)
        r = self.upscale_factor
        if channels % (r * r):
            raise LayerError(
                f"PixelShuffle needs the channel count divisible by upscale_factor² = {r * r}, "
                f"but the incoming tensor has {channels} channels",
                f"Give the layer before it a multiple of {r * r} output channels",
                field="upscale_factor",
            )
        out = (*lead, channels // (r * r), h * r, w * r)
        formula = f"C: {channels}/{r}² = {out[-3]}; H: {h}·{r} = {h * r}; W: {w}·{r} = {w * r}"
        if h == w:
            formula = f"C: {channels}/{r}² = {out[-3]}; H, W: {h}·{r} = {h * r}"
        return Outcome(out, formula=formula)


@register
class PixelUnshuffle(ShuffleBase):
    """The inverse of PixelShuffle: each r×r block becomes r² channels
    (https://pytorch.org/docs/stable/generated/torch.nn.PixelUnshuffle.html).

    Shape: (*, C, H·r, W·r) → (*, C·r², H, W) with r = downscale_factor; H and W must be divisible
    by r.
    """

    type: Literal["PixelUnshuffle"] = "PixelUnshuffle"

    def reach(self, dim: int, shapes: tuple[Shape, ...], output: Shape, k: int = 0) -> Reach | None:
        """Along H and W output u reads input u·r … u·r + r − 1; output channel c reads input
        channel c // r²."""
        r, rank = self.downscale_factor, len(shapes[0])
        if dim == rank - 3:
            return Spread(r * r, r * r, 0, 1)
        return Slide(Window(r, r, 0, 0, 1)) if dim > rank - 3 else None

    stem = "pixel_unshuffle"
    factor = "downscale_factor"

    downscale_factor: int

    @field_validator("downscale_factor", mode="before")
    @classmethod
    def _r(cls, value: object) -> object:
        return check_int(value, 1, POSITIVE)

    def dim_step(self, i: int, size: int) -> DimStep:
        """H or W divided by r, which must divide it."""
        axis, r = "HW"[i], self.downscale_factor
        if size % r:
            what = "height" if axis == "H" else "width"
            raise LayerError(
                f"PixelUnshuffle needs the {what} divisible by downscale_factor, but got "
                f"{axis} = {size} and downscale_factor={r}",
                f"Crop or pad {axis} to a multiple of {r}",
                field="downscale_factor",
            )
        return DimStep(axis, size, size // r, f"{axis}: {size}/{r} = {size // r}")

    def infer(self, shape: Shape) -> Outcome:
        lead, channels, h, w = self._split(shape)
        r = self.downscale_factor
        steps = (self.dim_step(0, h), self.dim_step(1, w))
        out = (*lead, channels * r * r, steps[0].size_out, steps[1].size_out)
        rows = f"H, W: {h}/{r} = {h // r}" if h == w else f"{steps[0].text}; {steps[1].text}"
        return Outcome(out, formula=f"C: {channels}·{r}² = {out[-3]}; {rows}")
