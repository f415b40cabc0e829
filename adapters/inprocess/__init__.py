"""Every port in memory: real code for running azuchi on a laptop and in tests."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from adapters.inprocess.agent_memory import InProcessAgentMemory
    from adapters.inprocess.launcher import BackgroundReplyLauncher
    from adapters.inprocess.lock import InProcessSessionLock
    from adapters.inprocess.scripted_model import ScriptedChatModel
    from adapters.inprocess.store import InProcessChatStore
    from adapters.inprocess.transport import ConnectionHub, InProcessTransport

# Each name is imported from its module when first asked for (PEP 562): importing one
# module of this package (the composition root needs only ``transport``'s ConnectionHub)
# imports no other, so a Lambda's init pays for none of them.
_HOMES = {
    "BackgroundReplyLauncher": "launcher",
    "ConnectionHub": "transport",
    "InProcessAgentMemory": "agent_memory",
    "InProcessChatStore": "store",
    "InProcessSessionLock": "lock",
    "InProcessTransport": "transport",
    "ScriptedChatModel": "scripted_model",
}


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{home}"), name)


__all__ = [
    "BackgroundReplyLauncher",
    "ConnectionHub",
    "InProcessAgentMemory",
    "InProcessChatStore",
    "InProcessSessionLock",
    "InProcessTransport",
    "ScriptedChatModel",
]
