"""What every operation of a spec declares, and the closed registry that holds them.

An operation is a pydantic model with torch.nn's argument names and defaults, registered under its
``type:`` string with :func:`register`. Everything a consumer needs to know about one layer type is
declared on its class, in one place:

=====================  ==================================================================
``infer(shape)``       the output shape, parameters, formula text and notes (an :class:`Outcome`)
``dim_step(i, n)``     what spatial dimension ``i`` of size ``n`` goes through (for the solvers)
``dim_sizes(i, ns)``   the same for many sizes at once (the input solver's inner loop)
``window(i)``          the sliding window along dimension ``i`` (convolution and pooling)
``size_expression``    the output size along ``i`` as text, for layers without a window
``mult_adds(...)``     multiply-adds, torchinfo's convention
``flops(...)``         FLOPs as ``torch.utils.flop_counter.FlopCounterMode`` counts them
``reach(dim, ...)``    which input positions an output position reads (receptive field)
``saved(...)``         the tensors autograd keeps for backward (training memory)
``aliases(training)``  whether the output shares its input's storage (a view, an in-place op)
``buffers(...)``       the module's buffers (running statistics)
``workspace(...)``     bytes that live only while it runs (max-pool indices on the CPU)
``constructor_args``   keyword arguments of the torch.nn constructor
``examples(st)``       the hypothesis strategy of the differential test against torch
``stem``, ``numbered``  the default name (``conv1``, ``bn2``, ``flatten``)
``inferable``          arguments the calculator fills in from the incoming tensor
``rank``               the spatial rank it takes (1, 2, 3) or None, for suggestions
=====================  ==================================================================

A consumer asks the operation; it never switches on the type. A test walks the registry and fails
for a type that lacks one of these. Shapes are tuples that include the batch dimension.
"""

from __future__ import annotations

import functools
import inspect
import math
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Annotated, Any, ClassVar, Literal, TypeVar

from pydantic import BaseModel, BeforeValidator, ConfigDict, ValidationInfo, field_validator

from ..errors import LayerError
from ..formulas import Broadcast, DimStep, Keep, Reach, Slide, Whole, Window
from ..names import check_identifier

if TYPE_CHECKING:
    from hypothesis.strategies import SearchStrategy

Shape = tuple[int, ...]

# Sizes larger than this are refused as absurd (torch indexes with 64-bit ints, but no real net
# has a layer this wide, and such a number is almost always a typo).
MAX_SIZE = 2**31 - 1

AXES = {1: ("L",), 2: ("H", "W"), 3: ("D", "H", "W")}

POSITIVE = "a positive integer"
NON_NEGATIVE = "a non-negative integer"

DOCS = "https://pytorch.org/docs/stable/generated/torch.nn.{}.html"


@dataclass(frozen=True)
class Outcome:
    """What an operation does to its incoming shape(s)."""

    output: Shape
    params: int = 0
    dims: tuple[DimStep, ...] = ()
    formula: str = ""  # explanation for operations without spatial formulas
    notes: tuple[str, ...] = ()  # what torch would warn about, or what a designer should know
    inferred: dict[str, Any] = field(default_factory=dict)  # in_channels, in_features, ...


@dataclass(frozen=True)
class Stored:
    """A tensor an operation keeps in memory: one of its inputs, its output, or a new tensor.

    Memory analyses count storages, so an input or output kept by several operations is counted
    once; a ``new`` tensor is its own storage of ``numel`` elements of ``itemsize`` bytes (None: the
    activations' dtype, 8 for int64 indices, 1 for bool masks).
    """

    what: Literal["input", "output", "new"]
    index: int = 0  # which input
    numel: int = 0
    itemsize: int | None = None

    def nbytes(self, itemsize: int) -> int:
        """A new tensor's size in bytes when activations take ``itemsize`` bytes each."""
        return self.numel * (self.itemsize or itemsize)


INPUT = Stored("input")
OUTPUT = Stored("output")


def new_tensor(numel: int, itemsize: int | None = None) -> Stored:
    """A tensor an operation allocates besides its output (indices, masks, statistics)."""
    return Stored("new", numel=numel, itemsize=itemsize)


