"""Python source written already formatted, as ``ruff format`` (and black) would leave it.

A statement is built from a few node kinds (an atom, a call, a list or tuple, a conditional
expression) and laid out at a fixed width the way the formatter splits a line: on one line when it
fits, trailing comment included; otherwise split at its outermost brackets, the contents on one
line of their own when they fit there, else one item per line with a trailing comma (a single
argument is split in turn; a list or tuple literal is always one item per line). A call marked ``explode`` is one item per line with a trailing comma even
when it would fit (the "magic trailing comma" keeps it so, as ``nn.Sequential(...)`` is usually
written). An assignment whose first line would be too long is parenthesised first, as the
formatter does. Pure Python: :mod:`shapecalc.export` writes modules with it.

>>> call = Call("nn.Conv2d", (Atom("3"), Atom("32"), Atom("5")), (("padding", Atom("2")),))
>>> statement("self.conv1 = ", call, 2)
['        self.conv1 = nn.Conv2d(3, 32, 5, padding=2)']
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

WIDTH = 88  # ruff format's and black's default line length
INDENT = "    "


@dataclass(frozen=True)
class Atom:
    """Text that is never split: a name, a literal, an expression."""

    text: str


@dataclass(frozen=True)
class Call:
    """``func(args, key=value)`` then ``after`` (``.requires_grad_(False)``, or ``:`` for a def)."""

    func: str
    args: tuple[Node, ...] = ()
    kwargs: tuple[tuple[str, Node], ...] = ()
    after: str = ""
    explode: bool = False  # one item per line even when it fits

    def items(self) -> list[tuple[str, Node]]:
        return [("", a) for a in self.args] + [(f"{k}=", v) for k, v in self.kwargs]


@dataclass(frozen=True)
class Brackets:
    """A list ``[a, b]`` (``open="["``) or a tuple ``(a, b)`` (``open="("``)."""

    open: str
    values: tuple[Node, ...]

    @property
    def close(self) -> str:
        return "]" if self.open == "[" else ")"

    def items(self) -> list[tuple[str, Node]]:
        return [("", v) for v in self.values]


@dataclass(frozen=True)
class IfElse:
    """``body if test else orelse``."""

    body: Node
    test: str
    orelse: Node


Node = Atom | Call | Brackets | IfElse


def flat(node: Node) -> str:
    """The node on one line."""
    if isinstance(node, Atom):
        return node.text
    if isinstance(node, IfElse):
        return f"{flat(node.body)} if {node.test} else {flat(node.orelse)}"
    inner = ", ".join(key + flat(value) for key, value in node.items())
    if isinstance(node, Brackets):
        if node.open == "(" and len(node.values) == 1:
            inner += ","
        return node.open + inner + node.close
    return f"{node.func}({inner}){node.after}"


def lines(node: Node, depth: int, prefix: str = "", suffix: str = "") -> list[str]:
    """``prefix + node + suffix`` at ``depth`` indents, split as the formatter splits it."""
    indent = INDENT * depth
    one = indent + prefix + flat(node) + suffix
    exploded = isinstance(node, Call) and node.explode and bool(node.items())
    if (len(one) <= WIDTH and not exploded) or isinstance(node, Atom):
        return [one]
    if isinstance(node, IfElse):
        inner = indent + INDENT + flat(node)
        if len(inner) <= WIDTH:
            return [indent + prefix + "(", inner, indent + ")" + suffix]
        return [
            indent + prefix + "(",
            *lines(node.body, depth + 1),
            f"{indent}{INDENT}if {node.test}",
            *lines(node.orelse, depth + 1, "else "),
            indent + ")" + suffix,
        ]
    if isinstance(node, Call):
        head, close = node.func + "(", ")" + node.after
    else:
        head, close = node.open, node.close
    items = node.items()
    if not items:  # nothing to split: `f()` is parenthesised where that makes it fit
        inner = indent + INDENT + flat(node)
        if prefix.endswith("= ") and len(inner) <= WIDTH:
            return [indent + prefix + "(", inner, indent + ")" + suffix]
        return [one]
    if prefix.endswith("= ") and len(indent + prefix + head) > WIDTH:
        # the formatter parenthesises a right-hand side whose first line cannot fit
        return [indent + prefix + "(", *lines(node, depth + 1), indent + ")" + suffix]
    body = ", ".join(key + flat(value) for key, value in items)
    # a list or tuple that does not fit is one item per line, as the formatter writes literals
    if not exploded and not isinstance(node, Brackets):
        if len(indent + INDENT + body) <= WIDTH:  # the contents on a line of their own
            return [indent + prefix + head, indent + INDENT + body, indent + close + suffix]
        if len(items) == 1:  # one item: split it in turn
            key, value = items[0]
            return [
                indent + prefix + head,
                *lines(value, depth + 1, key),
                indent + close + suffix,
            ]
    out = [indent + prefix + head]
    for key, value in items:
        out += lines(value, depth + 1, key, ",")
    out.append(indent + close + suffix)
    return out


def statement(prefix: str, node: Node, depth: int, comment: str = "") -> list[str]:
    """``prefix`` (``"x = "``, ``"return "``, ``""``) and ``node`` as lines, with a trailing
    comment (``# [1, 64, 56, 56]``) after the last."""
    return lines(node, depth, prefix, f"  # {comment}" if comment else "")


def literal(value: Any) -> str:
    """A Python literal for a spec value: ints, floats, booleans, None, strings, tuples
    (a list becomes a tuple, which torch takes wherever it takes a list of sizes).

    >>> literal((3, 1)), literal([7, None]), literal(1e-05), literal("reflect"), literal((2,))
    ('(3, 1)', '(7, None)', '1e-05', '"reflect"', '(2,)')
    >>> literal(float("-inf"))
    'float("-inf")'

    """
    if isinstance(value, bool) or value is None:
        return repr(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            return f'float("{value}")'
        return repr(value)
    if isinstance(value, str):
        return _string(value)
    if isinstance(value, (list, tuple)):
        inner = ", ".join(literal(v) for v in value)
        return f"({inner},)" if len(value) == 1 else f"({inner})"
    raise TypeError(f"no Python literal for {value!r}")  # pragma: no cover - spec values only


def _string(text: str) -> str:
    """Double quotes unless the text holds some and no single ones (the formatter's choice)."""
    quoted = repr(text)
    if quoted.startswith("'") and '"' not in text:
        return '"' + quoted[1:-1].replace("\\'", "'") + '"'
    return quoted


__all__ = [
    "WIDTH",
    "Atom",
    "Brackets",
    "Call",
    "IfElse",
    "Node",
    "flat",
    "lines",
    "literal",
    "statement",
]
