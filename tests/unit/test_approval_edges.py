"""The edges of approvals (core/services/approvals.py): the stored run reads back exactly
(reasoning blocks and their bytes included) and an unreadable one is never resumed; an
approvalId one off a request's, zero or at the cursor's limit; a decision the other way
round, on the right one of two requests, or racing another; the expiry note told at once;
and a run too large to store is not paused at all, its tool not run."""

from __future__ import annotations

import json
from typing import Any

import pytest

from adapters.inprocess.store import InProcessChatStore
from core.domain import (
    MessageDraft,
    MessageType,
    ReasoningBlock,
    Role,
    ToolCall,
    ToolResult,
    ToolRound,
)
from core.errors import ApprovalRefused, InvalidInput
from core.services.agent import AgentPause
from core.services.approvals import (
    DECISION_ID,
    MAX_DETAIL_BYTES,
    PausedTurn,
    paused_turn,
)
from core.services.chat import MAX_CURSOR
from tests.support import Client, fast_settings, running_app, settle
from tests.unit.test_approvals import GATED, MovableClock, StepModel, calc, messages, paused
from testsupport.profiles import sqlite_profile

pytestmark = pytest.mark.anyio


def a_turn(arguments: dict[str, Any] | None = None) -> PausedTurn:
    call = ToolCall("c2", "calculate", arguments or {"expression": "6*7"})
    earlier = ToolRound(
        "First, the time. ",
        (ToolCall("c1", "current_time", {}),),
        (ToolResult("c1", "current_time", "2026-12-04T02:00:00+00:00"),),
        "resp-1",
        (ReasoningBlock("I should check", "sig=="), ReasoningBlock(redacted=b"\x00\xffsecret")),
    )
    step = ToolRound(
        "Now the sum. ",
        (ToolCall("c0", "current_time", {}), call),
        (ToolResult("c0", "current_time", "failed", True),),
        None,
        (),
    )
    return PausedTurn(AgentPause(call, (earlier,), step, 2), "q 京都", 1234, "text", 99_000)


def test_the_stored_run_reads_back_exactly() -> None:
    turn = a_turn()
    assert PausedTurn.from_json(turn.to_json()) == turn
    public = json.loads(turn.to_json())["public"]
    assert public == {
        "callId": "c2",
        "tool": "calculate",
        "arguments": {"expression": "6*7"},
        "expiresAt": 99_000,
    }


@pytest.mark.parametrize(
    "spoil",
    [
        lambda d: d.update(v=2),
        lambda d: d.update(v=0),
        lambda d: d.pop("rounds"),
        lambda d: d["call"].update(arguments=["not", "an", "object"]),
        lambda d: d.update(step=None),
        lambda d: d["public"].pop("expiresAt"),
    ],
)
def test_a_run_it_cannot_read_is_never_resumed(spoil: Any) -> None:
    data = json.loads(a_turn().to_json())
    spoil(data)
    with pytest.raises(ValueError):
        PausedTurn.from_json(json.dumps(data))
    request = _request(json.dumps(data))
    assert paused_turn(request) is None


def _request(detail: str | None, message_type: str = MessageType.APPROVAL) -> Any:
    from core.domain import Message

    return Message("s", 5, Role.AGENT, message_type, "x", reply_to=1, detail=detail)


def test_only_an_approval_with_a_detail_is_a_request() -> None:
    good = a_turn().to_json()
    assert paused_turn(_request(good)) is not None
    assert paused_turn(_request(None)) is None
    assert paused_turn(_request(good, MessageType.AGENT_LOG)) is None
    assert paused_turn(_request(good, MessageType.CONVERSATION)) is None
    assert paused_turn(_request("{not json")) is None


