"""``solve_padding``: which padding maps N to M, in closed form from the output-size formula.

The output size of a convolution or a pooling layer never decreases as the padding grows, so the
paddings that give one output size form one interval, found by solving the formula for p. A
transposed convolution's output shrinks by 2 per unit of padding and ``output_padding`` fills the
gap, so its answers are an interval of paddings, each with exactly one output_padding. Nothing is
searched or listed on the way: any call, with sizes up to 2³¹−1, takes microseconds.

Formulas: https://pytorch.org/docs/stable/generated/torch.nn.Conv2d.html,
https://pytorch.org/docs/stable/generated/torch.nn.MaxPool2d.html,
https://pytorch.org/docs/stable/generated/torch.nn.ConvTranspose2d.html
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ..formulas import conv_size, effective_kernel, pool_size
from ..ops.base import AXES, MAX_SIZE

IntOrPair = int | Sequence[int]

#: ``paddings`` lists at most this many values (the smallest); ``ranges`` always holds them all.
MAX_LISTED = 256


def _ceil_div(a: int, b: int) -> int:
    return -((-a) // b)


def _parity(value: int) -> str:
    return "odd" if value % 2 else "even"


@dataclass(frozen=True)
class PaddingAnswer:
    """The paddings that map ``size_in`` to ``size_out`` along one dimension, and why.

    ``ranges`` holds every answer as closed intervals ``(lo, hi)`` of paddings (at most one);
    ``paddings`` lists them one by one, the smallest :data:`MAX_LISTED` of them. For a transposed
    convolution each padding p comes with exactly one ``output_padding = 2·p − surplus``.
    """

    axis: str
    kernel: int
    size_in: int
    size_out: int
    stride: int
    dilation: int
    pool: bool
    ceil_mode: bool
    ranges: tuple[tuple[int, int], ...]
    derivation: tuple[str, ...]
    reason: str | None = None  # why there is no solution
    nearest: tuple[tuple[int, int], ...] = ()  # (output size, smallest padding giving it)
    alternatives: tuple[str, ...] = ()
    transposed: bool = False
    # transposed only: the output with padding 0 and output_padding 0, less size_out
    surplus: int = 0
    nearest_output_paddings: tuple[int, ...] = ()  # transposed only: one per ``nearest`` entry
    notes: tuple[str, ...] = ()  # advice that holds whether or not a padding works

    @property
    def count(self) -> int:
        """How many paddings work (may be far more than ``paddings`` lists)."""
        return sum(hi - lo + 1 for lo, hi in self.ranges)

    @property
    def truncated(self) -> bool:
        """True when ``paddings`` lists only the smallest :data:`MAX_LISTED` answers."""
        return self.count > MAX_LISTED

    @property
    def paddings(self) -> tuple[int, ...]:
        """Every padding that works, smallest first; at most :data:`MAX_LISTED` of them."""
        values: list[int] = []
        for lo, hi in self.ranges:
            values.extend(range(lo, min(hi, lo + MAX_LISTED - len(values) - 1) + 1))
        return tuple(values)

    def output_padding_for(self, padding: int) -> int | None:
        """The output_padding that goes with ``padding`` (transposed only), else None."""
        return 2 * padding - self.surplus if self.transposed else None

    @property
    def output_paddings(self) -> tuple[int, ...]:
        """The output_padding of each of ``paddings`` (transposed only; empty otherwise)."""
        if not self.transposed:
            return ()
        return tuple(2 * p - self.surplus for p in self.paddings)

    @property
    def recommended(self) -> int | None:
        return self.ranges[0][0] if self.ranges else None

    @property
    def recommended_output_padding(self) -> int | None:
        rec = self.recommended
        return None if rec is None else self.output_padding_for(rec)

    def to_dict(self) -> dict[str, object]:
        nearest: list[dict[str, int]] = [{"out": out, "padding": p} for out, p in self.nearest]
        for entry, op in zip(nearest, self.nearest_output_paddings, strict=False):
            entry["output_padding"] = op
        return {
            "axis": self.axis or None,
            "kernel_size": self.kernel,
            "in": self.size_in,
            "out": self.size_out,
            "stride": self.stride,
            "dilation": self.dilation,
            "pool": self.pool,
            "ceil_mode": self.ceil_mode,
            "transposed": self.transposed,
            "paddings": list(self.paddings),
            "padding_ranges": [[lo, hi] for lo, hi in self.ranges],
            "padding_count": self.count,
            "paddings_truncated": self.truncated,
            "recommended": self.recommended,
            "output_padding": self.recommended_output_padding,
            "output_paddings": list(self.output_paddings) if self.transposed else None,
            "derivation": "\n".join(self.derivation),
            "reason": self.reason,
            "nearest": nearest,
            "alternatives": list(self.alternatives),
            "notes": list(self.notes),
        }


@dataclass(frozen=True)
class PaddingSolution:
    """One answer per dimension (one for plain ints, two for H,W pairs)."""

    dims: tuple[PaddingAnswer, ...]

    @property
    def ok(self) -> bool:
        return all(d.ranges for d in self.dims)

    @property
    def transposed(self) -> bool:
        return self.dims[0].transposed

    def _each(self, values: list[object]) -> object:
        return values[0] if len(self.dims) == 1 else values

    @property
    def paddings(self) -> list[int] | list[list[int]]:
        if len(self.dims) == 1:
            return list(self.dims[0].paddings)
        return [list(d.paddings) for d in self.dims]

    @property
    def padding_ranges(self) -> list[list[int]] | list[list[list[int]]]:
        ranges = [[[lo, hi] for lo, hi in d.ranges] for d in self.dims]
        return ranges[0] if len(self.dims) == 1 else ranges

    @property
    def recommended(self) -> int | list[int] | None:
        if not self.ok:
            return None
        if len(self.dims) == 1:
            return self.dims[0].recommended
        return [d.recommended for d in self.dims]  # type: ignore[misc]

    @property
    def output_padding(self) -> int | list[int] | None:
        """The output_padding that goes with ``recommended`` (transposed only)."""
        if not self.ok or not self.transposed:
            return None
        if len(self.dims) == 1:
            return self.dims[0].recommended_output_padding
        return [d.recommended_output_padding for d in self.dims]  # type: ignore[misc]

    def to_dict(self) -> dict[str, object]:
        return {
            "ok": self.ok,
            "transposed": self.transposed,
            "paddings": self.paddings,
            "padding_ranges": self.padding_ranges,
            "padding_count": self._each([d.count for d in self.dims]),
            "paddings_truncated": any(d.truncated for d in self.dims),
            "recommended": self.recommended,
            "output_padding": self.output_padding,
            "output_paddings": (
                self._each([list(d.output_paddings) for d in self.dims])
                if self.transposed
                else None
            ),
            "dims": [d.to_dict() for d in self.dims],
            "derivation": "\n".join(line for d in self.dims for line in d.derivation),
        }


# --- convolution and pooling -----------------------------------------------------------------------


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


def output_at_least(v: int, k: int, n: int, s: int, d: int, ceil_mode: bool) -> int:
    """The smallest integer p (negative included) from which on the output is at least ``v``.

    The output as a function of p is the formula of :func:`shapecalc.formulas.pool_size` (that of
    a convolution without ``ceil_mode``). The set of p with output ≥ v is the half-line
    ``[output_at_least(v), ∞)``, which is why the output never decreases as the padding grows.
    """
    e = effective_kernel(k, d)
    if not ceil_mode:
        # ⌊(n + 2p − e)/s⌋ + 1 ≥ v  ⇔  2p ≥ s·(v−1) + e − n
        return _ceil_div(s * (v - 1) + e - n, 2)
    # ceil_mode: out = raw − drop, raw = ⌈(n + 2p − e)/s⌉ + 1, drop = [(raw − 1)·s ≥ n + p].
    # out ≥ v  ⇔  raw ≥ v + 1 (from p = a on),  or  raw = v without the drop (p in [b, a − 1]).
    a = (s * (v - 1) + e - n) // 2 + 1
    b = max((s * (v - 2) + e - n) // 2 + 1, s * (v - 1) - n + 1)
    return min(a, b)


def padding_candidates(
    k: int, n: int, m: int, s: int, d: int, pool: bool, ceil_mode: bool
) -> list[tuple[int, int]]:
    """The interval [lo, hi] of p ≥ 0 with output m, as a list of at most one interval.

    ``pool`` applies pooling's limit on the padding (half the kernel).
    """
    lo = max(output_at_least(m, k, n, s, d, ceil_mode), 0)
    hi = output_at_least(m + 1, k, n, s, d, ceil_mode) - 1
    if pool:
        hi = min(hi, pool_padding_limit(k, d))
    return [(lo, hi)] if lo <= hi else []


def _ranges_text(spans: list[tuple[int, int]]) -> str:
    return " ∪ ".join(f"[{lo}, {hi}]" for lo, hi in spans) if spans else "∅"


def _solve_dim(
    axis: str, k: int, n: int, m: int, s: int, d: int, pool: bool, ceil_mode: bool
) -> PaddingAnswer:
    e = effective_kernel(k, d)
    spans = padding_candidates(k, n, m, s, d, pool, ceil_mode)
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
            if lo > hi:
                solved = "no integer p"
            elif lo < 0:
                solved = f"p ∈ [{lo}, {hi}], and p ≥ 0" if hi >= 0 else "no p ≥ 0"
            else:
                solved = f"p ∈ [{lo}, {hi}]"
            lines.append(
                f"{equation}  ⇒  {s}·{m - 1} ≤ {n} + 2p − {e} ≤ {s}·{m - 1} + {s - 1}"
                f"  ⇒  {lo2} ≤ 2p ≤ {hi2}  ⇒  {solved}"
            )
    else:
        first = output_at_least(m, k, n, s, d, True)
        beyond = output_at_least(m + 1, k, n, s, d, True)
        unbounded = padding_candidates(k, n, m, s, d, False, True)
        lines.append(
            f"{equation}, less 1 when the last window would start past the input "
            f"((out−1)·{s} ≥ {n} + p)  ⇒  out ≥ {m} from p = {first} on, out ≥ {m + 1} from "
            f"p = {beyond} on  ⇒  p ∈ {_ranges_text(unbounded)}"
        )
    if pool:
        lines.append(f"pooling padding is at most half the kernel: p ≤ {pool_padding_limit(k, d)}")
    if s == 1 and e % 2 == 1 and n == m and not ceil_mode:
        lines.append(
            f"rule of thumb: at stride 1 an odd kernel keeps the size with p = d·(k−1)/2 = "
            f"{d}·({k}−1)/2 = {e // 2} (half the kernel)"
        )
    notes = _growth_notes(k, n, m, s, d, pool)
    if spans:
        return PaddingAnswer(
            axis, k, n, m, s, d, pool, ceil_mode, tuple(spans), tuple(lines), notes=notes
        )
    nearest = _nearest(k, n, m, s, d, pool, ceil_mode)
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
        reason=_why_not(k, n, m, s, d, pool, ceil_mode, nearest),
        nearest=nearest,
        alternatives=_alternatives(k, n, m, s, d, pool, ceil_mode),
        notes=notes,
    )


def _why_not(
    k: int,
    n: int,
    m: int,
    s: int,
    d: int,
    pool: bool,
    ceil_mode: bool,
    nearest: tuple[tuple[int, int], ...],
) -> str:
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
        # at stride 1 the output is n − (e−1) + 2p: its parity is that of n − (e−1) for every p
        span = f"{e}" if d == 1 else f"{e} (dilation·(kernel_size−1) + 1)"
        if e % 2 == 0 and n == m:
            why = (
                f"the kernel spans {span}, an even number, so it cannot keep the size with "
                "symmetric padding"
            )
        elif e % 2 == 0:
            why = (
                f"the kernel spans {span}, an even number, so the output's parity is always the "
                "opposite of the input's"
            )
        else:
            why = f"the kernel spans {span}, an odd number, so the output keeps the input's parity"
        return (
            f"at stride 1 the output is {n} + 2p − {e - 1}, and 2p is even, so every output is "
            f"{_parity(n - e + 1)} (like {n} − {e - 1} = {n - e + 1}) while {m} is {_parity(m)} "
            f"({why})"
        )
    jump = [p for out, p in nearest if out > m and p >= 1]
    if jump and _output(n, k, s, jump[0] - 1, d, pool, ceil_mode) >= 1:
        p = jump[0]
        return (
            f"padding {p - 1} gives {_output(n, k, s, p - 1, d, pool, ceil_mode)} and padding {p} "
            f"gives {_output(n, k, s, p, d, pool, ceil_mode)}: the output jumps over {m}"
        )
    return f"no padding p ≥ 0 gives exactly {m}"


def _nearest(
    k: int, n: int, m: int, s: int, d: int, pool: bool, ceil_mode: bool
) -> tuple[tuple[int, int], ...]:
    """The reachable output sizes next to m (below and above), each with the smallest padding
    that gives it. The output never decreases with p, so both are found at the thresholds."""
    top = pool_padding_limit(k, d) if pool else None
    first_valid = max(output_at_least(1, k, n, s, d, ceil_mode), 0)
    if top is not None and first_valid > top:
        return ()
    found = []
    below = output_at_least(m, k, n, s, d, ceil_mode) - 1  # the largest p with output < m
    if top is not None:
        below = min(below, top)
    if below >= first_valid:
        out = _output(n, k, s, below, d, pool, ceil_mode)
        found.append((out, max(output_at_least(out, k, n, s, d, ceil_mode), 0)))
    above = max(output_at_least(m + 1, k, n, s, d, ceil_mode), first_valid)
    if top is None or above <= top:
        found.append((_output(n, k, s, above, d, pool, ceil_mode), above))
    return tuple(found)


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


def _growth_notes(k: int, n: int, m: int, s: int, d: int, pool: bool) -> tuple[str, ...]:
    """Growing a size with a stride-1 convolution whose padding exceeds the kernel's span: the
    outermost outputs see padding only, and an up-sampling layer is the usual tool."""
    e = effective_kernel(k, d)
    if pool or s != 1 or m <= n:
        return ()
    needed = _ceil_div(m - n + e - 1, 2)  # the least padding that reaches at least m
    if needed < e:
        return ()
    upsample = f"nn.Upsample(scale_factor={m // n})" if m % n == 0 else f"nn.Upsample(size={m})"
    then = f"padding={e // 2}" if e % 2 else "padding='same'"
    blind = needed - e + 1  # windows that lie wholly in the padding, at each end
    sees = "1 output at each end sees" if blind == 1 else f"{blind} outputs at each end see"
    text = (
        f"padding {needed} is not less than the kernel's span ({e}): {sees} only padding. "
        f"Growing {n} to {m} is usually the job of an up-sampling layer: {upsample}, then this "
        f"convolution with {then}"
    )
    ratio = m // n
    if m % n == 0 and 2 <= ratio <= 16:
        # stride r maps n to r·n: r·n ≤ (n−1)·r + e + max(r, d) − 1, the largest output
        (lo, _hi) = _transposed_candidates(k, n, m, ratio, d)[0]
        op = 2 * lo - _surplus(k, n, m, ratio, d)
        text += (
            f"; or a transposed convolution, nn.ConvTranspose2d(kernel_size={k}, stride={ratio}, "
            f"padding={lo}, output_padding={op}"
            + (f", dilation={d}" if d != 1 else "")
            + f") (shapecalc solve-padding --transposed --k {k} --stride {ratio} --in {n} "
            f"--out {m}" + (f" --dilation {d}" if d != 1 else "") + ")"
        )
    return (text,)


# --- transposed convolution ------------------------------------------------------------------------


def _surplus(k: int, n: int, m: int, s: int, d: int) -> int:
    """(n − 1)·s + d·(k − 1) + 1 − m: the output with padding 0 and output_padding 0, less m.
    It equals 2·padding − output_padding for every answer."""
    return (n - 1) * s + effective_kernel(k, d) - m


def _transposed_candidates(k: int, n: int, m: int, s: int, d: int) -> list[tuple[int, int]]:
    """The interval [lo, hi] of paddings p ≥ 0 for which some output_padding in
    [0, max(s, d)) makes a transposed convolution map n to m (at most one interval)."""
    surplus = _surplus(k, n, m, s, d)
    # output_padding = 2p − surplus must lie in [0, max(s, d) − 1]
    lo = max(0, _ceil_div(surplus, 2))
    hi = (surplus + max(s, d) - 1) // 2
    return [(lo, hi)] if lo <= hi else []


def _signed(value: int) -> str:
    return f"− {value}" if value >= 0 else f"+ {-value}"


def _solve_transposed(axis: str, k: int, n: int, m: int, s: int, d: int) -> PaddingAnswer:
    e = effective_kernel(k, d)
    base = (n - 1) * s + e
    reach = max(s, d)
    surplus = base - m
    spans = _transposed_candidates(k, n, m, s, d)
    lines = [
        f"{m} = ({n} − 1)·{s} − 2p + {d}·({k}−1) + output_padding + 1  ⇒  "
        f"2p − output_padding = {base} − {m} = {surplus}",
    ]
    lo2, hi2 = surplus, surplus + reach - 1
    if spans:
        solved = f"p ∈ [{spans[0][0]}, {spans[0][1]}], output_padding = 2p {_signed(surplus)}"
    else:
        solved = "no integer p ≥ 0"
    lines.append(
        f"torch requires 0 ≤ output_padding < max(stride, dilation) = {reach} and p ≥ 0  ⇒  "
        f"{lo2} ≤ 2p ≤ {hi2}  ⇒  {solved}"
    )
    if spans:
        p = spans[0][0]
        op = 2 * p - surplus
        plain = m - op  # the output of padding p without output_padding
        if op:
            classic = f" = {s}·{n} − {op}" if m == s * n else ""
            lines.append(
                f"with padding {p} and output_padding 0 the output is {plain}{classic}; "
                f"output_padding={op} adds {op} at the end (bottom/right), giving {m}"
            )
        if s >= 2 and plain >= 1:
            sizes = (
                f"both {plain} and {plain + 1}" if s == 2 else f"each of {plain}…{plain + s - 1}"
            )
            lines.append(
                f"why output_padding exists: a stride-{s} convolution with the same kernel_size "
                f"and padding {p} maps {sizes} to {n}; output_padding picks the one the "
                "transposed convolution returns to"
            )
    if d == 1 and s >= 2 and m == s * n:
        even = f" (or kernel_size={2 * s} with padding={s // 2})" if s % 2 == 0 else ""
        lines.append(
            f"rule of thumb: kernel_size=stride={s} with padding=0{even} maps {n} to "
            f"{s}·{n} = {m} with output_padding=0"
        )
    if spans:
        return PaddingAnswer(
            axis, k, n, m, s, d, False, False, tuple(spans), tuple(lines),
            transposed=True, surplus=surplus,
        )  # fmt: skip
    top = base + reach - 1
    nearest: list[tuple[int, int, int]] = []  # (out, padding, output_padding)
    alternatives = []
    if m > top:
        reason = (
            f"the largest output is {top} (padding 0, output_padding {reach - 1}), less than "
            f"{m}: padding only shrinks a transposed convolution's output, and output_padding "
            f"must be smaller than max(stride, dilation) = {reach}"
        )
        nearest.append((top, 0, reach - 1))
        wider = max(2, _ceil_div(m - e + 1, n))  # then (n−1)·s + s ≥ m − e + 1: m is reachable
        if wider <= MAX_SIZE:
            (p, _hi) = _transposed_candidates(k, n, m, wider, d)[0]
            alternatives.append(
                f"stride={wider} reaches {m} with padding {p} and output_padding "
                f"{2 * p - _surplus(k, n, m, wider, d)}"
            )
        alternatives.append("a larger kernel_size, or an up-sampling layer (nn.Upsample)")
    else:
        # reach == 1: output_padding is 0, so the output is base − 2p, of base's parity
        reason = (
            f"with stride 1 and dilation 1, output_padding must be 0 (smaller than "
            f"max(stride, dilation) = 1), so the output is {base} − 2p: {_parity(base)} for every "
            f"padding, while {m} is {_parity(m)}"
        )
        if m - 1 >= 1:
            nearest.append((m - 1, (surplus + 1) // 2, 0))
        nearest.append((m + 1, (surplus - 1) // 2, 0))
        alternatives.append(f"kernel_size={k + 1} reaches {m} with padding {(surplus + 1) // 2}")
        if k >= 2:
            alternatives.append(
                f"kernel_size={k - 1} reaches {m} with padding {(surplus - 1) // 2}"
            )
    return PaddingAnswer(
        axis,
        k,
        n,
        m,
        s,
        d,
        False,
        False,
        (),
        tuple(lines),
        reason=reason,
        nearest=tuple((out, p) for out, p, _ in nearest),
        alternatives=tuple(alternatives),
        transposed=True,
        surplus=surplus,
        nearest_output_paddings=tuple(op for _, _, op in nearest),
    )


# --- entry point -----------------------------------------------------------------------------------


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
    transposed: bool = False,
) -> PaddingSolution:
    """Every padding p ≥ 0 for which a convolution (with ``pool``, a pooling layer; with
    ``transposed``, a transposed convolution and its output_padding) maps ``size_in`` to
    ``size_out``. Each argument is an int in [1, 2³¹−1] or an (H, W) pair, solved per dimension.

    Convolution and pooling: ``out = ⌊(in + 2p − d·(k−1) − 1)/s⌋ + 1`` (⌈⌉ with ``ceil_mode``,
    less one when the last window would start past the input; pooling padding at most k/2).
    Transposed: ``out = (in − 1)·s − 2p + d·(k−1) + output_padding + 1`` with
    ``0 ≤ output_padding < max(s, d)`` (torch refuses more). The recommended padding is the
    smallest: it crops the fewest computed rows, and since output_padding = 2p − surplus grows
    with p, it also has the smallest output_padding.

    Raises ValueError for a value outside [1, 2³¹−1], a bad pair, ``ceil_mode`` without ``pool``,
    or ``transposed`` with ``pool``.

    >>> solve_padding(5, 32, 32).recommended
    2
    >>> solve_padding(3, 32, 16, stride=2).paddings
    [1]
    >>> solve_padding(4, 32, 32).ok
    False
    >>> s = solve_padding(3, 32, 64, stride=2, transposed=True)
    >>> s.recommended, s.output_padding
    (1, 1)
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
        if any(v > MAX_SIZE for v in vals):
            raise ValueError(f"{name} must be at most {MAX_SIZE}, but got {list(vals)}")
    if ceil_mode and not pool:
        raise ValueError("ceil_mode applies to pooling layers only; add pool=True")
    if transposed and pool:
        raise ValueError("transposed applies to convolutions only; drop pool=True")
    ndim = max(len(v) for v in values.values())
    axes = AXES[ndim] if ndim > 1 else ("",)
    dims = []
    for i in range(ndim):
        k, n, m, s, d = (v[i] if len(v) > 1 else v[0] for v in values.values())
        if transposed:
            dims.append(_solve_transposed(axes[i], k, n, m, s, d))
        else:
            dims.append(_solve_dim(axes[i], k, n, m, s, d, pool, ceil_mode))
    return PaddingSolution(tuple(dims))
