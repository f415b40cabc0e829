"""The agent-memory port's contract (``core.ports.AgentMemory``) for a memory that keeps no
copy of the history but reads it from a store's messages (``backends.DERIVED_MEMORIES``).

The generic suites append to the memory and read it back; here the history is written the
way the reply service writes it (a USER message, ``start_reply``, ``finish_reply``), and the
memory must give the newest N items of the answered turns, oldest first, a question never
without its answer; ``append_history`` adds nothing of its own; fenced writes are refused
once a newer fence has written for the session (through the store's fenced writes too).
"""

from __future__ import annotations

import itertools
import time
from contextlib import AsyncExitStack

import anyio
import pytest

from contract_tests.backends import AdapterUnderTest
from contract_tests.providers import new_id
from core.domain import HistoryItem, MessageDraft, MessageType, Rewind, Role, Session, StopReason
from core.errors import FenceRejected
from core.ports import AgentMemory, ChatStore

pytestmark = pytest.mark.anyio

# (adapter name, test name) -> why that adapter is allowed to fail that test.
KNOWN_DIVERGENCES: dict[tuple[str, str], str] = {}

CAP = 5
OLD, NEW = 1_000, 2_000


@pytest.fixture
async def pair(
    derived_memory_adapter: tuple[AdapterUnderTest, AdapterUnderTest],
    exit_stack: AsyncExitStack,
) -> tuple[AgentMemory, ChatStore]:
    memory_adapter, store_adapter = derived_memory_adapter
    memory = await exit_stack.enter_async_context(
        memory_adapter.open(history_items=CAP, storage=store_adapter.name)
    )
    store = await exit_stack.enter_async_context(store_adapter.open())
    return memory, store


class Chat:
    """A session written the way the reply service writes one."""

    def __init__(self, store: ChatStore) -> None:
        self.store = store
        self.session_id = new_id()
        self.fence = OLD

    async def create(self) -> Chat:
        await self.store.create_session(Session(self.session_id, created_at=_now_ms()))
        return self

    async def ask(self, text: str) -> int:
        draft = MessageDraft(self.session_id, Role.USER, MessageType.CONVERSATION, text)
        return (await self.store.append_message(draft)).message.created_at

    async def answer(self, prompt_at: int, text: str, **fields: object) -> None:
        reply_id = new_id()
        await self.store.start_reply(self.session_id, reply_id, prompt_at, self.fence)
        await self.store.finish_reply(
            MessageDraft(
                self.session_id,
                Role.AGENT,
                MessageType.CONVERSATION,
                text,
                reply_id=reply_id,
                reply_to=prompt_at,
                fence=self.fence,
                status="complete",
                **fields,  # type: ignore[arg-type]
            )
        )

    async def note(self, text: str, message_type: str = MessageType.SYSTEM_LOG) -> None:
        role = Role.AGENT if message_type == MessageType.REASONING else Role.SYSTEM
        await self.store.append_message(MessageDraft(self.session_id, role, message_type, text))

    async def turn(self, question: str, reply: str) -> None:
        await self.answer(await self.ask(question), reply)


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


def contents(items: list[HistoryItem]) -> list[str]:
    return [item.content for item in items]


async def test_empty_history(pair: tuple[AgentMemory, ChatStore]) -> None:
    memory, store = pair
    chat = await Chat(store).create()
    assert await memory.recent_history(chat.session_id) == []
    assert await memory.recent_history(new_id()) == []


async def test_answered_turns_in_order_with_roles(pair: tuple[AgentMemory, ChatStore]) -> None:
    memory, store = pair
    chat = await Chat(store).create()
    await chat.turn("What is 12 * 7?", "84.")
    await chat.turn("And 84 / 2? 😀 日本語", "42.")
    assert await memory.recent_history(chat.session_id) == [
        HistoryItem("user", "What is 12 * 7?"),
        HistoryItem("assistant", "84."),
        HistoryItem("user", "And 84 / 2? 😀 日本語"),
        HistoryItem("assistant", "42."),
    ]


async def test_a_question_is_never_read_without_its_answer(
    pair: tuple[AgentMemory, ChatStore],
) -> None:
    memory, store = pair
    chat = await Chat(store).create()
    await chat.turn("first", "first answer")
    prompt_at = await chat.ask("pending")
    await chat.ask("queued behind it")
    assert contents(await memory.recent_history(chat.session_id)) == ["first", "first answer"]
    await chat.answer(prompt_at, "pending answer")
    assert contents(await memory.recent_history(chat.session_id)) == [
        "first",
        "first answer",
        "pending",
        "pending answer",
    ]


async def test_an_interrupted_reply_does_not_answer_its_question(
    pair: tuple[AgentMemory, ChatStore],
) -> None:
    """A crashed reply's kept text and note (core/services/interrupted.py), and the steps
    and thoughts a reply stores before its final message, leave the question pending."""
    memory, store = pair
    chat = await Chat(store).create()
    await chat.turn("first", "first answer")
    prompt_at = await chat.ask("asked once")
    await store.start_reply(chat.session_id, "crashed", prompt_at, OLD)
    for role, message_type, text, status in (
        (Role.AGENT, MessageType.AGENT_LOG, "→ calculate", None),
        (Role.AGENT, MessageType.REASONING, "a thought", "complete"),
        (Role.AGENT, MessageType.CONVERSATION, "half an ans", "interrupted"),
        (Role.SYSTEM, MessageType.SYSTEM_LOG, "interrupted; answering again", "interrupted"),
    ):
        await store.append_message(
            MessageDraft(
                chat.session_id,
                role,
                message_type,
                text,
                reply_id="crashed",
                reply_to=prompt_at,
                status=status,
                fence=NEW,
            )
        )
    assert contents(await memory.recent_history(chat.session_id)) == ["first", "first answer"]
    chat.fence = NEW
    await chat.answer(prompt_at, "whole answer")
    assert contents(await memory.recent_history(chat.session_id)) == [
        "first",
        "first answer",
        "asked once",
        "whole answer",
    ]


