"""The cost model's arithmetic on a small operations record, checked by hand against the
price table's own values (never against totals copied from the output)."""

from __future__ import annotations

import copy
import math
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from adapters.pricing.table import load_price_table
from costmodel import pricing
from costmodel.inputs import Shape, Traffic, parse_operations, read_traffic
from costmodel.reference import REFERENCE_RUN
from costmodel.units import run_units, state_units
from handlers.functions import BY_NAME

PRICES = load_price_table()
SHAPE = Shape(heartbeat_ms=1_000, history_items=20, message_ttl_days=7, memory_ttl_days=20)
MODEL = "anthropic.claude-sonnet-4-6"

# 1,000 turns; one connection per session, one turn per session; replies of 2 s.
RECORD: dict[str, Any] = {
    "operations": {
        "source": "server",
        "duration_s": 60.0,
        "turns": 1000,
        "apigw": {"inbound_messages": 1000, "outbound_messages": 9000, "connection_minutes": 50},
        "lambda": {
            "connect": {"invocations": 100, "duration_ms": 5000.0, "memory_mb": 128},
            "disconnect": {"invocations": 100, "duration_ms": 1000.0, "memory_mb": 128},
            "put_message": {"invocations": 1000, "duration_ms": 100_000.0, "memory_mb": 256},
            "reply_worker": {"invocations": 1000, "duration_ms": 2_000_000.0, "memory_mb": 512},
        },
        "dynamodb": {
            "read_units": 20_000.0,
            "write_units": 30_000.0,
            "measured": True,
            "transactions_at_aws_rate": True,
        },
        "redis": {"commands": 6000, "measured": True},
        "adapters": {"storage": "dynamodb", "lock": "redis", "memory": "redis"},
        "model": {
            "model_id": MODEL,
            "input_tokens": 2_000_000,
            "output_tokens": 25_000,
            "cache_read_tokens": 1_000_000,
            "cache_write_tokens": 0,
        },
    }
}

TRAFFIC = """
name: test
turns_per_month: 10000
turns_per_session: 1
connections_per_session: 1
minutes_per_connection: 10
user_message_bytes: 100
bytes_per_token: 4
stored: {sessions_kept_months: 0, session_item_bytes: 300, frontend_mb: 0}
logs: {bytes_per_invocation: 0}
deployment: {nat_gateways: 1, interface_endpoints: 1, availability_zones: 2}
"""


def price(service: str, item: str) -> float:
    return PRICES.aws_price(service, item)


@pytest.fixture
def traffic(tmp_path: Path) -> Traffic:
    path = tmp_path / "traffic.yaml"
    path.write_text(TRAFFIC)
    return read_traffic(path)


def bill(profile: str, traffic: Traffic, record: dict[str, Any] = RECORD) -> pricing.ProfileCost:
    units = run_units(parse_operations(record, "test"), traffic, SHAPE)
    return pricing.price_profile(profile, units, traffic, SHAPE, PRICES)


def line(b: pricing.ProfileCost, label: str) -> pricing.LineItem:
    return next(i for i in b.items if i.label.startswith(label))


def test_each_line_is_the_runs_units_per_turn_at_the_tables_price(traffic) -> None:
    redis = bill("redis", traffic)
    per_million = 1e6
    msgs = price("apigateway_websocket", "per_million_messages") / per_million
    assert line(redis, "API Gateway messages").per_1000_turns == pytest.approx(1000 * 10 * msgs)
    minutes = price("apigateway_websocket", "per_million_connection_minutes") / per_million
    # the traffic's 1 connection of 10 minutes per session of 1 turn, not the run's pacing
    assert line(redis, "API Gateway connection").per_1000_turns == pytest.approx(
        1000 * 10 * minutes
    )
    requests = price("lambda_arm64", "per_million_requests") / per_million
    assert line(redis, "Lambda requests").per_1000_turns == pytest.approx(1000 * 4 * requests)
    # put 0.1 s x 0.25 GB + worker 2 s x 0.5 GB + connect 0.05 s and disconnect 0.01 s x 0.125 GB
    gb_s = 0.1 * 0.25 + 2 * 0.5 + 0.05 * 0.125 + 0.01 * 0.125
    assert line(redis, "Lambda duration").per_1000_turns == pytest.approx(
        1000 * gb_s * price("lambda_arm64", "per_gb_second")
    )
    # lock and memory ran on Redis: the run's DynamoDB units are all the storage's
    rru = price("dynamodb_on_demand", "per_million_read_units") / per_million
    wru = price("dynamodb_on_demand", "per_million_write_units") / per_million
    assert line(redis, "DynamoDB reads").per_1000_turns == pytest.approx(1000 * 20 * rru)
    assert line(redis, "DynamoDB writes").per_1000_turns == pytest.approx(1000 * 30 * wru)
    sonnet = PRICES.model(MODEL)
    assert sonnet is not None
    tokens = line(redis, "Model tokens")
    assert tokens.tokens and tokens.per_1000_turns == pytest.approx(
        (2_000_000 * sonnet.input + 25_000 * sonnet.output + 1_000_000 * sonnet.cache_read) / 1e6
    )
    for item in redis.items:  # a month is 10 x the 1,000 turns, plus what idles
        assert item.per_month(10_000) == pytest.approx(10 * item.per_1000_turns + item.idle)
    assert redis.per_month == pytest.approx(redis.infra_per_month + redis.tokens_per_month)


