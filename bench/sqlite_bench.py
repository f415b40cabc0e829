"""The default profile (sqlite) against the in-process adapters, in one run: the latency of
each storage, lock and agent-memory call as the event loop sees it, a reply's calls across
concurrent sessions, and the 200-session load test on each profile with the ratio.

    .venv/bin/python bench/sqlite_bench.py [--iterations 1000] [--sessions 100]
        [--seconds 5] [--load-sessions 200] [--load-duration 60] [--skip-load]

The sqlite file is the run's own, in a temporary directory. Prints figures; asserts
nothing (timings on a shared machine are noisy). Every sqlite call runs in a worker thread
(tests/sqlite/test_off_the_loop.py proves it); "loop lag" here is how late a 1 ms ticker
on the same loop woke while the calls ran.
"""

from __future__ import annotations

import argparse
import os
import platform
import sqlite3
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import anyio

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from adapters.bootstrap import App, build_app  # noqa: E402
from adapters.settings import Settings  # noqa: E402
from core.domain import Connection, HistoryItem, MessageDraft, Role, Session  # noqa: E402
from load_tests.harness import LoadConfig  # noqa: E402
from load_tests.local import ScriptedLoad, local_azuchi  # noqa: E402
from load_tests.run import aimed, run_load  # noqa: E402
from load_tests.stats import compare  # noqa: E402
from testsupport.profiles import IN_PROCESS, sqlite_profile  # noqa: E402

Op = Callable[[], Awaitable[object]]
TURN = [HistoryItem("user", "How tall is Azuchi castle?"), HistoryItem("assistant", "x" * 400)]


def pct(samples: list[float], q: float) -> float:
    ordered = sorted(samples) or [float("nan")]
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def ms(samples: list[float], q: float) -> str:
    """A percentile in ms, or "-" without samples (an in-process call never yields, so a
    ticker on the loop never runs during one)."""
    return f"{pct(samples, q):.3f}" if samples else "-"


async def timed(op: Op, n: int) -> list[float]:
    samples = []
    for _ in range(n):
        started = time.perf_counter()
        await op()
        samples.append((time.perf_counter() - started) * 1000)
    return samples


async def loop_lag(into: list[float]) -> None:
    while True:
        started = time.perf_counter()
        await anyio.sleep(0.001)
        into.append((time.perf_counter() - started - 0.001) * 1000)


def calls(app: App, sid: str, cursor: int) -> dict[str, Op]:
    store, lock, memory = app.store, app.lock, app.agent_memory
    token: list[str] = []

    async def append() -> None:
        await store.append_message(MessageDraft(sid, Role.AGENT, "CONVERSATION", "y" * 600))

    async def acquire() -> None:
        token.append(await lock.acquire(sid, 30_000) or "")

    async def release() -> None:
        await lock.release(sid, token.pop())

    return {
        "storage.append_message": append,
        "storage.last_messages(20)": lambda: store.last_messages(sid, 20),
        "storage.messages_after(50)": lambda: store.messages_after(sid, cursor, 50),
        "storage.get_connection": lambda: store.get_connection("bench-conn"),
        "storage.session_connections": lambda: store.session_connections(sid),
        "storage.record_user_message": lambda: store.record_user_message(sid, 1),
        "storage.get_session": lambda: store.get_session(sid),
        "lock.acquire": acquire,
        "lock.extend": lambda: lock.extend(sid, token[-1] if token else "", 30_000),
        "lock.release": release,
        "agent_memory.append_history": lambda: memory.append_history(sid, TURN),
        "agent_memory.recent_history": lambda: memory.recent_history(sid),
    }


async def per_call(
    env: dict[str, str], iterations: int
) -> tuple[dict[str, list[float]], list[float]]:
    async with build_app(Settings.from_env(env)) as app:
        sid = str(uuid.uuid4())
        await app.store.create_session(Session(sid, int(time.time() * 1000)))
        await app.store.put_connection(Connection("bench-conn", sid, int(time.time() * 1000)))
        for i in range(200):  # a conversation of some length: reads of the last N stay flat
            await app.store.append_message(MessageDraft(sid, Role.USER, "CONVERSATION", f"q{i}"))
        cursor = (await app.store.last_messages(sid, 60))[0].created_at
        ops = calls(app, sid, cursor)
        results: dict[str, list[float]] = {name: [] for name in ops}
        lag: list[float] = []
        async with anyio.create_task_group() as tasks:
            tasks.start_soon(loop_lag, lag)
            # Each round runs every call once, in order: acquire before extend before release.
            for round_ in range(20 + iterations):  # the first 20 rounds warm up
                for name, op in ops.items():
                    started = time.perf_counter()
                    await op()
                    if round_ >= 20:
                        results[name].append((time.perf_counter() - started) * 1000)
            tasks.cancel_scope.cancel()
        return results, lag


