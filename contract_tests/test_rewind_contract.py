"""Taking the last turn back (regenerate, editMessage), for every adapter:
``ChatStore.rewind`` deletes the turn's reply (and, for an edit, the message), makes the
turn pending again and keeps later keys above the deleted ones; ``AgentMemory.forget``
drops the history and the previous response id. Both are fenced."""

from __future__ import annotations

import time
from contextlib import AsyncExitStack

import pytest

from contract_tests.backends import AdapterUnderTest
from contract_tests.providers import new_id
from core.domain import HistoryItem, MessageDraft, Rewind, Role, Session
from core.errors import FenceRejected
from core.ports import AgentMemory, ChatStore

pytestmark = pytest.mark.anyio

KNOWN_DIVERGENCES: dict[tuple[str, str], str] = {}

FENCE, OLDER, NEWER = 5_000, 4_000, 6_000


@pytest.fixture
async def store(storage_adapter: AdapterUnderTest, exit_stack: AsyncExitStack) -> ChatStore:
    return await exit_stack.enter_async_context(storage_adapter.open())


@pytest.fixture
async def memory(agent_memory_adapter: AdapterUnderTest, exit_stack: AsyncExitStack) -> AgentMemory:
    return await exit_stack.enter_async_context(agent_memory_adapter.open(history_items=5))


