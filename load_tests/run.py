"""One load run: ramp the users up, run them for the duration, verify, and summarize.

Phases: read the target's ``/_azuchi/stats`` (when it has one: ``stats_url``, the local
gateway's admin listener) → start users at the ramp
rate → each runs tasks until the end and finishes the one it is in → each reads its whole
history and is checked → every socket closes → stats read again once the server has seen
the disconnects. The ``operations`` record is the stats difference (``"source": "server"``),
or estimated from what the clients saw (``"source": "client"``) for a deployed target.
"""

from __future__ import annotations

import random
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from typing import Any, TextIO

import aiohttp
import anyio

from load_tests.checks import Tally, check_live, check_session
from load_tests.client import Traffic, WsClient
from load_tests.harness import LoadConfig, User
from load_tests.local import ScriptedLoad, Target, local_azuchi, local_relay
from load_tests.operations import client_operations, server_operations
from load_tests.stats import Metrics, coalescing, compare, percentile, summary

LAG_TICK_S = 0.1


@dataclass(slots=True)
class LoadRun:
    summary: dict[str, Any]
    metrics: Metrics


def aimed(config: LoadConfig, target: Target) -> LoadConfig:
    """``config`` against a server started for the run."""
    return replace(config, url=target.url, stats_url=target.stats_url)


async def read_stats(http: aiohttp.ClientSession, url: str | None) -> dict[str, Any] | None:
    """The gateway's counters, or None when the target has no stats endpoint."""
    if url is None:
        return None
    try:
        async with http.get(url, timeout=aiohttp.ClientTimeout(total=3)) as response:
            if response.status != 200:
                return None
            body = await response.json(content_type=None)
    except (aiohttp.ClientError, OSError, TimeoutError, ValueError):
        return None
    return body if isinstance(body, dict) and "apigw" in body else None


async def run_load(
    config: LoadConfig,
    out: TextIO | None = sys.stderr,
    after_live: Callable[[], None] | None = None,
) -> LoadRun:
    """Runs the load, then verifies it; ``after_live`` is called between the two (when the
    last reply of the live phase has ended), so a caller can sample what the live phase
    alone cost."""
    metrics, traffic = Metrics(), Traffic()
    rng = random.Random(config.seed)
    connector = aiohttp.TCPConnector(limit=0)  # no cap on open sockets
    async with aiohttp.ClientSession(connector=connector) as http:
        stats_url = config.stats_url
        before = await read_stats(http, stats_url)
        users = [
            User(
                i, config, WsClient(http, config.url, traffic), metrics, random.Random(rng.random())
            )
            for i in range(config.sessions)
        ]
        metrics.started = time.perf_counter()
        stop_at = metrics.started + config.duration_s
        async with anyio.create_task_group() as watchers:
            watchers.start_soon(_watch_lag, metrics)
            if out is not None and config.progress_s > 0:
                watchers.start_soon(_progress, config, metrics, out)
            async with anyio.create_task_group() as tg:
                for index, user in enumerate(users):
                    tg.start_soon(_live, user, index / config.ramp_per_s, stop_at)
            watchers.cancel_scope.cancel()
        ran_s = time.perf_counter() - metrics.started
        if after_live is not None:
            after_live()

        tally = Tally()
        histories: dict[int, list[dict[str, Any]] | None] = {}
        if config.verify:
            async with anyio.create_task_group() as tg:
                for user in users:
                    tg.start_soon(_verify, user, histories)
        for user in users:
            if config.verify:
                history = histories.get(user.index)
                tally.add(check_session(user.record, history))
                _usage_from_store(user, history or [], metrics)
            else:
                tally.add(check_live(user.record))
        async with anyio.create_task_group() as tg:
            for user in users:
                tg.start_soon(user.disconnect)
        after = await _settled_stats(http, stats_url, before) if before else None
    if before and after:
        operations = server_operations(before, after, metrics)
    else:
        operations = client_operations(metrics, traffic, ran_s)
    result = _summary(config, metrics, tally, users, ran_s, operations)
    if out is not None:
        print(f"load: done in {ran_s:.1f} s: {_line(metrics)}", file=out, flush=True)
    return LoadRun(result, metrics)


def _child(rng: random.Random) -> random.Random:
    return random.Random(rng.getrandbits(64))  # each user its own stream: a seed replays a run


async def _live(user: User, delay_s: float, stop_at: float) -> None:
    await anyio.sleep(delay_s)  # the ramp: API Gateway admits 500 new connections/s
    if await user.connect():
        await user.run(stop_at)


async def _verify(user: User, histories: dict[int, Any]) -> None:
    histories[user.index] = await user.verify()
    user.record.verified = histories[user.index] is not None


