"""``$name`` expressions in spec values, evaluated by a whitelist over Python's ``ast``.

A string value that mentions ``$name`` is computed: ``$out_channels``, ``$base * 4``,
``($kernel_size - 1) // 2``, ``$stride != 1 or $in_channels != $out_channels``. Allowed: ``$names``,
integers, ``true``/``false``, ``+ - * // %``, comparisons, ``and or not``, parentheses, ``min()``,
``max()``. Nothing else is evaluated, imported or looked up. A value that is exactly ``$name``
stands for the parameter's value whatever its type (a list, a float, a string).
"""

from __future__ import annotations

import ast
import difflib
import operator
import re
from collections.abc import Callable, Mapping
from typing import Any

from ..errors import ShapecalcError

_REF = re.compile(r"\$([A-Za-z_][A-Za-z0-9_]*)")
_WHOLE = re.compile(r"\$([A-Za-z_][A-Za-z0-9_]*)")

_BINARY: dict[type, Callable[[Any, Any], Any]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.FloorDiv: operator.floordiv,
    ast.Mod: operator.mod,
}
_COMPARE: dict[type, Callable[[Any, Any], bool]] = {
    ast.Eq: operator.eq,
    ast.NotEq: operator.ne,
    ast.Lt: operator.lt,
    ast.LtE: operator.le,
    ast.Gt: operator.gt,
    ast.GtE: operator.ge,
}
_SYMBOL = {
    ast.Div: "/",
    ast.Pow: "**",
    ast.MatMult: "@",
    ast.LShift: "<<",
    ast.RShift: ">>",
    ast.BitAnd: "&",
    ast.BitOr: "|",
    ast.BitXor: "^",
}
# intermediate values stay far below this; a larger one is a runaway expression
_LIMIT = 2**63


class ExprError(ShapecalcError):
    """An expression cannot be read or evaluated; ``message`` says why and what to write."""


def is_expression(value: object) -> bool:
    """True for a string that mentions ``$name``."""
    return isinstance(value, str) and _REF.search(value) is not None


def has_expression(value: object) -> bool:
    """True if ``value`` or anything inside it (lists, mappings) is an expression."""
    if isinstance(value, str):
        return is_expression(value)
    if isinstance(value, (list, tuple)):
        return any(has_expression(v) for v in value)
    if isinstance(value, dict):
        return any(has_expression(v) for v in value.values())
    return False


def references(text: str) -> list[str]:
    """The ``$names`` an expression mentions, in order.

    >>> references("($kernel_size - 1) // 2 + $k")
    ['kernel_size', 'k']
    """
    return _REF.findall(text)


def _closest(word: str, choices: list[str]) -> str | None:
    found = difflib.get_close_matches(word, choices, n=1, cutoff=0.6)
    return found[0] if found else None


def unknown_message(name: str, known: list[str]) -> str:
    """``$bn_size is not a parameter here (known: $in_channels); did you mean ...?``"""
    listed = ", ".join(f"${k}" for k in known) if known else "none"
    message = f"${name} is not a parameter here (known: {listed})"
    hint = _closest(name, known)
    if hint:
        message += f"; did you mean ${hint}?"
    return message


def unclosed(text: str) -> bool:
    """True when ``text`` opens a parenthesis or bracket that it does not close.

    >>> unclosed("max($in_channels // $r"), unclosed("max($a, 1)"), unclosed("1)")
    (True, False, False)
    """
    depth = 0
    for char in text:
        if char in "([":
            depth += 1
        elif char in ")]":
            depth = max(depth - 1, 0)
    return depth > 0


def flow_hint(field: str | None, whole: str) -> str:
    """Why an expression written inside ``{…}`` may stop early, and how to quote it."""
    written = f"{field}: " if field else ""
    return (
        f"in a flow mapping {{…}} a comma ends the value, so quote the expression: "
        f'{written}"{whole}"'
    )


def parse(text: str, field: str | None = None, whole: str | None = None) -> ast.Expression:
    """Check an expression's syntax and whitelist; raises ExprError.

    ``field`` and ``whole`` (the value as written, when a YAML flow mapping cut it at a comma)
    go into the hint for an unclosed parenthesis.
    """
    source = _REF.sub(lambda m: m.group(1), text)
    # YAML's true/false reach here as words inside a string
    source = re.sub(r"\btrue\b", "True", re.sub(r"\bfalse\b", "False", source))
    try:
        tree = ast.parse(source.strip(), mode="eval")
    except SyntaxError as exc:
        if unclosed(text):
            hint = flow_hint(field, whole or f"{text}, …")
        else:
            hint = (
                "write it with $names, integers, + - * // %, comparisons, and/or/not, "
                "parentheses, min() and max()"
            )
        raise ExprError(f"cannot read the expression {text!r}: {exc.msg}; {hint}") from None
    bare = {m for m in _REF.findall(text)}
    for node in ast.walk(tree):
        _allowed(node, text, bare)
    return tree