def test_lean_adds_what_the_dynamodb_lock_and_memory_do_per_turn(traffic) -> None:
    lean, redis = bill("lean", traffic), bill("redis", traffic)
    # Lock: acquire + release = 2 writes; its 2 heartbeats (a 2 s reply, 1 s heartbeat) fall
    # while more than half the 30 s lease is left, so they read the lease (2 reads).
    # Memory on turn 1 (it is read from the messages table): the history Query finds only
    # the pending prompt (1 unit) + the response id + the session's fence read before the
    # append and before the response id's put = 4 reads; the append stores nothing, the
    # response id is 1 write.
    rru = price("dynamodb_on_demand", "per_million_read_units") / 1e6
    wru = price("dynamodb_on_demand", "per_million_write_units") / 1e6
    assert line(lean, "DynamoDB reads").per_1000_turns == pytest.approx(1000 * (20 + 2 + 4) * rru)
    assert line(lean, "DynamoDB writes").per_1000_turns == pytest.approx(1000 * (30 + 2 + 1) * wru)
    assert not any(i.label.startswith(("ElastiCache", "VPC")) for i in lean.items)
    assert line(redis, "ElastiCache ECPU").per_1000_turns > 0


def test_a_run_with_the_lock_and_memory_on_dynamodb_leaves_the_storage_its_own_units(
    traffic,
) -> None:
    record = copy.deepcopy(RECORD)
    record["operations"]["adapters"] = {"lock": "dynamodb", "memory": "dynamodb"}
    record["operations"]["dynamodb"] = {
        "read_units": 26_000,  # storage 20 + lock 2 + memory 4 a turn
        "write_units": 33_000,  # storage 30 + lock 2 + memory 1 a turn
        "transactions_at_aws_rate": True,
    }
    lean, redis = bill("lean", traffic, record), bill("redis", traffic, record)
    rru = price("dynamodb_on_demand", "per_million_read_units") / 1e6
    wru = price("dynamodb_on_demand", "per_million_write_units") / 1e6
    assert line(lean, "DynamoDB reads").per_1000_turns == pytest.approx(1000 * 26 * rru)
    assert line(redis, "DynamoDB reads").per_1000_turns == pytest.approx(1000 * 20 * rru)
    assert line(redis, "DynamoDB writes").per_1000_turns == pytest.approx(1000 * 30 * wru)


def test_a_record_metered_at_dynamodb_locals_rate_pays_the_transactions_aws_bills(
    traffic,
) -> None:
    # DynamoDB Local reports the USER message's two-item transaction as 2 units; AWS bills 4
    record = copy.deepcopy(RECORD)
    del record["operations"]["dynamodb"]["transactions_at_aws_rate"]
    wru = price("dynamodb_on_demand", "per_million_write_units") / 1e6
    redis = bill("redis", traffic, record)
    assert line(redis, "DynamoDB writes").per_1000_turns == pytest.approx(1000 * 32 * wru)


def test_lean_idles_at_zero_but_for_what_it_stores(traffic) -> None:
    assert bill("lean", traffic).idle_floor == 0.0  # nothing kept, no frontend: nothing at all
    default = read_traffic(Path(pricing.__file__).with_name("traffic.yaml"))
    lean = bill("lean", default, REFERENCE_RUN)
    stored = {"DynamoDB storage", "Frontend (S3)"}
    assert all(i.idle == 0.0 for i in lean.items if i.label not in stored)
    sessions = default.sessions_per_month * default.sessions_kept_months
    kept = (
        sessions
        * default.session_item_bytes
        / 1e9
        * price("dynamodb_on_demand", "storage_per_gb_month")
    )
    frontend = default.frontend_mb / 1000 * price("s3_standard", "per_gb_month")
    assert lean.idle_floor == pytest.approx(kept + frontend)
    assert lean.idle_floor < 0.01  # cents at most


