"""The frames' bytes on the wire: ``core.protocol.encode`` (its C encoder is built once)
writes exactly what ``json.dumps`` with the protocol's options writes (docs/protocol.md)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from core.domain import Message, Role, Usage
from core.protocol import (
    delta_frame,
    done_frame,
    encode,
    error_frame,
    history_frame,
    message_frame,
    routes_frame,
)


def _reference(frame: Any) -> str:
    return json.dumps(frame, ensure_ascii=False, separators=(",", ":"))


MESSAGE = Message(
    session_id="s-1",
    created_at=1_700_000_000_123,
    role=Role.AGENT,
    message_type="CONVERSATION",
    message='Say "hi"\n日本語の城 🏯 \u2028 \x01 back\\slash',
    reply_id="r" * 32,
    reply_to=1_700_000_000_000,
    status="complete",
    usage=Usage(input_tokens=12, output_tokens=300),
    cost_usd=0.0045,
)

FRAMES = [
    delta_frame("s-1", "r" * 32, 0, "CONVERSATION", "Hello"),
    delta_frame("s-1", "r" * 32, 10**9, "REASONING", 'tab\t"quote" é 🏯 \x1f'),
    message_frame(MESSAGE),
    done_frame("s-1", "r" * 32, "complete", Usage(1, 2), 0.25, "end_turn"),
    done_frame("s-1", "r" * 32, "stopped", Usage(), None, None),
    routes_frame("s-1", "note", "NO_ACTION", {"maxMessageBytes": 16384, "rate": 1.5}),
    history_frame("s-1", [message_frame(MESSAGE)] * 3, 42, rewound=True),
    error_frame(None, "LIMIT", "slow down", retryAfter=2.5, nested={"a": [1, None, True]}),
]


@pytest.mark.parametrize("frame", FRAMES, ids=lambda f: str(f.get("type")))
def test_every_frame_is_written_byte_for_byte_as_json_dumps_writes_it(frame: Any) -> None:
    assert encode(frame) == _reference(frame)
    assert json.loads(encode(frame)) == frame


def test_a_value_json_cannot_write_is_refused_with_the_json_modules_error() -> None:
    with pytest.raises(TypeError, match="not JSON serializable"):
        encode({"type": "delta", "text": object()})
