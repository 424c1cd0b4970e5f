"""Symbolic sizes: run a layer's own shape rule once for a whole class of inputs.

After a Flatten the rest of a net sees one number, C·h·w, and a Linear then accepts exactly one
value of it. Trying every (h, w) pair would cost millions of calls; instead the layers' ``infer``
runs on :class:`Sym` sizes, integers that carry a polynomial in the input's sizes and record every
comparison made on them (a *guard*, as in torch's symbolic shapes). The guards a run records are
the conditions under which every input takes the same path through the layers' code, so one run
answers for all inputs that satisfy them; :func:`solve` finds those inputs, and flipping one
guard at a time finds the other paths (concolic exploration).

Anything the solver cannot follow (``//`` by more than 1, a float, an ``int()``, a hash) raises
:class:`Escape`; the caller then falls back to trying the inputs one by one.
"""

from __future__ import annotations

import itertools
from bisect import bisect_left
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

Monomial = tuple[int, ...]  # sorted variable ids, repeated for powers; () is the constant term
Poly = dict[Monomial, int]


class Escape(Exception):
    """A layer used a symbolic size in a way the solver cannot follow."""


@dataclass(frozen=True)
class Guard:
    """``poly REL 0`` evaluated to ``outcome``; ``rel`` is "eq", "lt" or "le"."""

    poly: tuple[tuple[Monomial, int], ...]
    rel: str
    outcome: bool

    def flipped(self) -> Guard:
        return Guard(self.poly, self.rel, not self.outcome)

    def holds(self, value: int) -> bool:
        """Whether a polynomial value satisfies the guard as recorded."""
        if self.rel == "eq":
            result = value == 0
        elif self.rel == "lt":
            result = value < 0
        else:
            result = value <= 0
        return result == self.outcome


class Recorder:
    """The guards of one run, in the order the code asked them."""

    def __init__(self) -> None:
        self.guards: list[Guard] = []


def _add(a: Poly, b: Poly, sign: int = 1) -> Poly:
    out = dict(a)
    for mono, coeff in b.items():
        value = out.get(mono, 0) + sign * coeff
        if value:
            out[mono] = value
        else:
            out.pop(mono, None)
    return out


def _mul(a: Poly, b: Poly) -> Poly:
    out: Poly = {}
    for (ma, ca), (mb, cb) in itertools.product(a.items(), b.items()):
        mono = tuple(sorted(ma + mb))
        value = out.get(mono, 0) + ca * cb
        if value:
            out[mono] = value
        else:
            out.pop(mono, None)
    return out


def evaluate(poly: Poly | tuple[tuple[Monomial, int], ...], values: Sequence[int]) -> int:
    """The polynomial's value for variable values ``values[var]``."""
    items = poly.items() if isinstance(poly, dict) else poly
    total = 0
    for mono, coeff in items:
        term = coeff
        for var in mono:
            term *= values[var]
        total += term
    return total


