"""What a backend provider is: the base classes ``backends.py`` builds its providers from,
and ``backend_missing``, the one way a provider reports a backend it cannot reach."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, Protocol

import pytest

from adapters.bootstrap import plugin_manager
from adapters.inprocess.transport import ConnectionHub
from adapters.registry import AdapterSpec, BuildContext, Resources, setting_name
from adapters.settings import Settings
from core.clock import SystemClock
from core.domain import ToolSpec
from core.ports import ChatModel, Transport
from core.services.agent import PLAN_TOOL
from testsupport.backend import backend_missing as backend_missing  # providers call it here

# Test knobs a suite may ask for, and the setting each one becomes. Every adapter reads its
# settings the same way, so one mechanism serves memory, DynamoDB and Redis alike.
KNOB_ENV = {
    "history_items": "AZUCHI_HISTORY_ITEMS",
    "response_id_ttl_s": "AZUCHI_RESPONSE_ID_TTL_S",
    "message_ttl_days": "AZUCHI_MESSAGE_TTL_DAYS",
    "connection_ttl_hours": "AZUCHI_CONNECTION_TTL_HOURS",
    "storage": "AZUCHI_STORAGE",  # the store a memory derived from the messages reads
}


def new_id() -> str:
    """Session and connection ids: random, so tests sharing a real backend never collide."""
    return str(uuid.uuid4())


class BackendProvider:
    """Makes ready instances of one registered adapter (the in-memory adapters need
    nothing more than their settings)."""

    def environment(self) -> dict[str, str]:
        """Settings that point the adapter at its backend; start or find it here."""
        return {}

    def shutdown(self) -> None:
        """Stop whatever ``environment`` started."""

    def context(self, spec: AdapterSpec, **knobs: object) -> BuildContext:
        unknown = set(knobs) - set(KNOB_ENV)
        if unknown:
            raise TypeError(f"unknown test knobs {sorted(unknown)}; known: {sorted(KNOB_ENV)}")
        env = {
            setting_name(spec.port): spec.name,
            **self.environment(),
            **{KNOB_ENV[knob]: str(value) for knob, value in knobs.items()},
        }
        return BuildContext(
            settings=Settings.from_env(env), clock=SystemClock(), hub=ConnectionHub()
        )

    @asynccontextmanager
    async def open(self, spec: AdapterSpec, **knobs: object) -> AsyncIterator[Any]:
        """A fresh adapter instance (wrapped for the model and transport suites)."""
        ctx = self.context(spec, **knobs)
        try:
            adapter = spec.factory(ctx)
            yield await self.ready(adapter, ctx)
        finally:
            await ctx.resources.aclose()  # the clients the factory opened, as the app would

    async def ready(self, adapter: Any, ctx: BuildContext) -> Any:
        return adapter


# --- model ------------------------------------------------------------------------------


def contract_tools() -> tuple[ToolSpec, ...]:
    """The tools the model suite offers: the agent's plan tool and the built-in tools."""
    manager = plugin_manager()
    batches = manager.hook.azuchi_tools(settings=Settings(), resources=Resources())
    specs = [tool.spec for batch in batches for tool in batch]
    return (PLAN_TOOL, *specs)


@dataclass(frozen=True, slots=True)
class ToolPrompt:
    """A prompt that makes this provider's model call tools, and the tools it must call."""

    prompt: str
    expected_tools: frozenset[str]


@dataclass(frozen=True, slots=True)
class ModelRig:
    model: ChatModel
    tool_prompts: tuple[ToolPrompt, ...]  # with ``contract_tools()`` offered
    failure_prompt: str  # makes the backend fail in the middle of a reply


class ModelProvider(BackendProvider):
    tool_prompts: tuple[ToolPrompt, ...] = ()
    failure_prompt: str = ""

    async def ready(self, adapter: Any, ctx: BuildContext) -> ModelRig:
        if not self.tool_prompts or not self.failure_prompt:
            pytest.fail(
                f"{type(self).__name__} must set tool_prompts and failure_prompt", pytrace=False
            )
        return ModelRig(adapter, self.tool_prompts, self.failure_prompt)


# --- transport ------------------------------------------------------------------------


class Peer(Protocol):
    """A client attached to the transport's backend, as the transport suite sees it."""

    @property
    def connection_id(self) -> str: ...

    async def received(self) -> list[str]:
        """Every frame this client has received so far, in order (a networked provider
        waits until frames already sent have arrived)."""
        ...

    async def hang_up(self) -> None:
        """The client goes away on its own."""
        ...

    async def was_closed(self) -> bool:
        """True once the server side has closed this connection."""
        ...


@dataclass(frozen=True, slots=True)
class TransportRig:
    transport: Transport
    connect: Callable[[], Awaitable[Peer]]


class TransportProvider(BackendProvider):
    async def ready(self, adapter: Any, ctx: BuildContext) -> TransportRig:
        async def connect() -> Peer:
            return await self.connect(adapter, ctx)

        return TransportRig(adapter, connect)

    async def connect(self, adapter: Any, ctx: BuildContext) -> Peer:
        raise NotImplementedError
