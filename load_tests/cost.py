"""What azuchi costs on AWS, from the operations a load run counted (``azuchi cost``).

A load run (``azuchi load --json``) records what AWS bills for: API Gateway messages (32 KB
units) and connection-minutes, Lambda invocations and their duration, DynamoDB capacity
units, Redis commands and model tokens (its ``operations`` record). This module divides
those counts by the turns the run completed (a turn: one user message and its reply),
scales them to a traffic profile (``traffic.yaml``), prices them with the dated price table
(``adapters/pricing``), and adds what a deployment profile costs while idle:

- lean: no VPC; lock and agent memory in DynamoDB; nothing is billed by the hour.
- redis: lock and agent memory in ElastiCache Serverless (Valkey), inside a VPC whose
  interface endpoints bill per hour and availability zone.

One run prices both profiles. What the lock and agent memory cost per turn is modelled from
what their adapters do (``state_units``) and swapped between DynamoDB units and Redis
ECPUs; the storage's own units come from the run (or, when the run did not use DynamoDB,
from the per-turn figures ``bench/dynamodb_bench.py`` measured).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field

from adapters.local_gateway.stats import DEFAULT_MEMORY_MB, MEMORY_MB
from adapters.pricing.table import PriceTable
from core.domain import Usage

PROFILES = ("lean", "redis")
PER_CONNECTION = ("connect", "disconnect")  # scale with connections, not with turns
DAYS_PER_MONTH = 30.4
GB = 1e9  # AWS bills storage and data in decimal gigabytes
MB_PER_GB_MEMORY = 1024  # Lambda's GB-second counts memory in binary units

# Storage (sessions, connections, messages) per turn when the run did not use DynamoDB:
# docs/dynamodb.md, turn 200 (8.5 RCU, 6 WCU on DynamoDB Local) plus 2 WCU, because AWS
# bills the USER message's transactional write at 2 units per item where Local reports 1.
REFERENCE_STORE_READS = 8.5
REFERENCE_STORE_WRITES = 8.0

# Bytes a stored turn takes in the messages table beyond its text: the USER and AGENT items'
# attributes plus the clientMessageId guard item, each with DynamoDB's 100-byte overhead.
MESSAGE_OVERHEAD_BYTES = 900
CONNECTION_ITEM_BYTES = 300
HISTORY_ITEM_OVERHEAD = 100  # sessionId, kind, version, expireAt
HISTORY_ENTRY_OVERHEAD = 25  # {"role": ..., "content": ...} around each text
RESPONSE_ID_BYTES = 200  # the response-id item or key
FRAME_BYTES = 512  # an outbound frame through the execute-api endpoint, on average

# A connect or disconnect the run did not count (a client-side run sees none): a few
# DynamoDB calls, about 40 ms on a warm 128 MB arm64 function.
ASSUMED_CONNECTION_CALL_MS = 40.0
TOKEN_KINDS = ("input_tokens", "output_tokens", "cache_read_tokens", "cache_write_tokens")
SEED_ONE_PER_MONTH = 2.30  # seed 1's estimate, model tokens not included


def memory_mb(function: str) -> int:
    """The template's memory size of ``function``, for counters that carry none."""
    return MEMORY_MB.get(function, DEFAULT_MEMORY_MB)


@dataclass(frozen=True, slots=True)
class Measured:
    """One Lambda function's counters over the run."""

    invocations: float
    duration_ms: float
    memory_mb: float


@dataclass(frozen=True, slots=True)
class Operations:
    """A load run's ``operations`` record, checked (``load_tests.cost_cli.read_operations``).
    ``adapters`` says where the run's lock and memory ran: given, or inferred (see notes)."""

    source: str
    duration_s: float
    turns: float
    inbound_messages: float
    outbound_messages: float
    connection_minutes: float
    functions: Mapping[str, Measured]
    dynamodb_measured: bool
    read_units: float
    write_units: float
    redis_commands: float | None
    model_id: str
    tokens: Mapping[str, float]  # summed over the run, keyed by TOKEN_KINDS
    adapters: Mapping[str, str] = field(default_factory=dict)
    notes: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Traffic:
    """A month of use (``traffic.yaml``)."""

    name: str
    turns_per_month: float
    turns_per_session: float
    connections_per_session: float
    minutes_per_connection: float
    user_message_bytes: float
    bytes_per_token: float
    sessions_kept_months: float
    session_item_bytes: float
    frontend_mb: float
    log_bytes_per_invocation: float
    interface_endpoints: int
    availability_zones: int
    nat_gateways: int = 1

    @property
    def sessions_per_month(self) -> float:
        return self.turns_per_month / self.turns_per_session

    @property
    def connections_per_turn(self) -> float:
        return self.connections_per_session / self.turns_per_session