class Sym:
    """An integer size known by its value for one input and by a polynomial of the input's sizes."""

    __slots__ = ("poly", "rec", "value")

    def __init__(self, value: int, poly: Poly, rec: Recorder) -> None:
        self.value = value
        self.poly = poly
        self.rec = rec

    @classmethod
    def variable(cls, var: int, value: int, rec: Recorder) -> Sym:
        return cls(value, {(var,): 1}, rec)

    def _lift(self, other: object) -> tuple[int, Poly]:
        if isinstance(other, Sym):
            return other.value, other.poly
        if isinstance(other, int):
            return int(other), ({(): int(other)} if other else {})
        raise Escape(f"a size was combined with {type(other).__name__} {other!r}")

    def _new(self, value: int, poly: Poly) -> Sym | int:
        if not poly or set(poly) == {()}:
            return value  # no variable left: a plain int
        return Sym(value, poly, self.rec)

    # arithmetic that stays polynomial
    def __add__(self, other: object) -> Sym | int:
        v, p = self._lift(other)
        return self._new(self.value + v, _add(self.poly, p))

    __radd__ = __add__

    def __sub__(self, other: object) -> Sym | int:
        v, p = self._lift(other)
        return self._new(self.value - v, _add(self.poly, p, -1))

    def __rsub__(self, other: object) -> Sym | int:
        v, p = self._lift(other)
        return self._new(v - self.value, _add(p, self.poly, -1))

    def __mul__(self, other: object) -> Sym | int:
        v, p = self._lift(other)
        return self._new(self.value * v, _mul(self.poly, p))

    __rmul__ = __mul__

    def __neg__(self) -> Sym | int:
        return self._new(-self.value, {m: -c for m, c in self.poly.items()})

    def __pos__(self) -> Sym:
        return self

    def __floordiv__(self, other: object) -> Sym | int:
        if isinstance(other, int) and not isinstance(other, bool) and other == 1:
            return self  # a stride of 1
        raise Escape("a size was divided by more than 1")

    def __mod__(self, other: object) -> int:
        if isinstance(other, int) and not isinstance(other, bool) and other == 1:
            return 0
        raise Escape("a size was divided by more than 1")

    def __abs__(self) -> Sym | int:
        return self if self >= 0 else -self

    # comparisons record a guard and answer for this input
    def _guard(self, other: object, rel: str, swap: bool) -> bool:
        v, p = self._lift(other)
        poly = _add(p, self.poly, -1) if swap else _add(self.poly, p, -1)
        value = v - self.value if swap else self.value - v
        outcome = value == 0 if rel == "eq" else value < 0 if rel == "lt" else value <= 0
        if any(poly.keys() - {()}):
            self.rec.guards.append(Guard(tuple(sorted(poly.items())), rel, outcome))
        return outcome

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, (int, Sym)):
            return NotImplemented
        return self._guard(other, "eq", False)

    def __ne__(self, other: object) -> bool:
        if not isinstance(other, (int, Sym)):
            return NotImplemented
        return not self._guard(other, "eq", False)

    def __lt__(self, other: object) -> bool:
        return self._guard(other, "lt", False)

    def __le__(self, other: object) -> bool:
        return self._guard(other, "le", False)

    def __gt__(self, other: object) -> bool:
        return self._guard(other, "lt", True)

    def __ge__(self, other: object) -> bool:
        return self._guard(other, "le", True)

    def __bool__(self) -> bool:
        return self != 0

    # shown as the value it has for this input
    def __str__(self) -> str:
        return str(self.value)

    __repr__ = __str__

    def __format__(self, spec: str) -> str:
        return format(self.value, spec)

    # everything else leaves the polynomial world
    def _escape(self, *args: Any) -> Any:
        raise Escape("a size was used where only an int can go")

    __hash__ = _escape
    __index__ = __int__ = __float__ = __complex__ = _escape
    __rfloordiv__ = __truediv__ = __rtruediv__ = _escape
    __rmod__ = __divmod__ = __rdivmod__ = __pow__ = __rpow__ = _escape
    __and__ = __or__ = __xor__ = __lshift__ = __rshift__ = __invert__ = _escape
    __round__ = __trunc__ = __floor__ = __ceil__ = _escape


# --- the inputs that satisfy a set of guards ------------------------------------------------------


@dataclass(frozen=True)
class Space:
    """The candidate inputs: per axis, classes of sizes; per variable, (axis, slot) in a class.

    Class ``c`` of axis ``j`` gives variable ``v`` the value ``values[j][c][slot]`` where
    ``(j, slot) = variables[v]``.
    """

    values: tuple[tuple[tuple[int, ...], ...], ...]  # axis → class → the class's variable values
    variables: tuple[tuple[int, int], ...]  # variable id → (axis, slot)

    def assign(self, combo: Sequence[int]) -> list[int]:
        return [self.values[j][combo[j]][slot] for j, slot in self.variables]


Box = tuple[tuple[int, ...], ...]  # per axis, class indices: every combination satisfies


def _axes_of(guard: Guard, space: Space) -> set[int]:
    return {space.variables[v][0] for mono, _ in guard.poly for v in mono}


