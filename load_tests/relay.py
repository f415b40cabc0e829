"""The bare relay: what streaming the same reply costs with none of azuchi's work.

An aiohttp WebSocket server that answers each putMessage the way a scripted azuchi reply
looks on the wire — the USER echo, delta frames of the same sizes at the same times, the
final AGENT message and ``done`` — with no store, no lock, no fan-out and no gateway
emulation. It reuses azuchi's own pieces for the pace, so the two cannot drift apart: the
scripted model (same text, same token rate) and ``DeltaStream`` (first chunk at once, then
one frame per coalescing window, each under 32 KB), sending straight to the socket.

    python -m load_tests.relay [--port 0] [--tokens-per-second 50] [--reply-tokens 300]
                               [--first-token-delay-ms 0] [--coalesce-ms 200]

prints ``relay listening at ws://HOST:PORT/relay`` once it listens.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import signal
import time
import uuid
from typing import Any, cast

from aiohttp import WSMsgType, web

from adapters.inprocess.scripted_model import ScriptedChatModel, ScriptedSettings
from core.config import BILLING_FRAME_BYTES, ROUTES
from core.domain import ModelRequest, TextDelta, Usage, UsageReported
from core.protocol import Frame, done_frame, encode
from core.services.coalesce import DeltaStream
from core.services.fanout import Fanout

PATH = "/relay"


class _Socket:
    """DeltaStream's fan-out, cut down to one socket."""

    def __init__(self, ws: web.WebSocketResponse) -> None:
        self._ws = ws

    async def send(self, frame: Frame) -> None:
        if not self._ws.closed:
            await self._ws.send_str(encode(frame))


class Relay:
    def __init__(self, scripted: ScriptedSettings, coalesce_ms: int) -> None:
        self._scripted = scripted
        self._coalesce_ms = coalesce_ms
        self._last_ms = 0

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_get(PATH, self.handle)
        return app

    async def handle(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(max_msg_size=0)
        await ws.prepare(request)
        session_id = request.query.get("sessionId") or str(uuid.uuid4())
        tasks: set[asyncio.Task[None]] = set()
        async for msg in ws:
            if msg.type is not WSMsgType.TEXT:
                continue
            try:
                frame = json.loads(msg.data)
            except ValueError:
                frame = {}
            if isinstance(frame, dict) and frame.get("action") == "putMessage":
                task = asyncio.create_task(self.reply(ws, session_id, frame))
                tasks.add(task)
                task.add_done_callback(tasks.discard)
            elif isinstance(frame, dict) and frame.get("action") == "getMessages":
                await ws.send_str(encode(_empty_history(session_id)))
            else:
                routes = {"type": "routes", "sessionId": session_id, "routes": list(ROUTES)}
                await ws.send_str(encode(routes))
        for task in tasks:
            task.cancel()
        return ws

    async def reply(
        self, ws: web.WebSocketResponse, session_id: str, frame: dict[str, Any]
    ) -> None:
        text = str(frame.get("message", ""))
        sink = _Socket(ws)
        created = self._created_at()
        await sink.send(
            {
                "type": "message",
                "sessionId": session_id,
                "createdAt": created,
                "role": "USER",
                "messageType": "CONVERSATION",
                "message": text,
                "clientMessageId": frame.get("clientMessageId"),
            }
        )
        reply_id = uuid.uuid4().hex  # the same length as azuchi's, so frames weigh the same
        model = ScriptedChatModel(self._scripted)
        usage = Usage()
        parts: list[str] = []
        fanout = cast(Fanout, sink)
        window, limit = self._coalesce_ms, BILLING_FRAME_BYTES
        async with DeltaStream(fanout, session_id, reply_id, "CONVERSATION", window, limit) as out:
            async for event in model.stream(ModelRequest(system="", history=(), prompt=text)):
                if isinstance(event, TextDelta):
                    parts.append(event.text)
                    out.push(event.text)
                elif isinstance(event, UsageReported):
                    usage = event.usage
        await sink.send(
            {
                "type": "message",
                "sessionId": session_id,
                "createdAt": self._created_at(),
                "role": "AGENT",
                "messageType": "CONVERSATION",
                "message": "".join(parts),
                "replyId": reply_id,
                "replyTo": created,
                "status": "complete",
                "model": model.model_id,
                "usage": usage.to_wire(),
            }
        )
        await sink.send(done_frame(session_id, reply_id, "complete", usage))

    def _created_at(self) -> int:
        self._last_ms = max(self._last_ms + 1, time.time_ns() // 1_000_000)
        return self._last_ms


def _empty_history(session_id: str) -> Frame:
    return {"type": "history", "sessionId": session_id, "messages": [], "next": None}


def main() -> None:
    parser = argparse.ArgumentParser(description="The bare WebSocket relay for load tests.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--tokens-per-second", type=float, default=50.0)
    parser.add_argument("--reply-tokens", type=int, default=300)
    parser.add_argument("--first-token-delay-ms", type=int, default=0)
    parser.add_argument("--coalesce-ms", type=int, default=200)
    args = parser.parse_args()
    scripted = ScriptedSettings(
        tokens_per_second=args.tokens_per_second,
        reply_tokens=args.reply_tokens,
        first_token_delay_ms=args.first_token_delay_ms,
    )
    asyncio.run(_serve(Relay(scripted, args.coalesce_ms), args.host, args.port))


async def _serve(relay: Relay, host: str, port: int) -> None:
    runner = web.AppRunner(relay.app(), access_log=None, handle_signals=False)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    await site.start()
    bound = runner.addresses[0][1]
    print(f"relay listening at ws://{host}:{bound}{PATH}", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        await runner.cleanup()


if __name__ == "__main__":
    main()
