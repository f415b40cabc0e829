"""The whole app with AZUCHI_LOCK=redis AZUCHI_AGENT_MEMORY=redis: chats end to end, and keeps
the user's message, says so and recovers by itself when Redis stops or stalls."""

from __future__ import annotations

import json
from typing import Any

import anyio
import pytest
import redis.asyncio as aioredis

from adapters.bootstrap import App
from adapters.redis.client import RedisOptions
from adapters.redis.lock import RedisSessionLock
from adapters.settings import Settings
from core.domain import Role
from tests.support import Client, fast_settings, running_app, settle
from testsupport.redis_server import RedisServer

pytestmark = pytest.mark.anyio


def redis_settings(**env: str) -> Settings:
    return fast_settings(AZUCHI_LOCK="redis", AZUCHI_AGENT_MEMORY="redis", **env)


def unavailable(frame: dict[str, Any]) -> bool:
    return (
        frame["type"] == "message"
        and frame["messageType"] == "SYSTEM_LOG"
        and "agent is unavailable" in frame["message"]
    )


async def answered_in_full(app: App, user: Client, last: str) -> None:
    """Every message the user sent is answered, the last one by a complete reply."""
    session = await app.store.get_session(user.session_id)
    assert session is not None and not session.has_pending
    assert user.of_type("done")[-1]["status"] == "complete"
    agent = [f["message"] for f in user.of_type("message") if f["role"] == "AGENT"]
    assert f'You said: "{last}"' in agent[-1]  # the scripted model echoes the prompt


async def test_a_reply_leaves_the_exchange_in_history_and_no_lock(
    redis_env: dict[str, str], client: aioredis.Redis, options: RedisOptions
) -> None:
    async with running_app(redis_settings(**redis_env)) as app:
        assert isinstance(app.lock, RedisSessionLock)
        user = await Client.connect(app, "c1")
        for text in ("hello", "and again"):
            await user.say(text)
            await settle(app)
        replies = [f for f in user.of_type("message") if f["role"] == "AGENT"]
        assert [d["status"] for d in user.of_type("done")] == ["complete", "complete"]
        sid = user.session_id
        raw = await client.lrange(options.keys.history(sid), 0, -1)
        assert [(json.loads(r)["role"], json.loads(r)["content"]) for r in raw] == [
            ("user", "hello"),
            ("assistant", replies[0]["message"]),
            ("user", "and again"),
            ("assistant", replies[1]["message"]),
        ]
        assert await client.exists(options.keys.lock(sid), options.keys.stop(sid)) == 0
        await app.aclose()


async def test_redis_stopped_then_back(own_server: RedisServer) -> None:
    async with running_app(redis_settings(AZUCHI_REDIS_URL=own_server.url)) as app:
        user = await Client.connect(app, "c1")
        with anyio.fail_after(5):
            await user.say("first")
            await settle(app)
        assert user.of_type("done")[-1]["status"] == "complete"

        own_server.stop()
        with anyio.fail_after(5):  # nothing hangs
            await user.say("are you there?")
            await user.wait_for(unavailable)
            await settle(app)
        stored = await app.store.last_messages(user.session_id, 10)
        assert [m.message for m in stored if m.role is Role.USER] == ["first", "are you there?"]
        assert len(user.of_type("done")) == 1  # no reply began

        own_server.start()  # same port, empty: the service resumes by itself
        with anyio.fail_after(5):
            await user.say("back?")
            await settle(app)
        await answered_in_full(app, user, "back?")
        await app.aclose()


async def test_redis_stalled_then_back(own_server: RedisServer) -> None:
    async with running_app(redis_settings(AZUCHI_REDIS_URL=own_server.url)) as app:
        user = await Client.connect(app, "c1")
        with anyio.fail_after(5):
            await user.say("first")
            await settle(app)

        own_server.pause()  # accepts, never answers: a slow Redis
        try:
            with anyio.fail_after(5):  # the default 1 s timeout, 3 s at worst per call
                await user.say("are you there?")
                await user.wait_for(unavailable)
                await settle(app)
        finally:
            own_server.resume()
        stored = await app.store.last_messages(user.session_id, 10)
        assert [m.message for m in stored if m.role is Role.USER] == ["first", "are you there?"]

        # Redis runs the queued SET NX on waking: a lease nobody holds, taken over.
        with anyio.fail_after(5):
            await user.say("back?")
            await settle(app)
        await answered_in_full(app, user, "back?")
        await app.aclose()
