"""The floor for bench/loop_bench.py: a minimal aiohttp relay of the frames azuchi sends.

    python bench/minimal_relay.py PORT TOKENS_PER_SECOND REPLY_TOKENS COALESCE_MS [tokens]

The scripted model's text, cut into the chunks azuchi's coalescer sends (the first token at
once, then what is due at each window's end, the rest when the last token is due), between
the USER echo and the AGENT message and done. No model loop, store, lock or gateway.

By default the relay wakes once per window. With ``tokens`` it takes the text as a
provider streams it, one token at a time at its due time (absolute deadlines, as the
scripted model and a network stream do), and sends what has arrived once a window has
passed: the floor for any server that relays a per-token model stream.
"""

import asyncio
import json
import re
import sys
import time
import uuid

from aiohttp import WSMsgType, web

from adapters.inprocess.scripted_model import FILLER, INTRO

PORT, RATE, TOKENS, WINDOW_MS = (int(sys.argv[1]), float(sys.argv[2]), *map(int, sys.argv[3:5]))
PER_TOKEN = sys.argv[5:6] == ["tokens"]
ROUTES = ["putMessage", "getMessages", "stopGeneration"]


async def reply(ws: web.WebSocketResponse, sid: str, text: str, cid: str | None) -> None:
    send, now_ms = lambda **frame: ws.send_str(json.dumps(frame)), time.time_ns() // 10**6
    said = " ".join(text.split())[:200]
    base = {"sessionId": sid, "messageType": "CONVERSATION"}
    await send(
        type="message", createdAt=now_ms, role="USER", message=text, clientMessageId=cid, **base
    )
    words, filler = (INTRO + f'You said: "{said}". ').split(), FILLER.split()
    words += [filler[i % len(filler)] for i in range(TOKENS - len(words))]
    tokens, rid, sent, seq, t0 = (
        re.findall(r"\S+\s*", " ".join(words)),
        uuid.uuid4().hex,
        0,
        0,
        time.monotonic(),
    )
    if PER_TOKEN:
        await relay_tokens(send, base, rid, tokens, t0)
    while not PER_TOKEN and sent < len(tokens):
        elapsed = time.monotonic() - t0
        if (due := min(len(tokens), int(elapsed * RATE) + 1)) > sent:
            await send(type="delta", replyId=rid, seq=seq, text="".join(tokens[sent:due]), **base)
            sent, seq = due, seq + 1
        window_end = (int(elapsed * 1000 / WINDOW_MS) + 1) * WINDOW_MS / 1000
        await asyncio.sleep(max(0.0, min(window_end, (len(tokens) - 1) / RATE) - elapsed))
    usage = {"inputTokens": len(said.split()), "outputTokens": len(tokens)}
    await send(
        type="message",
        createdAt=now_ms + 1,
        role="AGENT",
        message="".join(tokens),
        replyId=rid,
        replyTo=now_ms,
        status="complete",
        usage=usage,
        **base,
    )
    await send(type="done", sessionId=sid, replyId=rid, status="complete", usage=usage)


async def relay_tokens(send, base, rid: str, tokens: list[str], t0: float) -> None:  # type: ignore[no-untyped-def]
    """Each token awaited at its due time; what arrived is sent at once for the first
    token, then whenever a window has ended since the last send, the rest at the end."""
    pending: list[str] = []
    seq, next_send = 0, 0.0
    for index, token in enumerate(tokens):
        delay = t0 + index / RATE - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        pending.append(token)
        elapsed = time.monotonic() - t0
        if elapsed >= next_send or index == len(tokens) - 1:
            await send(type="delta", replyId=rid, seq=seq, text="".join(pending), **base)
            pending, seq = [], seq + 1
            next_send = (int(elapsed * 1000 / WINDOW_MS) + 1) * WINDOW_MS / 1000


async def handle(request: web.Request) -> web.WebSocketResponse:
    ws, sid, tasks = (
        web.WebSocketResponse(),
        request.query.get("sessionId") or str(uuid.uuid4()),
        set(),
    )
    await ws.prepare(request)
    async for msg in ws:
        frame = json.loads(msg.data) if msg.type is WSMsgType.TEXT else {}
        if frame.get("action") == "putMessage":
            tasks.add(
                task := asyncio.ensure_future(
                    reply(ws, sid, str(frame.get("message")), frame.get("clientMessageId"))
                )
            )
            task.add_done_callback(tasks.discard)
        elif frame.get("action") == "getMessages":
            await ws.send_str(
                json.dumps({"type": "history", "sessionId": sid, "messages": [], "next": None})
            )
        else:
            await ws.send_str(json.dumps({"type": "routes", "sessionId": sid, "routes": ROUTES}))
    return ws


async def main() -> None:
    app = web.Application()
    app.router.add_get("/relay", handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", PORT).start()
    print(f"relay listening at ws://127.0.0.1:{PORT}/relay", flush=True)
    await asyncio.Event().wait()  # until the bench terminates the process


if __name__ == "__main__":
    asyncio.run(main())
