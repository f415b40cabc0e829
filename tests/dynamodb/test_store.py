"""The DynamoDB store on DynamoDB Local: keys never reused, idempotent appends, TTLs,
constant-cost reads."""

from __future__ import annotations

import itertools
import time
import uuid
from typing import Any

import anyio
import pytest

from adapters.dynamodb.client import DynamoConfig, MeteredClient
from adapters.dynamodb.items import to_item
from adapters.dynamodb.messages import message_fields
from adapters.dynamodb.store import DynamoChatStore
from core.domain import Connection, MessageDraft, Role, Session
from core.errors import MessageRejected

pytestmark = pytest.mark.anyio


def new_id() -> str:
    return str(uuid.uuid4())


def draft(session_id: str, text: str, **fields: Any) -> MessageDraft:
    return MessageDraft(session_id, Role.USER, "CONVERSATION", text, **fields)


class FrozenClock:
    def __init__(self, ms: int) -> None:
        self.ms = ms

    def now_ms(self) -> int:
        return self.ms


def make_store(client: Any, config: DynamoConfig, **kwargs: Any) -> DynamoChatStore:
    return DynamoChatStore(client, config.tables, **kwargs)


async def test_a_thousand_concurrent_appends_are_all_stored_strictly_ordered(
    client: Any, config: DynamoConfig
) -> None:
    store = make_store(client, config)
    sid = new_id()
    keys: list[int] = []

    async def append(i: int) -> None:
        result = await store.append_message(draft(sid, f"m{i}"))
        keys.append(result.message.created_at)

    async with anyio.create_task_group() as tg:
        for i in range(1000):
            tg.start_soon(append, i)
    stored = await store.messages_after(sid, None, 2000)
    assert len(stored) == 1000
    assert len(set(keys)) == 1000
    assert [m.created_at for m in stored] == sorted(keys)
    assert all(a.created_at < b.created_at for a, b in itertools.pairwise(stored))
    assert {m.message for m in stored} == {f"m{i}" for i in range(1000)}


async def test_appends_in_one_millisecond_all_survive_in_order(
    client: Any, config: DynamoConfig
) -> None:
    store = make_store(client, config, clock=FrozenClock(1_700_000_000_000))
    sid = new_id()
    made = [(await store.append_message(draft(sid, f"m{i}"))).message for i in range(5)]
    assert [m.created_at for m in made] == [1_700_000_000_000 + i for i in range(5)]
    assert [m.message for m in await store.last_messages(sid, 10)] == [f"m{i}" for i in range(5)]


async def test_a_repeated_client_message_id_returns_the_first_message(
    client: Any, config: DynamoConfig
) -> None:
    store = make_store(client, config)
    sid = new_id()
    first = await store.append_message(draft(sid, "hello", client_message_id="c-1"))
    again = await store.append_message(draft(sid, "hello (retry)", client_message_id="c-1"))
    other = await store.append_message(draft(new_id(), "elsewhere", client_message_id="c-1"))
    assert first.created and not again.created and other.created
    assert again.message == first.message
    assert [m.message for m in await store.messages_after(sid, None, 10)] == ["hello"]


async def test_concurrent_repeats_store_one_message(client: Any, config: DynamoConfig) -> None:
    store = make_store(client, config)
    sid = new_id()
    results = []

    async def send() -> None:
        results.append(await store.append_message(draft(sid, "once", client_message_id="c-2")))

    async with anyio.create_task_group() as tg:
        for _ in range(20):
            tg.start_soon(send)
    assert sum(r.created for r in results) == 1
    assert len({r.message.created_at for r in results}) == 1
    assert len(await store.messages_after(sid, None, 100)) == 1


