"""What a user watching a reply notices: it streams (text reaches the page while the model
still writes), the totals shown at its end are the model's, a tab opened meanwhile gets its
end, and a reply that ends without text leaves no empty bubble.

The models here are driven by the test: a "gated" model writes its next piece only once
the previous one has reached the client (with a generous poll), so a reply whose deltas
stall until the end fails on the first gate, however busy the machine."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import anyio
import pytest

from adapters.pricing.table import load_price_table
from core.domain import (
    ModelEvent,
    ModelRequest,
    StreamEnded,
    TextDelta,
    ToolCall,
    ToolCallRequested,
    Usage,
    UsageReported,
)
from core.errors import ModelError
from tests.support import Client, fast_settings, running_app, settle

pytestmark = pytest.mark.anyio

PRICED_MODEL = "gpt-5-mini"  # in the built-in price table: replies have a cost
GATE_S = 5.0  # how long a piece may take to reach the client (only a stall takes this long)


class DrivenModel:
    """Streams ``steps(request)``; an awaitable in it is awaited before the next event."""

    def __init__(self, steps: Callable[[ModelRequest], list[Any]]) -> None:
        self.steps = steps

    @property
    def model_id(self) -> str:
        return PRICED_MODEL

    async def stream(self, request: ModelRequest) -> AsyncIterator[ModelEvent]:
        for step in self.steps(request):
            if callable(step):
                await step()
            else:
                yield step


def streamed(client: Client) -> str:
    return "".join(d["text"] for d in client.of_type("delta"))


def reached(client: Client, text: str) -> Callable[[], Any]:
    """A gate: waits until the client has been sent ``text`` as deltas."""

    async def gate() -> None:
        with anyio.fail_after(GATE_S):
            while not streamed(client).endswith(text):
                await anyio.sleep(0.005)

    return gate


async def test_a_long_reply_reaches_the_user_piece_by_piece_before_it_ends() -> None:
    pieces = [f"part {i} of a long answer. " for i in range(8)]
    client: Client | None = None

    def steps(request: ModelRequest) -> list[Any]:
        assert client is not None
        out: list[Any] = []
        for piece in pieces:
            out += [TextDelta(piece), reached(client, piece)]
        return [*out, UsageReported(Usage(10, 80)), StreamEnded("end_turn")]

    settings = fast_settings(AZUCHI_TITLES="false", AZUCHI_COALESCE_MS="20")
    async with running_app(settings, model=DrivenModel(steps)) as app:
        client = await Client.connect(app, "c1")
        await client.say("tell me a long story")
        await settle(app)
        kinds = [f["type"] for f in client.frames]
        deltas = client.of_type("delta")
        # Every piece was on the page before the model wrote the next one: one frame each.
        assert [d["text"] for d in deltas] == pieces
        assert kinds.index("done") > max(i for i, k in enumerate(kinds) if k == "delta")
        (done,) = client.of_type("done")
        assert done["status"] == "complete"


async def test_the_totals_at_the_end_are_what_the_model_reported_over_every_step() -> None:
    first, second = Usage(120, 30, cache_read_tokens=7), Usage(300, 45, cache_write_tokens=11)

    def steps(request: ModelRequest) -> list[Any]:
        if request.rounds:
            return [TextDelta("It is 84."), UsageReported(second), StreamEnded("end_turn")]
        call = ToolCall("t1", "calculate", {"expression": "12 * 7"})
        return [ToolCallRequested(call), UsageReported(first), StreamEnded("tool_use")]

    async with running_app(fast_settings(AZUCHI_TITLES="false"), model=DrivenModel(steps)) as app:
        client = await Client.connect(app, "c1")
        await client.say("what is 12 * 7")
        await settle(app)
    total = first + second
    assert (total.input_tokens, total.output_tokens) == (420, 75)
    expected_cost = load_price_table().reply_cost(PRICED_MODEL, total)
    assert expected_cost is not None and expected_cost > 0
    (done,) = client.of_type("done")
    assert done["usage"] == {
        "inputTokens": 420,
        "outputTokens": 75,
        "cacheReadTokens": 7,
        "cacheWriteTokens": 11,
    }
    assert done["costUsd"] == pytest.approx(expected_cost)
    (final,) = [f for f in client.of_type("message") if f["messageType"] == "CONVERSATION"
                and f["role"] == "AGENT"]  # fmt: skip
    assert final["usage"] == done["usage"] and final["costUsd"] == pytest.approx(expected_cost)


async def test_a_tab_opened_during_a_reply_gets_its_final_messages() -> None:
    opened = anyio.Event()

    def steps(request: ModelRequest) -> list[Any]:
        return [TextDelta("Hello "), opened.wait, TextDelta("there."),
                UsageReported(Usage(5, 2)), StreamEnded("end_turn")]  # fmt: skip

    async with running_app(fast_settings(AZUCHI_TITLES="false"), model=DrivenModel(steps)) as app:
        first = await Client.connect(app, "c1")
        await first.say("hi")
        await first.wait_for(lambda f: f["type"] == "delta")
        second = await Client.connect(app, "c2", first.session_id)  # a new tab, mid-reply
        opened.set()
        await settle(app)
    for tab in (first, second):
        finals = [f["message"] for f in tab.of_type("message") if f["role"] == "AGENT"]
        assert finals == ["Hello there."], tab.connection_id
        assert [d["status"] for d in tab.of_type("done")] == ["complete"]


def failing(request: ModelRequest) -> list[Any]:
    async def fail() -> None:
        raise ModelError("the model is down", code="MODEL_STREAM_ERROR")

    return [fail]


async def test_a_reply_that_fails_before_any_text_leaves_no_empty_agent_message() -> None:
    async with running_app(fast_settings(AZUCHI_TITLES="false"), model=DrivenModel(failing)) as app:
        client = await Client.connect(app, "c1")
        await client.say("hello")
        await settle(app)
        stored = await app.store.last_messages(client.session_id, 10)
    assert [m.role.value for m in stored if m.role.value == "AGENT"] == []
    assert not [f for f in client.of_type("message") if f["role"] == "AGENT"]
    (note,) = [f for f in client.of_type("message") if f["messageType"] == "SYSTEM_LOG"]
    assert note["message"].strip() and note["status"] == "error"
    assert client.of_type("done")[-1]["status"] == "error"


async def test_a_reply_stopped_before_any_text_leaves_no_empty_agent_message() -> None:
    never = anyio.Event()

    def steps(request: ModelRequest) -> list[Any]:
        return [never.wait]

    settings = fast_settings(AZUCHI_TITLES="false")
    async with running_app(settings, model=DrivenModel(steps)) as app:
        client = await Client.connect(app, "c1")
        await client.say("hello")
        with anyio.fail_after(GATE_S):  # the reply has started (and waits on the model)
            while not (await app.store.get_session(client.session_id)).has_unfinished_reply:  # type: ignore[union-attr]
                await anyio.sleep(0.005)
        await app.chat.stop_generation("c1")
        await settle(app)
        stored = await app.store.last_messages(client.session_id, 10)
    assert [m for m in stored if m.role.value == "AGENT"] == []
    assert not [f for f in client.of_type("message") if f["role"] == "AGENT"]
    (note,) = [f for f in client.of_type("message") if f["messageType"] == "SYSTEM_LOG"]
    assert note["message"].strip() and note["status"] == "stopped"
    assert client.of_type("done")[-1]["status"] == "stopped"


async def test_a_reply_fenced_off_at_its_last_write_tells_the_tabs_it_is_interrupted() -> None:
    from adapters.inprocess.store import InProcessChatStore
    from core.errors import FenceRejected

    class FencedAtTheEnd(InProcessChatStore):
        async def finish_reply(self, draft: Any) -> Any:
            raise FenceRejected("a newer holder has written")

    def steps(request: ModelRequest) -> list[Any]:
        return [TextDelta("Hello."), UsageReported(Usage(5, 2)), StreamEnded("end_turn")]

    settings = fast_settings(AZUCHI_TITLES="false")
    async with running_app(settings, model=DrivenModel(steps), storage=FencedAtTheEnd()) as app:
        client = await Client.connect(app, "c1")
        await client.say("hi")
        await settle(app)
        stored = await app.store.last_messages(client.session_id, 10)
    assert [d["status"] for d in client.of_type("done")] == ["interrupted"]
    assert [m for m in stored if m.role.value == "AGENT"] == []


async def test_every_kind_of_token_a_reply_used_counts_against_the_days_caps() -> None:
    from tests.unit.test_limits_service import limited

    usage = Usage(100, 20, cache_read_tokens=3, cache_write_tokens=4)

    def steps(request: ModelRequest) -> list[Any]:
        return [TextDelta("Hello."), UsageReported(usage), StreamEnded("end_turn")]

    settings = limited(session_tokens_per_day="100000")
    async with running_app(settings, model=DrivenModel(steps)) as app:
        recorded: list[tuple[str, int, float | None]] = []
        record = app.limits.record

        async def spy(session_id: str, tokens: int, cost: float | None) -> None:
            recorded.append((session_id, tokens, cost))
            await record(session_id, tokens, cost)

        app.limits.record = spy  # type: ignore[method-assign]
        client = await Client.connect(app, "c1")
        await client.say("hi")
        await settle(app)
    cost = load_price_table().reply_cost(PRICED_MODEL, usage)
    assert recorded == [(client.session_id, 127, pytest.approx(cost))]
