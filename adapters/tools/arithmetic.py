"""The arithmetic behind the ``calculate`` tool: parsed, never ``eval``-ed, and sized
before it is computed.

``((((9**64)**64)**64)**64)`` is 200 characters of valid arithmetic whose value has about
16 million digits: computing it takes minutes of CPU. ``bound_bits`` walks the expression
first and finds an upper bound of each value's size (log2 of its magnitude) from the
operands' bounds, so such an expression is refused in microseconds. What passes is small
(``MAX_RESULT_BITS``); the tool still runs it in a worker process with a time limit
(``adapters.tools.builtin``), so that a mistake here cannot freeze the event loop.

This module is imported by that worker process: it holds only pure functions.
"""

from __future__ import annotations

import ast
import math
import operator
from typing import Any

MAX_EXPRESSION = 200  # characters
MAX_RESULT_BITS = 10_000  # about 3,000 decimal digits: any value, final or intermediate
FLOAT_BITS = 1_024  # a float's magnitude stays below 2**1024 (or it overflows, quickly)

_OPERATORS: dict[type, Any] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv,
    ast.Mod: operator.mod,
    ast.Pow: operator.pow,
    ast.USub: operator.neg,
    ast.UAdd: operator.pos,
}
ONLY_ARITHMETIC = "only numbers and + - * / // % ** are allowed"


def calculate(expression: str) -> str:
    """``"<expression> = <value>"``; ``ValueError`` for anything but bounded arithmetic."""
    value = _evaluate(check(expression))
    if isinstance(value, complex):  # (-8) ** 0.5
        raise ValueError("the result is not a real number")
    shown = f"{value:g}" if isinstance(value, float) else str(value)
    return f"{expression} = {shown}"


def check(expression: object) -> ast.expr:
    """The parsed expression, once it is known to be arithmetic whose every value stays
    under ``MAX_RESULT_BITS``; ``ValueError`` otherwise. Microseconds: nothing is computed."""
    if not isinstance(expression, str) or len(expression) > MAX_EXPRESSION:
        raise ValueError(f"expression must be a string of at most {MAX_EXPRESSION} characters")
    try:
        tree = ast.parse(expression, mode="eval").body
    except (SyntaxError, RecursionError, MemoryError) as exc:
        raise ValueError(f"not an arithmetic expression: {exc}") from None
    bits = bound_bits(tree)
    if bits > MAX_RESULT_BITS:
        raise ValueError(
            f"the result could have about {int(bits * math.log10(2)):,} digits; "
            f"the limit is {int(MAX_RESULT_BITS * math.log10(2)):,}"
        )
    return tree


def bound_bits(node: ast.AST) -> float:
    """An upper bound of log2 |value| for ``node``, from its operands' bounds alone.

    Raises ``ValueError`` for anything but numbers and the allowed operators, and as soon
    as an operand's bound passes ``MAX_RESULT_BITS`` (so no bound itself grows huge).
    """
    bits, _ = _bound(node)
    return bits


def _bound(node: ast.AST) -> tuple[float, bool]:
    """(log2 bound, is_int) of ``node``."""
    if isinstance(node, ast.Constant):
        value = node.value
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValueError(ONLY_ARITHMETIC)
        if not math.isfinite(value):
            raise ValueError(f"{value} is not a finite number")
        return (math.log2(abs(value)) if abs(value) >= 1 else 0.0), isinstance(value, int)
    if isinstance(node, ast.UnaryOp) and type(node.op) in _OPERATORS:
        return _bound(node.operand)
    if not (isinstance(node, ast.BinOp) and type(node.op) in _OPERATORS):
        raise ValueError(ONLY_ARITHMETIC)
    left, left_int = _checked(node.left)
    right, right_int = _checked(node.right)
    both_int = left_int and right_int
    op = node.op
    if isinstance(op, ast.Add | ast.Sub):
        bits = max(left, right) + 1
    elif isinstance(op, ast.Mult):
        bits = left + right
    elif isinstance(op, ast.Div):
        return FLOAT_BITS, False
    elif isinstance(op, ast.FloorDiv):
        bits = left + (0 if both_int else FLOAT_BITS)  # x // 0.001 is larger than x
    elif isinstance(op, ast.Mod):
        bits = right
    else:  # Pow: |base| ** |exponent|, with |exponent| at most 2 ** right (whatever its sign)
        if not both_int:
            return FLOAT_BITS, False  # a float result: bounded, or OverflowError at once
        bits = left * 2.0**right if left > 0 else 1.0
    return bits, both_int


def _checked(node: ast.AST) -> tuple[float, bool]:
    bits, is_int = _bound(node)
    if bits > MAX_RESULT_BITS:
        raise ValueError(
            f"a part of the expression could have about {int(bits * math.log10(2)):,} digits; "
            f"the limit is {int(MAX_RESULT_BITS * math.log10(2)):,}"
        )
    return bits, is_int


def _evaluate(node: ast.AST) -> int | float:
    if isinstance(node, ast.Constant) and isinstance(node.value, int | float):
        if isinstance(node.value, bool):
            raise ValueError(ONLY_ARITHMETIC)
        return node.value
    if isinstance(node, ast.BinOp) and type(node.op) in _OPERATORS:
        left, right = _evaluate(node.left), _evaluate(node.right)
        return _OPERATORS[type(node.op)](left, right)  # type: ignore[no-any-return]
    if isinstance(node, ast.UnaryOp) and type(node.op) in _OPERATORS:
        return _OPERATORS[type(node.op)](_evaluate(node.operand))  # type: ignore[no-any-return]
    raise ValueError(ONLY_ARITHMETIC)
