"""The agent's built-in tools: the current time, exact arithmetic, and search in the
session's own messages. All are read-only."""

from __future__ import annotations

import ast
import datetime as dt
import operator
from typing import Any

from core.domain import MessageType, Role, ToolSpec
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


class SearchMessagesTool:
    """Finds earlier messages of this session (only this one: the tool sees no other)."""

    spec = ToolSpec(
        name="search_messages",
        description=(
            "Search this conversation's earlier messages for words (case-insensitive; every "
            "word must appear). Returns the newest matches with their time and author."
        ),
        parameters={
            "type": "object",
            "properties": {"query": {"type": "string"}},
            "required": ["query"],
        },
    )
    SCAN = 200  # newest messages searched: one bounded read, whatever the session's length
    MATCHES = 5
    SNIPPET = 240

    async def run(self, arguments: dict[str, Any], context: ToolContext) -> str:
        query = arguments.get("query")
        if not isinstance(query, str) or not query.strip() or len(query) > MAX_EXPRESSION:
            raise ValueError(f"query must be a non-empty string of at most {MAX_EXPRESSION} chars")
        words = query.lower().split()
        messages = await context.store.last_messages(context.session_id, self.SCAN)
        hits = [
            m
            for m in messages
            if m.message_type == MessageType.CONVERSATION
            and m.role in (Role.USER, Role.AGENT)
            and all(w in m.message.lower() for w in words)
        ][-self.MATCHES :]
        if not hits:
            return f"No earlier message contains {query!r}."
        lines = []
        for m in hits:
            when = dt.datetime.fromtimestamp(m.created_at / 1000, dt.UTC).replace(microsecond=0)
            text = " ".join(m.message.split())
            if len(text) > self.SNIPPET:
                text = text[: self.SNIPPET - 1] + "…"
            lines.append(f"[{when.isoformat()}] {m.role.value.lower()}: {text}")
        return "\n".join(lines)