@dataclass(frozen=True, slots=True)
class Shape:
    """The app settings that move costs (``AZUCHI_HEARTBEAT_MS``, ``AZUCHI_HISTORY_ITEMS``,
    ``AZUCHI_MESSAGE_TTL_DAYS``, ``AZUCHI_RESPONSE_ID_TTL_S``)."""

    heartbeat_ms: int = 1_000
    history_items: int = 20
    message_ttl_days: float = 7.0
    memory_ttl_days: float = 20.0


@dataclass(frozen=True, slots=True)
class PortUnits:
    """What one port (lock or agent memory) costs per turn on each backend."""

    dynamo_reads: float = 0.0
    dynamo_writes: float = 0.0
    redis_commands: float = 0.0
    redis_ecpu: float = 0.0


def _rcu(size: float) -> int:
    """A strongly consistent GetItem: one unit per 4 KB, at least one (a missing item too)."""
    return max(1, math.ceil(size / 4096))


def _wcu(size: float) -> int:
    return max(1, math.ceil(size / 1024))


def state_units(
    shape: Shape, traffic: Traffic, reply_s: float, stops_per_turn: float, reply_bytes: float
) -> dict[str, PortUnits]:
    """The lock's and agent memory's units per turn, averaged over a session's turns.

    Per reply (core/services/reply.py, lease.py) the lock is acquired once, extended every
    heartbeat while the reply streams, released once, and flagged once per stopGeneration.
    Agent memory is read twice (history, previous response id) and written twice (history,
    response id). On DynamoDB (adapters/dynamodb/lock.py, agent_memory.py) each lock call is
    one conditional write of a small item (1 WCU); the history is one item read strongly
    consistent by ``recent_history`` and again by ``append_history`` (1 RCU per 4 KB) and
    rewritten whole (1 WCU per KB of the larger of the old and new item). On Redis
    (adapters/redis/) each call is one command or script. ElastiCache bills an ECPU per KB
    moved and, for a script, the higher of that and its vCPU time relative to a GET; AWS
    does not publish that formula, so a script is taken at one ECPU per call it makes.
    """
    extends = math.floor(reply_s * 1000 / shape.heartbeat_ms)
    lock = PortUnits(
        dynamo_writes=2 + extends + stops_per_turn,
        redis_commands=2 + extends + stops_per_turn,
        # acquire SET+DEL, release GET+DEL, extend GET+2×PEXPIRE, stop PTTL+SET
        redis_ecpu=2 + 2 + 3 * extends + 2 * stops_per_turn,
    )
    entry = (traffic.user_message_bytes + reply_bytes) / 2 + HISTORY_ENTRY_OVERHEAD
    turns = max(1, round(traffic.turns_per_session))
    reads = writes = ecpu = 0.0
    for turn in range(1, turns + 1):
        before = min(2 * (turn - 1), shape.history_items) * entry
        after = min(2 * turn, shape.history_items) * entry
        item_before = before + HISTORY_ITEM_OVERHEAD if turn > 1 else 0.0
        item_after = after + HISTORY_ITEM_OVERHEAD
        reads += 2 * _rcu(item_before) + 1  # history twice, response id once
        writes += _wcu(max(item_before, item_after)) + 1  # history rewrite, response id
        appended = min(2, shape.history_items) * entry
        # LRANGE moves the list; GET and SET the id; the append script runs 2 RPUSH + LTRIM
        # + EXPIRE + LLEN and moves the two new entries.
        ecpu += max(1.0, before / 1024) + 1 + 1 + max(5.0, appended / 1024)
    memory = PortUnits(
        dynamo_reads=reads / turns,
        dynamo_writes=writes / turns,
        redis_commands=4,
        redis_ecpu=ecpu / turns,
    )
    return {"lock": lock, "memory": memory}