def _single(
    guard: Guard, space: Space, axis: int, classes: Sequence[int], base: list[int]
) -> list[int]:
    kept = []
    for c in classes:
        for v, (j, slot) in enumerate(space.variables):
            if j == axis:
                base[v] = space.values[axis][c][slot]
        if guard.holds(evaluate(guard.poly, base)):
            kept.append(c)
    return kept


@dataclass(frozen=True)
class _Product:
    """A guard ``a·∏ x + b REL 0`` over one monomial that spans several axes."""

    guard: Guard
    a: int
    b: int
    factors: dict[int, tuple[int, ...]]  # axis → its variables in the monomial


def _product_form(guard: Guard, space: Space) -> _Product | None:
    terms = [(m, c) for m, c in guard.poly if m]
    if len(terms) != 1:
        return None
    mono, a = terms[0]
    b = sum(c for m, c in guard.poly if not m)
    factors: dict[int, list[int]] = {}
    for v in mono:
        factors.setdefault(space.variables[v][0], []).append(v)
    return _Product(guard, a, b, {j: tuple(vs) for j, vs in factors.items()})


def _factor(space: Space, axis: int, c: int, variables: tuple[int, ...]) -> int:
    out = 1
    for v in variables:
        out *= space.values[axis][c][space.variables[v][1]]
    return out


def solve(guards: Sequence[Guard], space: Space, first_only: bool = False) -> Iterator[Box]:
    """Boxes of class combinations that satisfy every guard, disjoint, covering all of them.

    Guards over one axis filter that axis; a guard over one monomial of several axes (C·h·w =
    1024) is solved by divisibility or bisection on the last axis it spans; any other guard is
    evaluated per combination.
    """
    n = len(space.values)
    classes = [list(range(len(space.values[j]))) for j in range(n)]
    base = [0] * len(space.variables)
    multi: list[Guard] = []
    for guard in guards:
        axes = _axes_of(guard, space)
        if not axes:
            if not guard.holds(evaluate(guard.poly, base)):
                return
        elif len(axes) == 1:
            (axis,) = axes
            classes[axis] = _single(guard, space, axis, classes[axis], list(base))
        else:
            multi.append(guard)
    if any(not c for c in classes):
        return
    if not multi:
        yield tuple(tuple(c) for c in classes)
        return
    involved = sorted(set().union(*(_axes_of(g, space) for g in multi)))
    last, outer = involved[-1], involved[:-1]
    products = [p for g in multi if (p := _product_form(g, space)) is not None]
    general = [g for g in multi if _product_form(g, space) is None]
    # the last axis's classes by the value of each product guard's factor on it
    by_factor: list[tuple[list[int], dict[int, list[int]]]] = []
    for p in products:
        table: dict[int, list[int]] = {}
        for c in classes[last]:
            table.setdefault(_factor(space, last, c, p.factors.get(last, ())), []).append(c)
        by_factor.append((sorted(table), table))

    def last_classes(combo: dict[int, int]) -> list[int]:
        allowed = set(classes[last])
        for p, (keys, table) in zip(products, by_factor, strict=True):
            k = p.a
            for j, c in combo.items():
                k *= _factor(space, j, c, p.factors.get(j, ()))
            allowed &= _matching(p.guard, k, p.b, keys, table)
            if not allowed:
                return []
        if general:
            values = list(base)
            for j, c in combo.items():
                for v, (axis, slot) in enumerate(space.variables):
                    if axis == j:
                        values[v] = space.values[j][c][slot]
            kept = set()
            for c in allowed:
                for v, (axis, slot) in enumerate(space.variables):
                    if axis == last:
                        values[v] = space.values[last][c][slot]
                if all(g.holds(evaluate(g.poly, values)) for g in general):
                    kept.add(c)
            allowed = kept
        return sorted(allowed)

    # equalities prune the outer loops: the partial product must divide the target
    exact = [p for p in products if p.guard.rel == "eq" and p.guard.outcome and p.a]

    def descend(depth: int, combo: dict[int, int]) -> Iterator[dict[int, int]]:
        if depth == len(outer):
            yield combo
            return
        axis = outer[depth]
        for c in classes[axis]:
            trial = {**combo, axis: c}
            if all(_divides(p, trial, space) for p in exact):
                yield from descend(depth + 1, trial)

    grouped: dict[tuple[int, ...], list[dict[int, int]]] = {}
    for combo in descend(0, {}):
        found = last_classes(combo)
        if not found:
            continue
        if first_only:
            yield _box(n, classes, {**{j: (c,) for j, c in combo.items()}, last: (found[0],)})
            return
        grouped.setdefault(tuple(found), []).append(combo)
    for matched, combos in grouped.items():
        if len(outer) == 1:
            axis = outer[0]
            yield _box(n, classes, {axis: tuple(c[axis] for c in combos), last: matched})
        else:
            for combo in combos:
                yield _box(n, classes, {**{j: (c,) for j, c in combo.items()}, last: matched})


