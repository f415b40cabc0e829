"""What the model adapters' tests share: a conversation, tools, and reading a stream."""

from __future__ import annotations

from contextlib import aclosing
from typing import Any

from adapters.tools.builtin import CalculateTool
from core.domain import (
    HistoryItem,
    ModelEvent,
    ModelRequest,
    StreamEnded,
    TextDelta,
    Usage,
    UsageReported,
)
from core.ports import ChatModel
from core.services.agent import PLAN_TOOL

HISTORY = (HistoryItem("user", "Hi, I'm Ana."), HistoryItem("assistant", "Hello Ana!"))
CALCULATE = CalculateTool.spec
TOOLS = (PLAN_TOOL, CALCULATE)


def ask(prompt: str, **fields: Any) -> ModelRequest:
    return ModelRequest("You are azuchi.", fields.pop("history", HISTORY), prompt, **fields)


async def collect(model: ChatModel, request: ModelRequest) -> list[ModelEvent]:
    async with aclosing(model.stream(request)) as events:  # type: ignore[type-var]
        return [event async for event in events]


def text_of(events: list[ModelEvent]) -> str:
    return "".join(e.text for e in events if isinstance(e, TextDelta))


def end_of(events: list[ModelEvent]) -> StreamEnded:
    assert isinstance(events[-1], StreamEnded)
    assert sum(isinstance(e, StreamEnded) for e in events) == 1
    return events[-1]


def usage_of(events: list[ModelEvent]) -> Usage:
    (usage,) = [e.usage for e in events if isinstance(e, UsageReported)]
    return usage
