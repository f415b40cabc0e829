"""Killing ``azuchi serve`` mid-reply and starting it again (tests/faults, bench/recovery_bench.py).

``crash_and_recover`` runs one case end to end and returns what was seen and stored:
1. start ``azuchi serve`` on ``env`` (a durable store), send one message, read its deltas
   until the store's checkpoint of the reply matches a prefix of what the client saw;
2. SIGKILL the server (no shutdown, no release of its lease);
3. start it again and reconnect to the session as the page does (``?sessionId=`` and
   ``getMessages``), sending no message; read frames until the recovered reply is complete,
   live or stored, timing it from the restart. A restarted server may recover the reply
   before the client is back (SQLite: a dead process's lease is taken over at once), so
   what the client learns may come as stored ``message`` frames of a ``history`` as well
   as live ``done`` frames.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import websockets

from testsupport.ports import free_port, http_answers, wait_ready

ROOT = Path(__file__).resolve().parents[1]
CheckpointReader = Callable[[str], str | None]

# The first server streams slowly and checkpoints often; the lease is short so that
# recovery starts soon after the kill where the dead holder's lease must run out (DynamoDB).
STREAMING = {
    "AZUCHI_SCRIPTED_TOKENS_PER_SECOND": "10",
    "AZUCHI_SCRIPTED_REPLY_TOKENS": "400",
    "AZUCHI_CHECKPOINT_SECONDS": "0.3",
    "AZUCHI_LOCK_LEASE_MS": "6000",
    "AZUCHI_HEARTBEAT_MS": "500",
    "AZUCHI_RECOVERY_SWEEP_SECONDS": "1",
    "AZUCHI_TITLES": "false",
}


@dataclass
class CrashOutcome:
    session_id: str
    reply_id: str  # the reply the kill cut
    seen_before_kill: str  # the reply's text the client had received
    checkpointed: str  # the store's checkpoint when the server was killed
    after_restart: list[dict[str, Any]] = field(default_factory=list)  # frames, in order
    restart_to_recovered_s: float | None = None  # until the client sees the new reply

    def replies(self) -> dict[str, str]:
        """Each reply id the client learnt of after the restart, with its last status:
        from live ``done`` frames and from the AGENT messages of ``history`` frames."""
        seen: dict[str, str] = {}
        for frame in self.after_restart:
            if frame["type"] == "done":
                seen[frame["replyId"]] = frame["status"]
            for message in frame.get("messages", []) if frame["type"] == "history" else []:
                if message["role"] == "AGENT" and message.get("replyId"):
                    seen[message["replyId"]] = message.get("status", "complete")
        return seen

    def recovered(self) -> bool:
        return any(
            status == "complete" and reply != self.reply_id
            for reply, status in self.replies().items()
        )


def start_serve(env: dict[str, str], port: int) -> subprocess.Popen[bytes]:
    server = subprocess.Popen(
        [sys.executable, "-m", "handlers.cli", "serve", "--port", str(port)],
        cwd=ROOT,
        env={**os.environ, **env},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    wait_ready(
        lambda: http_answers(f"http://127.0.0.1:{port}/healthz"),
        what="azuchi serve",
        timeout=60,
        process=server,
        log=lambda: server.stderr.read().decode() if server.poll() is not None else "",  # type: ignore[union-attr]
    )
    return server


def stop(server: subprocess.Popen[bytes]) -> None:
    if server.poll() is None:
        server.terminate()
        server.wait(15)


async def _stream_until_checkpointed(
    port: int, read: CheckpointReader
) -> tuple[str, str, str, str]:
    async with websockets.connect(f"ws://127.0.0.1:{port}/local") as ws:
        await ws.send(json.dumps({"action": "putMessage", "message": "tell me a long story"}))
        seen = ""
        session_id = reply_id = ""
        async with asyncio.timeout(60):
            while True:
                frame = json.loads(await ws.recv())
                session_id = frame.get("sessionId") or session_id
                if frame["type"] == "delta":
                    seen += frame["text"]
                    reply_id = frame["replyId"]
                stored = read(session_id) if session_id and len(seen.split()) >= 8 else None
                if stored and len(stored.split()) >= 5 and seen.startswith(stored):
                    return session_id, reply_id, seen, stored


async def _listen_after_restart(
    port: int, session_id: str, started: float, outcome: CrashOutcome
) -> None:
    url = f"ws://127.0.0.1:{port}/local?sessionId={session_id}"
    async with websockets.connect(url) as ws:  # the client sends no message
        answered = False  # the last getMessages has its history (live frames may come first)

        def finished() -> bool:
            return answered and outcome.recovered()

        async with asyncio.timeout(90):
            while not finished():
                await ws.send(json.dumps({"action": "getMessages"}))
                answered = False
                try:
                    while not finished():
                        async with asyncio.timeout(2):  # quiet: ask again, as a page would
                            frame = json.loads(await ws.recv())
                        outcome.after_restart.append(frame)
                        answered = answered or frame["type"] == "history"
                except TimeoutError:
                    continue
    outcome.restart_to_recovered_s = time.perf_counter() - started


def crash_and_recover(env: dict[str, str], read: CheckpointReader) -> CrashOutcome:
    port = free_port()
    server = start_serve({**env, **STREAMING}, port)
    try:
        session_id, reply_id, seen, stored = asyncio.run(_stream_until_checkpointed(port, read))
        server.send_signal(signal.SIGKILL)
        server.wait(15)
    finally:
        stop(server)
    outcome = CrashOutcome(session_id, reply_id, seen, stored)
    started = time.perf_counter()
    # The second life replies at full speed: only its start is of interest.
    restarted = start_serve({**env, **STREAMING, "AZUCHI_SCRIPTED_TOKENS_PER_SECOND": "0"}, port)
    try:
        asyncio.run(_listen_after_restart(port, session_id, started, outcome))
    finally:
        stop(restarted)
    return outcome
