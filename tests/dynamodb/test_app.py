"""The whole app on the lean profile (AZUCHI_STORAGE/LOCK/MEMORY=dynamodb) on DynamoDB Local."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest

from adapters.backoff import RetryPolicy
from adapters.bootstrap import App
from adapters.dynamodb.client import DynamoConfig
from adapters.dynamodb.lock import DynamoSessionLock
from adapters.dynamodb.store import DynamoChatStore
from tests.dynamodb.stubs import StubClient, client_error
from tests.support import Client, fast_settings, running_app, settle

pytestmark = pytest.mark.anyio

LEAN = {"AZUCHI_STORAGE": "dynamodb", "AZUCHI_LOCK": "dynamodb", "AZUCHI_AGENT_MEMORY": "dynamodb"}


@asynccontextmanager
async def lean_app(dynamo_env: dict[str, str], **overrides: Any) -> AsyncIterator[App]:
    async with running_app(fast_settings(**LEAN, **dynamo_env), **overrides) as app:
        try:
            yield app
        finally:
            await app.aclose()


async def test_a_chat_lands_in_the_tables_with_ttl_set(
    dynamo_env: dict[str, str], client: Any, config: DynamoConfig
) -> None:
    async with lean_app(dynamo_env) as app:
        assert isinstance(app.store, DynamoChatStore)
        assert isinstance(app.lock, DynamoSessionLock)
        user = await Client.connect(app, "conn-lean-1")
        await user.say("hello", clientMessageId="m-1")
        await settle(app)
        await user.say("and again", clientMessageId="m-2")
        await settle(app)
        (first_done, second_done) = user.of_type("done")
        assert first_done["status"] == second_done["status"] == "complete"
        session = await app.store.get_session(user.session_id)
        assert session is not None and session.title and not session.has_pending
        history = await app.agent_memory.recent_history(user.session_id)
        assert [h.role for h in history] == ["user", "assistant", "user", "assistant"]

    response = await client.query(
        TableName=config.tables.messages,
        KeyConditionExpression="sessionId = :s",
        ExpressionAttributeValues={":s": {"S": user.session_id}},
    )
    items = response["Items"]
    roles = [(i["role"]["S"], i["messageType"]["S"]) for i in items]
    assert roles == [("USER", "CONVERSATION"), ("AGENT", "CONVERSATION")] * 2
    week = time.time() + 7 * 86_400
    for item in items:
        assert abs(int(item["expireAt"]["N"]) - week) < 120  # epoch seconds, 7 days on
    agent = items[1]
    assert agent["status"]["S"] == "complete" and int(agent["usage"]["M"]["outputTokens"]["N"]) > 0
    lock = await client.get_item(
        TableName=config.tables.locks, Key={"sessionId": {"S": user.session_id}}
    )
    # Released after the replies: the lease is emptied, its fence counter kept.
    assert int(lock["Item"]["expiresAt"]["N"]) == 0 and "owner" not in lock["Item"]
    assert int(lock["Item"]["fence"]["N"]) > 0


async def test_a_lock_table_that_stays_throttled_is_told_to_the_user(
    dynamo_env: dict[str, str],
) -> None:
    throttled = StubClient(default=client_error("ThrottlingException"))
    lock = DynamoSessionLock(throttled, "locks", retry=RetryPolicy(3, 0.001, 0.002))
    async with lean_app(dynamo_env, lock=lock) as app:
        user = await Client.connect(app, "conn-lean-2")
        await user.say("hello")
        await settle(app)
        (notice,) = [f for f in user.of_type("message") if f["messageType"] == "SYSTEM_LOG"]
        assert "unavailable" in notice["message"]
        stored = await app.store.last_messages(user.session_id, 5)
        assert next(m.message for m in stored) == "hello"  # the user's message is kept