def shape_str(shape: Shape) -> str:
    """``[1, 3, 32, 32]``, the way shapes are written in messages and tables."""
    return "[" + ", ".join(map(str, shape)) + "]"


# --- value checks shared by the models --------------------------------------------------------------


def describe(value: object) -> str:
    """A value as a message names it, with what YAML made of it."""
    if isinstance(value, bool):
        return f"the boolean {str(value).lower()} (YAML reads yes/no/on/off/true/false as booleans)"
    if isinstance(value, float):
        return f"the float {value!r}"
    if isinstance(value, str):
        shown = value if len(value) <= 60 else value[:57] + "…"
        return f"the string {shown!r}"
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
    """An int that is not a bool, within [minimum, MAX_SIZE] (or [-MAX_SIZE, MAX_SIZE])."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"must be {what}, but got {describe(value)}")
    if minimum is not None and value < minimum:
        raise ValueError(f"must be {what}, but got {value}")
    if abs(value) > MAX_SIZE:
        shown = str(value) if len(str(value)) <= 24 else f"a {len(str(value))}-digit number"
        raise ValueError(f"must be {what} of at most {MAX_SIZE}, but got {shown}")
    return value


def int_tuple(value: object, n: int, minimum: int | None, what: str) -> tuple[int, ...]:
    """Normalise "int or n-list" once, like PyTorch's ``_pair``."""
    desc = f"{what} or a list of {n} such integers"
    if isinstance(value, (list, tuple)):
        if len(value) != n:
            raise ValueError(f"must be {desc}, but got a list of {len(value)}")
        return tuple(check_int(v, minimum, what) for v in value)
    return (check_int(value, minimum, desc),) * n


