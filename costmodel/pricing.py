"""What azuchi costs on AWS, from the operations a load run counted (``azuchi cost``).

A load run (``azuchi load --json``) records what AWS bills for: API Gateway messages (32 KB
units) and connection-minutes, Lambda invocations and their duration, DynamoDB capacity
units, Redis commands and model tokens (its ``operations`` record, read by
``costmodel.inputs``). Those counts, divided by the turns the run completed (a turn: one
user message and its reply; ``costmodel.units``), are here scaled to a traffic profile
(``costmodel/traffic.yaml``), priced with the dated price table (``adapters/pricing``), and
joined by what a deployment profile costs while idle:

- lean: no VPC; lock and agent memory in DynamoDB; nothing is billed by the hour.
- redis: lock and agent memory in ElastiCache Serverless (Valkey), inside a VPC whose
  interface endpoints bill per hour and availability zone.

One run prices both profiles: the lock's and agent memory's units per turn are modelled for
both backends, so pricing only picks which of them a profile pays for.
"""

from __future__ import annotations

from dataclasses import dataclass

from adapters.pricing.table import PriceTable
from core.domain import Usage
from costmodel.inputs import TOKEN_KINDS, Shape, Traffic
from costmodel.units import PER_CONNECTION, RunUnits, history_bytes

PROFILES = ("lean", "redis")
DAYS_PER_MONTH = 30.4
GB = 1e9  # AWS bills storage and data in decimal gigabytes

# Bytes a stored turn takes in the messages table beyond its text: the USER and AGENT items'
# attributes plus the clientMessageId guard item, each with DynamoDB's 100-byte overhead.
MESSAGE_OVERHEAD_BYTES = 900
CONNECTION_ITEM_BYTES = 300
RESPONSE_ID_BYTES = 200  # the response-id item or key
FRAME_BYTES = 512  # an outbound frame through the execute-api endpoint, on average

SEED_ONE_PER_MONTH = 2.30  # seed 1's estimate, model tokens not included


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
    kept = min(1.0, shape.memory_ttl_days / DAYS_PER_MONTH) / traffic.turns_per_session
    remembered = (history_bytes(shape, traffic, units.reply_bytes) + RESPONSE_ID_BYTES) * kept
    if not redis:  # the lean memory keeps no history of its own: only the response id
        stored += RESPONSE_ID_BYTES * kept
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
    endpoint carries them), its public IPv4 address (per hour, like every public IPv4), and
    interface endpoints (per hour and AZ, and per GB)."""
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
            "NAT gateway public IPv4",
            f"{traffic.nat_gateways} Elastic IP",
            0.0,
            idle=nat_hours * prices.aws_price("public_ipv4", "per_hour"),
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
