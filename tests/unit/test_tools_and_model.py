"""Built-in tools and the scripted model."""

from __future__ import annotations

import pytest

from adapters.inprocess import InProcessChatStore, ScriptedChatModel
from adapters.inprocess.scripted_model import ScriptedSettings
from adapters.tools.builtin import CalculateTool, CurrentTimeTool, SearchMessagesTool
from core.domain import (
    HistoryItem,
    MessageDraft,
    MessageType,
    ModelRequest,
    Role,
    StreamEnded,
    TextDelta,
)
from core.errors import ModelStreamError
from core.services.history import bound_history, estimate_tokens
from core.services.reply import ReplyContext
from core.services.title import clean_title

pytestmark = pytest.mark.anyio
CTX = ReplyContext("s1", InProcessChatStore())


@pytest.mark.parametrize(
    ("expression", "answer"),
    [("12 * 7", "12 * 7 = 84"), ("(1 + 2) ** 3", "(1 + 2) ** 3 = 27"), ("7 / 2", "7 / 2 = 3.5")],
)
async def test_calculate_answers_arithmetic(expression: str, answer: str) -> None:
    assert await CalculateTool().run({"expression": expression}, CTX) == answer


@pytest.mark.parametrize(
    "expression",
    ["open('x')", "a + 1", "2 ** 100000", "1 if 1 else 2", "[1][0]", "x" * 201, "(-8) ** 0.5"],
)
async def test_calculate_refuses_anything_but_arithmetic(expression: str) -> None:
    with pytest.raises(ValueError):
        await CalculateTool().run({"expression": expression}, CTX)


async def test_current_time_is_iso_utc() -> None:
    assert (await CurrentTimeTool().run({}, CTX)).endswith("+00:00")


async def _text(model: ScriptedChatModel, prompt: str, purpose: str = "reply") -> str:
    request = ModelRequest(system="s", history=(), prompt=prompt, purpose=purpose)
    return "".join([e.text async for e in model.stream(request) if isinstance(e, TextDelta)])


async def test_scripted_model_is_deterministic_says_what_it_is_and_has_the_set_length() -> None:
    model = ScriptedChatModel(ScriptedSettings(tokens_per_second=0, reply_tokens=80))
    first, second = await _text(model, "hello"), await _text(model, "hello")
    assert first == second
    assert "offline scripted model" in first and "AZUCHI_MODEL=bedrock" in first
    assert len(first.split()) == 80


async def test_scripted_model_keeps_its_rate_on_a_loop_that_wakes_it_late(monkeypatch) -> None:
    """At 50 tokens/s a 300-token reply takes 6 s of the model's clock even when every wake-up
    comes 40 ms late (a busy event loop): tokens due meanwhile arrive together, never later
    (load runs compare replies completed; a model slowed by its consumer skews them)."""
    import adapters.inprocess.scripted_model as scripted

    clock = [100.0]
    wakeups: list[float] = []

    async def late_sleep_until(deadline: float) -> None:
        clock[0] = max(clock[0], deadline) + 0.04
        wakeups.append(clock[0])

    monkeypatch.setattr(scripted, "_sleeper", lambda: late_sleep_until)
    monkeypatch.setattr(scripted, "loop_clock", lambda: lambda: clock[0])
    model = ScriptedChatModel(ScriptedSettings(tokens_per_second=50, reply_tokens=300))
    text = await _text(model, "hello")
    assert len(text.split()) == 300
    assert clock[0] - 100.0 == pytest.approx(299 / 50 + 0.04, abs=0.041)
    assert len(wakeups) < 300 * 0.4  # late wake-ups deliver what fell due together


async def test_scripted_model_ends_every_stream_with_one_stream_end() -> None:
    model = ScriptedChatModel(ScriptedSettings(tokens_per_second=0))
    events = [e async for e in model.stream(ModelRequest(system="", history=(), prompt="hi"))]
    assert isinstance(events[-1], StreamEnded)
    assert sum(isinstance(e, StreamEnded) for e in events) == 1


