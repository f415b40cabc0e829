"""The reply worker's failed invocations, read from its on-failure queue: the session is told,
never left with a message that silently gets no answer (handlers/reply_failures.py)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from adapters.inprocess.launcher import InlineReplyLauncher
from core.errors import BackendUnavailable
from handlers import put_message, reply_failures
from tests.handlers import samples
from tests.support import Client, running_app, settle

pytestmark = pytest.mark.anyio

CID = "Tqqg2cgqjoECFLQ="


async def _lost(session_id: str) -> None:
    """A launcher whose reply never comes: the worker's invocation failed on AWS."""


async def _say(client: Client, text: str) -> None:
    frame = {"action": "putMessage", "message": text}
    event = samples.message(client.connection_id, "putMessage", frame)
    assert await put_message.handle(event, client.app) == {"statusCode": 200}


async def test_a_lost_reply_gets_a_system_log_on_every_connection_and_the_message_stays() -> None:
    async with running_app(launcher=InlineReplyLauncher(_lost)) as app:
        client = await Client.connect(app, CID)
        other = await Client.connect(app, "Other1Conn1Bb=", client.session_id)
        await _say(client, "hello?")
        answer = await reply_failures.handle(samples.failed_invocation(client.session_id), app)
        assert answer == {"batchItemFailures": []}
        for someone in (client, other):
            (note,) = [m for m in someone.of_type("message") if m["role"] == "SYSTEM"]
            assert note["messageType"] == "SYSTEM_LOG"
            assert "could not be produced (the agent failed twice)" in note["message"]
            assert "Your message is saved" in note["message"]
        stored = await app.store.last_messages(client.session_id, 10)
        assert [(m.role.value, m.message_type) for m in stored] == [
            ("USER", "CONVERSATION"),
            ("SYSTEM", "SYSTEM_LOG"),
        ]


async def test_an_invocation_too_old_to_run_says_so() -> None:
    async with running_app(launcher=InlineReplyLauncher(_lost)) as app:
        client = await Client.connect(app, CID)
        await _say(client, "hello?")
        event = samples.failed_invocation(client.session_id, condition="EventAgeExceeded")
        await reply_failures.handle(event, app)
        (note,) = [m for m in client.of_type("message") if m["role"] == "SYSTEM"]
        assert "could not start in time" in note["message"]


async def test_a_session_answered_since_gets_no_note() -> None:
    """The next message drained what was pending: a late failure record says nothing."""
    async with running_app() as app:
        client = await Client.connect(app, CID)
        await _say(client, "hello")
        await settle(app)
        before = len(client.frames)
        await reply_failures.handle(samples.failed_invocation(client.session_id), app)
        assert len(client.frames) == before
        roles = [m.role.value for m in await app.store.last_messages(client.session_id, 10)]
        assert roles == ["USER", "AGENT"]


@pytest.mark.parametrize("body", ["not json", json.dumps({"requestPayload": {}}), "[]"])
async def test_a_record_without_a_session_is_dropped_not_redelivered(body: str) -> None:
    async with running_app() as app:
        event: dict[str, Any] = samples.failed_invocation("x")
        event["Records"][0]["body"] = body
        assert await reply_failures.handle(event, app) == {"batchItemFailures": []}


class DownStore:
    """The chat store with DynamoDB unreachable."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    async def get_session(self, session_id: str) -> Any:
        raise BackendUnavailable("DynamoDB could not be reached.")


async def test_a_record_that_cannot_be_reported_now_comes_back_later() -> None:
    async with running_app(launcher=InlineReplyLauncher(_lost)) as app:
        client = await Client.connect(app, CID)
        await _say(client, "hello?")
        app.replies._store = DownStore(app.store)  # type: ignore[assignment]
        event = samples.failed_invocation(client.session_id)
        answer = await reply_failures.handle(event, app)
        assert answer == {
            "batchItemFailures": [{"itemIdentifier": event["Records"][0]["messageId"]}]
        }
