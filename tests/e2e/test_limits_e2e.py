"""Every limit, through the real local gateway, as a client sees it: an ``error`` frame
with a stable code and ``retryAfter`` (a refused handshake, 429, on $connect), and nothing
stored for what was refused (core/services/limits.py, docs/limits.md)."""

from __future__ import annotations

import asyncio
import json
import logging
from pathlib import Path
from typing import Any

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from testsupport.profiles import UNLIMITED

pytestmark = pytest.mark.anyio

SLOW_MODEL = {  # a reply streams for about two seconds
    "AZUCHI_SCRIPTED_TOKENS_PER_SECOND": "40",
    "AZUCHI_SCRIPTED_REPLY_TOKENS": "80",
    "AZUCHI_TITLES": "false",
}


def limits(**on: str) -> dict[str, str]:
    """Every limit off but the ones named (``AZUCHI_LIMIT_`` + name)."""
    return {**UNLIMITED, **{f"AZUCHI_LIMIT_{k.upper()}": v for k, v in on.items()}}


def put(text: str) -> dict[str, Any]:
    return {"action": "putMessage", "message": text, "clientMessageId": text}


async def refusal(client: Any, code: str) -> dict[str, Any]:
    frames = await client.recv_until(lambda f: f.get("type") == "error")
    error = frames[-1]
    assert error["code"] == code, error
    assert isinstance(error["retryAfter"], int) and error["retryAfter"] >= 1
    return error  # type: ignore[no-any-return]


async def stored_user_messages(client: Any) -> list[str]:
    return [m["message"] for m in await client.history() if m["role"] == "USER"]


async def test_one_connection_is_refused_past_its_burst(start_gateway, open_client) -> None:
    gateway = await start_gateway(
        env=limits(connection_messages_per_minute="6", connection_burst="2")
    )
    client = await open_client(gateway)
    routes = (await client.send(action="hello"), await client.recv_type("routes"))[1][-1]
    assert routes["limits"]["messagesPerMinute"] == 6 and routes["limits"]["messageBurst"] == 2
    for text in ("one", "two", "three"):
        await client.send(**put(text))
    error = await refusal(client, "RATE_LIMITED_CONNECTION")
    assert error["clientMessageId"] == "three" and error["retryAfter"] <= 10
    await asyncio.sleep(0.3)
    assert await stored_user_messages(client) == ["one", "two"]


async def test_a_session_is_refused_past_its_burst_whatever_the_tab(
    start_gateway, open_client
) -> None:
    gateway = await start_gateway(env=limits(session_messages_per_minute="2", session_burst="2"))
    first = await open_client(gateway)
    session_id = await first.session_id()
    second = await open_client(gateway, session_id)
    await first.send(**put("from tab one"))
    await second.send(**put("from tab two"))
    await first.recv_until(lambda f: f.get("message") == "from tab two")
    await first.send(**put("one too many"))
    error = await refusal(first, "RATE_LIMITED_SESSION")
    assert 1 <= error["retryAfter"] <= 30
    await asyncio.sleep(0.3)
    assert await stored_user_messages(first) == ["from tab one", "from tab two"]


async def test_messages_queued_for_a_reply_are_bounded(start_gateway, open_client) -> None:
    gateway = await start_gateway(env={**limits(queued_messages="2"), **SLOW_MODEL})
    client = await open_client(gateway)
    for text in ("first", "second"):
        await client.send(**put(text))
        await client.recv_until(lambda f, t=text: f.get("message") == t)
    await client.send(**put("third"))
    await refusal(client, "QUEUE_FULL")
    assert await stored_user_messages(client) == ["first", "second"]


async def test_a_resend_of_a_stored_message_is_echoed_not_refused(
    start_gateway, open_client
) -> None:
    gateway = await start_gateway(env={**limits(queued_messages="1"), **SLOW_MODEL})
    client = await open_client(gateway)
    await client.send(**put("first"))
    await client.recv_until(lambda f: f.get("message") == "first")
    await client.send(**put("first"))  # a page's resend after a reconnect: same id
    echo = (await client.recv_until(lambda f: f.get("type") in ("message", "error")))[-1]
    assert echo["type"] == "message" and echo["clientMessageId"] == "first"
    await client.send(**put("second"))
    await refusal(client, "QUEUE_FULL")
    assert await stored_user_messages(client) == ["first"]