async def _answered_turn(store: ChatStore, fence: int = FENCE) -> tuple[str, list[int]]:
    """A session: an answered first turn, then the last turn U with a reply of four
    messages (plan, log, the reply, a note). Returns the id and [P, P's reply, U, ...]."""
    sid = new_id()
    await store.create_session(Session(sid, created_at=time.time_ns() // 1_000_000))
    keys: list[int] = []
    for text in ("first question", "second question"):
        user = await store.append_message(
            MessageDraft(sid, Role.USER, "CONVERSATION", text, client_message_id=f"c-{text}")
        )
        prompt = user.message.created_at
        keys.append(prompt)
        await store.start_reply(sid, f"r-{prompt}", prompt, fence)
        for role, kind in ((Role.AGENT, "PLAN"), (Role.AGENT, "AGENT_LOG")):
            draft = MessageDraft(sid, role, kind, "step", reply_to=prompt, fence=fence)
            keys.append((await store.append_message(draft)).message.created_at)
        final = MessageDraft(
            sid, Role.AGENT, "CONVERSATION", f"answer to {text}", reply_to=prompt, fence=fence
        )
        keys.append((await store.finish_reply(final)).created_at)
        note = MessageDraft(sid, Role.SYSTEM, "SYSTEM_LOG", "note", reply_to=prompt, fence=fence)
        keys.append((await store.append_message(note)).message.created_at)
    return sid, keys


async def _texts(store: ChatStore, sid: str) -> list[str]:
    return [m.message for m in await store.messages_after(sid, None, 100)]


async def test_regenerate_deletes_the_last_reply_and_makes_its_message_pending(
    store: ChatStore,
) -> None:
    sid, keys = await _answered_turn(store)
    prompt = keys[5]
    removed = await store.rewind(Rewind(sid, prompt, FENCE + 1))
    assert removed == keys[6:]
    texts = await _texts(store, sid)
    first = ["first question", "step", "step", "answer to first question", "note"]
    assert texts == [*first, "second question"]
    session = await store.get_session(sid)
    assert session is not None
    assert session.has_pending and session.answered_at == prompt - 1
    assert not session.has_unfinished_reply  # no interrupted reply to close: it was taken back
    assert session.fence == FENCE + 1
    assert session.rewound_at >= max(removed)  # a client resuming below it reloads
    # Answered again: the new reply's keys go above every deleted one.
    again = MessageDraft(sid, Role.AGENT, "CONVERSATION", "new", reply_to=prompt, fence=FENCE + 1)
    new = await store.finish_reply(again)
    assert new.created_at > max(keys)
    answered = await store.get_session(sid)
    assert answered is not None and not answered.has_pending


async def test_an_edit_deletes_the_message_and_keeps_its_replacement(store: ChatStore) -> None:
    sid, keys = await _answered_turn(store)
    old = keys[5]
    replacement = await store.append_message(
        MessageDraft(sid, Role.USER, "CONVERSATION", "second question, edited", fence=FENCE + 1)
    )
    removed = await store.rewind(Rewind(sid, old, FENCE + 1, drop_prompt=True))
    assert removed == keys[5:]
    texts = await _texts(store, sid)
    assert texts[-2:] == ["note", "second question, edited"]
    assert "second question" not in texts
    session = await store.get_session(sid)
    assert session is not None and session.has_pending
    assert session.last_user_at == replacement.message.created_at
    # The dropped message's clientMessageId may be used again: it is a new message now.
    again = await store.append_message(
        MessageDraft(sid, Role.USER, "CONVERSATION", "other", client_message_id="c-second question")
    )
    assert again.created and again.message.created_at > replacement.message.created_at


async def test_a_user_message_stored_after_the_turn_is_never_deleted(store: ChatStore) -> None:
    sid, keys = await _answered_turn(store)
    later = await store.append_message(MessageDraft(sid, Role.USER, "CONVERSATION", "meanwhile"))
    removed = await store.rewind(Rewind(sid, keys[5], FENCE + 1))
    assert later.message.created_at not in removed
    assert (await _texts(store, sid))[-1] == "meanwhile"


async def test_a_rewind_under_an_older_fence_is_refused_and_deletes_nothing(
    store: ChatStore,
) -> None:
    sid, keys = await _answered_turn(store, fence=NEWER)
    before = await _texts(store, sid)
    with pytest.raises(FenceRejected):
        await store.rewind(Rewind(sid, keys[5], OLDER))
    assert await _texts(store, sid) == before
    session = await store.get_session(sid)
    assert session is not None and not session.has_pending


async def test_forget_drops_history_and_the_response_chain(memory: AgentMemory) -> None:
    sid, other = new_id(), new_id()
    for session in (sid, other):
        await memory.append_history(
            session, [HistoryItem("user", "q"), HistoryItem("assistant", "a")]
        )
        await memory.set_previous_response_id(session, "resp-1")
    await memory.forget(sid, FENCE)
    assert await memory.recent_history(sid) == []
    assert await memory.get_previous_response_id(sid) is None
    # Another session keeps its memory; the forgotten one fills up again from here.
    assert len(await memory.recent_history(other)) == 2
    assert await memory.get_previous_response_id(other) == "resp-1"
    await memory.append_history(sid, [HistoryItem("user", "again")], FENCE)
    await memory.set_previous_response_id(sid, "resp-2", FENCE)
    assert await memory.recent_history(sid) == [HistoryItem("user", "again")]
    assert await memory.get_previous_response_id(sid) == "resp-2"


async def test_forget_under_an_older_fence_is_refused_and_forgets_nothing(
    memory: AgentMemory,
) -> None:
    sid = new_id()
    await memory.append_history(sid, [HistoryItem("user", "kept")], NEWER)
    await memory.set_previous_response_id(sid, "resp-kept", NEWER)
    with pytest.raises(FenceRejected):
        await memory.forget(sid, OLDER)
    assert await memory.recent_history(sid) == [HistoryItem("user", "kept")]
    assert await memory.get_previous_response_id(sid) == "resp-kept"


async def test_after_a_rewind_the_old_replys_late_writes_are_refused(store: ChatStore) -> None:
    """A reply paused past its lease (fence 5000) wakes after the turn was taken back under
    a newer fence: nothing it writes lands in the rewritten turn."""
    sid, keys = await _answered_turn(store)
    await store.rewind(Rewind(sid, keys[5], FENCE + 1))
    late = MessageDraft(sid, Role.AGENT, "CONVERSATION", "late", reply_to=keys[5], fence=FENCE)
    with pytest.raises(FenceRejected):
        await store.finish_reply(late)
    with pytest.raises(FenceRejected):
        await store.append_message(late)
    assert "late" not in await _texts(store, sid)
    session = await store.get_session(sid)
    assert session is not None and session.has_pending
