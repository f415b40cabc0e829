"""The Redis agent memory on a real Redis: a capped chronological history, expiring ids."""

from __future__ import annotations

import json
import uuid

import anyio
import pytest
import redis.asyncio as aioredis

from adapters.redis.agent_memory import RedisAgentMemory
from adapters.redis.client import RedisOptions
from core.domain import HistoryItem

pytestmark = pytest.mark.anyio


def memory(client: aioredis.Redis, options: RedisOptions, **kw: int) -> RedisAgentMemory:
    return RedisAgentMemory(client, options.keys, deadline_s=options.deadline_s, **kw)  # type: ignore[arg-type]


def turn(n: int) -> HistoryItem:
    return HistoryItem("user" if n % 2 == 0 else "assistant", f'turn {n} — 日本語 "quoted"')


async def test_history_keeps_the_newest_n_in_order(
    client: aioredis.Redis, options: RedisOptions
) -> None:
    mem, sid = memory(client, options, max_items=5), str(uuid.uuid4())
    assert await mem.recent_history(sid) == []
    await mem.append_history(sid, [turn(0), turn(1)])
    assert await mem.recent_history(sid) == [turn(0), turn(1)]
    for n in range(2, 9, 2):
        await mem.append_history(sid, [turn(n), turn(n + 1)])
    assert await mem.recent_history(sid) == [turn(n) for n in range(5, 10)]
    await mem.append_history(sid, [turn(n) for n in range(10, 30)])  # one batch larger than N
    assert await mem.recent_history(sid) == [turn(n) for n in range(25, 30)]
    await mem.append_history(sid, [])  # nothing to add changes nothing
    assert await client.llen(options.keys.history(sid)) == 5


async def test_history_is_json_items_under_the_seed_key_with_a_ttl(
    client: aioredis.Redis, options: RedisOptions
) -> None:
    mem, sid = memory(client, options), str(uuid.uuid4())
    await mem.append_history(sid, [HistoryItem("user", "hi"), HistoryItem("assistant", "hello")])
    raw = await client.lrange(options.keys.history(sid), 0, -1)
    assert [json.loads(r) for r in raw] == [
        {"role": "user", "content": "hi"},
        {"role": "assistant", "content": "hello"},
    ]
    assert 1_727_990 < await client.ttl(options.keys.history(sid)) <= 1_728_000


async def test_concurrent_appends_never_pass_n_and_stay_whole(
    client: aioredis.Redis, options: RedisOptions
) -> None:
    mem, sid = memory(client, options, max_items=7), str(uuid.uuid4())
    lengths: list[int] = []

    async def writer(w: int) -> None:
        for r in range(10):
            await mem.append_history(sid, [HistoryItem("user", f"{w}:{r}:{i}") for i in range(3)])
            lengths.append(await client.llen(options.keys.history(sid)))

    async with anyio.create_task_group() as tg:
        for w in range(20):
            tg.start_soon(writer, w)
    history = await mem.recent_history(sid)
    assert len(history) == 7 and max(lengths) <= 7
    # Batches land whole: after the cut at the front, items come in runs of one batch.
    batches = [item.content.rsplit(":", 1) for item in history]
    tail = batches[len(batches) % 3 :]
    for start in range(0, len(tail), 3):
        run = tail[start : start + 3]
        assert {b[0] for b in run} == {run[0][0]} and [b[1] for b in run] == ["0", "1", "2"]


async def test_a_foreign_entry_is_skipped_not_fatal(
    client: aioredis.Redis, options: RedisOptions
) -> None:
    mem, sid = memory(client, options), str(uuid.uuid4())
    await client.rpush(options.keys.history(sid), "not json", json.dumps({"role": "user"}))
    await mem.append_history(sid, [turn(0)])
    assert await mem.recent_history(sid) == [turn(0)]


async def test_previous_response_id_lives_twenty_days(
    client: aioredis.Redis, options: RedisOptions
) -> None:
    mem, sid = memory(client, options), str(uuid.uuid4())
    assert await mem.get_previous_response_id(sid) is None
    await mem.set_previous_response_id(sid, "resp_1")
    await mem.set_previous_response_id(sid, "resp_2")
    assert await mem.get_previous_response_id(sid) == "resp_2"
    key = options.keys.response_id(sid)
    assert await client.get(key) == "resp_2"
    assert 1_727_990 < await client.ttl(key) <= 1_728_000


async def test_previous_response_id_expires_after_its_ttl(
    client: aioredis.Redis, options: RedisOptions
) -> None:
    mem, sid = memory(client, options, response_id_ttl_s=1), str(uuid.uuid4())
    await mem.set_previous_response_id(sid, "resp_short")
    await mem.append_history(sid, [turn(0)])
    assert await mem.get_previous_response_id(sid) == "resp_short"
    await anyio.sleep(1.2)
    assert await mem.get_previous_response_id(sid) is None
    assert await mem.recent_history(sid) == []  # idle memory goes too
