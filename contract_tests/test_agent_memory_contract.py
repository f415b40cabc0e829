"""The agent-memory port's contract (``core.ports.AgentMemory``), for every registered adapter.

Expiry is tested with a real short wait: a real backend's clock cannot be mocked.
"""

from __future__ import annotations

import itertools
from contextlib import AsyncExitStack

import anyio
import anyio.lowlevel
import pytest

from contract_tests.backends import AdapterUnderTest
from contract_tests.providers import new_id
from core.domain import HistoryItem
from core.ports import AgentMemory

pytestmark = pytest.mark.anyio

# (adapter name, test name) -> why that adapter is allowed to fail that test.
KNOWN_DIVERGENCES: dict[tuple[str, str], str] = {}

CAP = 5  # the adapter keeps the newest CAP items


@pytest.fixture
async def memory(agent_memory_adapter: AdapterUnderTest, exit_stack: AsyncExitStack) -> AgentMemory:
    return await exit_stack.enter_async_context(agent_memory_adapter.open(history_items=CAP))


def turns(*contents: str) -> list[HistoryItem]:
    return [HistoryItem("user" if i % 2 == 0 else "assistant", c) for i, c in enumerate(contents)]


async def test_empty_history(memory: AgentMemory) -> None:
    assert await memory.recent_history(new_id()) == []


async def test_appends_keep_chronological_order(memory: AgentMemory) -> None:
    session_id = new_id()
    first = turns("What is 12 * 7?", "84.")
    second = [HistoryItem("user", "And 84 / 2? 😀 日本語")]
    await memory.append_history(session_id, first)
    await memory.append_history(session_id, second)
    assert await memory.recent_history(session_id) == first + second


async def test_history_keeps_the_newest_cap_items(memory: AgentMemory) -> None:
    session_id = new_id()
    items = turns(*(f"turn {i}" for i in range(8)))
    for item in items[:3]:
        await memory.append_history(session_id, [item])
    await memory.append_history(session_id, items[3:])
    assert await memory.recent_history(session_id) == items[-CAP:]


async def test_one_batch_longer_than_the_cap(memory: AgentMemory) -> None:
    session_id = new_id()
    items = turns(*(f"turn {i}" for i in range(CAP + 3)))
    await memory.append_history(session_id, items)
    assert await memory.recent_history(session_id) == items[-CAP:]


async def test_concurrent_appends_stay_capped_and_whole(memory: AgentMemory) -> None:
    session_id = new_id()
    longest = 0

    async def append(i: int) -> None:
        await memory.append_history(
            session_id, [HistoryItem("user", f"{i}-q"), HistoryItem("assistant", f"{i}-a")]
        )

    async def read() -> None:
        nonlocal longest
        for _ in range(20):
            longest = max(longest, len(await memory.recent_history(session_id)))
            await anyio.lowlevel.checkpoint()

    async with anyio.create_task_group() as tg:
        for i in range(40):
            tg.start_soon(append, i)
            if i % 10 == 0:
                tg.start_soon(read)

    history = [item.content for item in await memory.recent_history(session_id)]
    assert longest <= CAP
    assert len(history) == CAP
    # Each batch went in whole: a question is followed by its own answer.
    for content, following in itertools.pairwise(history):
        if content.endswith("-q"):
            assert following == content[:-2] + "-a"
    for preceding, content in itertools.pairwise(history):
        if content.endswith("-a"):
            assert preceding == content[:-2] + "-q"


async def test_previous_response_id(memory: AgentMemory) -> None:
    session_id = new_id()
    assert await memory.get_previous_response_id(session_id) is None
    await memory.set_previous_response_id(session_id, "resp_1")
    assert await memory.get_previous_response_id(session_id) == "resp_1"
    await memory.set_previous_response_id(session_id, "resp_2")
    assert await memory.get_previous_response_id(session_id) == "resp_2"


async def test_sessions_are_isolated(memory: AgentMemory) -> None:
    one, two = new_id(), new_id()
    await memory.append_history(one, turns("only in one"))
    await memory.set_previous_response_id(one, "resp_one")
    assert await memory.recent_history(two) == []
    assert await memory.get_previous_response_id(two) is None
    await memory.append_history(two, turns("only in two"))
    assert await memory.recent_history(one) == turns("only in one")


async def test_response_id_expires(
    agent_memory_adapter: AdapterUnderTest, exit_stack: AsyncExitStack
) -> None:
    memory = await exit_stack.enter_async_context(
        agent_memory_adapter.open(history_items=CAP, response_id_ttl_s=1)
    )
    session_id = new_id()
    await memory.get_previous_response_id(session_id)  # connect before the clock matters
    await memory.set_previous_response_id(session_id, "resp_short")
    assert await memory.get_previous_response_id(session_id) == "resp_short"
    await anyio.sleep(1.5)
    assert await memory.get_previous_response_id(session_id) is None