async def test_ttl_attributes_are_epoch_seconds_and_ttl_is_on(
    client: Any, config: DynamoConfig
) -> None:
    store = make_store(client, config, message_ttl_s=7 * 86_400, connection_ttl_s=86_400)
    sid = new_id()
    await store.create_session(Session(sid, created_at=int(time.time() * 1000)))
    message = (await store.append_message(draft(sid, "hi"))).message
    now_s = time.time()
    raw = await client.get_item(
        TableName=config.tables.messages,
        Key={"sessionId": {"S": sid}, "createdAt": {"N": str(message.created_at)}},
    )
    assert raw["Item"]["expireAt"] == {"N": str(message.created_at // 1000 + 7 * 86_400)}
    assert abs(int(raw["Item"]["expireAt"]["N"]) - (now_s + 7 * 86_400)) < 60
    await store.put_connection(Connection("conn-1", sid, connected_at=int(now_s * 1000)))
    connection = await store.get_connection("conn-1")
    assert connection is not None and connection.expire_at is not None
    assert abs(connection.expire_at - (now_s + 86_400)) < 60
    for table in (config.tables.messages, config.tables.connections, config.tables.sessions):
        ttl = await client.describe_time_to_live(TableName=table)
        assert ttl["TimeToLiveDescription"] == {
            "TimeToLiveStatus": "ENABLED",
            "AttributeName": "expireAt",
        }


async def test_a_session_expires_with_its_newest_message_each_message_moving_it_on(
    client: Any, config: DynamoConfig
) -> None:
    """An anonymous connect makes a session: unused, it must not stay for ever."""
    ttl = 7 * 86_400
    store = make_store(client, config, message_ttl_s=ttl)
    sid, created = new_id(), int(time.time() * 1000)  # DynamoDB Local deletes expired items

    async def expire_at() -> int:
        raw = await client.get_item(TableName=config.tables.sessions, Key={"sessionId": {"S": sid}})
        return int(raw["Item"]["expireAt"]["N"])

    await store.create_session(Session(sid, created_at=created))
    assert await expire_at() == created // 1000 + ttl
    await store.record_user_message(sid, created + 3_600_000)  # a message an hour later
    assert await expire_at() == created // 1000 + 3_600 + ttl
    await store.record_answered(sid, created + 3_700_000)
    assert await expire_at() == created // 1000 + 3_700 + ttl
    await store.record_user_message(sid, created + 1_000)  # an older marker changes nothing
    assert await expire_at() == created // 1000 + 3_700 + ttl
    session = await store.get_session(sid)
    assert session is not None and session.last_user_at == created + 3_600_000


async def test_reading_the_last_messages_costs_the_same_at_10_and_1000_messages(
    client: Any, config: DynamoConfig
) -> None:
    meter = MeteredClient(client)
    store = make_store(meter, config)
    short, long = new_id(), new_id()
    text = "x" * 300  # ten messages of this size fit in one 4 KB read unit
    for i in range(10):
        await store.append_message(draft(short, f"{text}{i:04}"))
    await seed(client, config, long, [f"{text}{i:04}" for i in range(1000)])

    async def cost(session_id: str) -> float:
        meter.reset()
        assert len(await store.last_messages(session_id, 10)) == 10
        assert meter.calls == {"query": 1}
        return meter.read_units

    assert await cost(short) == await cost(long) > 0


async def seed(client: Any, config: DynamoConfig, session_id: str, texts: list[str]) -> None:
    """Writes messages shaped as the store writes them, 25 to a BatchWriteItem (quicker
    than appending a thousand one by one)."""
    start = int(time.time() * 1000)
    items = [
        to_item(
            {
                **message_fields(draft(session_id, text)),
                "createdAt": start + i,
                "expireAt": (start + i) // 1000 + 7 * 86_400,
            }
        )
        for i, text in enumerate(texts)
    ]
    async with anyio.create_task_group() as tg:
        for i in range(0, len(items), 25):
            batch = [{"PutRequest": {"Item": item}} for item in items[i : i + 25]]
            tg.start_soon(write_batch, client, config.tables.messages, batch)


async def write_batch(client: Any, table: str, batch: list[dict[str, Any]]) -> None:
    while batch:
        response = await client.batch_write_item(RequestItems={table: batch})
        batch = response.get("UnprocessedItems", {}).get(table, [])


async def test_session_markers_only_move_forward(client: Any, config: DynamoConfig) -> None:
    store = make_store(client, config)
    sid = new_id()
    await store.create_session(Session(sid, created_at=1))
    await store.record_user_message(sid, 20)
    await store.record_user_message(sid, 10)
    await store.record_answered(sid, 20)
    await store.record_answered(sid, 5)
    await store.record_user_message(new_id(), 30)  # unknown session: nothing is created
    session = await store.get_session(sid)
    assert session is not None
    assert (session.last_user_at, session.answered_at, session.has_pending) == (20, 20, False)


async def test_a_reply_fans_out_to_every_connection_of_its_session(
    client: Any, config: DynamoConfig
) -> None:
    store = make_store(client, config)
    sid, other = new_id(), new_id()
    for cid, session in (("a", sid), ("b", sid), ("c", other)):
        await store.put_connection(Connection(f"{sid}-{cid}", session, connected_at=1, user_id="u"))
    assert sorted(c.connection_id for c in await store.session_connections(sid)) == [
        f"{sid}-a",
        f"{sid}-b",
    ]
    await store.delete_connection(f"{sid}-a")
    assert [c.connection_id for c in await store.session_connections(sid)] == [f"{sid}-b"]


async def test_an_oversize_message_is_refused_before_anything_is_written(
    client: Any, config: DynamoConfig
) -> None:
    store = make_store(client, config)
    sid = new_id()
    with pytest.raises(MessageRejected) as refused:
        await store.append_message(draft(sid, "é" * 210_000))  # 420 KB of UTF-8
    assert refused.value.code == "ITEM_TOO_LARGE" and "400 KB" in refused.value.message
    assert await store.last_messages(sid, 5) == []


async def test_a_guarded_message_is_metered_at_what_aws_bills_its_transaction(
    client: Any, config: DynamoConfig
) -> None:
    """The cost figures (bench, `azuchi cost`) rest on the meter: a USER message with a
    clientMessageId is one transaction of three items under 1 KB (the guard, the message,
    the session's marks), which AWS bills at 2 units each: 6. DynamoDB Local reports 4
    for it (and 2 for three plain Puts), which the meter's old rule doubled to 8; a 2 KB
    message's transaction (3 KB message + session) is 8, not Local's 8 doubled."""
    meter = MeteredClient(client)
    store = make_store(meter, config)
    sid = new_id()
    await store.create_session(Session(sid, created_at=int(time.time() * 1000)))
    meter.reset()
    await store.append_message(draft(sid, "hello", client_message_id="c-1"))
    assert (
        meter.by_operation[
            "transact_write_items [Put:" + f"{config.tables.messages} Put:{config.tables.messages} "
            f"Update:{config.tables.sessions}]"
        ]
        == meter.write_units
        == 6
    )
    meter.reset()
    await store.append_message(draft(sid, "y" * 2100))
    assert meter.write_units == 2 * 3 + 2 * 1
