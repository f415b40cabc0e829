"""The storage port's fencing, checkpoints and atomic finish (``core.ports.ChatStore``), for
every registered adapter.

Holder A (fence ``OLD``) is paused past its lease; holder B (fence ``NEW``) takes over and
writes; every write A makes after that is refused with ``FenceRejected`` and stores nothing.
"""

from __future__ import annotations

import time
from contextlib import AsyncExitStack
from typing import Any

import pytest

from contract_tests.backends import AdapterUnderTest
from contract_tests.providers import new_id
from core.domain import MessageDraft, ReplyCheckpoint, Role, Session
from core.errors import FenceRejected
from core.ports import ChatStore

pytestmark = pytest.mark.anyio

KNOWN_DIVERGENCES: dict[tuple[str, str], str] = {}

OLD, NEW = 1_000, 2_000


@pytest.fixture
async def store(storage_adapter: AdapterUnderTest, exit_stack: AsyncExitStack) -> ChatStore:
    return await exit_stack.enter_async_context(storage_adapter.open())


def now_ms() -> int:
    return time.time_ns() // 1_000_000


async def session_with_prompt(store: ChatStore) -> tuple[str, int]:
    session_id = new_id()
    await store.create_session(Session(session_id, created_at=now_ms()))
    prompt = await store.append_message(
        MessageDraft(session_id, Role.USER, "CONVERSATION", "question")
    )
    return session_id, prompt.message.created_at


def reply(session_id: str, prompt_at: int, fence: int, text: str, **fields: Any) -> MessageDraft:
    return MessageDraft(
        session_id, Role.AGENT, "CONVERSATION", text, reply_to=prompt_at, fence=fence, **fields
    )


async def test_a_user_message_marks_the_session_pending(store: ChatStore) -> None:
    session_id, prompt_at = await session_with_prompt(store)
    session = await store.get_session(session_id)
    assert session is not None and session.last_user_at == prompt_at and session.has_pending


async def test_a_paused_holders_writes_are_refused_after_a_takeover(store: ChatStore) -> None:
    session_id, prompt_at = await session_with_prompt(store)
    await store.start_reply(session_id, "reply-a", prompt_at, OLD)
    await store.checkpoint_reply(ReplyCheckpoint(session_id, "reply-a", prompt_at, OLD, "Hel"))
    # B takes over and writes: its claim, and it fences the checkpoint A was writing.
    await store.start_reply(session_id, "reply-b", prompt_at, NEW)
    taken = await store.take_checkpoint(session_id, NEW)
    assert taken is not None and (taken.reply_id, taken.text) == ("reply-a", "Hel")
    await store.append_message(reply(session_id, prompt_at, NEW, "B's log", reply_id="reply-b"))

    refused = [
        store.append_message(reply(session_id, prompt_at, OLD, "A's log")),
        store.finish_reply(reply(session_id, prompt_at, OLD, "A's answer", status="complete")),
        store.record_answered(session_id, prompt_at, OLD),
        store.start_reply(session_id, "reply-a2", prompt_at, OLD),
        store.checkpoint_reply(ReplyCheckpoint(session_id, "reply-a", prompt_at, OLD, "Hello")),
    ]
    for write in refused:
        with pytest.raises(FenceRejected):
            await write

    texts = [m.message for m in await store.last_messages(session_id, 10)]
    assert texts == ["question", "B's log"]  # nothing of A's landed
    session = await store.get_session(session_id)
    assert session is not None and session.has_pending and session.reply_id == "reply-b"
    assert session.fence == NEW


async def test_the_final_message_and_the_answer_are_one_write(store: ChatStore) -> None:
    session_id, prompt_at = await session_with_prompt(store)
    await store.start_reply(session_id, "r", prompt_at, NEW)
    final = await store.finish_reply(reply(session_id, prompt_at, NEW, "answer", reply_id="r"))
    assert final.created_at > prompt_at and final.reply_to == prompt_at
    session = await store.get_session(session_id)
    assert session is not None and session.answered_at == prompt_at
    assert not session.has_pending and not session.has_unfinished_reply
    assert [m.message for m in await store.messages_after(session_id, prompt_at, 10)] == ["answer"]


async def test_an_unfinished_reply_is_visible_on_the_session(store: ChatStore) -> None:
    session_id, prompt_at = await session_with_prompt(store)
    await store.start_reply(session_id, "r1", prompt_at, OLD)
    session = await store.get_session(session_id)
    assert session is not None and session.has_unfinished_reply
    assert (session.reply_id, session.reply_to, session.fence) == ("r1", prompt_at, OLD)


async def test_checkpoints_replace_each_other_and_are_taken_once(store: ChatStore) -> None:
    session_id, prompt_at = await session_with_prompt(store)
    assert await store.take_checkpoint(session_id, OLD) is None
    for text in ("a", "ab", "abc 日本"):
        await store.checkpoint_reply(ReplyCheckpoint(session_id, "r", prompt_at, OLD, text))
    taken = await store.take_checkpoint(session_id, NEW)
    assert taken == ReplyCheckpoint(session_id, "r", prompt_at, OLD, "abc 日本")
    assert await store.take_checkpoint(session_id, NEW) is None  # emptied
    # Checkpoints are not messages.
    assert [m.message for m in await store.last_messages(session_id, 10)] == ["question"]


async def test_pending_sessions_lists_sessions_waiting_for_an_answer(store: ChatStore) -> None:
    waiting, _ = await session_with_prompt(store)
    answered, answered_at = await session_with_prompt(store)
    await store.finish_reply(reply(answered, answered_at, NEW, "done"))
    pending = await store.pending_sessions(10_000)
    assert waiting in pending and answered not in pending
