"""The agent's built-in tools: the current time and exact arithmetic."""

from __future__ import annotations

import ast
import datetime as dt
import operator
from typing import Any

from core.domain import ToolSpec
from core.ports import ToolContext


class CurrentTimeTool:
    spec = ToolSpec(
        name="current_time",
        description="The current date and time in UTC (ISO 8601).",
        parameters={"type": "object", "properties": {}},
    )

    async def run(self, arguments: dict[str, Any], context: ToolContext) -> str:
        return dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat()


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
MAX_EXPRESSION = 200


class CalculateTool:
    """Arithmetic on numbers only: parsed, never ``eval``-ed."""

    spec = ToolSpec(
        name="calculate",
        description="Evaluate an arithmetic expression with + - * / // % ** and parentheses.",
        parameters={
            "type": "object",
            "properties": {"expression": {"type": "string"}},
            "required": ["expression"],
        },
    )

    async def run(self, arguments: dict[str, Any], context: ToolContext) -> str:
        expression = arguments.get("expression")
        if not isinstance(expression, str) or len(expression) > MAX_EXPRESSION:
            raise ValueError(f"expression must be a string of at most {MAX_EXPRESSION} characters")
        value = _evaluate(ast.parse(expression, mode="eval").body)
        return (
            f"{expression} = {value:g}" if isinstance(value, float) else f"{expression} = {value}"
        )


def _evaluate(node: ast.AST) -> int | float:
    if isinstance(node, ast.Constant) and isinstance(node.value, int | float):
        if isinstance(node.value, bool):
            raise ValueError("only numbers and + - * / // % ** are allowed")
        return node.value
    if isinstance(node, ast.BinOp) and type(node.op) in _OPERATORS:
        left, right = _evaluate(node.left), _evaluate(node.right)
        if isinstance(node.op, ast.Pow) and abs(right) > 64:
            raise ValueError("exponent too large")
        return _OPERATORS[type(node.op)](left, right)  # type: ignore[no-any-return]
    if isinstance(node, ast.UnaryOp) and type(node.op) in _OPERATORS:
        return _OPERATORS[type(node.op)](_evaluate(node.operand))  # type: ignore[no-any-return]
    raise ValueError("only numbers and + - * / // % ** are allowed")