async def test_the_newest_cap_items_past_notes_and_thoughts(
    pair: tuple[AgentMemory, ChatStore],
) -> None:
    memory, store = pair
    chat = await Chat(store).create()
    for i in range(6):
        prompt_at = await chat.ask(f"q{i}")
        await chat.note(f"thinking {i}", MessageType.REASONING)
        await chat.note(f"note {i}")
        await chat.answer(prompt_at, f"a{i}")
    history = contents(await memory.recent_history(chat.session_id))
    assert history == ["a3", "q4", "a4", "q5", "a5"]  # CAP items, the notes left out


async def test_a_turn_that_did_not_fit_the_context_is_left_out(
    pair: tuple[AgentMemory, ChatStore],
) -> None:
    memory, store = pair
    chat = await Chat(store).create()
    await chat.turn("short", "fine")
    prompt_at = await chat.ask("x" * 50)
    await chat.answer(prompt_at, "cut", stop_reason=StopReason.CONTEXT_WINDOW.value)
    assert contents(await memory.recent_history(chat.session_id)) == ["short", "fine"]


async def test_append_history_adds_nothing_of_its_own(
    pair: tuple[AgentMemory, ChatStore],
) -> None:
    memory, store = pair
    chat = await Chat(store).create()
    await chat.turn("stored", "answer")
    await memory.append_history(chat.session_id, [HistoryItem("user", "not in the store")], OLD)
    assert contents(await memory.recent_history(chat.session_id)) == ["stored", "answer"]


async def test_sessions_are_isolated(pair: tuple[AgentMemory, ChatStore]) -> None:
    memory, store = pair
    one, two = await Chat(store).create(), await Chat(store).create()
    await one.turn("only in one", "yes")
    await memory.set_previous_response_id(one.session_id, "resp_one")
    assert await memory.recent_history(two.session_id) == []
    assert await memory.get_previous_response_id(two.session_id) is None
    await two.turn("only in two", "yes")
    assert contents(await memory.recent_history(one.session_id)) == ["only in one", "yes"]


async def test_previous_response_id_and_its_expiry(
    derived_memory_adapter: tuple[AdapterUnderTest, AdapterUnderTest],
    exit_stack: AsyncExitStack,
) -> None:
    memory_adapter, store_adapter = derived_memory_adapter
    memory = await exit_stack.enter_async_context(
        memory_adapter.open(history_items=CAP, response_id_ttl_s=1, storage=store_adapter.name)
    )
    session_id = new_id()
    assert await memory.get_previous_response_id(session_id) is None
    await memory.set_previous_response_id(session_id, "resp_1")
    await memory.set_previous_response_id(session_id, "resp_2")
    assert await memory.get_previous_response_id(session_id) == "resp_2"
    await anyio.sleep(1.5)
    assert await memory.get_previous_response_id(session_id) is None


async def test_forget_and_rewind_take_the_turn_back(pair: tuple[AgentMemory, ChatStore]) -> None:
    memory, store = pair
    chat = await Chat(store).create()
    await chat.turn("kept", "kept answer")
    prompt_at = await chat.ask("regenerate me")
    await chat.answer(prompt_at, "first try")
    await memory.set_previous_response_id(chat.session_id, "resp", OLD)
    await memory.forget(chat.session_id, OLD)
    assert await memory.get_previous_response_id(chat.session_id) is None
    await store.rewind(Rewind(chat.session_id, prompt_at, OLD))
    # The prompt is pending again: not in the history until its new answer is stored.
    assert contents(await memory.recent_history(chat.session_id)) == ["kept", "kept answer"]
    await chat.answer(prompt_at, "second try")
    assert contents(await memory.recent_history(chat.session_id))[-2:] == [
        "regenerate me",
        "second try",
    ]


async def test_writes_under_an_older_fence_are_refused(
    pair: tuple[AgentMemory, ChatStore],
) -> None:
    memory, store = pair
    chat = await Chat(store).create()
    await chat.turn("a", "b")
    await memory.set_previous_response_id(chat.session_id, "resp-old", OLD)
    # A newer holder takes over through the store: its fence is written on the session.
    await store.start_reply(chat.session_id, "newer", await chat.ask("c"), NEW)
    for write in (
        memory.append_history(chat.session_id, [HistoryItem("assistant", "late")], OLD),
        memory.set_previous_response_id(chat.session_id, "resp-late", OLD),
        memory.forget(chat.session_id, OLD),
    ):
        with pytest.raises(FenceRejected):
            await write
    assert await memory.get_previous_response_id(chat.session_id) == "resp-old"
    # The newer holder (and the same fence again) keeps writing.
    await memory.append_history(chat.session_id, [HistoryItem("user", "c")], NEW)
    for response_id in ("resp-new", "resp-new-2"):
        await memory.set_previous_response_id(chat.session_id, response_id, NEW)
    assert await memory.get_previous_response_id(chat.session_id) == "resp-new-2"


async def test_a_long_conversation_keeps_the_newest_cap_items(
    pair: tuple[AgentMemory, ChatStore],
) -> None:
    """Thirty turns in, the history is still the newest CAP items, question before answer."""
    memory, store = pair
    chat = await Chat(store).create()
    for i in range(30):
        await chat.turn(f"{i}-q", f"{i}-a")
    history = contents(await memory.recent_history(chat.session_id))
    assert history == ["27-a", "28-q", "28-a", "29-q", "29-a"]
    for content, following in itertools.pairwise(history):
        if content.endswith("-q"):
            assert following == content[:-2] + "-a"