async def concurrent(env: dict[str, str], sessions: int, seconds: float) -> dict[str, float]:
    """One reply's storage, lock and memory calls, repeated by ``sessions`` at once."""
    async with build_app(Settings.from_env(env)) as app:
        latencies: list[float] = []
        deadline = time.perf_counter() + seconds

        async def session() -> None:
            sid = str(uuid.uuid4())
            await app.store.create_session(Session(sid, int(time.time() * 1000)))
            while time.perf_counter() < deadline:
                started = time.perf_counter()
                user = MessageDraft(sid, Role.USER, "CONVERSATION", "hello")
                created = (await app.store.append_message(user)).message.created_at
                await app.store.record_user_message(sid, created)
                token = await app.lock.acquire(sid, 30_000)
                assert token is not None
                await app.store.get_session(sid)
                await app.agent_memory.recent_history(sid)
                await app.store.last_messages(sid, 20)
                await app.lock.extend(sid, token, 30_000)
                reply = MessageDraft(sid, Role.AGENT, "CONVERSATION", "x" * 1200)
                await app.store.append_message(reply)
                await app.agent_memory.append_history(sid, TURN)
                await app.store.record_answered(sid, created)
                await app.lock.release(sid, token)
                latencies.append((time.perf_counter() - started) * 1000)

        started = time.perf_counter()
        async with anyio.create_task_group() as tasks:
            for _ in range(sessions):
                tasks.start_soon(session)
        elapsed = time.perf_counter() - started
        return {
            "replies": len(latencies),
            "p50": pct(latencies, 0.5),
            "p99": pct(latencies, 0.99),
            "calls_per_s": len(latencies) * CALLS_PER_REPLY / elapsed,
        }


CALLS_PER_REPLY = 11


async def load(sessions: int, duration: float) -> dict[str, dict[str, Any]]:
    """The 200-session load test (scripted model, 50 tokens/s, 300-token replies), on the
    default profile and on the in-process one, one after the other."""
    config = LoadConfig(url="", sessions=sessions, duration_s=duration, ramp_per_s=50)
    runs: dict[str, dict[str, Any]] = {}
    for name, env in (("sqlite (default)", {}), ("inprocess", IN_PROCESS)):
        async with local_azuchi(ScriptedLoad(), env=env) as target:
            print(f"load: {name} at {target.url}", file=sys.stderr, flush=True)
            runs[name] = (await run_load(aimed(config, target))).summary
    return runs


def table(header: tuple[str, ...], rows: list[tuple[str, ...]]) -> None:
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    for row in [header, tuple("-" * w for w in widths), *rows]:
        print(
            "  ".join(
                c.ljust(w) if i == 0 else c.rjust(w)
                for i, (c, w) in enumerate(zip(row, widths, strict=True))
            )
        )


async def bench(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory(prefix="azuchi-sqlite-bench-") as scratch:
        sqlite_env = sqlite_profile(Path(scratch) / "azuchi.db")
        print(
            f"SQLite {sqlite3.sqlite_version} (WAL, one connection, calls in a worker thread) · "
            f"Python {platform.python_version()} · {os.cpu_count()} CPUs\n"
        )
        print(f"== per call, {args.iterations} each, as the event loop waits for it (ms) ==")
        inproc, inproc_lag = await per_call(IN_PROCESS, args.iterations)
        sql, sql_lag = await per_call(sqlite_env, args.iterations)
        rows = [
            (
                name,
                ms(inproc[name], 0.5),
                ms(inproc[name], 0.99),
                ms(sql[name], 0.5),
                ms(sql[name], 0.99),
            )
            for name in sql
        ]
        rows.append(
            (
                "event-loop lag while they ran",
                ms(inproc_lag, 0.5),
                ms(inproc_lag, 0.99),
                ms(sql_lag, 0.5),
                ms(sql_lag, 0.99),
            )
        )
        table(("call", "inprocess p50", "p99", "sqlite p50", "p99"), rows)

        print(
            f"\n== {args.sessions} concurrent sessions, a reply's {CALLS_PER_REPLY} calls, "
            f"{args.seconds:g} s =="
        )
        rows = []
        for name, env in (("inprocess", IN_PROCESS), ("sqlite", sqlite_env)):
            r = await concurrent(env, args.sessions, args.seconds)
            rows.append(
                (
                    name,
                    f"{r['replies']:,}",
                    f"{r['p50']:.2f}",
                    f"{r['p99']:.2f}",
                    f"{r['calls_per_s']:,.0f}",
                )
            )
        table(("profile", "replies", "p50 ms/reply", "p99 ms/reply", "calls/s"), rows)

    if args.skip_load:
        return
    print(
        f"\n== load test: {args.load_sessions} sessions, {args.load_duration:g} s each profile =="
    )
    runs = await load(args.load_sessions, args.load_duration)
    rows = []
    for name, s in runs.items():
        rows.append(
            (
                name,
                f"{s['replies']:,}",
                f"{s['lost']} / {s['duplicated']} / {s['errors']}",
                f"{s['ttfd_ms']['p50']:.1f} / {s['ttfd_ms']['p99']:.1f}",
                f"{s['gap_ms']['p50']:.1f} / {s['gap_ms']['p99']:.1f}",
                f"{s['reply_ms']['p50']:.0f} / {s['reply_ms']['p99']:.0f}",
            )
        )
    table(
        (
            "profile",
            "replies",
            "lost/dup/errors",
            "first delta p50/p99 ms",
            "gap p50/p99 ms",
            "reply p50/p99 ms",
        ),
        rows,
    )
    sqlite_run, inproc_run = runs["sqlite (default)"], runs["inprocess"]
    print("\nsqlite against inprocess (ratio = sqlite / inprocess):")
    for key, row in compare(sqlite_run, inproc_run).items():
        print(
            f"  {key:<13} sqlite {row['azuchi']:>8.1f} ms  inprocess {row['relay']:>8.1f} ms"
            f"  ratio {row['ratio']}  added {row['added_ms']:+.1f} ms"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iterations", type=int, default=1000)
    parser.add_argument("--sessions", type=int, default=100)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--load-sessions", type=int, default=200)
    parser.add_argument("--load-duration", type=float, default=60.0)
    parser.add_argument("--skip-load", action="store_true")
    anyio.run(bench, parser.parse_args())


if __name__ == "__main__":
    main()
