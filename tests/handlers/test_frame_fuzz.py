"""Arbitrary frames through the handlers: every one is answered, every answer can be
encoded, nothing is stored for a refused one, and the session stays readable after it.

Frames are JSON-like values with the protocol's field names and anything else in them:
deep nesting, lone surrogates (escaped and raw), numbers past any store's range, wrong
types, strings past the message limit; sent as JSON, as raw text, as base64 bytes that are
not UTF-8. Route selection is the local gateway's, which plays API Gateway's
``$request.body.action``.
"""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from adapters.bootstrap import App, build_app
from adapters.inprocess.transport import Outbox
from adapters.local_gateway.events import select_route
from core.domain import Role
from handlers.routes import WEBSOCKET_ROUTES
from tests.handlers import samples
from tests.support import PrivateLoop, fast_settings, settle

ANSWERS = {"routes", "error", "message", "history"}
REFUSALS = {"routes", "error"}

any_char = st.characters(codec=None, exclude_categories=())  # surrogates included
texts = st.one_of(
    st.text(any_char, max_size=30),
    st.sampled_from(["\ud800", "x\udfffy", "\udbff\udc00", "", " ", "hi", "x" * 17_000]),
)
numbers = st.one_of(
    st.integers(),
    st.sampled_from([2**63, -(2**63) - 1, int("1234567890" * 4), 10**400, int("9" * 4_000)]),
    st.floats(allow_nan=True, allow_infinity=True),
)
leaves = st.one_of(st.none(), st.booleans(), numbers, texts)
values = st.recursive(
    leaves,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(texts, inner, max_size=3),
    max_leaves=12,
)
ACTIONS = ["putMessage", "getMessages", "stopGeneration", "$default", "$connect", "nope"]
frames = st.builds(
    lambda fields, extra: {**extra, **fields},
    st.fixed_dictionaries(
        {"action": st.sampled_from(ACTIONS) | values},
        optional={
            "message": texts | values,
            "clientMessageId": texts | values,
            "after": numbers | values,
            "limit": numbers | values,
            "sessionId": texts,
        },
    ),
    st.dictionaries(texts, values, max_size=2),
)


def _nested(depth: int, inner: str) -> str:
    return "[" * depth + inner + "]" * depth


bodies = st.one_of(
    frames.map(lambda f: json.dumps(f)),  # surrogates as \\ud800 escapes: valid JSON
    frames.map(lambda f: json.dumps(f, ensure_ascii=False)),  # raw surrogates in the text
    st.builds(
        lambda depth, f: '{"action":"putMessage","message":"hi","x":' + _nested(depth, "") + "}",
        st.integers(1, 5_000),
        frames,
    ),
    st.integers(1, 5_000).map(lambda depth: _nested(depth, '{"action":"putMessage"}')),
    st.just('{"action":"getMessages","after":' + "9" * 5_000 + "}"),  # past int's digit limit
    st.text(any_char, max_size=200),
)


class Body:
    """One frame as API Gateway hands it over: text, or base64 of bytes (perhaps not UTF-8)."""

    def __init__(self, text: str | None = None, raw: bytes | None = None) -> None:
        self.text, self.raw = text, raw

    def event(self, connection_id: str) -> dict[str, Any]:
        if self.raw is None:
            assert self.text is not None
            return samples.message(
                connection_id, select_route(self.text, WEBSOCKET_ROUTES), self.text
            )
        decoded = self.raw.decode("utf-8", "replace")
        event = samples.message(connection_id, select_route(decoded, WEBSOCKET_ROUTES), "")
        event["body"] = base64.b64encode(self.raw).decode("ascii")
        event["isBase64Encoded"] = True
        return event

    def __repr__(self) -> str:
        return f"Body({self.text!r:.300})" if self.raw is None else f"Body(raw={self.raw!r:.300})"


any_body = st.one_of(
    bodies.map(Body),
    st.binary(max_size=200).map(lambda raw: Body(raw=raw)),
    frames.map(lambda f: Body(raw=json.dumps(f).encode() + b"\xff\xfe")),
)


class Harness(PrivateLoop):
    """One app on a private loop for every example; each example is a new connection in a
    new session, so what one example stored cannot be mistaken for another's."""

    def __init__(self) -> None:
        super().__init__(build_app(fast_settings(AZUCHI_TITLES="false")))
        self.app: App = self.value
        self.count = 0

    async def check(self, body: Body) -> None:
        self.count += 1
        cid = f"fuzz{self.count:012d}="
        session_id = await self.app.chat.connect(cid, None)
        outbox = Outbox()
        self.app.hub.attach(cid, outbox)
        handler = WEBSOCKET_ROUTES[body.event(cid)["requestContext"]["routeKey"]]
        assert await handler(body.event(cid), self.app) == {"statusCode": 200}
        await settle(self.app)
        answers = [_frame(text) for text in outbox.frames]
        assert answers, "the frame got no answer"
        first = answers[0]
        assert first["type"] in ANSWERS, first
        stored = await self.app.store.last_messages(session_id, 10)
        users = [m for m in stored if m.role is Role.USER]
        if first["type"] in REFUSALS:
            assert stored == [], f"{first} but stored {stored}"
        elif first["type"] == "message":
            assert first["role"] == "USER" and [m.message for m in users] == [first["message"]]
        # Whatever came before, the session still answers getMessages.
        await WEBSOCKET_ROUTES["getMessages"](
            samples.message(cid, "getMessages", {"action": "getMessages"}), self.app
        )
        assert _frame(outbox.frames[-1])["type"] == "history"
        self.app.hub.detach(cid)


def _frame(text: str) -> dict[str, Any]:
    text.encode("utf-8")  # every answer can go out on a socket
    frame = json.loads(text)
    assert isinstance(frame, dict) and "type" in frame
    return frame


@pytest.fixture(scope="module")
def harness() -> Any:
    harness = Harness()
    yield harness
    harness.close()


@settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(body=any_body)
def test_every_frame_is_answered_and_a_refused_one_stores_nothing(
    harness: Harness, body: Body
) -> None:
    harness.run(harness.check(body))
