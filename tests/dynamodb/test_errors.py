"""Vendor errors mapped at the adapters' edge (stub clients that raise what DynamoDB raises)."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import EndpointConnectionError

from adapters.dynamodb.errors import Caller, RetryPolicy
from adapters.dynamodb.lock import DynamoSessionLock
from adapters.dynamodb.store import DynamoChatStore
from adapters.dynamodb.tables import TableNames
from core.domain import MessageDraft, Role, Session
from core.errors import BackendUnavailable, MessageRejected, ValueNotStorable
from core.ports import LeaseState
from tests.dynamodb.stubs import StubClient, client_error

pytestmark = pytest.mark.anyio

FAST = RetryPolicy(max_attempts=5, base_delay_s=0.001, max_delay_s=0.002)


def draft(text: str = "hi", **fields: Any) -> MessageDraft:
    return MessageDraft("s-1", Role.USER, "CONVERSATION", text, **fields)


@pytest.mark.parametrize(
    "failure",
    [
        client_error("ProvisionedThroughputExceededException"),
        client_error("ThrottlingException"),
        client_error("RequestLimitExceeded"),
        client_error("InternalServerError", status=500),
        EndpointConnectionError(endpoint_url="http://dynamodb.invalid"),
    ],
    ids=["throughput", "throttling", "request-limit", "5xx", "connection"],
)
async def test_a_transient_failure_is_retried_until_it_succeeds(failure: Exception) -> None:
    stub = StubClient(failure, failure, failure, {"Items": []}, {})
    store = DynamoChatStore(stub, TableNames(), retry=FAST)
    result = await store.append_message(draft())
    assert result.created
    assert [op for op, _ in stub.calls] == ["query"] * 4 + ["transact_write_items"]


async def test_throttling_that_never_ends_becomes_backend_unavailable() -> None:
    stub = StubClient(default=client_error("ProvisionedThroughputExceededException"))
    store = DynamoChatStore(stub, TableNames(), retry=FAST)
    with pytest.raises(BackendUnavailable) as failed:
        await store.get_session("s-1")
    assert len(stub.calls) == FAST.max_attempts
    assert "ProvisionedThroughputExceededException" in failed.value.message
    assert failed.value.code == "BACKEND_UNAVAILABLE"


async def test_backoff_grows_exponentially_with_full_jitter_and_a_cap() -> None:
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)

    policy = RetryPolicy(max_attempts=8, base_delay_s=0.01, max_delay_s=0.1)
    caller = Caller(StubClient(default=client_error("ThrottlingException")), policy, sleep)
    with pytest.raises(BackendUnavailable):
        await caller("get_item")
    assert len(slept) == 7
    assert all(0 <= s <= min(0.1, 0.01 * 2**i) for i, s in enumerate(slept))
    assert policy.delay(10, rand=lambda: 1.0) == 0.1


async def test_a_refusal_that_retrying_cannot_fix_fails_at_once() -> None:
    stub = StubClient(default=client_error("ResourceNotFoundException"))
    store = DynamoChatStore(stub, TableNames("azuchi-x-"), retry=FAST)
    with pytest.raises(BackendUnavailable) as failed:
        await store.get_session("s-1")
    assert len(stub.calls) == 1
    assert "azuchi-x-sessions" in failed.value.message
    assert "azuchi tables create" in failed.value.message


async def test_conditional_check_failures_take_their_domain_meaning() -> None:
    refused = client_error("ConditionalCheckFailedException")
    live = {"Item": {"sessionId": {"S": "s-1"}, "expiresAt": {"N": str(2**52)}}}
    lock = DynamoSessionLock(StubClient(refused, live, default=refused), "locks", retry=FAST)
    assert await lock.acquire("s-1", 1_000) is None  # held by someone else (read to tell)
    assert await lock.extend("s-1", "t", 1_000) is LeaseState.LOST
    assert await lock.release("s-1", "t") is False
    assert await lock.request_stop("s-1") is False
    store = DynamoChatStore(StubClient(default=refused), TableNames(), retry=FAST)
    await store.create_session(Session("s-1", created_at=1))  # already there: kept
    await store.record_answered("s-1", 5)  # marker already further on: kept


async def test_a_taken_key_moves_the_append_to_a_later_one() -> None:
    taken = client_error(
        "TransactionCanceledException",
        CancellationReasons=[{"Code": "ConditionalCheckFailed"}, {"Code": "None"}],
    )
    stub = StubClient({"Items": []}, taken, {})
    store = DynamoChatStore(stub, TableNames(), retry=FAST)
    result = await store.append_message(draft())
    (first, second) = [
        int(p["TransactItems"][0]["Put"]["Item"]["createdAt"]["N"])
        for op, p in stub.calls
        if op == "transact_write_items"
    ]
    assert second > first and result.message.created_at == second


async def test_a_larger_key_committed_first_moves_the_append_above_it() -> None:
    behind = client_error(
        "TransactionCanceledException",
        CancellationReasons=[{"Code": "None"}, {"Code": "ConditionalCheckFailed"}],
    )
    session = {"Item": {"sessionId": {"S": "s-1"}, "lastKey": {"N": str(2**50)}}}
    stub = StubClient({"Items": []}, behind, session, {})
    store = DynamoChatStore(stub, TableNames(), retry=FAST)
    result = await store.append_message(draft())
    assert result.message.created_at == 2**50 + 1  # above the high-water mark


async def test_a_repeat_found_by_its_guard_returns_the_first_message() -> None:
    cancelled = client_error(
        "TransactionCanceledException",
        CancellationReasons=[{"Code": "ConditionalCheckFailed"}, {"Code": "None"}],
    )
    stored = {
        "sessionId": {"S": "s-1"},
        "createdAt": {"N": "42"},
        "role": {"S": "USER"},
        "messageType": {"S": "CONVERSATION"},
        "message": {"S": "first"},
        "clientMessageId": {"S": "c-1"},
    }
    stub = StubClient({"Items": []}, cancelled, {"Item": {"ref": {"N": "42"}}}, {"Item": stored})
    store = DynamoChatStore(stub, TableNames(), retry=FAST)
    result = await store.append_message(draft("again", client_message_id="c-1"))
    assert not result.created
    assert (result.message.created_at, result.message.message) == (42, "first")


async def test_an_oversize_item_is_refused_before_any_write() -> None:
    stub = StubClient({"Items": []})
    store = DynamoChatStore(stub, TableNames(), retry=FAST)
    with pytest.raises(MessageRejected) as refused:
        await store.append_message(draft("x" * 410_000))
    assert refused.value.code == "ITEM_TOO_LARGE"
    assert stub.calls == []


async def test_a_validation_exception_is_a_validation_error_not_backend_unavailable() -> None:
    """DynamoDB refusing a value (a number past 38 digits ...) is the request's fault: it
    is not retried and is never reported to a client as BACKEND_UNAVAILABLE."""
    refused = client_error("ValidationException", status=400)
    stub = StubClient(default=refused)
    store = DynamoChatStore(stub, TableNames(), retry=FAST)
    with pytest.raises(ValueNotStorable) as failed:
        await store.get_session("s-1")
    assert failed.value.code == "VALUE_NOT_STORABLE"
    assert len(stub.calls) == 1
