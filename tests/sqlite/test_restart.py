"""``make run`` → chat → stop the server → ``make run``: the whole conversation is still
there, loaded from the server. The server is ``azuchi serve`` on the default profile (a
SQLite file of the test's own), stopped with SIGTERM and, after a reply completed, killed
with SIGKILL (no shutdown code runs: what was committed must be all there is)."""

from __future__ import annotations

import signal
from pathlib import Path
from typing import Any

import pytest
from websockets.asyncio.client import connect

from tests.conftest import Client
from tests.sqlite.serve import running, serve_command, serve_env

pytestmark = pytest.mark.anyio


async def _chat(url: str, session_id: str | None, texts: list[str]) -> tuple[str, list[Any]]:
    """Says each text and waits for its reply; the session id and every stored message
    frame this client received (USER echoes, the final AGENT replies)."""
    target = url + (f"?sessionId={session_id}" if session_id else "")
    async with connect(target, open_timeout=30) as ws:
        client = Client(ws)
        sid = session_id or await client.session_id()
        seen: list[Any] = []
        for i, text in enumerate(texts):
            await client.send(action="putMessage", message=text, clientMessageId=f"{text}-{i}")
            frames = await client.recv_until(lambda f: f.get("type") == "done", timeout=30)
            assert frames[-1]["status"] == "complete", frames
            seen += [f for f in frames if f["type"] == "message"]
        return sid, seen


async def _history(url: str, session_id: str) -> list[Any]:
    async with connect(f"{url}?sessionId={session_id}", open_timeout=30) as ws:
        client = Client(ws)
        messages: list[Any] = []
        after = None
        while True:
            await client.send(action="getMessages", **({"after": after} if after else {}))
            frame = (await client.recv_type("history"))[-1]
            messages += frame["messages"]
            if frame["next"] is None:
                return messages
            after = frame["next"]


def _conversation(messages: list[Any]) -> list[tuple[Any, ...]]:
    return [
        (m["createdAt"], m["role"], m["messageType"], m["message"])
        for m in messages
        if m["messageType"] == "CONVERSATION"
    ]


async def test_the_conversation_survives_sigterm_and_sigkill_restarts(tmp_path: Path) -> None:
    env = serve_env(tmp_path / "data" / "azuchi.db")

    with running(serve_command(), env) as first:
        session_id, seen = await _chat(first.ws_url, None, ["hello", "what is 12 * 7"])
        assert first.stop(signal.SIGTERM) == 0
    assert [m[1] for m in _conversation(seen)] == ["USER", "AGENT", "USER", "AGENT"]

    with running(serve_command(), env) as second:
        restored = await _history(second.ws_url, session_id)
        assert _conversation(restored) == _conversation(seen)
        _, more = await _chat(second.ws_url, session_id, ["make a plan"])
        seen += more
        whole = await _history(second.ws_url, session_id)
        second.stop(signal.SIGKILL)  # the reply is complete; nothing gets to flush or close

    with running(serve_command(), env) as third:
        after_kill = await _history(third.ws_url, session_id)
    assert after_kill == whole  # every message, its tools and plan included, as before
    assert [m[3] for m in _conversation(after_kill) if m[1] == "USER"] == [
        "hello",
        "what is 12 * 7",
        "make a plan",
    ]
    assert _conversation(after_kill) == _conversation(seen)
    assert len({m["createdAt"] for m in after_kill}) == len(after_kill)