def history_bytes(shape: Shape, traffic: Traffic, reply_bytes: float) -> float:
    """The history a session leaves in agent memory after its last turn."""
    entry = (traffic.user_message_bytes + reply_bytes) / 2 + HISTORY_ENTRY_OVERHEAD
    filled = min(2 * max(1, round(traffic.turns_per_session)), shape.history_items)
    return filled * entry + HISTORY_ITEM_OVERHEAD


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


def run_units(ops: Operations, traffic: Traffic, shape: Shape) -> RunUnits:
    """Per-turn units from a run, with the storage's DynamoDB units separated from the
    lock's and agent memory's (modelled) when those ran on DynamoDB too."""
    turns = ops.turns
    notes: list[str] = list(ops.notes)
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
            gb_s = ASSUMED_CONNECTION_CALL_MS / 1000 * memory_mb(name) / MB_PER_GB_MEMORY
            functions[name] = Function(1.0, gb_s)
            notes.append(
                f"the run counted no {name} calls: assumed {ASSUMED_CONNECTION_CALL_MS:g} ms each"
            )
    worker = ops.functions.get("reply_worker")
    reply_s = worker.duration_ms / 1000 / turns if worker else 0.0
    tokens = {k: v / turns for k, v in ops.tokens.items()}
    reply_bytes = tokens.get("output_tokens", 0.0) * traffic.bytes_per_token
    stops = (
        ops.functions["stop_generation"].invocations if "stop_generation" in ops.functions else 0
    )
    ports = state_units(shape, traffic, reply_s, stops / turns, reply_bytes)
    if ops.dynamodb_measured:
        reads, writes = ops.read_units / turns, ops.write_units / turns
        on_dynamo = [p for p in ("lock", "memory") if ops.adapters.get(p) == "dynamodb"]
        for port in on_dynamo:
            reads -= ports[port].dynamo_reads
            writes -= ports[port].dynamo_writes
        if on_dynamo:
            notes.append(
                f"the run's {' and '.join(on_dynamo)} ran on DynamoDB: their modelled units "
                "are taken out of the measured ones to leave the storage's"
            )
        if reads < 0 or writes < 0:
            notes.append(
                "the lock/memory model exceeds what the run measured; storage units set to 0"
            )
            reads, writes = max(reads, 0.0), max(writes, 0.0)
    else:
        reads, writes = REFERENCE_STORE_READS, REFERENCE_STORE_WRITES
        notes.append(
            "the run did not measure DynamoDB: storage units per turn are those of "
            f"bench/dynamodb_bench.py ({REFERENCE_STORE_READS} RCU, {REFERENCE_STORE_WRITES} WCU)"
        )
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
        notes=tuple(notes),
    )


@dataclass(frozen=True, slots=True)
class LineItem:
    """One bill line. What it costs a month is ``per_1000_turns × turns / 1000 + idle``:
    ``idle`` is what stays billed with no traffic at all (hourly resources, stored data)."""

    label: str
    per_turn: str  # the quantity behind it, for people
    per_1000_turns: float
    idle: float = 0.0
    tokens: bool = False  # model tokens: reported beside the infrastructure, not in it

    def per_month(self, turns_per_month: float) -> float:
        return self.per_1000_turns * turns_per_month / 1000 + self.idle


@dataclass(frozen=True, slots=True)
class ProfileCost:
    profile: str
    turns_per_month: float
    items: tuple[LineItem, ...]
    notes: tuple[str, ...] = ()

    def _sum(self, tokens: bool | None, what: str) -> float:
        chosen = [i for i in self.items if tokens is None or i.tokens == tokens]
        if what == "per_1000_turns":
            return sum(i.per_1000_turns for i in chosen)
        if what == "idle":
            return sum(i.idle for i in chosen)
        return sum(i.per_month(self.turns_per_month) for i in chosen)

    @property
    def infra_per_1000_turns(self) -> float:
        return self._sum(False, "per_1000_turns")

    @property
    def infra_per_month(self) -> float:
        return self._sum(False, "per_month")

    @property
    def tokens_per_month(self) -> float:
        return self._sum(True, "per_month")

    @property
    def per_month(self) -> float:
        return self._sum(None, "per_month")

    @property
    def idle_floor(self) -> float:
        return self._sum(None, "idle")


