"""DynamoDB units and dollars of one turn at a given turn of a session: ``azuchi cost --per-turn``.

Where ``azuchi cost`` prices a load run averaged over a traffic profile, this answers the
question a long conversation asks: does turn 200 cost what turn 2 did? Per profile, at turns
1, 2, 50 and 200, for 120- and 300-token replies at a model's pace of 50 tokens/s:

- storage (sessions, connections, messages): the units ``bench/dynamodb_bench.py`` measured
  (AWS-true: a transaction at 2 units per item), the same at every turn after the first,
  plus the checkpoints of the partial text a reply at that pace writes;
- the lock and agent memory: modelled from their adapters (``costmodel.units``), at that
  turn of the session (the history grows until it holds its cap).

The redis profile's DynamoDB part is the storage alone (its lock and memory are on
ElastiCache, priced per ECPU, shown apart).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from costmodel.inputs import Shape, Traffic
from costmodel.units import lock_units, memory_turn_units

TURNS = (1, 2, 50, 200)
REPLY_TOKENS = (120, 300)
TOKENS_PER_SECOND = 50.0  # a real model's pace: how long the lock is held
CHECKPOINT_S = 5.0  # AZUCHI_CHECKPOINT_SECONDS' default: a streaming reply's text is stored
CHECKPOINT_ITEM_OVERHEAD = 200  # the checkpoint item's keys, ids, fence and TTL


def checkpoint_writes(tokens: int, bytes_per_token: float) -> float:
    """The checkpoints a reply of ``tokens`` at 50 tokens/s writes (core/services/
    checkpoint.py): one each ``CHECKPOINT_S`` while it streams, each the text so far, a
    plain PutItem (1 WCU per KB). A 300-token reply (6 s) writes one; 120 tokens none."""
    seconds, at, units = tokens / TOKENS_PER_SECOND, CHECKPOINT_S, 0.0
    while at < seconds:
        size = at * TOKENS_PER_SECOND * bytes_per_token + CHECKPOINT_ITEM_OVERHEAD
        units += max(1, math.ceil(size / 1024))
        at += CHECKPOINT_S
    return units


# bench/dynamodb_bench.py (run of 2026-12-04), storage RCU / WCU per turn (turn 1 writes
# the title; turn 1's read of the newest key finds an empty session), AWS-true (the USER
# message's transaction 6, the final reply's 6 or 8), by reply tokens.
STORE_UNITS: dict[int, dict[str, tuple[float, float]]] = {
    120: {"first": (9.5, 14.0), "later": (10.5, 13.0)},
    300: {"first": (9.5, 16.0), "later": (10.5, 15.0)},
}


@dataclass(frozen=True, slots=True)
class TurnCost:
    profile: str
    reply_tokens: int
    turn: int
    reads: float
    writes: float
    redis_ecpu: float

    def dollars_per_million(self, read_price: float, write_price: float) -> float:
        """On-demand dollars per million such turns (prices per million units)."""
        return self.reads * read_price + self.writes * write_price


def turn_costs(shape: Shape, traffic: Traffic) -> list[TurnCost]:
    costs: list[TurnCost] = []
    for tokens in REPLY_TOKENS:
        reply_s = tokens / TOKENS_PER_SECOND
        reply_bytes = tokens * traffic.bytes_per_token
        lock = lock_units(shape, reply_s, 0.0)
        for turn in TURNS:
            store_reads, store_writes = STORE_UNITS[tokens]["first" if turn == 1 else "later"]
            store_writes += checkpoint_writes(tokens, traffic.bytes_per_token)
            memory = memory_turn_units(shape, traffic, reply_bytes, turn)
            costs.append(
                TurnCost(
                    "lean",
                    tokens,
                    turn,
                    store_reads + lock.dynamo_reads + memory.dynamo_reads,
                    store_writes + lock.dynamo_writes + memory.dynamo_writes,
                    0.0,
                )
            )
            costs.append(
                TurnCost(
                    "redis",
                    tokens,
                    turn,
                    store_reads,
                    store_writes,
                    lock.redis_ecpu + memory.redis_ecpu,
                )
            )
    return costs


def render(costs: list[TurnCost], read_price: float, write_price: float, as_of: str) -> str:
    lines = [
        f"DynamoDB per turn (AWS-true units, on-demand prices as of {as_of}), replies at "
        f"{TOKENS_PER_SECOND:g} tokens/s; storage measured by bench/dynamodb_bench.py, lock "
        "and memory modelled",
        f"  {'profile':<8}{'reply':>7}" + "".join(f"{f'turn {t}':>22}" for t in TURNS),
    ]
    for profile in ("lean", "redis"):
        for tokens in REPLY_TOKENS:
            row = [c for c in costs if c.profile == profile and c.reply_tokens == tokens]
            cells = [
                f"{c.reads:g}/{c.writes:g} ${c.dollars_per_million(read_price, write_price):.2f}"
                for c in row
            ]
            lines.append(f"  {profile:<8}{tokens:>7}" + "".join(f"{cell:>22}" for cell in cells))
            if profile == "lean":
                flat = row[-1].dollars_per_million(read_price, write_price) / row[
                    1
                ].dollars_per_million(read_price, write_price)
                lines.append(f"  {'':<15}turn {TURNS[-1]} / turn 2: {flat:.2f}")
    lines.append(
        "  (RCU/WCU and $ per million turns; redis adds ElastiCache ECPUs: "
        + ", ".join(
            f"{c.reply_tokens} tokens turn {c.turn} {c.redis_ecpu:.0f}"
            for c in costs
            if c.profile == "redis" and c.turn in (2, TURNS[-1])
        )
        + ")"
    )
    return "\n".join(lines)
