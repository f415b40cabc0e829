"""Tool calls that wait for the user's approval (core/services/approvals.py): the reply
pauses at the call with nothing running and no lock held, the decision resumes it from the
stored run, and every way a decision can be wrong is refused with a stable code."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from adapters.bootstrap import build_app
from adapters.settings import SettingsError
from core.domain import (
    ModelEvent,
    ModelRequest,
    StreamEnded,
    TextDelta,
    ToolCall,
    ToolCallRequested,
)
from core.errors import ApprovalRefused, InvalidInput, TurnRefused
from tests.support import Client, fast_settings, running_app, settle
from testsupport.profiles import sqlite_profile

pytestmark = pytest.mark.anyio

GATED = {"AZUCHI_TOOLS_REQUIRE_APPROVAL": "calculate"}


class StepModel:
    """Plays ``steps`` in order, one per model call: a list of tool calls to make (after
    the text ``say``), or None for a final answer quoting every tool result it was given."""

    model_id = "steps"

    def __init__(self, *steps: list[ToolCall] | None, say: str = "Let me work that out. ") -> None:
        self.steps = list(steps)
        self.say = say
        self.requests: list[ModelRequest] = []

    async def stream(self, request: ModelRequest) -> AsyncIterator[ModelEvent]:
        if request.purpose == "title":
            yield TextDelta("Sums")
            yield StreamEnded("end_turn")
            return
        self.requests.append(request)
        index = min(len(request.rounds), len(self.steps) - 1)
        calls = self.steps[index] if request.tools else None
        if calls:
            if not request.rounds:
                yield TextDelta(self.say)
            for call in calls:
                yield ToolCallRequested(call)
            yield StreamEnded("tool_use")
            return
        results = [r.content for round_ in request.rounds for r in round_.results]
        yield TextDelta("Results: " + " | ".join(results))
        yield StreamEnded("end_turn")


def calc(expression: str = "6*7", call_id: str = "c1") -> ToolCall:
    return ToolCall(call_id, "calculate", {"expression": expression})


def messages(client: Client, kind: str | None = None) -> list[dict[str, Any]]:
    found = client.of_type("message")
    return [f for f in found if kind is None or f["messageType"] == kind]


async def paused(app: Any, client: Client, text: str = "what is 6*7?") -> dict[str, Any]:
    await client.say(text)
    await settle(app)
    (request,) = messages(client, "APPROVAL")
    return request


async def test_a_call_that_needs_approval_pauses_the_reply_without_running_it() -> None:
    model = StepModel([calc()], None)
    async with running_app(fast_settings(**GATED), model=model) as app:
        client = await Client.connect(app, "c1")
        request = await paused(app, client)
        assert request["role"] == "AGENT"
        assert request["approval"]["tool"] == "calculate"
        assert request["approval"]["arguments"] == {"expression": "6*7"}
        assert request["approval"]["expiresAt"] > request["createdAt"]
        assert "detail" not in request and "rounds" not in json.dumps(request)
        (frame,) = client.of_type("approval")
        assert frame["approvalId"] == request["createdAt"]
        assert frame["tool"] == "calculate" and frame["replyId"] == request["replyId"]
        done = client.of_type("done")[-1]
        assert (done["status"], done["stopReason"]) == ("awaiting_approval", "tool_use")
        # The text before the call is kept; the tool did not run; nothing holds the session.
        texts = [m["message"] for m in messages(client, "CONVERSATION") if m["role"] == "AGENT"]
        assert texts == ["Let me work that out. "]
        assert not messages(client, "AGENT_LOG")
        assert len(model.requests) == 1
        assert not await app.lock.is_held(client.session_id)
        session = await app.store.get_session(client.session_id)
        assert session is not None and not session.has_pending


async def test_an_approved_call_runs_and_the_reply_goes_on_from_where_it_paused() -> None:
    model = StepModel([calc()], None)
    async with running_app(fast_settings(**GATED), model=model) as app:
        client = await Client.connect(app, "c1")
        other = await Client.connect(app, "c2", client.session_id)
        request = await paused(app, client)
        await app.approvals.decide("c1", {"approvalId": request["createdAt"]}, True)
        await settle(app)
        (decision,) = messages(other, "APPROVAL_DECISION")  # every tab sees it
        assert (decision["role"], decision["message"]) == ("USER", "approve")
        assert decision["replyTo"] == request["createdAt"]
        logs = [m["message"] for m in messages(client, "AGENT_LOG")]
        assert logs == ['→ calculate({"expression": "6*7"})', "← calculate: 6*7 = 42"]
        final = messages(client, "CONVERSATION")[-1]
        assert final["message"] == "Results: 6*7 = 42" and final["status"] == "complete"
        assert client.of_type("done")[-1]["status"] == "complete"
        # The model went on with the same turn: the user's question, the paused step.
        resumed = model.requests[-1]
        assert resumed.prompt == "what is 6*7?"
        assert [c.name for r in resumed.rounds for c in r.calls] == ["calculate"]
        assert resumed.rounds[0].text == "Let me work that out. "
        assert not any(h.content == "approve" for h in resumed.history)
        # The agent's memory holds the whole turn, once.
        history = await app.agent_memory.recent_history(client.session_id)
        assert [(h.role, h.content) for h in history] == [
            ("user", "what is 6*7?"),
            ("assistant", "Let me work that out. \n\nResults: 6*7 = 42"),
        ]


async def test_a_denied_call_is_never_run_and_the_model_is_told() -> None:
    model = StepModel([calc()], None)
    async with running_app(fast_settings(**GATED), model=model) as app:
        client = await Client.connect(app, "c1")
        request = await paused(app, client)
        await app.approvals.decide("c1", {"approvalId": request["createdAt"]}, False)
        await settle(app)
        logs = [m["message"] for m in messages(client, "AGENT_LOG")]
        assert logs == ["✗ calculate: The user denied this call; it was not run."]
        result = model.requests[-1].rounds[0].results[0]
        assert result.is_error and "denied" in result.content
        assert messages(client, "CONVERSATION")[-1]["message"].startswith("Results: The user")


async def test_one_decision_per_request_from_any_number_of_tabs() -> None:
    model = StepModel([calc()], None)
    async with running_app(fast_settings(**GATED), model=model) as app:
        client = await Client.connect(app, "c1")
        await Client.connect(app, "c2", client.session_id)
        request = await paused(app, client)
        frame = {"approvalId": request["createdAt"]}
        await app.approvals.decide("c1", frame, True)
        await app.approvals.decide("c2", frame, True)  # the same decision again: its echo
        await settle(app)
        with pytest.raises(ApprovalRefused) as refused:
            await app.approvals.decide("c2", frame, False)
        assert refused.value.code == "APPROVAL_DECIDED"
        assert "approved already" in refused.value.message
        await settle(app)
        assert len(messages(client, "APPROVAL_DECISION")) == 1
        logs = [m["message"] for m in messages(client, "AGENT_LOG")]
        assert logs.count("← calculate: 6*7 = 42") == 1
        assert len(model.requests) == 2  # the pause, one resume


async def test_a_request_is_superseded_by_a_newer_message() -> None:
    model = StepModel([calc()], None)
    async with running_app(fast_settings(**GATED), model=model) as app:
        client = await Client.connect(app, "c1")
        request = await paused(app, client)
        await client.say("never mind, what is the time?")
        await settle(app)
        with pytest.raises(ApprovalRefused) as refused:
            await app.approvals.decide("c1", {"approvalId": request["createdAt"]}, True)
        assert refused.value.code == "APPROVAL_SUPERSEDED"
        await settle(app)
        assert "← calculate: 6*7 = 42" not in [m["message"] for m in messages(client, "AGENT_LOG")]


class MovableClock:
    def __init__(self) -> None:
        import time

        self.offset_ms = 0
        self._time = time

    def now_ms(self) -> int:
        return self._time.time_ns() // 1_000_000 + self.offset_ms


async def test_a_request_expires_and_says_so_once() -> None:
    clock = MovableClock()
    settings = fast_settings(**GATED, AZUCHI_APPROVAL_TIMEOUT_S="60")
    async with build_app(
        settings, clock=clock, overrides={"model": StepModel([calc()], None)}
    ) as app:
        client = await Client.connect(app, "c1")
        request = await paused(app, client)
        assert request["approval"]["expiresAt"] - request["createdAt"] in range(59_000, 61_000)
        clock.offset_ms = 61_000
        for _ in range(2):
            with pytest.raises(ApprovalRefused) as refused:
                await app.approvals.decide("c1", {"approvalId": request["createdAt"]}, True)
            assert refused.value.code == "APPROVAL_EXPIRED"
        await settle(app)
        notes = [m["message"] for m in messages(client, "SYSTEM_LOG")]
        assert notes == [
            "The request to run calculate expired before it was approved; the tool was not run."
        ]
        assert not messages(client, "AGENT_LOG") and not messages(client, "APPROVAL_DECISION")


@pytest.mark.parametrize(
    ("approval_id", "code"),
    [
        (None, "INVALID_APPROVAL_ID"),
        ("123", "INVALID_APPROVAL_ID"),
        (True, "INVALID_APPROVAL_ID"),
        (-5, "INVALID_APPROVAL_ID"),
        (2**64, "INVALID_APPROVAL_ID"),
        (1.5, "INVALID_APPROVAL_ID"),
        ({"$gt": 0}, "INVALID_APPROVAL_ID"),
        (1, "APPROVAL_NOT_FOUND"),
    ],
)
async def test_a_decision_naming_no_request_is_refused(approval_id: Any, code: str) -> None:
    async with running_app(fast_settings(**GATED), model=StepModel([calc()], None)) as app:
        client = await Client.connect(app, "c1")
        await paused(app, client)
        with pytest.raises(InvalidInput) as refused:
            await app.approvals.decide("c1", {"approvalId": approval_id}, True)
        assert refused.value.code == code
        assert not messages(client, "APPROVAL_DECISION")


async def test_a_decision_on_another_message_or_another_sessions_request_is_refused() -> None:
    async with running_app(fast_settings(**GATED), model=StepModel([calc()], None)) as app:
        client = await Client.connect(app, "c1")
        request = await paused(app, client)
        question = messages(client, "CONVERSATION")[0]
        with pytest.raises(ApprovalRefused) as refused:
            await app.approvals.decide("c1", {"approvalId": question["createdAt"]}, True)
        assert refused.value.code == "APPROVAL_NOT_FOUND"
        stranger = await Client.connect(app, "c9")  # another session: its ids are its own
        with pytest.raises(ApprovalRefused) as refused:
            await app.approvals.decide("c9", {"approvalId": request["createdAt"]}, True)
        assert refused.value.code == "APPROVAL_NOT_FOUND"
        with pytest.raises(InvalidInput) as refused:
            frame = {"approvalId": request["createdAt"], "sessionId": client.session_id}
            await app.approvals.decide("c9", frame, True)
        assert refused.value.code == "SESSION_MISMATCH"
        assert not messages(stranger, "APPROVAL_DECISION")
        assert not messages(client, "APPROVAL_DECISION")


async def test_clients_cannot_use_the_reserved_client_message_ids() -> None:
    async with running_app(fast_settings(**GATED), model=StepModel([calc()], None)) as app:
        client = await Client.connect(app, "c1")
        request = await paused(app, client)
        with pytest.raises(InvalidInput) as refused:
            await client.say("x", clientMessageId=f"azuchi:approval:{request['createdAt']}")
        assert refused.value.code == "INVALID_CLIENT_MESSAGE_ID"
        # ... so that the request can still be approved.
        await app.approvals.decide("c1", {"approvalId": request["createdAt"]}, True)
        await settle(app)
        assert "← calculate: 6*7 = 42" in [m["message"] for m in messages(client, "AGENT_LOG")]


async def test_calls_before_and_after_the_gated_one_run_in_order() -> None:
    now = ToolCall("t1", "current_time", {})
    later = ToolCall("t2", "current_time", {})
    model = StepModel([now, calc(), later], None)
    async with running_app(fast_settings(**GATED), model=model) as app:
        client = await Client.connect(app, "c1")
        request = await paused(app, client)
        assert [m["message"][:15] for m in messages(client, "AGENT_LOG")] == [
            "→ current_time(",
            "← current_time:",
        ]
        await app.approvals.decide("c1", {"approvalId": request["createdAt"]}, True)
        await settle(app)
        (round_,) = model.requests[-1].rounds
        assert [r.call_id for r in round_.results] == ["t1", "c1", "t2"]
        assert round_.results[1].content == "6*7 = 42"


async def test_a_second_gated_call_pauses_the_resumed_reply_again() -> None:
    model = StepModel([calc("6*7", "c1")], [calc("2+2", "c2")], None)
    async with running_app(fast_settings(**GATED), model=model) as app:
        client = await Client.connect(app, "c1")
        first = await paused(app, client)
        await app.approvals.decide("c1", {"approvalId": first["createdAt"]}, True)
        await settle(app)
        second = messages(client, "APPROVAL")[-1]
        assert second["approval"]["arguments"] == {"expression": "2+2"}
        await app.approvals.decide("c1", {"approvalId": second["createdAt"]}, True)
        await settle(app)
        assert messages(client, "CONVERSATION")[-1]["message"] == "Results: 6*7 = 42 | 2+2 = 4"
        history = await app.agent_memory.recent_history(client.session_id)
        assert [h.role for h in history] == ["user", "assistant"]


async def test_arguments_the_schema_refuses_are_a_failed_step_not_a_request() -> None:
    model = StepModel([ToolCall("c1", "calculate", {"expression": 42})], None)
    async with running_app(fast_settings(**GATED), model=model) as app:
        client = await Client.connect(app, "c1")
        await client.say("compute")
        await settle(app)
        assert not messages(client, "APPROVAL")
        logs = [m["message"] for m in messages(client, "AGENT_LOG")]
        assert logs[-1] == (
            "✗ calculate: arguments refused by the tool's schema (expression): "
            "42 is not of type 'string'"
        )


async def test_a_decision_cannot_be_edited() -> None:
    async with running_app(fast_settings(**GATED), model=StepModel([calc()], None)) as app:
        client = await Client.connect(app, "c1")
        request = await paused(app, client)
        await app.approvals.decide("c1", {"approvalId": request["createdAt"]}, True)
        await settle(app)
        (decision,) = messages(client, "APPROVAL_DECISION")
        with pytest.raises(TurnRefused) as refused:
            await app.turns.edit_message(
                "c1", {"message": "deny", "replaces": decision["createdAt"]}
            )
        assert refused.value.code == "NOT_EDITABLE"


def test_an_approval_setting_naming_no_tool_stops_the_start() -> None:
    with pytest.raises(SettingsError, match="AZUCHI_TOOLS_REQUIRE_APPROVAL names calculat,"):
        build_app(fast_settings(AZUCHI_TOOLS_REQUIRE_APPROVAL="calculat"))


async def test_a_paused_reply_survives_a_restart(tmp_path: Path) -> None:
    """sqlite, the default: the request is stored, so a new process resumes it."""
    env = {**GATED, **sqlite_profile(tmp_path / "azuchi.db")}
    async with running_app(fast_settings(**env), model=StepModel([calc()], None)) as app:
        client = await Client.connect(app, "c1")
        request = await paused(app, client)
        session_id = client.session_id
    model = StepModel([calc()], None)
    async with running_app(fast_settings(**env), model=model) as app:
        client = await Client.connect(app, "c2", session_id)
        await app.approvals.decide("c2", {"approvalId": request["createdAt"]}, True)
        await settle(app)
        assert messages(client, "CONVERSATION")[-1]["message"] == "Results: 6*7 = 42"
        assert model.requests[-1].prompt == "what is 6*7?"
        stored = await app.store.last_messages(session_id, 20)
        assert [m.message_type for m in stored] == [
            "CONVERSATION",
            "CONVERSATION",
            "APPROVAL",
            "APPROVAL_DECISION",
            "AGENT_LOG",
            "AGENT_LOG",
            "CONVERSATION",
        ]


class ArithmeticOnly(StepModel):
    """Calls calculate only for a prompt with a ``*`` in it; answers anything else."""

    async def stream(self, request: ModelRequest) -> AsyncIterator[ModelEvent]:
        if request.purpose != "title" and "*" not in request.prompt:
            self.requests.append(request)
            yield TextDelta(f"You said {request.prompt}")
            yield StreamEnded("end_turn")
            return
        async for event in super().stream(request):
            yield event


@pytest.mark.parametrize("memory", ["inprocess", "sqlite"])
async def test_the_resumed_turn_sees_the_conversation_before_it_once(
    memory: str, tmp_path: Path
) -> None:
    env = {**GATED, "AZUCHI_AGENT_MEMORY": memory, "AZUCHI_SQLITE_PATH": str(tmp_path / "a.db")}
    model = ArithmeticOnly([calc()], None)
    async with running_app(fast_settings(**env), model=model) as app:
        client = await Client.connect(app, "c1")
        await client.say("hello")
        await settle(app)
        request = await paused(app, client)
        await app.approvals.decide("c1", {"approvalId": request["createdAt"]}, True)
        await settle(app)
        resumed = model.requests[-1]
        assert resumed.prompt == "what is 6*7?"
        assert [(h.role, h.content) for h in resumed.history] == [
            ("user", "hello"),
            ("assistant", "You said hello"),
        ]
        # The next turn's history holds the paused turn whole, once.
        await client.say("thanks")
        await settle(app)
        assert [(h.role, h.content) for h in model.requests[-1].history] == [
            ("user", "hello"),
            ("assistant", "You said hello"),
            ("user", "what is 6*7?"),
            ("assistant", "Let me work that out. \n\nResults: 6*7 = 42"),
        ]


async def test_a_history_rebuilt_from_the_store_holds_a_paused_turn_as_one_exchange() -> None:
    model = ArithmeticOnly([calc()], None)
    async with running_app(fast_settings(**GATED), model=model) as app:
        client = await Client.connect(app, "c1")
        request = await paused(app, client)
        await app.approvals.decide("c1", {"approvalId": request["createdAt"]}, True)
        await settle(app)
        await app.agent_memory.forget(client.session_id)  # evicted, flushed, or taken back
        await client.say("thanks")
        await settle(app)
        assert [(h.role, h.content) for h in model.requests[-1].history] == [
            ("user", "what is 6*7?"),
            ("assistant", "Let me work that out. \n\nResults: 6*7 = 42"),
        ]
