"""The agent-memory port's fencing (``core.ports.AgentMemory``), for every adapter: once a
newer fence has written a session's memory, an older holder's writes are refused and
change nothing."""

from __future__ import annotations

from contextlib import AsyncExitStack

import pytest

from contract_tests.backends import AdapterUnderTest
from contract_tests.providers import new_id
from core.domain import HistoryItem
from core.errors import FenceRejected
from core.ports import AgentMemory

pytestmark = pytest.mark.anyio

KNOWN_DIVERGENCES: dict[tuple[str, str], str] = {}

OLD, NEW = 1_000, 2_000


@pytest.fixture
async def memory(agent_memory_adapter: AdapterUnderTest, exit_stack: AsyncExitStack) -> AgentMemory:
    return await exit_stack.enter_async_context(agent_memory_adapter.open(history_items=5))


async def test_a_paused_holders_memory_writes_are_refused(memory: AgentMemory) -> None:
    session_id = new_id()
    await memory.append_history(session_id, [HistoryItem("user", "a")], OLD)
    await memory.append_history(session_id, [HistoryItem("user", "b")], NEW)
    await memory.set_previous_response_id(session_id, "resp-b", NEW)
    with pytest.raises(FenceRejected):
        await memory.append_history(session_id, [HistoryItem("assistant", "late")], OLD)
    with pytest.raises(FenceRejected):
        await memory.set_previous_response_id(session_id, "resp-a", OLD)
    assert [i.content for i in await memory.recent_history(session_id)] == ["a", "b"]
    assert await memory.get_previous_response_id(session_id) == "resp-b"


async def test_the_same_or_a_newer_fence_keeps_writing(memory: AgentMemory) -> None:
    session_id = new_id()
    for fence, text in ((OLD, "1"), (OLD, "2"), (NEW, "3")):
        await memory.append_history(session_id, [HistoryItem("user", text)], fence)
    await memory.set_previous_response_id(session_id, "r1", NEW)
    await memory.set_previous_response_id(session_id, "r2", NEW)
    assert [i.content for i in await memory.recent_history(session_id)] == ["1", "2", "3"]
    assert await memory.get_previous_response_id(session_id) == "r2"
