"""Benchmark of the Redis lock and agent memory, through the adapters azuchi wires.

    .venv/bin/python bench/redis_bench.py [--iterations 2000] [--sessions 100] [--seconds 5]

Uses AZUCHI_REDIS_URL when set, else starts a redis-server of its own on a free port (never
whatever answers on 127.0.0.1:6379 unless the variable names it). Keys live under a prefix of
their own (azuchi-bench-<random>), deleted after.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path

import anyio

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import redis

from adapters.redis.client import RedisOptions, redact
from adapters.redis.plugin import azuchi_adapters
from adapters.registry import BuildContext
from adapters.settings import Settings
from core.clock import SystemClock
from core.domain import HistoryItem
from testsupport.redis_server import RedisUnavailable, delete_keys, find_redis

Op = Callable[[], Awaitable[object]]


def pct(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


async def timed(op: Op, n: int) -> list[float]:
    samples = []
    for _ in range(n):
        started = time.perf_counter()
        await op()
        samples.append(time.perf_counter() - started)
    return samples


async def bench(url: str, iterations: int, sessions: int, seconds: float) -> list[tuple[str, ...]]:
    env = {"AZUCHI_REDIS_URL": url, "AZUCHI_REDIS_PREFIX": f"azuchi-bench-{uuid.uuid4().hex[:8]}"}
    settings = Settings.from_env({**env, "AZUCHI_LOCK": "redis", "AZUCHI_AGENT_MEMORY": "redis"})
    ctx = BuildContext(settings=settings, clock=SystemClock(), hub=None)  # type: ignore[arg-type]
    specs = {spec.port: spec for spec in azuchi_adapters()}
    lock, memory = specs["lock"].factory(ctx), specs["agent_memory"].factory(ctx)
    rows: list[tuple[str, ...]] = []
    try:

        async def lock_round_trip() -> None:
            sid = str(uuid.uuid4())
            token = await lock.acquire(sid, 30_000)
            assert token is not None and await lock.release(sid, token)

        sid = str(uuid.uuid4())
        turn = [
            HistoryItem("user", "How tall is Azuchi castle?"),
            HistoryItem("assistant", "x" * 400),
        ]

        async def history_round_trip() -> None:
            await memory.append_history(sid, turn)
            assert len(await memory.recent_history(sid)) <= settings.history_items

        for name, op in (
            ("lock acquire+release", lock_round_trip),
            ("history append+read", history_round_trip),
        ):
            await timed(op, 50)  # warm: connections, scripts
            samples = await timed(op, iterations)
            rows.append(
                (
                    name,
                    f"{len(samples)}",
                    f"{pct(samples, 0.5):.2f}",
                    f"{pct(samples, 0.99):.2f}",
                    f"{len(samples) / sum(samples):,.0f} round trips/s",
                )
            )

        latencies: list[float] = []
        cycles = 0
        deadline = time.perf_counter() + seconds

        async def session_worker() -> None:
            # One reply's Redis traffic: lock, read memory, heartbeat, write memory, unlock.
            nonlocal cycles
            sid = str(uuid.uuid4())
            while time.perf_counter() < deadline:
                started = time.perf_counter()
                token = await lock.acquire(sid, 30_000)
                assert token is not None
                await memory.recent_history(sid)
                await memory.get_previous_response_id(sid)
                await lock.extend(sid, token, 30_000)
                await memory.append_history(sid, turn)
                await memory.set_previous_response_id(sid, "resp_" + token[:8])
                await lock.release(sid, token)
                latencies.append(time.perf_counter() - started)
                cycles += 1

        started = time.perf_counter()
        async with anyio.create_task_group() as tg:
            for _ in range(sessions):
                tg.start_soon(session_worker)
        elapsed = time.perf_counter() - started
        rows.append(
            (
                f"{sessions} concurrent sessions (a reply's 7 ops)",
                f"{cycles} replies",
                f"{pct(latencies, 0.5):.2f}",
                f"{pct(latencies, 0.99):.2f}",
                f"{cycles * 7 / elapsed:,.0f} ops/s",
            )
        )
    finally:
        await ctx.resources.aclose()
        delete_keys(url, RedisOptions.from_env(env).keys.pattern())
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iterations", type=int, default=2000)
    parser.add_argument("--sessions", type=int, default=100)
    parser.add_argument("--seconds", type=float, default=5.0)
    args = parser.parse_args()
    try:
        found = find_redis()
    except RedisUnavailable as exc:
        raise SystemExit(f"redis_bench: {exc}") from None
    url = found.url
    try:
        info = redis.Redis.from_url(url).info("server")
        rows = anyio.run(bench, url, args.iterations, args.sessions, args.seconds)
    finally:
        found.close()
    print(f"Redis {info.get('redis_version')} at {redact(url)} · redis-py {redis.__version__} · "
          f"Python {platform.python_version()} · {os.cpu_count()} CPUs · "
          f"pool {RedisOptions.from_env(os.environ).max_connections} connections")  # fmt: skip
    header = ("measure", "count", "p50 ms", "p99 ms", "throughput")
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    for row in [header, tuple("-" * w for w in widths), *rows]:
        print(
            "  ".join(
                cell.ljust(w) if i == 0 else cell.rjust(w)
                for i, (cell, w) in enumerate(zip(row, widths, strict=True))
            )
        )


if __name__ == "__main__":
    main()
