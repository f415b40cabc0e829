"""The lean profile on DynamoDB Local: session leases and the agent's memory."""

from __future__ import annotations

import itertools
import random
import time
import uuid
from typing import Any

import anyio
import pytest

from adapters.dynamodb.agent_memory import DynamoAgentMemory
from adapters.dynamodb.client import DynamoConfig, MeteredClient
from adapters.dynamodb.lock import DynamoSessionLock
from core.domain import HistoryItem
from core.ports import LeaseState

pytestmark = pytest.mark.anyio


def new_id() -> str:
    return str(uuid.uuid4())


async def test_fifty_contenders_never_hold_the_lock_at_once(
    client: Any, config: DynamoConfig
) -> None:
    lock = DynamoSessionLock(client, config.tables.locks)
    sid = new_id()
    intervals: list[tuple[float, float, int]] = []

    async def contender(who: int) -> None:
        while len(intervals) < 40:  # rounds until forty holds; pauses keep the client unsaturated
            token = await lock.acquire(sid, lease_ms=10_000)
            if token is not None:
                start = time.monotonic()
                await anyio.sleep(random.uniform(0, 0.005))
                end = time.monotonic()
                intervals.append((start, end, who))
                assert await lock.release(sid, token)
            await anyio.sleep(random.uniform(0.05, 0.25))

    async with anyio.create_task_group() as tg:
        for who in range(50):
            tg.start_soon(contender, who)
    intervals.sort()
    assert len(intervals) >= 40
    assert len({who for _, _, who in intervals}) >= 10  # many contenders won a round
    for (_, end, _), (start, _, _) in itertools.pairwise(intervals):
        assert start >= end, "two holders overlapped"


async def test_a_lease_expires_and_its_old_holder_learns_it_lost(
    client: Any, config: DynamoConfig
) -> None:
    lock = DynamoSessionLock(client, config.tables.locks)
    sid = new_id()
    first = await lock.acquire(sid, lease_ms=2_000)
    assert first is not None
    assert await lock.acquire(sid, lease_ms=2_000) is None
    assert await lock.release(sid, "not-the-token") is False
    await anyio.sleep(2.2)
    second = await lock.acquire(sid, lease_ms=5_000)
    assert second is not None
    assert await lock.extend(sid, first, 5_000) is LeaseState.LOST
    assert await lock.release(sid, first) is False
    assert await lock.extend(sid, second, 5_000) is LeaseState.HELD


async def test_a_stop_request_reaches_the_holder_and_dies_with_its_lease(
    client: Any, config: DynamoConfig
) -> None:
    lock = DynamoSessionLock(client, config.tables.locks)
    sid = new_id()
    assert await lock.request_stop(sid) is False  # nothing running
    token = await lock.acquire(sid, lease_ms=5_000)
    assert token is not None
    assert await lock.request_stop(sid) is True
    assert await lock.extend(sid, token, 5_000) is LeaseState.STOP_REQUESTED
    assert await lock.release(sid, token) is True
    token = await lock.acquire(sid, lease_ms=5_000)
    assert token is not None
    assert await lock.extend(sid, token, 5_000) is LeaseState.HELD


async def test_heartbeats_of_a_short_reply_read_the_lease_instead_of_writing_it(
    client: Any, config: DynamoConfig
) -> None:
    """A reply's lock is written twice (acquire, release) however often its keeper beats
    while more than half the lease is left; a stop or a takeover is still seen at once."""
    meter = MeteredClient(client)
    lock = DynamoSessionLock(meter, config.tables.locks)
    sid = new_id()
    token = await lock.acquire(sid, lease_ms=30_000)
    assert token is not None
    for _ in range(6):  # a 6-second reply at one heartbeat a second
        assert await lock.extend(sid, token, 30_000) is LeaseState.HELD
    assert await lock.request_stop(sid) is True
    assert await lock.extend(sid, token, 30_000) is LeaseState.STOP_REQUESTED
    meter.reset()
    assert await lock.release(sid, token) is True
    assert meter.write_units == 1

    meter.reset()
    token = await lock.acquire(sid, lease_ms=30_000)
    assert token is not None
    for _ in range(6):
        await lock.extend(sid, token, 30_000)
    assert await lock.release(sid, token) is True
    assert (meter.write_units, meter.read_units) == (2, 6)

    token = await lock.acquire(sid, lease_ms=30_000)
    assert token is not None
    await client.put_item(  # another worker took the session over (a stalled holder's view)
        TableName=config.tables.locks,
        Item={
            "sessionId": {"S": sid},
            "owner": {"S": "someone-else"},
            "expiresAt": {"N": str(int(time.time() * 1000) + 30_000)},
        },
    )
    assert await lock.extend(sid, token, 30_000) is LeaseState.LOST


