"""Registers the in-memory adapters (and the scripted model) with the plugin registry."""

from __future__ import annotations

from adapters.memory.agent_memory import MemoryAgentMemory
from adapters.memory.lock import MemorySessionLock
from adapters.memory.scripted_model import ScriptedChatModel
from adapters.memory.store import MemoryChatStore
from adapters.memory.transport import InProcessTransport
from adapters.registry import AdapterSpec, BuildContext, hookimpl


def _store(ctx: BuildContext) -> MemoryChatStore:
    s = ctx.settings
    return MemoryChatStore(ctx.clock, s.message_ttl_s, s.connection_ttl_s)


def _memory(ctx: BuildContext) -> MemoryAgentMemory:
    return MemoryAgentMemory(ctx.settings.history_items, ctx.settings.response_id_ttl_s)


@hookimpl
def azuchi_adapters() -> list[AdapterSpec]:
    return [
        AdapterSpec("storage", "memory", _store, "in-process dicts; gone when the process ends"),
        AdapterSpec("lock", "memory", lambda ctx: MemorySessionLock(), "in-process leases"),
        AdapterSpec("memory", "memory", _memory, "in-process capped history"),
        AdapterSpec(
            "model",
            "scripted",
            lambda ctx: ScriptedChatModel(ctx.settings.scripted),
            "offline deterministic model",
        ),
        AdapterSpec(
            "transport",
            "memory",
            lambda ctx: InProcessTransport(ctx.hub),
            "frames straight to this process's sockets",
        ),
    ]
