"""Registers the in-process adapters (and the scripted model) with the plugin registry.

``inprocess`` names the family: dicts and queues inside this process, gone when it ends.
(``memory``, its old name, still selects it for one release, with a deprecation warning;
``agent_memory`` is the port, which the in-process family also serves.)
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from adapters.registry import AdapterSpec, BuildContext, RunReply, hookimpl

if TYPE_CHECKING:
    from adapters.inprocess.agent_memory import InProcessAgentMemory
    from adapters.inprocess.launcher import BackgroundReplyLauncher, InlineReplyLauncher
    from adapters.inprocess.limits import InProcessLimitCounters
    from adapters.inprocess.lock import InProcessSessionLock
    from adapters.inprocess.scripted_model import ScriptedChatModel
    from adapters.inprocess.store import InProcessChatStore
    from adapters.inprocess.transport import InProcessTransport

# Each factory imports its adapter's module when it is called: registering this plugin
# costs no import of the adapters the settings do not select (a Lambda's init).

NAME = "inprocess"


def _store(ctx: BuildContext) -> InProcessChatStore:
    from adapters.inprocess.store import InProcessChatStore

    s = ctx.settings
    return InProcessChatStore(ctx.clock, s.message_ttl_s, s.connection_ttl_s)


def _agent_memory(ctx: BuildContext) -> InProcessAgentMemory:
    from adapters.inprocess.agent_memory import InProcessAgentMemory

    return InProcessAgentMemory(ctx.settings.history_items, ctx.settings.response_id_ttl_s)


def _run_reply(ctx: BuildContext) -> RunReply:
    if ctx.run_reply is None:  # the root always passes it to the launcher port
        raise RuntimeError("a reply launcher was built without run_reply")
    return ctx.run_reply


def _background(ctx: BuildContext) -> BackgroundReplyLauncher:
    from adapters.inprocess.launcher import BackgroundReplyLauncher

    launcher = BackgroundReplyLauncher(_run_reply(ctx))
    ctx.resources.while_open(launcher.running())
    return launcher


def _lock(ctx: BuildContext) -> InProcessSessionLock:
    from adapters.inprocess.lock import InProcessSessionLock

    return InProcessSessionLock()


def _limits(ctx: BuildContext) -> InProcessLimitCounters:
    from adapters.inprocess.limits import InProcessLimitCounters

    return InProcessLimitCounters()


def _scripted(ctx: BuildContext) -> ScriptedChatModel:
    from adapters.inprocess.scripted_model import ScriptedChatModel

    return ScriptedChatModel(ctx.settings.scripted)


def _transport(ctx: BuildContext) -> InProcessTransport:
    from adapters.inprocess.transport import InProcessTransport

    return InProcessTransport(ctx.hub)


def _inline(ctx: BuildContext) -> InlineReplyLauncher:
    from adapters.inprocess.launcher import InlineReplyLauncher

    return InlineReplyLauncher(_run_reply(ctx))


@hookimpl
def azuchi_adapters() -> list[AdapterSpec]:
    return [
        AdapterSpec("storage", NAME, _store, "in-process dicts; gone when the process ends"),
        AdapterSpec("lock", NAME, _lock, "in-process leases"),
        AdapterSpec("agent_memory", NAME, _agent_memory, "in-process capped history"),
        AdapterSpec("limits", NAME, _limits, "in-process limit counters"),
        AdapterSpec(
            "model",
            "scripted",
            _scripted,
            "offline deterministic model",
        ),
        AdapterSpec(
            "transport",
            NAME,
            _transport,
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
            _inline,
            "the reply runs before the caller returns (Lambda without a worker)",
        ),
    ]