def test_redis_idles_at_the_cache_minimum_the_nat_gateway_and_the_endpoints(traffic) -> None:
    redis = bill("redis", traffic)
    hours = PRICES.hours_per_month
    cache = (
        price("elasticache_serverless_valkey", "minimum_gb")
        * hours
        * price("elasticache_serverless_valkey", "per_gb_hour")
    )
    endpoints = 1 * 2 * hours * price("vpc_interface_endpoint", "per_hour_per_az")
    gateway = 1 * hours * price("nat_gateway", "per_hour")
    ipv4 = 1 * hours * price("public_ipv4", "per_hour")  # the NAT gateway's Elastic IP
    nat = gateway + ipv4
    assert line(redis, "ElastiCache storage").idle == pytest.approx(cache)
    assert line(redis, "VPC interface endpoints").idle == pytest.approx(endpoints)
    assert line(redis, "NAT gateway").idle == pytest.approx(gateway)
    assert line(redis, "NAT gateway public IPv4").idle == pytest.approx(ipv4)
    assert ipv4 == pytest.approx(3.65)  # $0.005 an hour
    assert redis.idle_floor == pytest.approx(cache + endpoints + nat)
    # with no traffic at all, a month costs exactly that
    assert bill("redis", replace(traffic, turns_per_month=0.0)).per_month == pytest.approx(
        cache + endpoints + nat
    )


def test_seed_ones_estimate_is_compared_at_the_same_traffic(traffic) -> None:
    lean = bill("lean", traffic)
    seed = pricing.seed_one(lean)
    assert seed["seed_one_per_month"] == 2.30
    assert seed["lean_per_month"] == pytest.approx(lean.infra_per_month)
    reach = seed["lean_reaches_seed_one_at_turns"]
    assert reach is not None
    assert reach * lean.infra_per_1000_turns / 1000 + lean.idle_floor == pytest.approx(2.30)


def test_a_function_counted_without_a_size_is_priced_at_its_deployed_memory(traffic) -> None:
    # default and stop_generation are deployed at 128 MB (they were priced at 256 MB when
    # the sizes were written in five places).
    record = copy.deepcopy(RECORD)
    record["operations"]["lambda"]["default"] = {"invocations": 1000, "duration_ms": 10_000.0}
    record["operations"]["lambda"]["stop_generation"] = {"invocations": 100, "duration_ms": 2000}
    units = run_units(parse_operations(record, "test"), traffic, SHAPE)
    # per turn: 10 s x 0.125 GB over 1,000 turns, and 2 s x 0.125 GB
    assert units.functions["default"].gb_s == pytest.approx(10 * 0.125 / 1000)
    assert units.functions["stop_generation"].gb_s == pytest.approx(2 * 0.125 / 1000)
    assert BY_NAME["default"].memory_mb == BY_NAME["stop_generation"].memory_mb == 128


def test_the_reference_run_was_measured_at_the_deployed_sizes() -> None:
    # docs/cost.md's figures come from it: they hold for what the template deploys
    for name, counted in REFERENCE_RUN["operations"]["lambda"].items():
        assert counted["memory_mb"] == BY_NAME[name].memory_mb, name


def test_history_grows_with_the_session_until_it_is_capped() -> None:
    base = dict(
        name="t",
        turns_per_month=1,
        connections_per_session=1,
        minutes_per_connection=1,
        user_message_bytes=2000,
        bytes_per_token=4,
        sessions_kept_months=0,
        session_item_bytes=0,
        frontend_mb=0,
        log_bytes_per_invocation=0,
        interface_endpoints=0,
        availability_zones=0,
        nat_gateways=0,
    )
    reads = [
        state_units(SHAPE, Traffic(turns_per_session=t, **base), 0, 0, 2000)["memory"].dynamo_reads
        for t in (1, 10, 100)
    ]
    # messages of 2 KB: a full history of 20 is the newest 20 messages and the pending
    # prompt, ~46 KB with their other attributes, 12 units a Query (+1 for the response id,
    # +2 for the fence reads); turn 1's Query finds the prompt alone (1); longer sessions
    # spend more of their turns at that size
    messages = 21 * (2000 + 225)
    assert reads[0] == 4 and reads[0] < reads[1] < reads[2] <= math.ceil(messages / 4096) + 3


def test_per_turn_counts_the_checkpoints_a_paced_reply_writes(traffic) -> None:
    """``azuchi cost --per-turn``: a 300-token reply at 50 tokens/s streams 6 s and stores
    its text once (at 5 s, ~1.2 KB: 2 WCU); a 120-token one (2.4 s) never. The lean profile's
    memory reads the messages: 1 WCU a turn (the response id), no copy of the history."""
    from costmodel.per_turn import STORE_UNITS, checkpoint_writes, turn_costs

    assert checkpoint_writes(300, 4) == 2 and checkpoint_writes(120, 4) == 0
    assert checkpoint_writes(600, 4) == 2 + 3  # at 5 s and at 10 s, the text so far
    costs = {(c.profile, c.reply_tokens, c.turn): c for c in turn_costs(SHAPE, traffic)}
    later_300 = STORE_UNITS[300]["later"][1]
    assert costs[("redis", 300, 50)].writes == later_300 + 2
    assert costs[("lean", 300, 50)].writes == later_300 + 2 + 2 + 1  # + lock + response id
