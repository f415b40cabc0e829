"""The asynchronous reply start on AWS: putMessage invokes the reply worker (InvocationType
Event) through the real aioboto3 Lambda client, here against a stub of the Invoke API."""

from __future__ import annotations

import logging

import pytest
from anyio.from_thread import start_blocking_portal

from adapters.awslambda.launcher import LambdaInvokeLauncher
from adapters.bootstrap import build_app
from adapters.inprocess.launcher import InlineReplyLauncher
from adapters.registry import UnknownAdapter
from adapters.settings import SettingsError
from core.domain import Role
from handlers import connect, generate_reply, lambda_runtime, put_message, reply_worker
from tests.aws.gateway import aws_like_gateway
from tests.aws.lambda_app import CID, WORKER, connected, frames, lambda_app, roles, say
from tests.aws.lambda_stub import Invocation, serving_lambda
from tests.handlers import samples
from tests.support import fast_settings
from testsupport.ports import free_port

pytestmark = pytest.mark.anyio

# --- putMessage → Invoke(Event) → worker -------------------------------------------------


async def test_put_message_stores_and_returns_with_the_reply_left_to_the_worker(stub):
    async with lambda_app(stub.url) as app:
        outbox, session_id = await connected(app)
        assert await say(app, "hi") == {"statusCode": 200}

        assert await roles(app, session_id) == [Role.USER]  # stored, not yet answered
        assert [f["message"] for f in frames(outbox, "message")] == ["hi"]
        assert frames(outbox, "delta") == [] and frames(outbox, "done") == []
        assert stub.invocations == [Invocation(WORKER, "Event", {"sessionId": session_id})]

        result = await reply_worker.handle(stub.payloads(WORKER)[0], app)
        assert result == {"status": "done", "sessionId": session_id, "replies": 1}
        assert [f["status"] for f in frames(outbox, "done")] == ["complete"]
        assert await roles(app, session_id) == [Role.USER, Role.AGENT]


async def test_a_repeated_invocation_produces_no_second_reply(stub):
    async with lambda_app(stub.url) as app:
        outbox, session_id = await connected(app)
        await say(app, "one")
        await say(app, "two")
        first, second = stub.payloads(WORKER)
        assert first == second == {"sessionId": session_id}

        assert (await reply_worker.handle(first, app))["replies"] == 2  # the drain loop
        assert (await reply_worker.handle(second, app))["replies"] == 0
        assert (await reply_worker.handle(first, app))["replies"] == 0  # Lambda's retry
        stored = await app.store.last_messages(session_id, 50)
        users = [m.created_at for m in stored if m.role is Role.USER]
        assert [m.reply_to for m in stored if m.role is Role.AGENT] == users  # one reply each
        assert len(frames(outbox, "done")) == 2


async def test_the_rest_api_answers_202_and_leaves_the_reply_to_the_worker(stub):
    async with lambda_app(stub.url) as app:
        _, session_id = await connected(app)
        response = await generate_reply.handle(samples.generate(session_id, {"message": "hi"}), app)
        assert response["statusCode"] == 202
        assert await roles(app, session_id) == [Role.USER]
        assert stub.payloads(WORKER) == [{"sessionId": session_id}]


@pytest.mark.parametrize(
    "payload",
    [{}, {"sessionId": "not-a-uuid"}, {"sessionId": 42}, "sessionId", [1], None],
)
async def test_the_worker_drops_a_bad_payload_with_a_clear_error(stub, payload, caplog):
    async with lambda_app(stub.url) as app:
        _, session_id = await connected(app)
        await say(app, "hi")
        with caplog.at_level(logging.ERROR, logger="handlers.reply_worker"):
            result = await reply_worker.handle(payload, app)
        assert result["status"] == "rejected"
        assert result["error"]["code"] == "INVALID_PAYLOAD"
        assert "sessionId" in result["error"]["message"]
        assert "dropped a bad payload" in caplog.text
        assert await roles(app, session_id) == [Role.USER]  # untouched, still pending


