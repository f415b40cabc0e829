"""The chat as a user lives it: a real WebSocket client against the local stack."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

pytestmark = pytest.mark.anyio

Frames = list[dict[str, Any]]


def of_type(frames: Frames, kind: str) -> Frames:
    return [f for f in frames if f["type"] == kind]


def messages(frames: Frames, role: str | None = None, message_type: str | None = None) -> Frames:
    return [
        f
        for f in of_type(frames, "message")
        if (role is None or f["role"] == role)
        and (message_type is None or f["messageType"] == message_type)
    ]


async def test_a_new_chat_streams_a_reply_stores_it_and_gets_a_title(gateway, open_client):
    client = await open_client(gateway)
    await client.send(action="putMessage", message="Tell me about castles", clientMessageId="m1")
    frames = await client.recv_type("session")

    session_id = frames[0]["sessionId"]
    assert all(f["sessionId"] == session_id for f in frames)
    (echo,) = messages(frames, "USER")
    assert echo["message"] == "Tell me about castles"
    assert echo["clientMessageId"] == "m1"

    deltas = of_type(frames, "delta")
    assert [d["seq"] for d in deltas] == list(range(len(deltas)))
    assert len({d["replyId"] for d in deltas}) == 1
    (reply,) = messages(frames, "AGENT")
    assert reply["status"] == "complete"
    assert reply["message"] == "".join(d["text"] for d in deltas)
    assert "Tell me about castles" in reply["message"]

    (done,) = of_type(frames, "done")
    assert done["status"] == "complete"
    assert done["replyId"] == deltas[0]["replyId"]
    assert done["usage"]["outputTokens"] > 0
    assert frames.index(echo) < frames.index(deltas[0]) < frames.index(reply) < frames.index(done)
    assert frames[-1]["title"]

    history = await client.history()
    assert [(m["role"], m["message"]) for m in history] == [
        ("USER", "Tell me about castles"),
        ("AGENT", reply["message"]),
    ]


async def test_a_reconnecting_client_gets_only_what_it_missed(gateway, open_client):
    first = await open_client(gateway)
    await first.send(action="putMessage", message="first question")
    frames = await first.recv_type("done")
    session_id = frames[0]["sessionId"]
    cursor = messages(frames, "AGENT")[0]["createdAt"]

    second = await open_client(gateway, session_id)
    await second.send(action="putMessage", message="second question")
    await second.recv_type("done")

    missed = await second.history(after=cursor)
    assert [(m["role"], m["messageType"]) for m in missed] == [
        ("USER", "CONVERSATION"),
        ("AGENT", "CONVERSATION"),
    ]
    assert missed[0]["message"] == "second question"
    assert all(m["createdAt"] > cursor for m in missed)
    everything = await second.history()
    assert len(everything) == 4
    assert len({m["createdAt"] for m in everything}) == 4


async def test_a_plan_request_shows_the_plan_and_tool_steps_before_the_reply(gateway, open_client):
    client = await open_client(gateway)
    await client.send(action="putMessage", message="Make a plan for my afternoon")
    frames = await client.recv_type("done")

    (plan,) = messages(frames, "AGENT", "PLAN")
    assert "Look up the current time" in plan["message"]
    logs = messages(frames, "AGENT", "AGENT_LOG")
    assert any("current_time" in log["message"] for log in logs)
    (reply,) = messages(frames, "AGENT", "CONVERSATION")
    assert frames.index(plan) < frames.index(reply)
    assert all(frames.index(log) < frames.index(reply) for log in logs)
    assert of_type(frames, "done")[0]["status"] == "complete"


async def test_a_failed_reply_keeps_the_partial_text_and_the_session_goes_on(gateway, open_client):
    client = await open_client(gateway)
    await client.send(action="putMessage", message="please /fail now")
    frames = await client.recv_type("done")

    (partial,) = messages(frames, "AGENT")
    assert partial["status"] == "error"
    assert partial["message"]
    (notice,) = messages(frames, "SYSTEM", "SYSTEM_LOG")
    assert "Your message is saved" in notice["message"]
    assert of_type(frames, "done")[0]["status"] == "error"

    await client.send(action="putMessage", message="try again")
    frames = await client.recv_type("done")
    assert of_type(frames, "done")[0]["status"] == "complete"
    assert messages(frames, "AGENT")[0]["status"] == "complete"


async def test_stop_generation_ends_a_slow_reply_and_keeps_its_partial_text(
    start_gateway, open_client
):
    gateway = await start_gateway({"AZUCHI_SCRIPTED_TOKENS_PER_SECOND": "20"})
    client = await open_client(gateway)
    await client.send(action="putMessage", message="a long answer please")
    await client.recv_type("delta")
    await client.send(action="stopGeneration")
    frames = await client.recv_type("done")

    assert of_type(frames, "done")[0]["status"] == "stopped"
    stored = [m for m in await client.history() if m["role"] == "AGENT"]
    assert len(stored) == 1
    assert stored[0]["status"] == "stopped"
    assert stored[0]["message"].startswith("Hello!")
    assert len(stored[0]["message"].split()) < 120  # cut short, not the whole reply


async def test_two_tabs_on_one_session_both_watch_the_reply(gateway, open_client):
    tab1 = await open_client(gateway)
    session_id = await tab1.session_id()
    tab2 = await open_client(gateway, session_id)
    await tab2.session_id()  # registered before the message goes out

    await tab1.send(action="putMessage", message="hello from tab one")
    seen1, seen2 = await asyncio.gather(tab1.recv_type("done"), tab2.recv_type("done"))

    text1 = "".join(d["text"] for d in of_type(seen1, "delta"))
    text2 = "".join(d["text"] for d in of_type(seen2, "delta"))
    assert text1 and text1 == text2
    assert messages(seen2, "USER")[0]["message"] == "hello from tab one"


async def test_a_reply_is_stored_whole_when_its_client_leaves_mid_reply(start_gateway, open_client):
    gateway = await start_gateway(
        {"AZUCHI_SCRIPTED_TOKENS_PER_SECOND": "100", "AZUCHI_SCRIPTED_REPLY_TOKENS": "60"}
    )
    leaver = await open_client(gateway)
    session_id = await leaver.session_id()
    await leaver.send(action="putMessage", message="I will not wait for this")
    await leaver.recv_type("delta")
    await leaver.ws.close()

    await asyncio.wait_for(gateway.app.launcher.wait_idle(), 10)
    back = await open_client(gateway, session_id)
    (reply,) = [m for m in await back.history() if m["role"] == "AGENT"]
    assert reply["status"] == "complete"
    assert len(reply["message"].split()) == 60


async def test_a_message_sent_during_a_reply_is_answered_after_it_never_interleaved(
    start_gateway, open_client
):
    gateway = await start_gateway({"AZUCHI_SCRIPTED_TOKENS_PER_SECOND": "400"})
    client = await open_client(gateway)
    await client.send(action="putMessage", message="question one")
    frames = await client.recv_type("delta")
    await client.send(action="putMessage", message="question two")
    frames += await client.recv_type("done")
    frames += await client.recv_type("done")

    first, second = of_type(frames, "done")
    assert first["replyId"] != second["replyId"]
    deltas_of_second = [f for f in frames if f.get("replyId") == second["replyId"]]
    assert frames.index(first) < frames.index(deltas_of_second[0])
    assert all(
        f["replyId"] == first["replyId"] for f in frames[: frames.index(first)] if "replyId" in f
    )
    users = messages(frames, "USER")
    replies = messages(frames, "AGENT")
    assert [r["replyTo"] for r in replies] == [u["createdAt"] for u in users]
    assert '"question two"' in replies[1]["message"]


async def test_two_messages_at_once_are_both_answered_one_reply_at_a_time(
    start_gateway, open_client
):
    gateway = await start_gateway({"AZUCHI_SCRIPTED_TOKENS_PER_SECOND": "400"})
    client = await open_client(gateway)
    await client.session_id()
    await asyncio.gather(
        client.send(action="putMessage", message="question one"),
        client.send(action="putMessage", message="question two"),
    )

    # One reply per message, one reply at a time.
    frames: Frames = await client.recv_type("done")
    frames += await client.recv_type("done")

    current: str | None = None
    for frame in frames:
        if frame["type"] == "delta":
            assert current in (None, frame["replyId"]), "two replies interleaved"
            current = frame["replyId"]
        elif frame["type"] == "done":
            assert current in (None, frame["replyId"])
            current = None
    history = await client.history()
    assert sorted(m["message"] for m in history if m["role"] == "USER") == [
        "question one",
        "question two",
    ]
    replies = [m for m in history if m["role"] == "AGENT"]
    users = [m for m in history if m["role"] == "USER"]
    assert [r["replyTo"] for r in replies] == [u["createdAt"] for u in users]
    assert all(r["status"] == "complete" for r in replies)
