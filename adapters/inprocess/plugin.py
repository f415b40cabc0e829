"""Registers the in-process adapters (and the scripted model) with the plugin registry.

``inprocess`` names the family: dicts and queues inside this process, gone when it ends.
(``memory``, its old name, still selects it for one release, with a deprecation warning;
``agent_memory`` is the port, which the in-process family also serves.)
"""

from __future__ import annotations

from adapters.inprocess.agent_memory import InProcessAgentMemory
from adapters.inprocess.launcher import BackgroundReplyLauncher, InlineReplyLauncher
from adapters.inprocess.limits import InProcessLimitCounters
from adapters.inprocess.lock import InProcessSessionLock
from adapters.inprocess.scripted_model import ScriptedChatModel
from adapters.inprocess.store import InProcessChatStore
from adapters.inprocess.transport import InProcessTransport
from adapters.registry import AdapterSpec, BuildContext, RunReply, hookimpl

NAME = "inprocess"


def _store(ctx: BuildContext) -> InProcessChatStore:
    s = ctx.settings
    return InProcessChatStore(ctx.clock, s.message_ttl_s, s.connection_ttl_s)


def _agent_memory(ctx: BuildContext) -> InProcessAgentMemory:
    return InProcessAgentMemory(ctx.settings.history_items, ctx.settings.response_id_ttl_s)


def _run_reply(ctx: BuildContext) -> RunReply:
    if ctx.run_reply is None:  # the root always passes it to the launcher port
        raise RuntimeError("a reply launcher was built without run_reply")
    return ctx.run_reply


def _background(ctx: BuildContext) -> BackgroundReplyLauncher:
    launcher = BackgroundReplyLauncher(_run_reply(ctx))
    ctx.resources.while_open(launcher.running())
    return launcher


@hookimpl
def azuchi_adapters() -> list[AdapterSpec]:
    return [
        AdapterSpec("storage", NAME, _store, "in-process dicts; gone when the process ends"),
        AdapterSpec("lock", NAME, lambda ctx: InProcessSessionLock(), "in-process leases"),
        AdapterSpec("agent_memory", NAME, _agent_memory, "in-process capped history"),
        AdapterSpec(
            "limits", NAME, lambda ctx: InProcessLimitCounters(), "in-process limit counters"
        ),
        AdapterSpec(
            "model",
            "scripted",
            lambda ctx: ScriptedChatModel(ctx.settings.scripted),
            "offline deterministic model",
        ),
        AdapterSpec(
            "transport",
            NAME,
            lambda ctx: InProcessTransport(ctx.hub),
            "frames straight to this process's sockets",
        ),
        AdapterSpec(
            "launcher",
            "background",
            _background,
            "a task of this server per reply (azuchi serve)",
        ),
        AdapterSpec(
            "launcher",
            "inline",
            lambda ctx: InlineReplyLauncher(_run_reply(ctx)),
            "the reply runs before the caller returns (Lambda without a worker)",
        ),
    ]