def _box(n: int, classes: list[list[int]], fixed: dict[int, tuple[int, ...]]) -> Box:
    return tuple(fixed.get(j, tuple(classes[j])) for j in range(n))


def _divides(p: _Product, combo: dict[int, int], space: Space) -> bool:
    k = p.a
    for j, c in combo.items():
        k *= _factor(space, j, c, p.factors.get(j, ()))
    return k != 0 and (-p.b) % k == 0


def _matching(
    guard: Guard, k: int, b: int, keys: list[int], table: dict[int, list[int]]
) -> set[int]:
    """Classes whose factor f satisfies ``k·f + b REL 0`` as the guard recorded."""
    if k == 0:
        return {c for cs in table.values() for c in cs} if guard.holds(b) else set()
    if guard.rel == "eq":
        hit = table.get(-b // k, []) if (-b) % k == 0 else []
        if guard.outcome:
            return set(hit)
        return {c for f, cs in table.items() if f != -b // k or (-b) % k for c in cs}

    # k·f + b is monotone in f: the matching factors are a prefix or a suffix of the sorted keys
    def ok(f: int) -> bool:
        return guard.holds(k * f + b)

    first_ok = ok(keys[0]) if keys else False
    # first index where ok() differs from ok(keys[0])
    cut = bisect_left(range(len(keys)), True, key=lambda i: ok(keys[i]) != first_ok)
    chosen = keys[:cut] if first_ok else keys[cut:]
    return {c for f in chosen for c in table[f]}


# --- concolic exploration -------------------------------------------------------------------------


@dataclass(frozen=True)
class Leaf:
    """One path through the layers' code: the guards that select it and what it ends in."""

    guards: tuple[Guard, ...]
    verdict: Any
    witness: tuple[int, ...]


def explore(
    run: Callable[[tuple[int, ...]], tuple[list[Guard], Any]],
    space: Space,
    start: tuple[int, ...],
    limit: int = 256,
) -> list[Leaf]:
    """Every path ``run`` can take over ``space``, found by flipping one guard at a time.

    ``run(combo)`` runs the layers symbolically for one class combination and returns its guards
    and verdict. Raises Escape when the paths are more than ``limit`` or ``run`` is not
    deterministic.
    """
    leaves: list[Leaf] = []
    pending: list[tuple[tuple[Guard, ...], tuple[int, ...] | None]] = [((), start)]
    while pending:
        prefix, witness = pending.pop()
        if witness is None:
            box = next(solve(prefix, space, first_only=True), None)
            if box is None:
                continue
            witness = tuple(axis[0] for axis in box)
        guards, verdict = run(witness)
        if tuple(guards[: len(prefix)]) != prefix:
            raise Escape("the layers took another path for an input of the same class")
        leaves.append(Leaf(tuple(guards), verdict, witness))
        if len(leaves) > limit:
            raise Escape(f"more than {limit} paths")
        for k in range(len(prefix), len(guards)):
            pending.append(((*guards[:k], guards[k].flipped()), None))
    return leaves


__all__ = [
    "Box",
    "Escape",
    "Guard",
    "Leaf",
    "Recorder",
    "Space",
    "Sym",
    "evaluate",
    "explore",
    "solve",
]