async def test_a_websocket_client_gets_its_reply_from_the_worker_through_connections(
    stub, open_client
):
    """The whole AWS path: putMessage → Invoke(Event) → 202 → the worker (run by the stub as
    Lambda's queue would) → the API Gateway transport → @connections → the client."""
    launcher = LambdaInvokeLauncher(WORKER, endpoint_url=stub.url)
    try:
        async with aws_like_gateway(launcher=launcher) as gateway:
            stub.on_event = lambda payload: reply_worker.handle(payload, gateway.app)
            client = await open_client(gateway)
            await client.send(action="putMessage", message="hello from the browser")
            frames = await client.recv_type("done")
            assert frames[0]["role"] == "USER"
            assert any(f["type"] == "delta" for f in frames)
            assert frames[-1]["status"] == "complete"
            assert stub.payloads(WORKER) == [{"sessionId": frames[0]["sessionId"]}]
    finally:
        await launcher.aclose()


# --- when the invoke fails ------------------------------------------------------------------


async def test_an_unknown_function_tells_the_user_and_the_message_waits(stub):
    async with lambda_app(stub.url, function="no-such-worker") as app:
        outbox, session_id = await connected(app)
        assert await say(app, "hi") == {"statusCode": 200}

        (error,) = frames(outbox, "error")
        assert error["code"] == "BACKEND_UNAVAILABLE"
        assert "ResourceNotFoundException" in error["message"]
        assert "Your message is saved" in error["message"]
        assert error["action"] == "putMessage"
        assert await roles(app, session_id) == [Role.USER]
        # Nothing lost: the next invocation that gets through answers it.
        assert (await reply_worker.handle({"sessionId": session_id}, app))["replies"] == 1


async def test_an_unreachable_lambda_tells_the_user_and_keeps_the_message():
    dead = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    launcher = LambdaInvokeLauncher(WORKER, endpoint_url=dead, max_attempts=1)
    app = build_app(fast_settings(), overrides={"launcher": launcher})
    try:
        outbox, session_id = await connected(app)
        await say(app, "hi")
        (error,) = frames(outbox, "error")
        assert error["code"] == "BACKEND_UNAVAILABLE"
        assert "could not be reached" in error["message"] and WORKER in error["message"]
        assert await roles(app, session_id) == [Role.USER]
    finally:
        await launcher.aclose()
        await app.aclose()


# --- choosing the launcher -----------------------------------------------------------------


def test_inline_is_the_default_launcher():
    app = build_app(fast_settings(), runtime="lambda")
    assert isinstance(app.launcher, InlineReplyLauncher)


@pytest.mark.parametrize(
    ("env", "words"),
    [
        ({"AZUCHI_REPLY_LAUNCHER": "lambda"}, "needs AZUCHI_REPLY_FUNCTION"),
        ({"AZUCHI_REPLY_LAUNCHER": "sqs"}, "AZUCHI_REPLY_LAUNCHER='sqs'"),
    ],
)
def test_a_launcher_setting_azuchi_cannot_use_is_a_clear_error(env, words):
    with pytest.raises((SettingsError, UnknownAdapter), match=words):
        build_app(fast_settings(**env), runtime="lambda")


# --- the Lambda entry points, settings from the environment --------------------------------


def test_the_lambda_handlers_chat_through_an_asynchronous_invoke(monkeypatch):
    with (
        start_blocking_portal() as portal,
        portal.wrap_async_context_manager(serving_lambda([WORKER])) as stub,
    ):
        for name, value in {
            "AZUCHI_REPLY_LAUNCHER": "lambda",
            "AZUCHI_REPLY_FUNCTION": f"arn:aws:lambda:us-east-1:000000000000:function:{WORKER}",
            "AWS_ENDPOINT_URL_LAMBDA": stub.url,
            "AZUCHI_SCRIPTED_TOKENS_PER_SECOND": "0",
        }.items():
            monkeypatch.setenv(name, value)
        monkeypatch.delenv("AZUCHI_STORAGE", raising=False)
        monkeypatch.setattr(lambda_runtime, "_app", None)
        monkeypatch.setattr(lambda_runtime, "_loop", None)

        assert connect.handler(samples.connect(CID), None) == {"statusCode": 200}
        frame = {"action": "putMessage", "message": "hi"}
        assert put_message.handler(samples.message(CID, "putMessage", frame), None) == {
            "statusCode": 200
        }
        (payload,) = stub.payloads(WORKER)
        assert reply_worker.handler(payload, None)["replies"] == 1
        assert reply_worker.handler(payload, None)["replies"] == 0
        app = lambda_runtime.lambda_app()
        stored = lambda_runtime._run(app.store.last_messages(payload["sessionId"], 10))
        assert [m.role for m in stored] == [Role.USER, Role.AGENT]
        lambda_runtime._run(app.aclose())