def test_the_stored_size_limit_is_exact() -> None:
    """A state of exactly 256 KiB (the documented limit) is stored; one byte more is not."""
    import dataclasses

    assert MAX_DETAIL_BYTES == 256 * 1024  # docs/protocol.md says 256 KB
    base = a_turn({"expression": ""})
    room = 256 * 1024 - len(base.to_json().encode("utf-8"))
    per_char = 3  # the arguments are in the request's public part, its call and its step
    turn = a_turn({"expression": "1" * (room // per_char)})
    exact = dataclasses.replace(turn, prompt=turn.prompt + "x" * (room % per_char))
    assert len(exact.to_json().encode("utf-8")) == 256 * 1024
    assert exact.fits()
    assert not dataclasses.replace(exact, prompt=exact.prompt + "x").fits()


async def test_a_run_too_large_to_store_is_not_paused_and_its_tool_not_run() -> None:
    huge = ToolCall("c1", "calculate", {"expression": "1+" * 140_000 + "1"})
    model = StepModel([huge], None)
    async with running_app(fast_settings(**GATED), model=model) as app:
        client = await Client.connect(app, "c1")
        await client.say("sum these")
        await settle(app)
        assert not messages(client, "APPROVAL") and not client.of_type("approval")
        (note,) = messages(client, "SYSTEM_LOG")
        assert "over 256 KB; the tool was not run" in note["message"]
        assert client.of_type("done")[-1]["status"] == "error"
        assert not messages(client, "AGENT_LOG")


async def _stored_request(app: Any, client: Client, detail: str) -> int:
    """An APPROVAL message as a reply would store it (the turn answered)."""
    question = (
        await app.store.append_message(
            MessageDraft(client.session_id, Role.USER, MessageType.CONVERSATION, "q")
        )
    ).message
    await app.store.record_answered(client.session_id, question.created_at)
    request = await app.store.append_message(
        MessageDraft(
            client.session_id,
            Role.AGENT,
            MessageType.APPROVAL,
            "calculate({})",
            reply_to=question.created_at,
            detail=detail,
        )
    )
    return int(request.message.created_at)


async def test_a_request_whose_run_cannot_be_read_cannot_be_decided() -> None:
    async with running_app(fast_settings(**GATED)) as app:
        client = await Client.connect(app, "c1")
        data = json.loads(a_turn().to_json())
        data["v"] = 2
        approval_id = await _stored_request(app, client, json.dumps(data))
        with pytest.raises(ApprovalRefused) as refused:
            await app.approvals.decide("c1", {"approvalId": approval_id}, True)
        assert refused.value.code == "APPROVAL_NOT_FOUND"
        assert not messages(client, "APPROVAL_DECISION")


@pytest.mark.parametrize("offset", [-1, 1])
async def test_an_approval_id_one_off_the_requests_is_not_it(offset: int) -> None:
    async with running_app(fast_settings(**GATED), model=StepModel([calc()], None)) as app:
        client = await Client.connect(app, "c1")
        request = await paused(app, client)
        with pytest.raises(ApprovalRefused) as refused:
            await app.approvals.decide("c1", {"approvalId": request["createdAt"] + offset}, True)
        assert refused.value.code == "APPROVAL_NOT_FOUND"


@pytest.mark.parametrize(
    ("approval_id", "code"),
    [
        (0, "INVALID_APPROVAL_ID"),
        (MAX_CURSOR, "APPROVAL_NOT_FOUND"),
        (MAX_CURSOR + 1, "INVALID_APPROVAL_ID"),
    ],
)
async def test_the_approval_id_range(approval_id: int, code: str) -> None:
    async with running_app(fast_settings(**GATED)) as app:
        await Client.connect(app, "c1")
        with pytest.raises(InvalidInput) as refused:
            await app.approvals.decide("c1", {"approvalId": approval_id}, True)
        assert refused.value.code == code


async def test_a_denial_stands_against_a_later_approval() -> None:
    async with running_app(fast_settings(**GATED), model=StepModel([calc()], None)) as app:
        client = await Client.connect(app, "c1")
        request = await paused(app, client)
        frame = {"approvalId": request["createdAt"]}
        await app.approvals.decide("c1", frame, False)
        await settle(app)
        await app.approvals.decide("c1", frame, False)  # a repeat: its echo, to the sender
        with pytest.raises(ApprovalRefused) as refused:
            await app.approvals.decide("c1", frame, True)
        assert refused.value.code == "APPROVAL_DECIDED"
        assert "denied already" in refused.value.message
        await settle(app)
        decisions = messages(client, "APPROVAL_DECISION")
        assert [d["message"] for d in decisions] == ["deny", "deny"]  # stored once, echoed
        assert len({d["createdAt"] for d in decisions}) == 1


async def test_each_of_two_requests_keeps_its_own_decision() -> None:
    model = StepModel([calc("6*7", "c1")], [calc("2+2", "c2")], None)
    async with running_app(fast_settings(**GATED), model=model) as app:
        client = await Client.connect(app, "c1")
        first = await paused(app, client)
        await app.approvals.decide("c1", {"approvalId": first["createdAt"]}, False)
        await settle(app)
        second = messages(client, "APPROVAL")[-1]
        await app.approvals.decide("c1", {"approvalId": second["createdAt"]}, True)
        await settle(app)
        with pytest.raises(ApprovalRefused) as refused:
            await app.approvals.decide("c1", {"approvalId": first["createdAt"]}, True)
        assert "denied already" in refused.value.message
        with pytest.raises(ApprovalRefused) as refused:
            await app.approvals.decide("c1", {"approvalId": second["createdAt"]}, False)
        assert "approved already" in refused.value.message


class RacedStore(InProcessChatStore):
    """Another tab's decision lands between this one's checks and its write."""

    rival: str | None = None

    async def append_message(self, draft: MessageDraft) -> Any:
        if self.rival and draft.message_type == MessageType.APPROVAL_DECISION:
            rival, self.rival = self.rival, None
            await super().append_message(
                MessageDraft(
                    draft.session_id,
                    Role.USER,
                    MessageType.APPROVAL_DECISION,
                    "".join(rival),  # read back as a new string, as a durable store does
                    client_message_id=draft.client_message_id,
                    reply_to=draft.reply_to,
                )
            )
        return await super().append_message(draft)


@pytest.mark.parametrize(
    ("rival", "ours", "refused"),
    [("deny", True, True), ("approve", False, True), ("approve", True, False)],
)
async def test_a_decision_racing_another_is_stored_once(
    rival: str, ours: bool, refused: bool
) -> None:
    store = RacedStore()
    async with running_app(
        fast_settings(**GATED), model=StepModel([calc()], None), storage=store
    ) as app:
        client = await Client.connect(app, "c1")
        request = await paused(app, client)
        store.rival = rival
        frame = {"approvalId": request["createdAt"]}
        if refused:
            with pytest.raises(ApprovalRefused) as error:
                await app.approvals.decide("c1", frame, ours)
            assert error.value.code == "APPROVAL_DECIDED"
        else:
            await app.approvals.decide("c1", frame, ours)  # the same decision: its echo
        stored = await app.store.last_messages(client.session_id, 20)
        decisions = [m for m in stored if m.message_type == MessageType.APPROVAL_DECISION]
        assert [d.message for d in decisions] == [rival]
        assert decisions[0].client_message_id == DECISION_ID.format(request["createdAt"])


async def test_the_expiry_note_is_told_with_the_first_refusal() -> None:
    clock = MovableClock()
    from adapters.bootstrap import build_app

    settings = fast_settings(**GATED, AZUCHI_APPROVAL_TIMEOUT_S="1")
    overrides = {"model": StepModel([calc()], None)}
    async with build_app(settings, clock=clock, overrides=overrides) as app:
        client = await Client.connect(app, "c1")
        other = await Client.connect(app, "c2", client.session_id)
        request = await paused(app, client)
        clock.offset_ms = 2_000
        with pytest.raises(ApprovalRefused):
            await app.approvals.decide("c1", {"approvalId": request["createdAt"]}, True)
        for tab in (client, other):
            (note,) = messages(tab, "SYSTEM_LOG")
            assert note["replyTo"] == request["createdAt"] and note["status"] == "error"


class FrozenClock:
    """Every message in the same millisecond: the store gives them consecutive keys."""

    def __init__(self) -> None:
        import time

        self.at = time.time_ns() // 1_000_000

    def now_ms(self) -> int:
        return self.at


class TickingClock:
    """Ten milliseconds pass at every reading: consecutive messages get keys 10 apart."""

    def __init__(self) -> None:
        import time

        self.at = time.time_ns() // 1_000_000

    def now_ms(self) -> int:
        self.at += 10
        return self.at


async def test_an_approval_id_just_below_a_request_with_nothing_there_is_not_it() -> None:
    from adapters.bootstrap import build_app

    overrides = {"model": StepModel([calc()], None)}
    async with build_app(fast_settings(**GATED), clock=TickingClock(), overrides=overrides) as app:
        client = await Client.connect(app, "c1")
        request = await paused(app, client)
        text = messages(client, "CONVERSATION")[-1]
        assert request["createdAt"] - text["createdAt"] > 2
        for approval_id in (request["createdAt"] - 1, request["createdAt"] - 2):
            with pytest.raises(ApprovalRefused) as refused:
                await app.approvals.decide("c1", {"approvalId": approval_id}, True)
            assert refused.value.code == "APPROVAL_NOT_FOUND"


async def test_the_request_is_found_by_its_own_key_among_adjacent_ones() -> None:
    from adapters.bootstrap import build_app

    overrides = {"model": StepModel([calc()], None)}
    async with build_app(fast_settings(**GATED), clock=FrozenClock(), overrides=overrides) as app:
        client = await Client.connect(app, "c1")
        request = await paused(app, client)
        text = messages(client, "CONVERSATION")[-1]
        assert request["createdAt"] == text["createdAt"] + 1  # keys side by side
        await app.approvals.decide("c1", {"approvalId": int(str(request["createdAt"]))}, True)
        await settle(app)
        assert messages(client, "CONVERSATION")[-1]["message"] == "Results: 6*7 = 42"


async def test_an_expired_request_superseded_later_is_superseded_not_decided() -> None:
    clock = MovableClock()
    from adapters.bootstrap import build_app

    settings = fast_settings(**GATED, AZUCHI_APPROVAL_TIMEOUT_S="1")
    overrides = {"model": StepModel([calc()], None)}
    async with build_app(settings, clock=clock, overrides=overrides) as app:
        client = await Client.connect(app, "c1")
        request = await paused(app, client)
        clock.offset_ms = 2_000
        with pytest.raises(ApprovalRefused):  # expired: the note names the request
            await app.approvals.decide("c1", {"approvalId": request["createdAt"]}, True)
        await client.say("what is the time?")
        await settle(app)
        with pytest.raises(ApprovalRefused) as refused:
            await app.approvals.decide("c1", {"approvalId": request["createdAt"]}, False)
        assert refused.value.code == "APPROVAL_SUPERSEDED"


async def test_a_superseded_request_is_not_decided_by_a_later_requests_decision() -> None:
    model = StepModel([calc()], None)
    async with running_app(fast_settings(**GATED), model=model) as app:
        client = await Client.connect(app, "c1")
        first = await paused(app, client)
        await client.say("what is 2*3?")  # pauses again, for its own call
        await settle(app)
        second = messages(client, "APPROVAL")[-1]
        assert second["createdAt"] != first["createdAt"]
        await app.approvals.decide("c1", {"approvalId": second["createdAt"]}, True)
        await settle(app)
        with pytest.raises(ApprovalRefused) as refused:
            await app.approvals.decide("c1", {"approvalId": first["createdAt"]}, True)
        assert refused.value.code == "APPROVAL_SUPERSEDED"


@pytest.mark.parametrize("decision", ["approve", "deny"])
async def test_decisions_read_back_from_a_real_store_are_told_apart(
    decision: str, tmp_path: Any
) -> None:
    """On SQLite (strings and keys read back as new objects), as on every durable store."""
    env = {**GATED, **sqlite_profile(tmp_path / "a.db")}
    async with running_app(fast_settings(**env), model=StepModel([calc()], None)) as app:
        client = await Client.connect(app, "c1")
        request = await paused(app, client)
        approve = decision == "approve"
        await app.approvals.decide("c1", {"approvalId": int(str(request["createdAt"]))}, approve)
        await settle(app)
        await app.approvals.decide("c1", {"approvalId": int(str(request["createdAt"]))}, approve)
        with pytest.raises(ApprovalRefused) as refused:
            frame = {"approvalId": int(str(request["createdAt"]))}
            await app.approvals.decide("c1", frame, not approve)
        assert refused.value.code == "APPROVAL_DECIDED"
        assert f"{'approved' if approve else 'denied'} already" in refused.value.message
        assert [m["message"] for m in messages(client, "APPROVAL_DECISION")] == [decision] * 2


async def test_a_decision_meets_the_message_limits_and_stores_nothing_when_refused() -> None:
    """A decision starts a model call: a client looping approveTool is held to the same
    bucket as its messages (RATE_LIMITED_CONNECTION, retryAfter), nothing stored."""
    from core.errors import LimitExceeded
    from testsupport.profiles import UNLIMITED

    limited = {
        **UNLIMITED,
        "AZUCHI_LIMIT_CONNECTION_MESSAGES_PER_MINUTE": "1",
        "AZUCHI_LIMIT_CONNECTION_BURST": "1",
    }
    settings = fast_settings(**GATED, **limited)
    async with running_app(settings, model=StepModel([calc()], None)) as app:
        client = await Client.connect(app, "c1")
        request = await paused(app, client)  # its putMessage took the one token
        with pytest.raises(LimitExceeded) as refused:
            await app.approvals.decide("c1", {"approvalId": request["createdAt"]}, True)
        assert refused.value.code == "RATE_LIMITED_CONNECTION"
        assert refused.value.retry_after_s >= 1
        assert not messages(client, "APPROVAL_DECISION")
        stored = await app.store.last_messages(client.session_id, 10)
        assert MessageType.APPROVAL_DECISION not in [m.message_type for m in stored]