def _allowed(node: ast.AST, text: str, names: set[str]) -> None:
    if isinstance(node, (ast.Expression, ast.Load, ast.BoolOp, ast.And, ast.Or, ast.Not)):
        return
    if isinstance(node, (ast.UnaryOp, ast.USub, ast.UAdd, ast.Compare, *_COMPARE)):
        return
    if isinstance(node, ast.BinOp):
        if type(node.op) not in _BINARY:
            symbol = _SYMBOL.get(type(node.op), type(node.op).__name__)
            hint = "; use // for integer division" if symbol == "/" else ""
            raise ExprError(f"{symbol!r} is not allowed in the expression {text!r}{hint}")
        return
    if isinstance(node, tuple(_BINARY)):
        return
    if isinstance(node, ast.Constant):
        if isinstance(node.value, bool) or type(node.value) is int:
            return
        raise ExprError(
            f"only integers and true/false may appear in the expression {text!r}, but it has "
            f"{node.value!r}"
        )
    if isinstance(node, ast.Name):
        if node.id in names or node.id in ("min", "max", "True", "False"):
            return
        raise ExprError(
            f"{node.id!r} in the expression {text!r} is not a $name; write ${node.id} for a "
            "parameter"
        )
    if isinstance(node, ast.Call):
        func = node.func
        if isinstance(func, ast.Name) and func.id in ("min", "max") and not node.keywords:
            if len(node.args) >= 2:
                return
            raise ExprError(f"{func.id}() needs at least two values in {text!r}")
        raise ExprError(f"only min() and max() may be called in the expression {text!r}")
    raise ExprError(
        f"{type(node).__name__} is not allowed in the expression {text!r}; use $names, integers, "
        "+ - * // %, comparisons, and/or/not, parentheses, min() and max()"
    )


def evaluate(text: str, scope: Mapping[str, Any]) -> Any:
    """The value of an expression in ``scope`` (parameter name → value).

    >>> evaluate("$stride != 1 or $in_channels != $out_channels",
    ...          {"stride": 1, "in_channels": 64, "out_channels": 64})
    False
    >>> evaluate("($kernel_size - 1) // 2", {"kernel_size": 7})
    3
    >>> evaluate("$sizes", {"sizes": [3, 5]})
    [3, 5]
    """
    whole = _WHOLE.fullmatch(text.strip())
    for name in references(text):
        if name not in scope:
            raise ExprError(unknown_message(name, sorted(scope)))
    if whole:
        return scope[whole.group(1)]
    tree = parse(text)
    return _eval(tree.body, scope, text)


def _number(value: Any, text: str) -> int | bool:
    if isinstance(value, bool) or type(value) is int:
        return value
    raise ExprError(
        f"the expression {text!r} computes with integers and booleans, but a value in it is "
        f"{value!r}"
    )


def _eval(node: ast.AST, scope: Mapping[str, Any], text: str) -> Any:
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, ast.Name):
        if node.id in ("True", "False"):
            return node.id == "True"
        return _number(scope[node.id], text)
    if isinstance(node, ast.UnaryOp):
        value = _eval(node.operand, scope, text)
        if isinstance(node.op, ast.Not):
            return not value
        value = _number(value, text)
        return -value if isinstance(node.op, ast.USub) else +value
    if isinstance(node, ast.BoolOp):
        values = [_eval(v, scope, text) for v in node.values]
        if isinstance(node.op, ast.And):
            return all(values)
        return any(values)
    if isinstance(node, ast.Compare):
        left = _number(_eval(node.left, scope, text), text)
        for op, right_node in zip(node.ops, node.comparators, strict=True):
            right = _number(_eval(right_node, scope, text), text)
            if not _COMPARE[type(op)](left, right):
                return False
            left = right
        return True
    if isinstance(node, ast.BinOp):
        left = _number(_eval(node.left, scope, text), text)
        right = _number(_eval(node.right, scope, text), text)
        if isinstance(node.op, (ast.FloorDiv, ast.Mod)) and right == 0:
            raise ExprError(f"division by zero in the expression {text!r}")
        result = _BINARY[type(node.op)](left, right)
        if abs(result) >= _LIMIT:
            raise ExprError(f"the expression {text!r} grows past {_LIMIT}")
        return result
    if isinstance(node, ast.Call):
        args = [_number(_eval(a, scope, text), text) for a in node.args]
        return min(args) if node.func.id == "min" else max(args)  # type: ignore[attr-defined]
    raise AssertionError(f"unchecked node {node!r}")  # pragma: no cover - parse() refuses it


def resolve(value: Any, scope: Mapping[str, Any]) -> Any:
    """``value`` with every expression inside it evaluated (lists and mappings too)."""
    if isinstance(value, str):
        return evaluate(value, scope) if is_expression(value) else value
    if isinstance(value, list):
        return [resolve(v, scope) for v in value]
    if isinstance(value, dict):
        return {k: resolve(v, scope) for k, v in value.items()}
    return value