def number(value: object, what: str) -> float:
    """A real number (int or float, not a bool)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"must be {what}, but got {describe(value)}")
    if math.isnan(value) or math.isinf(value):
        raise ValueError(f"must be {what}, but got {value}")
    return float(value)


def choice(value: object, options: tuple[str, ...]) -> str:
    """One of a fixed set of strings, named in the message."""
    if not isinstance(value, str) or value not in options:
        raise ValueError(
            f"must be one of {', '.join(repr(o) for o in options)}, but got {describe(value)}"
        )
    return value


def strict_bool(value: object) -> bool:
    """A real YAML boolean: no 0/1, no strings."""
    if not isinstance(value, bool):
        raise ValueError(f"must be true or false, but got {describe(value)}")
    return value


# every bool argument of every layer is declared with this type (a test walks the registry)
Flag = Annotated[bool, BeforeValidator(strict_bool)]


def positive_or_none(value: object) -> int | None:
    return None if value is None else check_int(value, 1, POSITIVE)


def probability(value: object) -> float:
    p = number(value, "a probability between 0 and 1")
    if not 0 <= p <= 1:
        raise ValueError(f"must be a probability between 0 and 1, but got {p}")
    return p


def check_dim(dim: int, ndim: int, arg: str) -> int:
    """A dimension index valid for an ``ndim``-D tensor, made non-negative (torch's wrap rule)."""
    if not -ndim <= dim < ndim:
        raise LayerError(
            f"{arg}={dim} is out of range for a {ndim}-D tensor (valid: {-ndim} to {ndim - 1})",
            f"Set {arg} between {-ndim} and {ndim - 1}",
            field=arg,
        )
    return dim % ndim


# --- the operation models ---------------------------------------------------------------------------


class Op(BaseModel):
    """Base of every operation a spec names: ``type`` and an optional ``name``."""

    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)

    type: str
    name: str | None = None

    family: ClassVar[str] = ""
    stem: ClassVar[str] = ""  # default-name stem; the lower-cased type when empty
    numbered: ClassVar[bool] = False  # conv1, conv2 even when there is one; else only when repeated
    rank: ClassVar[int | None] = None  # spatial rank, for "did you mean" suggestions
    inferable: ClassVar[tuple[str, ...]] = ()  # arguments filled in from the incoming tensor
    # arguments that are "int or n-tuple": passed to torch as one int when every entry is equal
    collapsible: ClassVar[tuple[str, ...]] = ()
    # the spatial dims are mapped one by one (dim_step); False for layers that mix or drop them
    separable: ClassVar[bool] = True
    merge: ClassVar[bool] = False  # reads several inputs

    @field_validator("name", mode="before")
    @classmethod
    def _name(cls, value: object) -> object:
        if value is not None and not isinstance(value, str):
            raise ValueError(f"must be a string, but got {describe(value)}")
        return value if value is None else check_identifier(value, "name")

    @classmethod
    def doc_url(cls) -> str:
        """The PyTorch documentation page this model mirrors."""
        return DOCS.format(cls.type_name())

    @classmethod
    def type_name(cls) -> str:
        default = cls.model_fields["type"].default
        return default if isinstance(default, str) else cls.__name__

    @classmethod
    def default_stem(cls) -> str:
        return cls.stem or cls.type_name().lower()

    @classmethod
    def arguments(cls) -> list[str]:
        """The constructor arguments a spec may give, in torch's order."""
        return list(_arguments(cls))

    @classmethod
    def examples(cls, st: Any) -> SearchStrategy[tuple[dict[str, Any], Shape]]:
        """Hypothesis strategy of (arguments, input shape) for the differential test against torch.

        ``st`` is ``hypothesis.strategies``, passed in so the core never imports hypothesis.
        """
        raise NotImplementedError(f"{cls.type_name()} declares no differential-test examples")

    def constructor_args(self, inferred: dict[str, Any] | None = None) -> dict[str, Any]:
        """Keyword arguments for the torch.nn constructor, with inferred sizes filled in.

        Unset optionals are left out (torch applies its own default; an argument whose default
        is not None but which the spec sets to null is passed as None), and in a ``collapsible``
        argument a tuple of equal values is passed as one int, as a person would write it (torch
        prints ``MaxPool2d(kernel_size=2, ...)``).
        """
        args: dict[str, Any] = {}
        for key in self.arguments():
            value = getattr(self, key)
            if value is None:
                value = (inferred or {}).get(key)
                if value is None:
                    if type(self).model_fields[key].default is not None:
                        args[key] = None  # said on purpose: BatchNorm's momentum=None
                    continue
            if key in self.collapsible and isinstance(value, tuple) and len(set(value)) == 1:
                value = value[0]
            args[key] = value
        return args

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        super().__pydantic_init_subclass__(**kwargs)
        resolve_annotations(cls)  # its own subclasses then read objects, not strings

    def infer_all(
        self, shapes: tuple[Shape, ...], names: tuple[str, ...] | None = None
    ) -> Outcome:  # pragma: no cover - Layer and Merge override it
        """The output for the input ``shapes``; ``names`` name the inputs in messages."""
        raise NotImplementedError

    def mult_adds(self, input_shapes: tuple[Shape, ...], outcome: Outcome) -> int:
        """Multiply-adds, torchinfo's convention (bias included): batch × parameters.

        (torchinfo 1.8 ``LayerInfo.calculate_macs``: ``output_size[0] × params`` for every layer
        with parameters but convolutions, which override this.)
        """
        return outcome.output[0] * outcome.params if outcome.params else 0

    # --- what the analyses ask (shapecalc.analysis) --------------------------------------------------

    def flops(self, shapes: tuple[Shape, ...], output: Shape) -> int:
        """FLOPs as ``torch.utils.flop_counter.FlopCounterMode`` counts them: 2 per multiply-add of
        a convolution, linear layer or matrix product, bias and everything else not counted
        (https://github.com/pytorch/pytorch/blob/main/torch/utils/flop_counter.py). 0 by default."""
        return 0

    def reach(self, dim: int, shapes: tuple[Shape, ...], output: Shape, k: int = 0) -> Reach | None:
        """Which positions of input ``k`` along its dimension ``dim`` one output position reads.

        None means output position u reads input position u, in the same dimension. Layers
        default to their ``window`` (see :meth:`Layer.reach`), merges to torch broadcasting.
        """
        return None

    def saved(
        self, shapes: tuple[Shape, ...], output: Shape, grads: tuple[bool, ...], trainable: bool
    ) -> tuple[Stored, ...]:
        """The tensors autograd saves for backward, asked only when the output needs a gradient.

        ``grads[k]`` says whether input k requires grad, ``trainable`` whether the layer's
        parameters do. Parameters themselves are not listed (they are counted once, as
        parameters). The default, the input, is what most layers keep; layers that keep their
        output, indices or masks say so.
        """
        return (INPUT,)

    def aliases(self, training: bool) -> bool:
        """Whether the output shares the first input's storage (a view, or an in-place op)."""
        return False

    def buffers(self, shapes: tuple[Shape, ...], output: Shape) -> tuple[Stored, ...]:
        """The module's buffers (``module.buffers()``): none by default."""
        return ()

    def workspace(self, shapes: tuple[Shape, ...], output: Shape, itemsize: int) -> int:
        """Bytes an inference forward holds besides its inputs and output at its widest moment
        (intermediate tensors, max-pool indices on the CPU), when activations take ``itemsize``
        bytes a value. 0 by default."""
        return 0


