"""What the model adapters' tests share: a conversation, tools, reading a stream, and the
fixtures of the OpenAI adapters' tests (a stub per test and the adapter built on it)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import aclosing
from typing import Any, Protocol, TypeVar

import pytest

from adapters.inprocess.transport import ConnectionHub
from adapters.registry import BuildContext
from adapters.settings import Settings
from adapters.tools.builtin import CalculateTool
from core.clock import SystemClock
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
from testsupport.stubs.openai import OpenAIStub, running_openai_stub

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


class ClosableModel(ChatModel, Protocol):
    """An adapter that holds an HTTP client, so a test must close it."""

    async def aclose(self) -> None: ...


ModelT = TypeVar("ModelT", bound=ClosableModel)


def context(env: Mapping[str, str]) -> BuildContext:
    """What an adapter plugin is built from, as ``azuchi serve`` would make it from ``env``."""
    return BuildContext(Settings.from_env(env), SystemClock(), ConnectionHub())


def build_on(stub: OpenAIStub, builder: Callable[[BuildContext], ModelT], **env: str) -> ModelT:
    """An adapter pointed at ``stub`` through the SDK's own variables, plus ``env``."""
    return builder(context(stub.env(**env)))


def openai_fixtures(builder: Callable[[BuildContext], ModelT]) -> tuple[Any, Any]:
    """The ``stub`` and ``model`` fixtures of a module testing the adapter ``builder`` makes:
    a fresh stub per test with short replies (streams stay quick), and the adapter on it,
    closed afterwards. Bind both at module level: ``stub, model = openai_fixtures(...)``."""

    @pytest.fixture
    async def stub() -> AsyncIterator[OpenAIStub]:
        async with running_openai_stub(reply_tokens=12) as running:
            yield running

    @pytest.fixture
    async def model(stub: OpenAIStub) -> AsyncIterator[ModelT]:
        adapter = build_on(stub, builder)
        yield adapter
        await adapter.aclose()

    return stub, model
