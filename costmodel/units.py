"""What one turn does, in billed units, independent of the deployment profile.

A run's counts are divided by the turns it completed. The lock's and agent memory's units
are not taken from the run but modelled from what their adapters do (``state_units``), for
both DynamoDB and Redis: that is what lets one run price both profiles, whichever backend it
happened to use. When the run's lock and memory did run on DynamoDB, their modelled units are
taken out of the measured ones so that what remains is the storage's own.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from costmodel.inputs import Operations, Shape, Traffic
from handlers.functions import BY_NAME, FUNCTIONS

# The functions API Gateway runs once per connection: they scale with connections, not turns.
PER_CONNECTION = tuple(f.name for f in FUNCTIONS if {"$connect", "$disconnect"} & set(f.routes))
MB_PER_GB_MEMORY = 1024  # Lambda's GB-second counts memory in binary units

# Storage (sessions, connections, messages) per turn when the run did not use DynamoDB:
# bench/dynamodb_bench.py at turn 200 with 300-token replies, AWS-true (a transaction at 2
# units per item per KB: the guarded USER message 6, the final reply and its marks 8; the
# reply's start 1), plus the 2 WCU of the one checkpoint a 6-second reply writes.
REFERENCE_STORE_READS = 10.5  # get_session ×5 (the limits' check too), connections, Queries
REFERENCE_STORE_WRITES = 17.0
# A record taken with DynamoDB Local's own transaction figures undercounts each turn's
# guarded USER message (Local says 4 for its three items; AWS bills 6).
LOCAL_RATE_SHORTFALL_WCU = 2.0

HISTORY_ENTRY_OVERHEAD = 25  # {"role": ..., "content": ...} around each text
HISTORY_ITEM_OVERHEAD = 100  # dynamodb-items: sessionId, kind ("history#<µs>#<random>"), TTL
# A message item's attributes besides its text (keys, role, type, ids, status, usage, TTL):
# 170 bytes for a USER message, 280 for a reply (bench/dynamodb_bench.py's items).
MESSAGE_ITEM_OVERHEAD = 225

# A connect or disconnect the run did not count (a client-side run sees none): a few
# DynamoDB calls, about 40 ms on a warm 128 MB arm64 function.
ASSUMED_CONNECTION_CALL_MS = 40.0


@dataclass(frozen=True, slots=True)
class PortUnits:
    """What one port (lock or agent memory) costs per turn on each backend."""

    dynamo_reads: float = 0.0
    dynamo_writes: float = 0.0
    redis_commands: float = 0.0
    redis_ecpu: float = 0.0


@dataclass(frozen=True, slots=True)
class Function:
    invocations: float  # per turn, or per connection for PER_CONNECTION
    gb_s: float  # per turn, or per invocation for PER_CONNECTION


@dataclass(frozen=True, slots=True)
class RunUnits:
    """The run's counts per turn, independent of the deployment profile."""

    turns: float
    messages: float
    functions: Mapping[str, Function]
    store_reads: float
    store_writes: float
    ports: Mapping[str, PortUnits]
    reply_s: float
    reply_bytes: float
    tokens: Mapping[str, float]
    model_id: str
    notes: tuple[str, ...] = ()


def _rcu(size: float) -> int:
    """A strongly consistent read (GetItem, or a Query's items together): one unit per
    4 KB, at least one (a missing item, an empty Query)."""
    return max(1, math.ceil(size / 4096))


def _wcu(size: float) -> int:
    return max(1, math.ceil(size / 1024))


def _entry_bytes(traffic: Traffic, reply_bytes: float) -> float:
    """One history entry: a user message or a reply, on average, with its JSON wrapping."""
    return (traffic.user_message_bytes + reply_bytes) / 2 + HISTORY_ENTRY_OVERHEAD


def _session_turns(traffic: Traffic) -> int:
    """The turns of a session, whole, as the history model walks them one by one."""
    return max(1, round(traffic.turns_per_session))


def lock_units(shape: Shape, reply_s: float, stops_per_turn: float) -> PortUnits:
    """The lock per reply (core/services/reply.py, lease.py): acquired once, its keeper
    beating every heartbeat while the reply streams, released once, flagged once per
    stopGeneration. On DynamoDB (adapters/dynamodb/lock.py) acquire, release, stop and an
    extension are one conditional write of a small item (1 WCU); a heartbeat while more than
    half the lease is left reads the item instead (1 RCU), so a write falls every half lease.
    On Redis each call is one command or script."""
    beats = math.floor(reply_s * 1000 / shape.heartbeat_ms)
    extends = min(beats, math.floor(reply_s * 1000 / (shape.lock_lease_ms / 2)))
    return PortUnits(
        dynamo_reads=beats - extends,
        dynamo_writes=2 + extends + stops_per_turn,
        redis_commands=2 + beats + stops_per_turn,
        # acquire SET+DEL, release GET+DEL, extend GET+2×PEXPIRE, stop PTTL+SET
        redis_ecpu=2 + 2 + 3 * beats + 2 * stops_per_turn,
    )


