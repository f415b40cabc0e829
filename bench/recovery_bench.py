"""What durable partial replies cost, and how soon a crashed reply is recovered.

    .venv/bin/python bench/recovery_bench.py [--turns 3] [--skip-restart]

1. Storage units per turn on DynamoDB Local (lean profile: storage, lock and agent memory
   on DynamoDB) with the scripted model at 50 tokens/s × 300 tokens, checkpointing off
   (AZUCHI_CHECKPOINT_SECONDS=0, AZUCHI_CHECKPOINT_BYTES=0) and on (the defaults), every
   call asking for ReturnConsumedCapacity=TOTAL.
2. Time from restarting a SIGKILLed ``azuchi serve`` until a reconnecting client has the
   recovered reply complete (process start-up included), on SQLite and on DynamoDB Local
   (testsupport/crash.py). SQLite takes a dead process's lease over at once; on DynamoDB
   the dead holder's lease (AZUCHI_LOCK_LEASE_MS=6000 there) has to run out first, so it
   dominates that figure.
Uses AZUCHI_DYNAMODB_ENDPOINT, else starts DynamoDB Local and stops it after.
"""

from __future__ import annotations

import argparse
import sqlite3
import sys
import tempfile
import uuid
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

OFF = {"AZUCHI_CHECKPOINT_SECONDS": "0", "AZUCHI_CHECKPOINT_BYTES": "0"}


async def units_per_turn(endpoint: str, turns: int, extra: dict[str, str]) -> dict[str, float]:
    env = {
        "AZUCHI_DYNAMODB_ENDPOINT": endpoint,
        "AZUCHI_TABLE_PREFIX": f"azuchi-ckpt-{uuid.uuid4().hex[:8]}-",
        "AZUCHI_SCRIPTED_TOKENS_PER_SECOND": "50",
        "AZUCHI_SCRIPTED_REPLY_TOKENS": "300",
        "AZUCHI_TITLES": "false",
        **extra,
    }
    settings = Settings.from_env(env)
    await create_tables(settings)
    config = DynamoConfig.from_env(env)
    meters = {port: MeteredClient(LazyDynamoClient(config)) for port in ("store", "lock", "memory")}
    app = build_app(
        settings,
        overrides={
            "storage": DynamoChatStore(meters["store"], config.tables),
            "lock": DynamoSessionLock(meters["lock"], config.tables.locks),
            "agent_memory": DynamoAgentMemory(meters["memory"], config.tables.agent_memory),
        },
    )
    totals: dict[str, float] = {"store WCU": 0, "lock WCU": 0, "memory WCU": 0, "RCU": 0}
    checkpoints = 0
    try:
        async with app:
            await app.chat.connect("bench", None)
            app.hub.attach("bench", Outbox())
            await app.chat.put_message("bench", {"message": "warm-up turn"})
            await app.launcher.wait_idle()  # type: ignore[attr-defined]
            for turn in range(turns):
                for meter in meters.values():
                    meter.reset()
                await app.chat.put_message("bench", {"message": f"Tell me a story, {turn}"})
                await app.launcher.wait_idle()  # type: ignore[attr-defined]
                for port, meter in meters.items():
                    snap: dict[str, Any] = meter.snapshot()
                    totals[f"{port} WCU"] += snap["write_units"] / turns
                    totals["RCU"] += snap["read_units"] / turns
                checkpoints += meters["store"].calls.get("put_item", 0)
                if turn == 0:
                    calls = {p: dict(m.calls) for p, m in meters.items()}
                    print(f"calls in one turn ({extra or 'checkpoints on'}): {calls}")
    finally:
        for meter in meters.values():
            await meter.inner.aclose()
    totals["checkpoint puts"] = checkpoints / turns
    return totals


def report_units(off: dict[str, float], on: dict[str, float], endpoint: str) -> None:
    print(f"\nDynamoDB units per turn, 50 tokens/s × 300 tokens, at {endpoint}")
    print(f"{'':18}{'checkpoints off':>16}{'on (defaults)':>16}{'difference':>12}")
    for key in off:
        print(f"{key:18}{off[key]:>16.2f}{on[key]:>16.2f}{on[key] - off[key]:>+12.2f}")
    wcu_off = sum(v for k, v in off.items() if k.endswith("WCU"))
    wcu_on = sum(v for k, v in on.items() if k.endswith("WCU"))
    print(f"{'all WCU':18}{wcu_off:>16.2f}{wcu_on:>16.2f}{wcu_on - wcu_off:>+12.2f}")
    print(
        "Units as DynamoDB Local reports them. Checkpoints are plain puts (their size in\n"
        "units, about 1 per KB of text); the USER message and the final reply are each one\n"
        "transaction with the session item (high-water mark, fence, answered marker),\n"
        "the same with checkpointing on or off."
    )


def restart_figures(endpoint: str | None) -> None:
    from testsupport.crash import crash_and_recover

    print("\nFrom restarting a SIGKILLed azuchi serve to the recovered reply at a client")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "azuchi.db"
        env = {k: "sqlite" for k in ("AZUCHI_STORAGE", "AZUCHI_LOCK", "AZUCHI_AGENT_MEMORY")}
        env["AZUCHI_SQLITE_PATH"] = str(path)

        def sqlite_checkpoint(session_id: str) -> str | None:
            with sqlite3.connect(path, timeout=5) as conn:
                row = conn.execute(
                    "SELECT text FROM reply_checkpoints WHERE session_id = ?", (session_id,)
                ).fetchone()
            return None if row is None else str(row[0])

        _print_case("sqlite", crash_and_recover(env, sqlite_checkpoint))
    if endpoint is None:
        return
    import boto3

    env = dynamodb_local.fresh_tables(endpoint, "crash")
    env.update({k: "dynamodb" for k in ("AZUCHI_STORAGE", "AZUCHI_LOCK", "AZUCHI_AGENT_MEMORY")})
    client = boto3.client("dynamodb", endpoint_url=endpoint, region_name="us-east-1")

    def dynamo_checkpoint(session_id: str) -> str | None:
        item = client.get_item(
            TableName=env["AZUCHI_TABLE_PREFIX"] + "messages",
            Key={"sessionId": {"S": session_id + "#reply"}, "createdAt": {"N": "0"}},
            ConsistentRead=True,
        ).get("Item")
        return None if item is None else str(item["message"]["S"])

    _print_case("dynamodb", crash_and_recover(env, dynamo_checkpoint))


def _print_case(name: str, outcome: Any) -> None:
    took = outcome.restart_to_recovered_s
    figure = "never" if took is None else f"{took:.2f} s"
    kept = len(outcome.checkpointed.split())
    seen = len(outcome.seen_before_kill.split())
    print(f"{name:10} {figure:>9}  (kept {kept} of the {seen} words the client had seen)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--turns", type=int, default=3)
    parser.add_argument("--skip-restart", action="store_true")
    args = parser.parse_args()
    use_dummy_credentials()
    try:
        endpoint = dynamodb_local.shared_endpoint()
    except dynamodb_local.LocalUnavailable as exc:
        sys.exit(f"recovery_bench: {exc}")
    try:
        off = anyio.run(units_per_turn, endpoint, args.turns, OFF)
        on = anyio.run(units_per_turn, endpoint, args.turns, {})
        report_units(off, on, endpoint)
        if not args.skip_restart:
            restart_figures(endpoint)
    finally:
        dynamodb_local.stop_shared()


if __name__ == "__main__":
    main()
