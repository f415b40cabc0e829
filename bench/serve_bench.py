"""Measures the local stack: start-up time of `azuchi serve`, and for one session with the
scripted model at zero delay, time to first delta and deltas (and tokens) per second.

    .venv/bin/python bench/serve_bench.py [--replies 20] [--tokens 300]

Prints a table; asserts nothing (timings on shared machines are noisy).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import websockets

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from testsupport.ports import NotReady, free_port, http_answers, wait_ready

ROOT = Path(__file__).resolve().parents[1]


def start_server(env: dict[str, str]) -> tuple[subprocess.Popen[bytes], int, float]:
    port = free_port()
    started = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-m", "handlers.cli", "serve", "--port", str(port)],
        cwd=ROOT,
        env={**os.environ, **env},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    healthz = f"http://127.0.0.1:{port}/healthz"
    try:
        # Polled every 5 ms: the start-up time is one of the figures printed.
        wait_ready(
            lambda: http_answers(healthz), what="azuchi serve", timeout=30, process=proc, poll=0.005
        )
    except NotReady as exc:
        proc.kill()
        raise SystemExit(str(exc)) from None
    return proc, port, (time.perf_counter() - started) * 1000


async def one_reply(ws: websockets.ClientConnection, text: str) -> tuple[float, int, int, float]:
    """(ms to first delta, delta frames, characters, ms for the whole reply)."""
    sent = time.perf_counter()
    await ws.send(json.dumps({"action": "putMessage", "message": text}))
    first = None
    frames = chars = 0
    while True:
        frame = json.loads(await asyncio.wait_for(ws.recv(), 30))
        if frame["type"] == "delta":
            first = first or time.perf_counter()
            frames += 1
            chars += len(frame["text"])
        elif frame["type"] == "done":
            end = time.perf_counter()
            assert first is not None, "a reply with no delta"
            return (first - sent) * 1000, frames, chars, (end - sent) * 1000


async def session_run(port: int, replies: int) -> list[tuple[float, int, int, float]]:
    results = []
    async with websockets.connect(f"ws://127.0.0.1:{port}/local", max_size=None) as ws:
        for i in range(replies):
            results.append(await one_reply(ws, f"benchmark message {i}"))
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--replies", type=int, default=20)
    parser.add_argument("--tokens", type=int, default=300)
    parser.add_argument("--startups", type=int, default=5)
    args = parser.parse_args()

    startups = []
    for _ in range(args.startups):
        proc, _port, ms = start_server({})
        startups.append(ms)
        proc.terminate()
        proc.wait(10)

    rows = []
    for coalesce in ("0", "200"):
        env = {
            "AZUCHI_SCRIPTED_TOKENS_PER_SECOND": "0",
            "AZUCHI_SCRIPTED_REPLY_TOKENS": str(args.tokens),
            "AZUCHI_COALESCE_MS": coalesce,
            "AZUCHI_TITLES": "false",
        }
        proc, port, _ = start_server(env)
        try:
            results = asyncio.run(session_run(port, args.replies))
        finally:
            proc.terminate()
            proc.wait(10)
        ttfd = [r[0] for r in results]
        frames = sum(r[1] for r in results)
        seconds = sum(r[3] for r in results) / 1000
        rows.append((coalesce, ttfd, frames, args.tokens * len(results), seconds))

    print(f"azuchi serve start-up (process spawn → /healthz answers), {args.startups} runs:")
    print(f"  median {statistics.median(startups):.0f} ms, min {min(startups):.0f} ms")
    print(
        f"one session, scripted model at zero delay, {args.replies} replies "
        f"of {args.tokens} tokens:"
    )
    header = ("coalesce", "ttfd p50", "ttfd max", "frames/s", "tokens/s", "frames/reply")
    print("  " + " ".join(f"{h:>9}" for h in header[:5]) + f" {header[5]:>12}")
    for coalesce, ttfd, frames, tokens, seconds in rows:
        print(
            f"  {coalesce + ' ms':>9} {statistics.median(ttfd):>7.1f}ms {max(ttfd):>7.1f}ms"
            f" {frames / seconds:>9.0f} {tokens / seconds:>9.0f} {frames / len(ttfd):>12.1f}"
        )


if __name__ == "__main__":
    main()