def memory_turn_units(shape: Shape, traffic: Traffic, reply_bytes: float, turn: int) -> PortUnits:
    """Agent memory at one turn of a session (adapters/dynamodb/message_memory.py,
    adapters/redis/): the history read, the previous response id read, the turn's append,
    the response id written (counted every turn, an upper bound: only chaining models set
    it). On DynamoDB the memory keeps no copy: ``recent_history`` is one strongly
    consistent Query of the newest messages of the messages table that hold the cap (the
    pending prompt and up to ``history_items`` user messages and replies, whole items: one
    unit per 4 KB of them together); the append stores nothing, and it and the response
    id's put each read the session's fence first (a GetItem of the small session item, 1
    RCU: the reply's writes are fenced)."""
    entry = _entry_bytes(traffic, reply_bytes)
    appended = min(2, shape.history_items) * entry
    messages_read = min(2 * (turn - 1), shape.history_items)
    read = (messages_read * (entry - HISTORY_ENTRY_OVERHEAD + MESSAGE_ITEM_OVERHEAD)) + (
        traffic.user_message_bytes + MESSAGE_ITEM_OVERHEAD  # the pending prompt
    )
    before = min(2 * (turn - 1), shape.history_items) * entry
    return PortUnits(
        # the Query, the response id, the two fence reads
        dynamo_reads=_rcu(read) + 1 + 2,
        dynamo_writes=1,  # the response id
        redis_commands=4,
        # LRANGE moves the list; GET and SET the id; the append script runs 2 RPUSH + LTRIM
        # + EXPIRE + LLEN and moves the two new entries.
        redis_ecpu=max(1.0, before / 1024) + 1 + 1 + max(5.0, appended / 1024),
    )


def items_memory_turn_units(
    shape: Shape, traffic: Traffic, reply_bytes: float, turn: int
) -> PortUnits:
    """The previous DynamoDB memory (``AZUCHI_AGENT_MEMORY=dynamodb-items``,
    adapters/dynamodb/agent_memory.py) at one turn: one item per append, so
    ``recent_history`` is one Query of the newest appends that hold the cap, and the append
    one PutItem of the turn's two entries after raising the session's fence item (a small
    conditional UpdateItem, 1 WCU). Used to take a run's memory out of its measured units
    when the run used that memory."""
    entry = _entry_bytes(traffic, reply_bytes)
    item = min(2, shape.history_items) * entry + HISTORY_ITEM_OVERHEAD
    appends_read = min(turn - 1, math.ceil(shape.history_items / 2))
    return PortUnits(
        dynamo_reads=_rcu(appends_read * item) + 1,
        dynamo_writes=_wcu(item) + 1 + 1,  # the append, the response id, the fence
    )


def _session_average(
    units: Callable[[Shape, Traffic, float, int], PortUnits],
    shape: Shape,
    traffic: Traffic,
    reply_bytes: float,
) -> tuple[float, float]:
    turns = _session_turns(traffic)
    each = [units(shape, traffic, reply_bytes, t) for t in range(1, turns + 1)]
    return (
        sum(u.dynamo_reads for u in each) / turns,
        sum(u.dynamo_writes for u in each) / turns,
    )


def state_units(
    shape: Shape, traffic: Traffic, reply_s: float, stops_per_turn: float, reply_bytes: float
) -> dict[str, PortUnits]:
    """The lock's and agent memory's units per turn, averaged over a session's turns
    (``lock_units``, ``memory_turn_units``). ElastiCache bills an ECPU per KB moved and, for
    a script, the higher of that and its vCPU time relative to a GET; AWS does not publish
    that formula, so a script is taken at one ECPU per call it makes.
    """
    turns = _session_turns(traffic)
    each = [memory_turn_units(shape, traffic, reply_bytes, t) for t in range(1, turns + 1)]
    memory = PortUnits(
        dynamo_reads=sum(u.dynamo_reads for u in each) / turns,
        dynamo_writes=sum(u.dynamo_writes for u in each) / turns,
        redis_commands=4,
        redis_ecpu=sum(u.redis_ecpu for u in each) / turns,
    )
    return {"lock": lock_units(shape, reply_s, stops_per_turn), "memory": memory}


def history_bytes(shape: Shape, traffic: Traffic, reply_bytes: float) -> float:
    """What a session leaves in Redis's agent memory after its last turn: the capped list.
    (The lean profile's DynamoDB memory keeps only the response id: its history is the
    messages, stored and priced as storage.)"""
    return min(2 * _session_turns(traffic), shape.history_items) * _entry_bytes(
        traffic, reply_bytes
    )


