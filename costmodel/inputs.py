"""What ``azuchi cost`` reads: a load run's ``operations`` record, the traffic profile and the
app settings that move costs, each checked before anything is priced.

Input it cannot use raises ``CostInputError`` whose message names the file and the field, so
the command can print one line and exit 2 instead of a traceback or a half-printed bill.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from handlers.functions import BY_NAME

TOKEN_KINDS = ("input_tokens", "output_tokens", "cache_read_tokens", "cache_write_tokens")

# traffic.yaml's keys by section ("" is the top level), in the order they are checked; the
# first bad key is the one reported.
TRAFFIC_SECTIONS: dict[str, tuple[str, ...]] = {
    "": (
        "turns_per_month",
        "turns_per_session",
        "connections_per_session",
        "minutes_per_connection",
        "user_message_bytes",
        "bytes_per_token",
    ),
    "stored": ("sessions_kept_months", "session_item_bytes", "frontend_mb"),
    "logs": ("log_bytes_per_invocation",),
    "deployment": ("interface_endpoints", "availability_zones", "nat_gateways"),
}
TRAFFIC_ABOVE_ZERO = frozenset({"turns_per_session", "connections_per_session"})  # divisors
TRAFFIC_COUNTS = "deployment"  # a section of whole numbers (endpoints, AZs, gateways)
TRAFFIC_RENAMED = {"log_bytes_per_invocation": "bytes_per_invocation"}  # field -> YAML key


def memory_mb(function: str) -> int | None:
    """The deployed memory size of ``function`` (``handlers.functions``), for counters that
    carry none; None for a function the template does not have (its counter must say)."""
    fact = BY_NAME.get(function)
    return None if fact is None else fact.memory_mb


@dataclass(frozen=True, slots=True)
class Measured:
    """One Lambda function's counters over the run."""

    invocations: float
    duration_ms: float
    memory_mb: float


@dataclass(frozen=True, slots=True)
class Operations:
    """A load run's ``operations`` record, checked (``parse_operations``).
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
    # False for a record taken with DynamoDB Local's own transaction figures (not AWS's)
    transactions_at_aws_rate: bool = True


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
    ``AZUCHI_MESSAGE_TTL_DAYS``, ``AZUCHI_RESPONSE_ID_TTL_S``, ``AZUCHI_LOCK_LEASE_MS``)."""

    heartbeat_ms: int = 1_000
    history_items: int = 20
    message_ttl_days: float = 7.0
    memory_ttl_days: float = 20.0
    lock_lease_ms: int = 30_000


class CostInputError(ValueError):
    """An input file azuchi cost cannot use; the message names the file and the field."""