def price_profile(
    profile: str,
    units: RunUnits,
    traffic: Traffic,
    shape: Shape,
    prices: PriceTable,
    model_id: str | None = None,
) -> ProfileCost:
    """The bill of ``profile`` at ``traffic``: per-turn lines from the run, per-session
    lines from the traffic profile, hourly and stored lines from both."""
    if profile not in PROFILES:
        raise ValueError(f"unknown profile {profile!r}; choose one of {', '.join(PROFILES)}")
    redis = profile == "redis"

    def line(label: str, text: str, per_turn: float, price: str, idle: float = 0.0) -> LineItem:
        """``price`` is ``service.item`` in the table; ``per_million_*`` items are divided."""
        service, item = price.split(".")
        rate = prices.aws_price(service, item) / (1e6 if item.startswith("per_million") else 1)
        return LineItem(label, text, 1000 * per_turn * rate, idle)

    minutes = traffic.connections_per_turn * traffic.minutes_per_connection
    calls = gb_s = 0.0
    for name, fn in units.functions.items():
        if name in PER_CONNECTION:  # per connection of the traffic, each call's own GB-s
            calls += traffic.connections_per_turn
            gb_s += traffic.connections_per_turn * fn.gb_s
        else:
            calls += fn.invocations
            gb_s += fn.gb_s
    lock, memory = units.ports["lock"], units.ports["memory"]
    reads = units.store_reads + (0 if redis else lock.dynamo_reads + memory.dynamo_reads)
    writes = units.store_writes + (0 if redis else lock.dynamo_writes + memory.dynamo_writes)
    items = [
        line(
            "API Gateway messages",
            f"{units.messages:.1f} messages (32 KB units)",
            units.messages,
            "apigateway_websocket.per_million_messages",
        ),
        line(
            "API Gateway connection minutes",
            f"{minutes:.2f} minutes",
            minutes,
            "apigateway_websocket.per_million_connection_minutes",
        ),
        line(
            "Lambda requests",
            f"{calls:.2f} invocations",
            calls,
            "lambda_arm64.per_million_requests",
        ),
        line("Lambda duration", f"{gb_s:.3f} GB-s", gb_s, "lambda_arm64.per_gb_second"),
        line(
            "DynamoDB reads", f"{reads:.1f} RRU", reads, "dynamodb_on_demand.per_million_read_units"
        ),
        line(
            "DynamoDB writes",
            f"{writes:.1f} WRU",
            writes,
            "dynamodb_on_demand.per_million_write_units",
        ),
    ]

    # Bytes stored for a month per turn of monthly traffic, at steady state. Messages live
    # for their TTL and connections a day; agent memory is kept for sessions used within its
    # TTL; sessions are never deleted, so they are what an idle deployment still stores.
    stored = (traffic.user_message_bytes + units.reply_bytes + MESSAGE_OVERHEAD_BYTES) * (
        shape.message_ttl_days / DAYS_PER_MONTH
    ) + traffic.connections_per_turn * CONNECTION_ITEM_BYTES / DAYS_PER_MONTH
    remembered = (history_bytes(shape, traffic, units.reply_bytes) + RESPONSE_ID_BYTES) * (
        min(1.0, shape.memory_ttl_days / DAYS_PER_MONTH) / traffic.turns_per_session
    )
    if not redis:
        stored += remembered
    sessions = traffic.sessions_per_month * traffic.sessions_kept_months
    storage = prices.aws_price("dynamodb_on_demand", "storage_per_gb_month")
    items.append(
        line(
            "DynamoDB storage",
            f"{stored / 1000:.2f} KB kept a month",
            stored / GB,
            "dynamodb_on_demand.storage_per_gb_month",
            idle=sessions * traffic.session_item_bytes / GB * storage,
        )
    )
    if redis:
        items += _redis_lines(units, traffic, prices, remembered)
    log_bytes = calls * traffic.log_bytes_per_invocation
    frontend = traffic.frontend_mb * 1e6 / GB * prices.aws_price("s3_standard", "per_gb_month")
    items += [
        line(
            "CloudWatch Logs",
            f"{log_bytes / 1000:.1f} KB ingested",
            log_bytes / GB,
            "cloudwatch_logs.per_gb_ingested",
        ),
        LineItem("Frontend (S3)", f"{traffic.frontend_mb:g} MB stored", 0.0, idle=frontend),
    ]
    token_line, notes = _token_line(units, prices, model_id or units.model_id)
    return ProfileCost(profile, traffic.turns_per_month, (*items, token_line), notes)