def _functions(ops: Operations, turns: float) -> tuple[dict[str, Function], list[str]]:
    """Each function's invocations and GB-seconds per turn (per call for connect and
    disconnect, which the traffic profile scales), assuming what the run did not count."""
    notes: list[str] = []
    functions: dict[str, Function] = {}
    for name, fn in ops.functions.items():
        gb_s = fn.duration_ms / 1000 * fn.memory_mb / MB_PER_GB_MEMORY
        if name in PER_CONNECTION:
            per_call = gb_s / fn.invocations if fn.invocations else 0.0
            functions[name] = Function(1.0, per_call)
        else:
            functions[name] = Function(fn.invocations / turns, gb_s / turns)
    for name in PER_CONNECTION:
        if name not in functions:
            gb_s = ASSUMED_CONNECTION_CALL_MS / 1000 * BY_NAME[name].memory_mb / MB_PER_GB_MEMORY
            functions[name] = Function(1.0, gb_s)
            notes.append(
                f"the run counted no {name} calls: assumed {ASSUMED_CONNECTION_CALL_MS:g} ms each"
            )
    return functions, notes


def _store_units(
    ops: Operations, ports: Mapping[str, PortUnits], turns: float
) -> tuple[float, float, list[str]]:
    """The storage's own DynamoDB reads and writes per turn: the run's, less the lock's and
    memory's modelled units when those ran on DynamoDB; else the benchmark's figures."""
    notes: list[str] = []
    if not ops.dynamodb_measured:
        notes.append(
            "the run did not measure DynamoDB: storage units per turn are those of "
            f"bench/dynamodb_bench.py ({REFERENCE_STORE_READS} RCU, {REFERENCE_STORE_WRITES} WCU)"
        )
        return REFERENCE_STORE_READS, REFERENCE_STORE_WRITES, notes
    reads, writes = ops.read_units / turns, ops.write_units / turns
    if not ops.transactions_at_aws_rate:
        writes += LOCAL_RATE_SHORTFALL_WCU
        notes.append(
            "the record counted transactions at DynamoDB Local's rate: "
            f"+{LOCAL_RATE_SHORTFALL_WCU:g} WCU a turn for the guarded USER message (AWS bills "
            "2 units per item of a transaction)"
        )
    on_dynamo = [
        p for p in ("lock", "memory") if ops.adapters.get(p) in ("dynamodb", "dynamodb-items")
    ]
    for port in on_dynamo:
        reads -= ports[port].dynamo_reads
        writes -= ports[port].dynamo_writes
    if on_dynamo:
        notes.append(
            f"the run's {' and '.join(on_dynamo)} ran on DynamoDB: their modelled units "
            "are taken out of the measured ones to leave the storage's"
        )
    if reads < 0 or writes < 0:
        notes.append("the lock/memory model exceeds what the run measured; storage units set to 0")
        reads, writes = max(reads, 0.0), max(writes, 0.0)
    return reads, writes, notes


def run_units(ops: Operations, traffic: Traffic, shape: Shape) -> RunUnits:
    """Per-turn units from a run, with the storage's DynamoDB units separated from the
    lock's and agent memory's (modelled) when those ran on DynamoDB too."""
    turns = ops.turns
    functions, function_notes = _functions(ops, turns)
    worker = ops.functions.get("reply_worker")
    reply_s = worker.duration_ms / 1000 / turns if worker else 0.0
    tokens = {k: v / turns for k, v in ops.tokens.items()}
    reply_bytes = tokens.get("output_tokens", 0.0) * traffic.bytes_per_token
    stops = (
        ops.functions["stop_generation"].invocations if "stop_generation" in ops.functions else 0
    )
    ports = state_units(shape, traffic, reply_s, stops / turns, reply_bytes)
    measured = dict(ports)
    if ops.adapters.get("memory") == "dynamodb-items":  # the run kept a copy of the history
        r, w = _session_average(items_memory_turn_units, shape, traffic, reply_bytes)
        measured["memory"] = PortUnits(dynamo_reads=r, dynamo_writes=w)
    reads, writes, store_notes = _store_units(ops, measured, turns)
    return RunUnits(
        turns=turns,
        messages=(ops.inbound_messages + ops.outbound_messages) / turns,
        functions=functions,
        store_reads=reads,
        store_writes=writes,
        ports=ports,
        reply_s=reply_s,
        reply_bytes=reply_bytes,
        tokens=tokens,
        model_id=ops.model_id,
        notes=(*ops.notes, *function_notes, *store_notes),
    )