def read_json(path: Path) -> Any:
    """``path`` parsed as JSON, or a ``CostInputError`` saying why it cannot be."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise CostInputError(f"cannot read {path}: {error.strerror}") from None
    except UnicodeDecodeError:
        raise CostInputError(f"{path} is not UTF-8 text") from None
    except json.JSONDecodeError as error:
        raise CostInputError(f"{path} is not JSON: {error.msg} at line {error.lineno}") from None


def _field_name(where: str, key: str) -> str:
    """``where`` is a dotted path (``file: operations.apigw``) or a prefix ending in a space
    (``file: `` for a top-level key), so messages read ``file: turns`` not ``file: .turns``."""
    return f"{where}{key}" if where.endswith(" ") else f"{where}.{key}"


def _number(
    section: Mapping[str, Any], key: str, where: str, default: float | None = None, low: str = "≥ 0"
) -> float:
    value = section.get(key, default)
    name = _field_name(where, key)
    if value is None:
        raise CostInputError(f"{name} is missing")
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or not math.isfinite(value)
        or value < 0
        or (low == "above 0" and value == 0)
    ):
        raise CostInputError(f"{name} must be a number {low}, not {value!r}")
    return float(value)


def _mapping(parent: Mapping[str, Any], key: str, where: str, required: bool = True) -> Any:
    value = parent.get(key)
    if value is None and not required:
        return {}
    if not isinstance(value, dict):
        found = "is missing" if value is None else f"must be an object, not {value!r:.40}"
        raise CostInputError(f"{_field_name(where, key)} {found}")
    return value


def parse_operations(document: Any, where: str) -> Operations:
    """The ``operations`` record of an ``azuchi load`` summary, checked field by field."""
    if not isinstance(document, dict) or not isinstance(document.get("operations"), dict):
        raise CostInputError(
            f"{where} has no 'operations' record: give the JSON summary of azuchi load --json"
        )
    ops = document["operations"]
    at = f"{where}: operations"
    if ops.get("turns") == 0:
        raise CostInputError(f"{at}.turns is 0: the run completed no reply, nothing to price")
    turns = _number(ops, "turns", at, low="above 0")
    apigw = _mapping(ops, "apigw", at)
    functions = {}
    for name, entry in _mapping(ops, "lambda", at, required=False).items():
        fn = _mapping({name: entry}, name, f"{at}.lambda")
        if "memory_mb" not in fn and memory_mb(name) is None:
            raise CostInputError(
                f"{at}.lambda.{name} has no memory_mb and is not a function of the template "
                f"({', '.join(BY_NAME)}): say its memory size"
            )
        functions[str(name)] = Measured(
            invocations=_number(fn, "invocations", f"{at}.lambda.{name}"),
            duration_ms=_number(fn, "duration_ms", f"{at}.lambda.{name}"),
            memory_mb=_number(fn, "memory_mb", f"{at}.lambda.{name}", memory_mb(name), "above 0"),
        )
    dynamo = _mapping(ops, "dynamodb", at, required=False)
    reads = _number(dynamo, "read_units", f"{at}.dynamodb", 0.0)
    writes = _number(dynamo, "write_units", f"{at}.dynamodb", 0.0)
    measured = bool(dynamo.get("measured", reads + writes > 0))
    aws_rate = bool(dynamo.get("transactions_at_aws_rate", False))
    redis = _mapping(ops, "redis", at, required=False)
    commands = _number(redis, "commands", f"{at}.redis", 0.0)
    redis_measured = bool(redis.get("measured", commands > 0))
    model = _mapping(ops, "model", at, required=False)
    model_id = model.get("model_id", "unknown")
    if not isinstance(model_id, str) or not model_id:
        raise CostInputError(f"{at}.model.model_id must be a model id string, not {model_id!r}")
    adapters, notes = _adapters(ops, at, measured, redis_measured and commands > 0)
    return Operations(
        source=str(ops.get("source", "unknown")),
        duration_s=_number(ops, "duration_s", at, 0.0),
        turns=turns,
        inbound_messages=_number(apigw, "inbound_messages", f"{at}.apigw"),
        outbound_messages=_number(apigw, "outbound_messages", f"{at}.apigw"),
        connection_minutes=_number(apigw, "connection_minutes", f"{at}.apigw"),
        functions=functions,
        dynamodb_measured=measured,
        read_units=reads,
        write_units=writes,
        redis_commands=commands if redis_measured else None,
        model_id=model_id,
        tokens={kind: _number(model, kind, f"{at}.model", 0.0) for kind in TOKEN_KINDS},
        adapters=adapters,
        notes=notes,
        transactions_at_aws_rate=aws_rate,
    )


def _adapters(
    ops: Mapping[str, Any], at: str, dynamodb: bool, redis: bool
) -> tuple[dict[str, str], tuple[str, ...]]:
    """Where the run's lock and memory ran: the record's optional ``adapters`` (e.g.
    ``{"lock": "dynamodb", "memory": "redis"}``), else inferred from which backend counted."""
    given = _mapping(ops, "adapters", at, required=False)
    if any(not isinstance(v, str) for v in given.values()):
        raise CostInputError(f"{at}.adapters must map ports to adapter names")
    if given:
        return {str(k): v.lower() for k, v in given.items()}, ()
    guess = "redis" if redis else "dynamodb" if dynamodb else "memory"
    note = (
        f"the record does not say where the lock and memory ran; taken as {guess} "
        f"(from {'Redis commands' if redis else 'DynamoDB units' if dynamodb else 'no counts'})"
    )
    return {"lock": guess, "memory": guess}, (note,) if dynamodb or redis else ()


def read_traffic(path: Path) -> Traffic:
    """The traffic profile (``traffic.yaml``); every key is required."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise CostInputError(f"cannot read the traffic profile {path}: {error.strerror}") from None
    except (yaml.YAMLError, UnicodeDecodeError) as error:
        raise CostInputError(f"the traffic profile {path} is not valid YAML: {error}") from None
    if not isinstance(data, dict):
        raise CostInputError(f"the traffic profile {path} must be a mapping")
    values: dict[str, Any] = {"name": str(data.get("name", path.stem))}
    for section, keys in TRAFFIC_SECTIONS.items():
        where = f"{path}: {section}" if section else f"{path}: "
        holder = _mapping(data, section, f"{path}: ") if section else data
        for key in keys:
            low = "above 0" if key in TRAFFIC_ABOVE_ZERO else "≥ 0"
            value = _number(holder, TRAFFIC_RENAMED.get(key, key), where, low=low)
            values[key] = int(value) if section == TRAFFIC_COUNTS else value
    return Traffic(**values)
