"""Every port in memory: real code for running azuchi on a laptop and in tests."""

from adapters.inprocess.agent_memory import InProcessAgentMemory
from adapters.inprocess.launcher import BackgroundReplyLauncher
from adapters.inprocess.lock import InProcessSessionLock
from adapters.inprocess.scripted_model import ScriptedChatModel
from adapters.inprocess.store import InProcessChatStore
from adapters.inprocess.transport import ConnectionHub, InProcessTransport

__all__ = [
    "BackgroundReplyLauncher",
    "ConnectionHub",
    "InProcessAgentMemory",
    "InProcessChatStore",
    "InProcessSessionLock",
    "InProcessTransport",
    "ScriptedChatModel",
]