def _redis_lines(
    units: RunUnits, traffic: Traffic, prices: PriceTable, remembered: float
) -> list[LineItem]:
    """ElastiCache (data stored, with its minimum, and ECPUs) and the VPC's way out: the NAT
    gateway (per hour, and per GB: @connections posts, and model streams unless an interface
    endpoint carries them) and interface endpoints (per hour and AZ, and per GB)."""
    cache, endpoint, nat = "elasticache_serverless_valkey", "vpc_interface_endpoint", "nat_gateway"
    gb_month = prices.aws_price(cache, "per_gb_hour") * prices.hours_per_month
    floor_gb = prices.aws_price(cache, "minimum_gb")
    stored_gb = remembered * traffic.turns_per_month / GB
    above = max(0.0, stored_gb - floor_gb) * gb_month  # billed only past the minimum
    lock, memory = units.ports["lock"], units.ports["memory"]
    ecpu = lock.redis_ecpu + memory.redis_ecpu
    commands = lock.redis_commands + memory.redis_commands
    model_bytes = sum(units.tokens.values()) * traffic.bytes_per_token
    posts_bytes = units.messages * FRAME_BYTES
    via_endpoint = model_bytes if traffic.interface_endpoints else 0.0
    via_nat = posts_bytes + model_bytes - via_endpoint
    hourly = traffic.interface_endpoints * traffic.availability_zones * prices.hours_per_month
    nat_hours = traffic.nat_gateways * prices.hours_per_month
    return [
        LineItem(
            "ElastiCache storage",
            f"{remembered / 1000:.2f} KB (minimum {floor_gb:g} GB)",
            1000 * above / traffic.turns_per_month if traffic.turns_per_month else 0.0,
            idle=floor_gb * gb_month,
        ),
        LineItem(
            "ElastiCache ECPU",
            f"{ecpu:.1f} ECPU ({commands:.0f} commands)",
            1000 * ecpu * prices.aws_price(cache, "per_million_ecpu") / 1e6,
        ),
        LineItem(
            "NAT gateway",
            f"{traffic.nat_gateways} gateway; {via_nat / 1000:.1f} KB",
            1000 * via_nat / GB * prices.aws_price(nat, "per_gb") if traffic.nat_gateways else 0,
            idle=nat_hours * prices.aws_price(nat, "per_hour"),
        ),
        LineItem(
            "VPC interface endpoints",
            f"{traffic.interface_endpoints} x {traffic.availability_zones} AZ; "
            f"{via_endpoint / 1000:.1f} KB",
            1000 * via_endpoint / GB * prices.aws_price(endpoint, "per_gb"),
            idle=hourly * prices.aws_price(endpoint, "per_hour_per_az"),
        ),
    ]


def _token_line(
    units: RunUnits, prices: PriceTable, model_id: str
) -> tuple[LineItem, tuple[str, ...]]:
    price = prices.model(model_id)
    usage = Usage(*(round(1000 * units.tokens.get(kind, 0.0)) for kind in TOKEN_KINDS))
    given, out, read, write = (units.tokens.get(kind, 0.0) for kind in TOKEN_KINDS)
    per_turn = f"{given:,.0f} in, {out:,.0f} out, {read:,.0f}+{write:,.0f} cache r+w"
    notes = () if price else (f"the price table has no price for {model_id!r}: tokens not priced",)
    cost = 0.0 if price is None else price.cost(usage)
    return LineItem(f"Model tokens ({model_id})", per_turn, cost, tokens=True), notes


def seed_one(lean: ProfileCost) -> dict[str, float | None]:
    """Seed 1 estimated $2.30 a month plus tokens without saying for what traffic; so the
    comparison is at the same turns a month, and the turns at which lean reaches $2.30."""
    rate = lean.infra_per_1000_turns / 1000
    reach = (SEED_ONE_PER_MONTH - lean.idle_floor) / rate if rate > 0 else None
    return {
        "seed_one_per_month": SEED_ONE_PER_MONTH,
        "turns_per_month": lean.turns_per_month,
        "lean_per_month": lean.infra_per_month,
        "lean_reaches_seed_one_at_turns": reach,
    }