def _usage_from_store(user: User, history: list[dict[str, Any]], metrics: Metrics) -> None:
    """A dropped reply whose done the client never saw still used the model: take its
    usage from the stored final message."""
    stored = {m.get("replyId"): m for m in history if m.get("role") == "AGENT"}
    for reply in user.record.replies:
        if reply.usage is None and reply.reply_id in stored:
            metrics.add_usage(stored[reply.reply_id].get("usage"))
            metrics.model_id = metrics.model_id or stored[reply.reply_id].get("model")


async def _settled_stats(
    http: aiohttp.ClientSession, url: str | None, before: dict[str, Any]
) -> dict[str, Any] | None:
    """Stats once the server has run $disconnect for every socket of the run (up to 5 s)."""
    open_before = before["apigw"].get("open_connections", 0)
    deadline = time.perf_counter() + 5
    while True:
        after = await read_stats(http, url)
        settled = after is not None and after["apigw"].get("open_connections", 0) <= open_before
        if settled or time.perf_counter() > deadline:
            return after
        await anyio.sleep(0.1)


async def _watch_lag(metrics: Metrics) -> None:
    """The client's own event-loop delay: a frame read late by a busy client looks slow."""
    while True:
        started = time.perf_counter()
        await anyio.sleep(LAG_TICK_S)
        metrics.loop_lag_ms.append((time.perf_counter() - started - LAG_TICK_S) * 1000)


async def _progress(config: LoadConfig, metrics: Metrics, out: TextIO) -> None:
    while True:
        await anyio.sleep(config.progress_s)
        elapsed = time.perf_counter() - metrics.started
        print(f"load: [{elapsed:6.1f} s] {_line(metrics)}", file=out, flush=True)


def _line(metrics: Metrics) -> str:
    def ms(values: list[float], q: float) -> str:
        value = percentile(values, q)
        return "-" if value is None else f"{value:.0f} ms"

    return (
        f"{metrics.connected} connected, {metrics.replies} replies "
        f"({metrics.dropped} dropped), ttfd p50 {ms(metrics.ttfd_ms, 50)}, "
        f"gap p50 {ms(metrics.gap_ms, 50)}, errors {metrics.errors}, "
        f"client lag p99 {ms(metrics.loop_lag_ms, 99)}"
    )


def _summary(
    config: LoadConfig,
    metrics: Metrics,
    tally: Tally,
    users: list[User],
    ran_s: float,
    operations: dict[str, Any],
) -> dict[str, Any]:
    connected = sum(1 for u in users if u.record.session_id is not None)
    return {
        "target": config.url,
        "sessions": config.sessions,
        "sessions_with_replies": connected,
        "duration_s": round(ran_s, 3),
        "replies": metrics.replies,
        "dropped": metrics.dropped,
        "lost": tally.lost,
        "duplicated": tally.duplicated,
        "errors": tally.errors,
        "lost_chars": tally.lost_chars,
        "duplicated_chars": tally.duplicated_chars,
        "verified": config.verify,
        "unverified_sessions": sum(1 for u in users if config.verify and not u.record.verified),
        "ttfd_ms": summary(metrics.ttfd_ms),
        "gap_ms": summary(metrics.gap_ms),
        "reply_ms": summary(metrics.reply_ms),
        "frames_per_reply": summary(metrics.frames_per_reply),
        "tokens_per_reply": summary(metrics.tokens_per_reply),
        "coalescing": coalescing(metrics),
        "client_loop_lag_ms": summary(metrics.loop_lag_ms),
        "problems": tally.problems[:20],
        "config": {**asdict(config), "think_s": list(config.think_s)},
        "operations": operations,
    }


async def compare_with_relay(
    config: LoadConfig, load: ScriptedLoad, out: TextIO | None = sys.stderr
) -> tuple[LoadRun, LoadRun, dict[str, Any]]:
    """The same chat-only load (the relay keeps nothing to resume from) against a fresh
    local azuchi and the bare relay at the same pace, one after the other; returns both
    runs and ``stats.compare`` of their summaries."""
    chat_only = replace(config, drop_weight=0, chat_weight=1)
    async with local_azuchi(load) as target:
        if out is not None:
            print(f"load: azuchi, chat only, at {target.url}", file=out, flush=True)
        azuchi = await run_load(aimed(chat_only, target), out)
    async with local_relay(load) as target:
        if out is not None:
            print(f"load: bare relay at {target.url}", file=out, flush=True)
        relay = await run_load(replace(aimed(chat_only, target), verify=False), out)
    return azuchi, relay, compare(azuchi.summary, relay.summary)