async def test_scripted_model_can_fail_mid_reply() -> None:
    model = ScriptedChatModel(ScriptedSettings(tokens_per_second=0, fail_after_tokens=3))
    seen: list[str] = []
    with pytest.raises(ModelStreamError):
        async for event in model.stream(ModelRequest(system="", history=(), prompt="hi")):
            if isinstance(event, TextDelta):
                seen.append(event.text)
    assert len(seen) == 3


@pytest.mark.parametrize(
    ("raw", "title"),
    [
        ('"Castles of Japan."\n', "Castles of Japan"),
        ("\n\n  **Trip plan**  \nsecond line", "Trip plan"),
        ("", None),
        ("x" * 100, "x" * 59 + "…"),
        # an 11-word title, as a llama.cpp model sent one: six words are kept
        (
            "A Brief History of the Castles of Japan and Their Gardens",
            "A Brief History of the Castles",
        ),
        ("<think>The user wants a title.</think>\n\nCastle gardens", "Castle gardens"),
        ("<think>still thinking when the budget ran out", None),
        ("Title: `Kyoto trip` ", "Kyoto trip"),
        ("# 「Osaka food」", "Osaka food"),
        ("1. Packing list!", "Packing list"),
    ],
)
def test_titles_are_cleaned(raw: str, title: str | None) -> None:
    assert clean_title(raw) == title


async def _store_with(texts: list[tuple[Role, str, str]]) -> InProcessChatStore:
    store = InProcessChatStore()
    for role, message_type, text in texts:
        await store.append_message(MessageDraft("s1", role, message_type, text))
    return store


async def test_search_messages_finds_this_sessions_words_newest_last() -> None:
    store = await _store_with(
        [
            (Role.USER, MessageType.CONVERSATION, "My cat is called Miso."),
            (Role.AGENT, MessageType.CONVERSATION, "Miso is a lovely name for a cat!"),
            (Role.AGENT, MessageType.AGENT_LOG, "→ calculate cat miso"),  # not conversation
            (Role.USER, MessageType.CONVERSATION, "And my dog is Rex."),
        ]
    )
    await store.append_message(
        MessageDraft("other", Role.USER, MessageType.CONVERSATION, "cat miso elsewhere")
    )
    found = await SearchMessagesTool().run({"query": "CAT miso"}, ReplyContext("s1", store))

    lines = found.splitlines()
    assert len(lines) == 2
    assert lines[0].endswith("user: My cat is called Miso.")
    assert lines[1].endswith("agent: Miso is a lovely name for a cat!")
    assert "elsewhere" not in found and "calculate" not in found


async def test_search_messages_says_when_nothing_matches_and_refuses_bad_queries() -> None:
    ctx = ReplyContext("s1", await _store_with([(Role.USER, "CONVERSATION", "hello")]))
    assert "No earlier message" in await SearchMessagesTool().run({"query": "zebra"}, ctx)
    for bad in ({}, {"query": ""}, {"query": 3}, {"query": "x" * 201}):
        with pytest.raises(ValueError):
            await SearchMessagesTool().run(bad, ctx)


def test_history_bound_keeps_newest_items_within_budget_starting_with_the_user() -> None:
    items = [
        HistoryItem("user", "a" * 400),  # 100 tokens
        HistoryItem("assistant", "b" * 400),
        HistoryItem("user", "c" * 40),  # 10 tokens
        HistoryItem("assistant", "d" * 40),
    ]
    assert bound_history(items, max_items=10, token_budget=10_000) == items
    assert bound_history(items, max_items=3, token_budget=10_000) == items[2:]  # no leading AI
    assert bound_history(items, max_items=10, token_budget=120) == items[2:]
    assert bound_history(items, max_items=10, token_budget=5) == []
    assert estimate_tokens("") == 1 and estimate_tokens("abcde") == 2
