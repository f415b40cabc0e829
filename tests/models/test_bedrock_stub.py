"""The Bedrock stub is honest: botocore decodes its framing, it refuses what Bedrock refuses,
and it runs on its own for ``azuchi serve``."""

from __future__ import annotations

import sys
from contextlib import aclosing
from pathlib import Path
from typing import Any

import aiohttp
import anyio
import pytest
from botocore.eventstream import ChecksumMismatch, EventStreamBuffer

from tests.models.test_bedrock import ask, bedrock
from testsupport.stubs.bedrock import Refused, running_bedrock_stub, validate
from testsupport.stubs.eventstream import event, exception

pytestmark = pytest.mark.anyio

ROOT = Path(__file__).resolve().parents[2]


def decode(data: bytes, piece: int) -> list[Any]:
    buffer = EventStreamBuffer()
    messages = []
    for at in range(0, len(data), piece):
        buffer.add_data(data[at : at + piece])
        messages.extend(buffer)
    return messages


@pytest.mark.parametrize("piece", [1, 7, 4096])
def test_botocore_decodes_the_framing_however_it_is_split(piece: int) -> None:
    data = event("contentBlockDelta", {"contentBlockIndex": 0, "delta": {"text": "城"}}, 9)
    data += exception("throttlingException", "Too many requests")

    delta, error = decode(data, piece)

    assert delta.headers == {
        ":event-type": "contentBlockDelta",
        ":content-type": "application/json",
        ":message-type": "event",
    }
    assert delta.payload == b'{"contentBlockIndex":0,"delta":{"text":"\\u57ce"},"p":"abcdefghi"}'
    assert error.headers[":exception-type"] == "throttlingException"
    assert error.to_response_dict()["status_code"] == 400


def test_a_corrupted_frame_fails_botocores_checksum() -> None:
    data = bytearray(event("messageStop", {"stopReason": "end_turn"}))
    data[-6] ^= 0x01  # one bit of the payload

    with pytest.raises(ChecksumMismatch):
        decode(bytes(data), 4096)


USER = {"role": "user", "content": [{"text": "hi"}]}
CALL = {"toolUse": {"toolUseId": "t1", "name": "calculate", "input": {}}}
RESULT = {"toolResult": {"toolUseId": "t1", "content": [{"text": "2"}]}}
TOOLS = {"tools": [{"toolSpec": {"name": "calculate", "inputSchema": {"json": {}}}}]}
CACHE = {"cachePoint": {"type": "default"}}


@pytest.mark.parametrize(
    ("body", "complaint"),
    [
        ({"messages": [{"role": "assistant", "content": [{"text": "hi"}]}]}, "start with a user"),
        ({"messages": [USER, USER]}, "alternate between user and assistant"),
        ({"messages": [{"role": "user", "content": [{"text": " "}]}]}, "is blank"),
        ({"messages": [{"role": "user", "content": [CACHE]}]}, "is empty"),
        (
            {
                "messages": [
                    USER,
                    {"role": "assistant", "content": [CALL]},
                    {**USER, "content": [RESULT]},
                ]
            },
            "toolConfig field must be defined",
        ),
        (
            {
                "messages": [USER, {"role": "assistant", "content": [CALL]}, USER],
                "toolConfig": TOOLS,
            },
            "Expected toolResult blocks at messages.2.content",
        ),
        ({"messages": [{**USER, "content": [{"text": "a"}, CACHE] * 5}]}, "cache points"),
    ],
)
def test_the_stub_refuses_what_bedrock_refuses(body: dict[str, Any], complaint: str) -> None:
    with pytest.raises(Refused) as refused:
        validate(body)

    assert refused.value.status == 400 and refused.value.code == "ValidationException"
    assert complaint in refused.value.message


async def test_an_unsigned_request_is_refused_like_aws_does() -> None:
    async with running_bedrock_stub() as stub, aiohttp.ClientSession() as http:
        url = f"{stub.url}/model/m/converse-stream"
        async with http.post(url, json={"messages": [USER]}) as response:
            body = await response.json()
            error_type = response.headers["x-amzn-ErrorType"]

    assert response.status == 403
    assert error_type.startswith("MissingAuthenticationTokenException:")
    assert body == {"message": "Missing Authentication Token"}
    assert stub.requests == []


async def test_first_byte_is_stamped_once_per_streamed_reply() -> None:
    async with running_bedrock_stub(tokens_per_second=200, reply_tokens=5) as stub:
        async with bedrock(stub) as model:
            for prompt in ("one", "two"):
                async with aclosing(model.stream(ask(prompt))) as events:
                    _ = [e async for e in events]

    assert len(stub.first_byte_at) == 2
    assert stub.first_byte_at[0] < stub.first_byte_at[1]


async def test_the_stub_runs_on_its_own_for_azuchi_serve() -> None:
    command = [sys.executable, "-m", "testsupport.stubs.bedrock", "--port", "0"]
    process = await anyio.open_process(command, cwd=ROOT, stderr=None)
    try:
        assert process.stdout is not None
        line = b""
        with anyio.fail_after(20):
            while b"\n" not in line:
                line += await process.stdout.receive()
        first = line.decode().splitlines()[0]
        assert first.startswith("Bedrock stub listening on http://127.0.0.1:")
        async with bedrock(first.rsplit(" ", 1)[1]) as model:
            async with aclosing(model.stream(ask("hello"))) as events:
                text = "".join([getattr(e, "text", "") async for e in events])
    finally:
        process.terminate()
        await process.wait()

    assert text.startswith('You said: "hello".')
