"""Closing a reply a crash cut short (core/services/interrupted.py): what it had streamed
(its checkpoint) is kept as an interrupted AGENT message, a note says so, and every tab,
one opened since too, gets ``done`` interrupted. A checkpoint of another reply is not
taken for this one's text."""

from __future__ import annotations

import json

import pytest

from adapters.inprocess.store import InProcessChatStore
from core.domain import (
    Connection,
    Lease,
    MessageDraft,
    MessageType,
    ReplyCheckpoint,
    Role,
    Session,
)
from core.services.fanout import Fanout
from core.services.interrupted import close_interrupted

pytestmark = pytest.mark.anyio


class Transport:
    def __init__(self) -> None:
        self.sent: list[tuple[str, dict[str, object]]] = []

    async def send(self, connection_id: str, data: str) -> None:
        self.sent.append((connection_id, json.loads(data)))

    async def close(self, connection_id: str) -> None:
        return None


async def crashed_reply(checkpoint_reply_id: str) -> tuple[InProcessChatStore, str]:
    store = InProcessChatStore()
    sid = "s1"
    await store.create_session(Session(sid, created_at=1))
    await store.put_connection(Connection("c1", sid, connected_at=1))
    prompt = await store.append_message(
        MessageDraft(sid, Role.USER, MessageType.CONVERSATION, "hello")
    )
    await store.start_reply(sid, "r1", prompt.message.created_at, 1)
    await store.checkpoint_reply(
        ReplyCheckpoint(sid, checkpoint_reply_id, prompt.message.created_at, 1, "Hello, I was")
    )
    return store, sid


@pytest.mark.parametrize(("checkpointed", "kept"), [("r1", "Hello, I was"), ("r0", None)])
async def test_the_interrupted_reply_keeps_its_own_streamed_text_only(
    checkpointed: str, kept: str | None
) -> None:
    store, sid = await crashed_reply(checkpointed)
    session = await store.get_session(sid)
    assert session is not None and session.has_unfinished_reply
    transport = Transport()
    fanout = Fanout(transport, store, ["c1"])
    await store.put_connection(Connection("c2", sid, connected_at=2))  # a tab opened since
    stored = await close_interrupted(store, fanout, session, Lease("tok", 2))
    agent = [m for m in stored if m.role is Role.AGENT]
    assert [m.message for m in agent] == ([kept] if kept else [])
    assert all(m.status == "interrupted" and m.reply_id == "r1" for m in stored)
    assert [m.role for m in stored][-1] is Role.SYSTEM
    for tab in ("c1", "c2"):
        frames = [f for cid, f in transport.sent if cid == tab]
        assert frames[-1]["type"] == "done" and frames[-1]["status"] == "interrupted"
        assert frames[-1]["replyId"] == "r1"
