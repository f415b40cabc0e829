"""The agent's built-in tools: the current time, exact arithmetic, and search in the
session's own messages. All are read-only."""

from __future__ import annotations

import datetime as dt
from typing import Any

from adapters.tools.arithmetic import MAX_EXPRESSION, calculate, check
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


class CalculateTool:
    """Arithmetic on numbers only (``adapters.tools.arithmetic``): sized before it is
    computed, and computed in a worker process, off the event loop."""

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
        check(expression)  # refuses a huge result here, before a worker is asked
        assert isinstance(expression, str)
        # Imported here: anyio's process pool (subprocess, pickle) is a cost only the model's
        # function pays, on the first calculation, not every function's init.
        from adapters.tools.worker import off_loop

        return await off_loop(calculate, expression)


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