async def test_history_keeps_the_newest_items_in_order(client: Any, config: DynamoConfig) -> None:
    memory = DynamoAgentMemory(client, config.tables.agent_memory, max_items=3)
    sid = new_id()
    await memory.append_history(sid, [HistoryItem("user", "1"), HistoryItem("assistant", "2")])
    await memory.append_history(sid, [HistoryItem("user", "3"), HistoryItem("assistant", "4")])
    assert [i.content for i in await memory.recent_history(sid)] == ["2", "3", "4"]
    assert await memory.recent_history(new_id()) == []


async def test_a_turn_costs_the_same_at_turn_two_and_turn_forty(
    client: Any, config: DynamoConfig
) -> None:
    """The bill a user pays per turn must not grow with the conversation: an append
    writes only what is new, and the read of a full history costs the same every turn."""
    meter = MeteredClient(client)
    memory = DynamoAgentMemory(meter, config.tables.agent_memory, max_items=20)
    sid = new_id()
    reply = "castle " * 120  # about a 120-token reply
    costs: dict[int, tuple[float, float]] = {}
    for turn in range(1, 41):
        meter.reset()
        await memory.recent_history(sid)
        await memory.append_history(
            sid, [HistoryItem("user", f"question {turn:03d}"), HistoryItem("assistant", reply)]
        )
        costs[turn] = (meter.read_units, meter.write_units)
    assert costs[2][1] == costs[40][1] == costs[1][1]  # the write: this turn's two entries
    assert costs[15] == costs[40]  # full history (10 turns) read in one Query either way
    history = await memory.recent_history(sid)
    assert len(history) == 20 and history[0].content == "question 031"


async def test_an_append_over_400_kb_keeps_its_newest_entries(
    client: Any, config: DynamoConfig
) -> None:
    memory = DynamoAgentMemory(client, config.tables.agent_memory, max_items=20)
    sid = new_id()
    huge = "x" * 300_000
    await memory.append_history(
        sid,
        [HistoryItem("user", "first"), HistoryItem("assistant", huge), HistoryItem("user", huge)],
    )
    assert [len(i.content) for i in await memory.recent_history(sid)] == [300_000]


async def test_the_old_single_history_item_is_not_read_as_entries(
    client: Any, config: DynamoConfig
) -> None:
    """Tables written by the previous release hold one ``history`` item; it is left to
    its TTL and the reply service rebuilds the history from the messages table."""
    memory = DynamoAgentMemory(client, config.tables.agent_memory)
    sid = new_id()
    await client.put_item(
        TableName=config.tables.agent_memory,
        Item={
            "sessionId": {"S": sid},
            "kind": {"S": "history"},
            "items": {"L": [{"M": {"role": {"S": "user"}, "content": {"S": "old"}}}]},
            "version": {"N": "1"},
        },
    )
    assert await memory.recent_history(sid) == []
    await memory.append_history(sid, [HistoryItem("user", "new")])
    assert await memory.recent_history(sid) == [HistoryItem("user", "new")]


async def test_concurrent_appends_to_one_history_lose_nothing(
    client: Any, config: DynamoConfig
) -> None:
    memory = DynamoAgentMemory(client, config.tables.agent_memory, max_items=100)
    sid = new_id()
    async with anyio.create_task_group() as tg:
        for i in range(20):
            tg.start_soon(memory.append_history, sid, [HistoryItem("user", str(i))])
    history = await memory.recent_history(sid)
    assert sorted(int(i.content) for i in history) == list(range(20))


async def test_a_response_id_expires_although_ttl_has_not_deleted_it(
    client: Any, config: DynamoConfig
) -> None:
    now = [time.time()]
    memory = DynamoAgentMemory(
        client, config.tables.agent_memory, response_id_ttl_s=60, clock=lambda: now[0]
    )
    sid = new_id()
    await memory.set_previous_response_id(sid, "resp-1")
    assert await memory.get_previous_response_id(sid) == "resp-1"
    raw = await client.get_item(
        TableName=config.tables.agent_memory,
        Key={"sessionId": {"S": sid}, "kind": {"S": "response"}},
    )
    expire_at = int(raw["Item"]["expireAt"]["N"])  # TTL attribute: integer epoch seconds
    assert 0 <= expire_at - (now[0] + 60) <= 1
    now[0] += 61
    assert await memory.get_previous_response_id(sid) is None
    assert "Item" in await client.get_item(
        TableName=config.tables.agent_memory,
        Key={"sessionId": {"S": sid}, "kind": {"S": "response"}},
    )