def resolve_annotations(cls: type) -> None:
    """Replace a class's string annotations by what they name.

    pydantic evaluates the annotations of every base again for each subclass, and these modules'
    are strings (``from __future__ import annotations``): resolved once per class, importing the
    ~120 layer types takes a quarter less time. A name only known to type checkers stays a string.
    """
    namespace = vars(sys.modules[cls.__module__])
    resolved = {}
    for name, value in inspect.get_annotations(cls).items():
        try:
            resolved[name] = (
                eval(value, namespace, dict(vars(cls))) if isinstance(value, str) else value
            )
        except NameError:
            resolved[name] = value
    cls.__annotations__ = resolved


resolve_annotations(Op)


class Layer(Op):
    """An operation with one input: a torch.nn module."""

    def infer(self, shape: Shape) -> Outcome:  # pragma: no cover - every subclass overrides it
        raise NotImplementedError

    def infer_all(self, shapes: tuple[Shape, ...], names: tuple[str, ...] | None = None) -> Outcome:
        return self.infer(shapes[0])

    def dim_step(self, i: int, size: int) -> DimStep | None:
        """What spatial dimension ``i`` of size ``size`` goes through; None keeps the size.

        Raises LayerError when the size is refused. Only called for ``separable`` layers.
        """
        return None

    def for_spatial_dims(self, n: int) -> Layer:
        """This layer as it applies to an input with ``n`` spatial dims, for :meth:`dim_step`'s
        axis names. Only a layer that takes any rank and cannot tell it from its arguments
        (Upsample with a single size or scale_factor) returns another instance."""
        return self

    def dim_size(self, i: int, size: int) -> int:
        """Fast form of :meth:`dim_step` for the solvers: the output size only."""
        step = self.dim_step(i, size)
        return size if step is None else step.size_out

    def window(self, i: int) -> Window | None:
        """The sliding window along spatial dimension ``i``; None for layers without one.

        A layer that declares a window promises what :meth:`dim_sizes` relies on: wherever
        :meth:`dim_step` accepts a size, the output size is :func:`window_size`'s, and the sizes it
        refuses are the smallest ones (a kernel wider than the padded input, padding wider than the
        input). A layer for which that is not so (a transposed convolution) declares no window, or
        overrides :meth:`dim_sizes`.
        """
        return None

    def reach(self, dim: int, shapes: tuple[Shape, ...], output: Shape, k: int = 0) -> Reach | None:
        """The default slides the layer's ``window`` over spatial dimensions, keeps the positions
        of layers that map dimensions one by one (``separable``) and reads the whole input
        otherwise."""
        if not self.separable:
            return Whole(self.type)
        if self.rank is None:
            return None
        i = dim - (len(shapes[k]) - self.rank)
        window = self.window(i) if 0 <= i < self.rank else None
        return None if window is None else Slide(window)

    def keeps_sizes(self) -> bool:
        """True when the layer declares no per-dimension rule: every spatial size passes unchanged."""
        cls = type(self)
        return (
            cls.dim_step is Layer.dim_step
            and cls.dim_size is Layer.dim_size
            and cls.dim_sizes is Layer.dim_sizes
        )

    def dim_sizes(
        self, i: int, sizes: Sequence[int]
    ) -> tuple[list[int | None], dict[int, LayerError]]:
        """:meth:`dim_size` for each of ``sizes`` (distinct, ascending) along spatial dimension
        ``i``: the output sizes (None where refused) and, for each refused size, the LayerError
        that :meth:`dim_step` raises.

        Generic default: one :meth:`dim_step` per size, except for a layer with a :meth:`window`,
        whose output sizes follow :func:`window_size`: :meth:`dim_step` is asked only where the
        refused sizes end (a bisection) and at a few checkpoints above; a checkpoint that
        disagrees with the window makes it fall back to one :meth:`dim_step` per size. Override it
        where a faster exact form exists.
        """
        window = self.window(i)
        if window is None or len(sizes) < 16:
            return self._one_by_one(i, sizes)
        # the first accepted index: sizes[:k] are refused, sizes[k:] accepted (the window's promise)
        lo, hi = 0, len(sizes)
        if not isinstance(self._dim_result(i, sizes[0]), LayerError):
            hi = 0
        while lo < hi:
            mid = (lo + hi) // 2
            if isinstance(self._dim_result(i, sizes[mid]), LayerError):
                lo = mid + 1
            else:
                hi = mid
        k = lo
        for j in {k, (k + len(sizes)) // 2, len(sizes) - 1} & set(range(k, len(sizes))):
            got = self._dim_result(i, sizes[j])
            if isinstance(got, LayerError) or got != window_size(window, sizes[j]):
                return self._one_by_one(i, sizes)
        head, errors = self._one_by_one(i, sizes[:k])
        if len(errors) != k:
            return self._one_by_one(i, sizes)
        stride, offset = window.stride, window.left + window.right - window.span
        if window.ceil_mode:
            tail = [window_size(window, n) for n in sizes[k:]]
        else:
            tail = [(n + offset) // stride + 1 for n in sizes[k:]]
        return [*head, *tail], errors

    def _one_by_one(
        self, i: int, sizes: Sequence[int]
    ) -> tuple[list[int | None], dict[int, LayerError]]:
        out: list[int | None] = []
        errors: dict[int, LayerError] = {}
        for n in sizes:
            result = self._dim_result(i, n)
            if isinstance(result, LayerError):
                errors[n] = result
                out.append(None)
            else:
                out.append(result)
        return out, errors

    def _dim_result(self, i: int, size: int) -> int | LayerError:
        try:
            return self.dim_size(i, size)
        except LayerError as exc:
            return exc

    def size_expression(self, i: int, size: str) -> str | None:
        """The output size along spatial dimension ``i`` written in terms of the input size
        ``size`` (text such as ``"H"`` or ``"⌊H/2⌋"``), or None when there is no closed form.

        The input solver composes these into "H → ⌊⌊H/2⌋/2⌋" and folds the offsets of sliding
        windows itself, so it asks only layers without a :meth:`window`. Generic default: the
        window's rule, or ``size`` itself for a layer that keeps the size; None otherwise (the
        solver then writes the layer's name). Layers that resize without a window (up-sampling,
        adaptive pooling, padding, pixel shuffling, transposed convolution) override it.
        """
        window = self.window(i)
        if window is not None:
            inner = size + (
                f" + {window.left + window.right}" if window.left + window.right else ""
            )
            if window.span != 1:
                inner += f" − {window.span}"
            bracket = ("⌈", "⌉") if window.ceil_mode else ("⌊", "⌋")
            return f"{bracket[0]}({inner})/{window.stride}{bracket[1]} + 1"
        return size if self.keeps_sizes() else None


class Merge(Op):
    """An operation that reads several inputs and has no module: ``torch.add``, ``torch.cat``..."""

    merge = True
    separable = True
    # the torch function a built module calls: torch.<function>(a, b) folded over the inputs, or
    # torch.<function>([a, b, ...], **function_kwargs()) when it takes a list
    function: ClassVar[str] = ""
    takes_list: ClassVar[bool] = False

    def function_kwargs(self) -> dict[str, Any]:
        """Keyword arguments of the torch function (``dim`` for ``torch.cat``)."""
        return {}

    def reach(self, dim: int, shapes: tuple[Shape, ...], output: Shape, k: int = 0) -> Reach | None:
        """Element-wise with torch broadcasting: inputs are aligned from the right, and a size-1
        dimension is read at position 0 by every output position."""
        moved = dim + len(output) - len(shapes[k])
        if shapes[k][dim] == 1 and output[moved] != 1:
            return Broadcast(moved)
        return Keep(moved) if moved != dim else None

    def saved(
        self, shapes: tuple[Shape, ...], output: Shape, grads: tuple[bool, ...], trainable: bool
    ) -> tuple[Stored, ...]:
        """Sums and concatenations keep nothing for backward."""
        return ()

    def infer_all(
        self, shapes: tuple[Shape, ...], names: tuple[str, ...] | None = None
    ) -> Outcome:  # pragma: no cover - every subclass overrides it
        """The output of merging ``shapes``; ``names`` name the inputs in messages."""
        raise NotImplementedError

    def dim_size(
        self,
        dim: int,
        sizes: tuple[int, ...],
        shapes: tuple[Shape, ...],
        names: tuple[str, ...] | None = None,
    ) -> int:
        """The size of output dim ``dim`` (negative: counted from the end, as broadcasting
        aligns) when the inputs' dim ``dim`` has ``sizes`` and every other dim is as in
        ``shapes``, input shapes this merge takes. Raises LayerError.

        Generic default: :meth:`infer_all` on ``shapes`` with that dim replaced, exact for a merge
        whose rule holds dim by dim (equal sizes, broadcasting, concatenation along ``dim``).
        """
        changed = tuple(
            (*s[: len(s) + dim], n, *s[len(s) + dim + 1 :]) if len(s) >= -dim else s
            for s, n in zip(shapes, sizes, strict=True)
        )
        return self.infer_all(changed, names).output[dim]


def window_size(window: Window, size: int) -> int:
    """The output size of a sliding window over ``size`` positions, without any check: torch's
    ``⌊(size + padding − span)/stride⌋ + 1`` (``⌈⌉`` with ceil_mode, less one where the last window
    would start in the right padding), as ATen's ``pooling_output_shape`` computes it.

    >>> window_size(Window(2, 2, 0, 0, 1), 75), window_size(Window(2, 2, 1, 1, 1, True), 5)
    (37, 3)
    """
    numerator = size + window.left + window.right - window.span
    if not window.ceil_mode:
        return numerator // window.stride + 1
    out = (numerator + window.stride - 1) // window.stride + 1
    if (out - 1) * window.stride >= size + window.left:
        out -= 1
    return out


REGISTRY: dict[str, type[Op]] = {}


@functools.cache
def _arguments(cls: type[Op]) -> tuple[str, ...]:
    return tuple(f for f in cls.model_fields if f not in ("type", "name"))


_T = TypeVar("_T", bound=type[Op])


def register(cls: _T) -> _T:
    """Class decorator: make ``cls`` a type a spec may name (its ``type:`` default)."""
    name = cls.type_name()
    if name in REGISTRY:  # pragma: no cover - a programming error
        raise ValueError(f"{name} is registered twice")
    REGISTRY[name] = cls
    return cls


def int_tuple_validator(*names: str, minimum: int | None, what: str) -> Callable[..., Any]:
    """A before-validator making each of ``names`` an n-tuple (n = the class's ``n``)."""

    def validate(cls: Any, value: object, info: ValidationInfo) -> object:
        if value is None and not cls.model_fields[info.field_name].is_required():
            return value
        return int_tuple(value, cls.n, minimum, what)

    decorator: Any = field_validator(*names, mode="before")
    return decorator(classmethod(validate))  # type: ignore[no-any-return]
