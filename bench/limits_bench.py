"""What the limits add to one putMessage: p50/p99 with the limits on and off, on the
default profile (sqlite) and in process.

    .venv/bin/python bench/limits_bench.py [--iterations 2000] [--sessions 20]

The putMessage path runs whole (validate, the limits' reads and buckets, store, fan out)
against the app's own adapters; the reply launcher only marks the message answered, so
the queue stays short and no model runs. The limits are on at rates no round can reach,
so every message takes the full path of checks and none is refused. Prints figures;
asserts nothing (timings on a shared machine are noisy). Run it with ``nice``.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import anyio

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from adapters.bootstrap import build_app  # noqa: E402
from adapters.inprocess.transport import Outbox  # noqa: E402
from adapters.settings import Settings  # noqa: E402
from testsupport.profiles import IN_PROCESS, UNLIMITED, sqlite_profile  # noqa: E402

HIGH = "1000000"
ON = {  # every limit on, none reachable: each message runs every check
    "AZUCHI_LIMIT_CONNECTION_MESSAGES_PER_MINUTE": HIGH,
    "AZUCHI_LIMIT_CONNECTION_BURST": HIGH,
    "AZUCHI_LIMIT_SESSION_MESSAGES_PER_MINUTE": HIGH,
    "AZUCHI_LIMIT_SESSION_BURST": HIGH,
    "AZUCHI_LIMIT_QUEUED_MESSAGES": "3",
    "AZUCHI_LIMIT_NEW_SESSIONS_PER_MINUTE": HIGH,
    "AZUCHI_LIMIT_NEW_SESSIONS_BURST": HIGH,
    "AZUCHI_LIMIT_CONCURRENT_REPLIES": "8",
    "AZUCHI_LIMIT_SESSION_TOKENS_PER_DAY": HIGH,
    "AZUCHI_LIMIT_SPEND_PER_DAY_USD": HIGH,
}


class AnswerAtOnce:
    """A launcher that marks the session answered (no model, no reply frames)."""

    def __init__(self) -> None:
        self.app: object = None

    async def launch(self, session_id: str) -> None:
        store = self.app.store  # type: ignore[attr-defined]
        session = await store.get_session(session_id)
        await store.record_answered(session_id, session.last_user_at)


def pct(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def connected_app(env: dict[str, str], sessions: int, stack: AsyncExitStack) -> Any:
    launcher = AnswerAtOnce()
    app = await stack.enter_async_context(
        build_app(Settings.from_env(env), overrides={"launcher": launcher})
    )
    launcher.app = app
    for i in range(sessions):
        await app.chat.connect(f"bench-{i}", None, source_ip="127.0.0.1")
        app.hub.attach(f"bench-{i}", Outbox())
    return app


async def put_once(app: Any, n: int, sessions: int) -> float:
    cid = f"bench-{n % sessions}"
    started = time.perf_counter()
    await app.chat.put_message(cid, {"message": f"message {n}"})
    elapsed = (time.perf_counter() - started) * 1000
    app.hub.attach(cid, Outbox())  # keep the outbox from growing
    return elapsed


async def report(name: str, envs: dict[str, dict[str, str]], args: argparse.Namespace) -> None:
    """Both apps at once, one message each in turn, so that the machine's noise falls on
    both alike."""
    samples: dict[str, list[float]] = {label: [] for label in envs}
    async with AsyncExitStack() as stack:
        apps = {
            label: await connected_app(env, args.sessions, stack) for label, env in envs.items()
        }
        for n in range(200 + args.iterations):  # the first 200 warm up
            for label, app in apps.items():
                elapsed = await put_once(app, n, args.sessions)
                if n >= 200:
                    samples[label].append(elapsed)
    figures = {label: (pct(s, 0.5), pct(s, 0.99)) for label, s in samples.items()}
    for label, (p50, p99) in figures.items():
        print(f"{name:<12}{label:<8}{p50:>9.3f}{p99:>9.3f}")
    added = [figures["on"][i] - figures["off"][i] for i in (0, 1)]
    print(f"{name:<12}{'added':<8}{added[0]:>9.3f}{added[1]:>9.3f}")


async def main(args: argparse.Namespace) -> None:
    print(f"putMessage latency, {args.iterations} messages over {args.sessions} sessions (ms)")
    print(f"{'profile':<12}{'limits':<8}{'p50':>9}{'p99':>9}")
    await report(
        "inprocess", {"off": {**IN_PROCESS, **UNLIMITED}, "on": {**IN_PROCESS, **ON}}, args
    )
    with tempfile.TemporaryDirectory() as scratch:
        files = {label: sqlite_profile(Path(scratch) / f"{label}.db") for label in ("off", "on")}
        envs = {"off": {**files["off"], **UNLIMITED}, "on": {**files["on"], **ON}}
        await report("sqlite", envs, args)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iterations", type=int, default=2000)
    parser.add_argument("--sessions", type=int, default=20)
    anyio.run(main, parser.parse_args())
