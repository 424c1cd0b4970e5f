"""``solve_padding``: which padding maps N to M, in closed form from the output-size formula."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ..formulas import conv_size, effective_kernel, pool_size
from ..layers import AXES

IntOrPair = int | Sequence[int]


def _ceil_div(a: int, b: int) -> int:
    return -((-a) // b)


@dataclass(frozen=True)
class PaddingAnswer:
    """The paddings that map ``size_in`` to ``size_out`` along one dimension, and why."""

    axis: str
    kernel: int
    size_in: int
    size_out: int
    stride: int
    dilation: int
    pool: bool
    ceil_mode: bool
    paddings: tuple[int, ...]
    derivation: tuple[str, ...]
    reason: str | None = None  # why there is no solution
    nearest: tuple[tuple[int, int], ...] = ()  # (output size, smallest padding giving it)
    alternatives: tuple[str, ...] = ()

    @property
    def recommended(self) -> int | None:
        return self.paddings[0] if self.paddings else None

    def to_dict(self) -> dict[str, object]:
        return {
            "axis": self.axis,
            "kernel_size": self.kernel,
            "in": self.size_in,
            "out": self.size_out,
            "stride": self.stride,
            "dilation": self.dilation,
            "pool": self.pool,
            "ceil_mode": self.ceil_mode,
            "paddings": list(self.paddings),
            "recommended": self.recommended,
            "derivation": "\n".join(self.derivation),
            "reason": self.reason,
            "nearest": [{"out": out, "padding": p} for out, p in self.nearest],
            "alternatives": list(self.alternatives),
        }


@dataclass(frozen=True)
class PaddingSolution:
    """One answer per dimension (one for plain ints, two for H,W pairs)."""

    dims: tuple[PaddingAnswer, ...]

    @property
    def ok(self) -> bool:
        return all(d.paddings for d in self.dims)

    @property
    def paddings(self) -> list[int] | list[list[int]]:
        if len(self.dims) == 1:
            return list(self.dims[0].paddings)
        return [list(d.paddings) for d in self.dims]

    @property
    def recommended(self) -> int | list[int] | None:
        if not self.ok:
            return None
        if len(self.dims) == 1:
            return self.dims[0].recommended
        return [d.recommended for d in self.dims]  # type: ignore[misc]

    def to_dict(self) -> dict[str, object]:
        return {
            "ok": self.ok,
            "paddings": self.paddings,
            "recommended": self.recommended,
            "dims": [d.to_dict() for d in self.dims],
            "derivation": "\n".join(line for d in self.dims for line in d.derivation),
        }


def _output(n: int, k: int, s: int, p: int, d: int, pool: bool, ceil_mode: bool) -> int:
    if pool:
        return pool_size(n, k, s, p, d, ceil_mode)
    return conv_size(n, k, s, p, p, d)


def pool_padding_limit(kernel: int, dilation: int) -> int:
    """Largest padding torch's pooling accepts: half the kernel (and half the dilated span)."""
    return min(kernel // 2, effective_kernel(kernel, dilation) // 2)


def _interval(lo2: int, hi2: int) -> tuple[int, int]:
    """The p with lo2 ≤ 2p ≤ hi2."""
    return _ceil_div(lo2, 2), hi2 // 2


def padding_candidates(
    k: int, n: int, m: int, s: int, d: int, pool: bool, ceil_mode: bool
) -> list[tuple[int, int]]:
    """Closed-form intervals [lo, hi] of p ≥ 0 with output m (before the pooling limit)."""
    e = effective_kernel(k, d)
    if not ceil_mode:
        # m = ⌊(n + 2p − e)/s⌋ + 1  ⇔  s(m−1) ≤ n + 2p − e ≤ s(m−1) + s − 1
        spans = [_interval(s * (m - 1) + e - n, s * (m - 1) + s - 1 + e - n)]
    else:
        # raw = ⌈(n + 2p − e)/s⌉ + 1, dropped by one when (raw−1)·s ≥ n + p (window in the padding)
        # m = raw, kept:    (m−2)s < n + 2p − e ≤ (m−1)s   and  p ≥ (m−1)s − n + 1
        # m = raw − 1:      (m−1)s < n + 2p − e ≤ ms       and  p ≤ ms − n
        lo_a, hi_a = _interval(s * (m - 2) + e - n + 1, s * (m - 1) + e - n)
        lo_b, hi_b = _interval(s * (m - 1) + e - n + 1, s * m + e - n)
        spans = [(max(lo_a, s * (m - 1) - n + 1), hi_a), (lo_b, min(hi_b, s * m - n))]
    spans = [(max(lo, 0), hi) for lo, hi in spans]
    if pool:
        limit = pool_padding_limit(k, d)
        spans = [(lo, min(hi, limit)) for lo, hi in spans]
    return [(lo, hi) for lo, hi in spans if lo <= hi]


def _solve_dim(
    axis: str, k: int, n: int, m: int, s: int, d: int, pool: bool, ceil_mode: bool
) -> PaddingAnswer:
    e = effective_kernel(k, d)
    spans = padding_candidates(k, n, m, s, d, pool, ceil_mode)
    paddings = tuple(p for lo, hi in spans for p in range(lo, hi + 1))
    bracket = ("⌈", "⌉") if ceil_mode else ("⌊", "⌋")
    lines = []
    equation = f"{m} = {bracket[0]}({n} + 2p − {d}·({k}−1) − 1)/{s}{bracket[1]} + 1"
    if not ceil_mode:
        lo2 = s * (m - 1) + e - n
        hi2 = lo2 + s - 1
        if s == 1:
            if lo2 % 2 == 0:
                lines.append(f"{equation}  ⇒  2p = {lo2}  ⇒  p = {lo2 // 2}")
            else:
                lines.append(f"{equation}  ⇒  2p = {lo2}, which no integer p solves")
        else:
            lo, hi = _interval(lo2, hi2)
            solved = f"p ∈ [{lo}, {hi}]" if lo <= hi else "no integer p"
            lines.append(
                f"{equation}  ⇒  {s}·{m - 1} ≤ {n} + 2p − {e} ≤ {s}·{m - 1} + {s - 1}"
                f"  ⇒  {lo2} ≤ 2p ≤ {hi2}  ⇒  {solved}"
            )
    else:
        lines.append(
            f"{equation}, less 1 when the last window would start in the padding "
            f"((out−1)·{s} ≥ {n} + p)  ⇒  p ∈ "
            + (" ∪ ".join(f"[{lo}, {hi}]" for lo, hi in spans) if spans else "∅")
        )
    if pool:
        lines.append(f"pooling padding is at most half the kernel: p ≤ {pool_padding_limit(k, d)}")
    if s == 1 and e % 2 == 1 and n == m and not ceil_mode:
        lines.append(
            f"rule of thumb: at stride 1 an odd kernel keeps the size with p = d·(k−1)/2 = "
            f"{d}·({k}−1)/2 = {e // 2} (half the kernel)"
        )
    if paddings:
        return PaddingAnswer(axis, k, n, m, s, d, pool, ceil_mode, paddings, tuple(lines))
    return PaddingAnswer(
        axis,
        k,
        n,
        m,
        s,
        d,
        pool,
        ceil_mode,
        (),
        tuple(lines),
        reason=_why_not(k, n, m, s, d, pool, ceil_mode),
        nearest=_nearest(k, n, m, s, d, pool, ceil_mode),
        alternatives=_alternatives(k, n, m, s, d, pool, ceil_mode),
    )


def _why_not(k: int, n: int, m: int, s: int, d: int, pool: bool, ceil_mode: bool) -> str:
    e = effective_kernel(k, d)
    at_zero = _output(n, k, s, 0, d, pool, ceil_mode)
    if at_zero > m:
        return (
            f"even with padding 0 the output is {at_zero}, larger than {m}: padding only grows "
            "the output; use a larger stride or kernel"
        )
    if pool:
        limit = pool_padding_limit(k, d)
        unbounded = padding_candidates(k, n, m, s, d, False, ceil_mode)
        if unbounded and unbounded[0][0] > limit:
            return (
                f"{m} needs padding {unbounded[0][0]}, but pooling padding is at most half the "
                f"kernel ({limit} for kernel_size={k})"
            )
    if s == 1 and (m - n + e - 1) % 2:
        return (
            f"at stride 1 the output is {n} + 2p − {e - 1}, so symmetric padding changes the size "
            f"by an even amount only, and {m} − {n} + {e - 1} = {m - n + e - 1} is odd "
            f"(an even kernel cannot keep the size with symmetric padding)"
        )
    return f"no padding p ≥ 0 gives exactly {m}: the outputs jump over it as p grows"


def _nearest(
    k: int, n: int, m: int, s: int, d: int, pool: bool, ceil_mode: bool
) -> tuple[tuple[int, int], ...]:
    """Output sizes reachable near m, each with the smallest padding that gives it."""
    top = pool_padding_limit(k, d) if pool else max(k * d, m) + 2
    seen: dict[int, int] = {}
    for p in range(0, top + 1):
        try:
            out = _output(n, k, s, p, d, pool, ceil_mode)
        except ZeroDivisionError:  # pragma: no cover - stride ≥ 1
            continue
        if out >= 1:
            seen.setdefault(out, p)
    below = sorted((o for o in seen if o < m), reverse=True)[:1]
    above = sorted(o for o in seen if o > m)[:1]
    return tuple((o, seen[o]) for o in sorted(below + above))


def _alternatives(
    k: int, n: int, m: int, s: int, d: int, pool: bool, ceil_mode: bool
) -> tuple[str, ...]:
    e = effective_kernel(k, d)
    found = []
    if not pool and s == 1 and n == m:
        left = (e - 1) // 2
        found.append(
            f"padding='same' keeps the size by padding asymmetrically: {left} before and "
            f"{e - 1 - left} after"
        )
    total = s * (m - 1) + e - n  # the least total padding that reaches m
    if total >= 0:
        left = total // 2
        layer = "the pooling layer" if pool else "the convolution"
        found.append(
            f"an explicit nn.ZeroPad2d with {left} before and {total - left} after, then {layer} "
            "with padding=0"
        )
    if pool:
        other = padding_candidates(k, n, m, s, d, pool, not ceil_mode)
        if other:
            found.append(f"ceil_mode={not ceil_mode} reaches {m} with padding {other[0][0]}")
    return tuple(found)


def _per_dim(value: IntOrPair, name: str) -> tuple[int, ...]:
    if isinstance(value, int):
        return (value,)
    values = tuple(value)
    if len(values) not in (1, 2):
        raise ValueError(f"{name} must be an int or a pair H,W, but got {values}")
    return values


def solve_padding(
    kernel_size: IntOrPair,
    size_in: IntOrPair,
    size_out: IntOrPair,
    stride: IntOrPair = 1,
    dilation: IntOrPair = 1,
    *,
    pool: bool = False,
    ceil_mode: bool = False,
) -> PaddingSolution:
    """Every padding p ≥ 0 for which a convolution (or, with ``pool``, a pooling layer) maps
    ``size_in`` to ``size_out``. Each argument is an int or an (H, W) pair, solved per dimension.

    >>> solve_padding(5, 32, 32).recommended
    2
    >>> solve_padding(3, 32, 16, stride=2).paddings
    [1]
    >>> solve_padding(4, 32, 32).ok
    False
    """
    values = {
        "kernel_size": _per_dim(kernel_size, "kernel_size"),
        "in": _per_dim(size_in, "in"),
        "out": _per_dim(size_out, "out"),
        "stride": _per_dim(stride, "stride"),
        "dilation": _per_dim(dilation, "dilation"),
    }
    for name, vals in values.items():
        if any(isinstance(v, bool) or not isinstance(v, int) or v < 1 for v in vals):
            raise ValueError(f"{name} must be positive integers, but got {list(vals)}")
    if ceil_mode and not pool:
        raise ValueError("ceil_mode applies to pooling layers only; add pool=True")
    ndim = max(len(v) for v in values.values())
    axes = AXES[ndim] if ndim > 1 else ("",)
    dims = []
    for i in range(ndim):
        k, n, m, s, d = (v[i] if len(v) > 1 else v[0] for v in values.values())
        dims.append(_solve_dim(axes[i], k, n, m, s, d, pool, ceil_mode))
    return PaddingSolution(tuple(dims))