async def test_new_sessions_per_address_are_refused_at_the_handshake(
    start_gateway, open_client
) -> None:
    gateway = await start_gateway(env=limits(new_sessions_per_minute="1", new_sessions_burst="2"))
    first = await open_client(gateway)
    session_id = await first.session_id()
    await open_client(gateway)
    with pytest.raises(InvalidStatus) as refused:
        async with connect(gateway.ws_url, open_timeout=5):
            pass
    assert refused.value.response.status_code == 429
    # Joining a chat that exists is not a new session: it still works.
    again = await open_client(gateway, session_id)
    assert await again.session_id() == session_id


async def test_replies_at_once_are_bounded_per_process(start_gateway, open_client) -> None:
    gateway = await start_gateway(env={**limits(concurrent_replies="1"), **SLOW_MODEL})
    busy, other = await open_client(gateway), await open_client(gateway)
    await busy.send(**put("a long answer please"))
    await busy.recv_type("delta")
    await other.send(**put("me too"))
    await refusal(other, "REPLIES_BUSY")
    assert await stored_user_messages(other) == []
    await busy.recv_type("done", timeout=10)
    await other.send(**put("me too, later"))
    frames = await other.recv_type("done", timeout=10)
    assert frames[-1]["status"] == "complete"


async def test_a_sessions_tokens_per_day_are_capped(start_gateway, open_client) -> None:
    gateway = await start_gateway(
        env={**limits(session_tokens_per_day="100"), "AZUCHI_SCRIPTED_REPLY_TOKENS": "120"}
    )
    client = await open_client(gateway)
    await client.send(**put("spend my tokens"))
    done = (await client.recv_type("done"))[-1]
    assert done["usage"]["outputTokens"] >= 100
    await client.send(**put("and more"))
    error = await refusal(client, "TOKEN_LIMIT_REACHED")
    assert error["retryAfter"] <= 86_400
    assert await stored_user_messages(client) == ["spend my tokens"]
    # Another chat has its own allowance.
    fresh = await open_client(gateway)
    await fresh.send(**put("hello"))
    assert (await fresh.recv_type("done"))[-1]["status"] == "complete"


async def test_the_spend_cap_refuses_replies_and_tells_the_owner(
    start_gateway, open_client, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    prices = tmp_path / "prices.yaml"  # the scripted model at $1,000 per million output
    prices.write_text("models:\n  azuchi-scripted: {input: 0, output: 1000}\n")
    gateway = await start_gateway(
        env={
            **limits(spend_per_day_usd="0.05"),
            "AZUCHI_PRICES_FILE": str(prices),
            "AZUCHI_SCRIPTED_REPLY_TOKENS": "60",  # $0.06: one reply passes the cap
        }
    )
    client = await open_client(gateway)
    await client.send(**put("an expensive question"))
    done = (await client.recv_type("done"))[-1]
    assert done["costUsd"] == pytest.approx(0.06)
    with caplog.at_level(logging.WARNING, logger="core.services.limits"):
        other = await open_client(gateway)  # any chat: the cap is the deployment's
        await other.send(**put("one more"))
        error = await refusal(other, "SPEND_CAP_REACHED")
    assert "00:00 UTC" in error["message"] and error["retryAfter"] <= 86_400
    assert await stored_user_messages(other) == []
    assert any("SPEND CAP" in r.getMessage() for r in caplog.records)
    # the reply's $0.06 and its chat's title (3 output tokens: a title is a model call too)
    assert json.dumps(await gateway.app.limits.spent_today()) == "0.063"


async def test_regenerate_and_edit_meet_the_same_limits_as_a_message(
    start_gateway, open_client
) -> None:
    """Each regenerate or edit is a model call: past the connection's burst it is refused
    like a message, and the turn stays as it was."""
    gateway = await start_gateway(
        env=limits(connection_messages_per_minute="6", connection_burst="2")
    )
    client = await open_client(gateway)
    await client.send(**put("one"))
    await client.recv_until(lambda f: f.get("type") == "done")
    await client.send(action="regenerate")
    await client.recv_until(lambda f: f.get("type") == "done")
    await client.send(action="regenerate")
    await refusal(client, "RATE_LIMITED_CONNECTION")
    [last] = [m for m in await client.history() if m["role"] == "USER"]
    await client.send(
        action="editMessage", message="two", clientMessageId="two", replaces=last["createdAt"]
    )
    await refusal(client, "RATE_LIMITED_CONNECTION")
    await asyncio.sleep(0.3)
    assert await stored_user_messages(client) == ["one"]
