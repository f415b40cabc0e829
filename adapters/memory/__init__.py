"""Every port in memory: real code for running azuchi on a laptop and in tests."""

from adapters.memory.agent_memory import MemoryAgentMemory
from adapters.memory.launcher import BackgroundReplyLauncher
from adapters.memory.lock import MemorySessionLock
from adapters.memory.scripted_model import ScriptedChatModel
from adapters.memory.store import MemoryChatStore
from adapters.memory.transport import ConnectionHub, InProcessTransport

__all__ = [
    "BackgroundReplyLauncher",
    "ConnectionHub",
    "InProcessTransport",
    "MemoryAgentMemory",
    "MemoryChatStore",
    "MemorySessionLock",
    "ScriptedChatModel",
]
