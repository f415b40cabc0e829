"""``azuchi cost``: a load run's operations, priced per 1,000 turns and per month.

    azuchi cost --from load.json [--traffic load_tests/traffic.yaml] [--turns-per-month N]
                [--prices FILE] [--profile lean|redis|both] [--model ID] [--json PATH]

Reads the ``operations`` record of ``azuchi load --json`` (without ``--from``, a built-in
reference record, labelled as such), the traffic profile and the price table
(``--prices``, else ``AZUCHI_PRICES_FILE``, over the built-in table), and the app settings
that move costs (``AZUCHI_HEARTBEAT_MS``, ``AZUCHI_HISTORY_ITEMS``, ``AZUCHI_MESSAGE_TTL_DAYS``,
``AZUCHI_RESPONSE_ID_TTL_S``). Input it cannot use is one line on stderr and exit code 2.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from adapters.pricing.table import PriceTable
    from load_tests.cost import Operations, ProfileCost, RunUnits, Shape, Traffic

DEFAULT_TRAFFIC = Path(__file__).with_name("traffic.yaml")
EXIT_BAD_INPUT = 2

# Used without --from, and labelled so: the operations record of one reference run,
#   azuchi load --sessions 20 --duration 60
# against azuchi serve on the lean profile's adapters (storage, lock and agent memory on
# DynamoDB Local 3.3 with AZUCHI_DYNAMODB_METER=true), the scripted model at 50 tokens/s with
# 300-token replies, 200 ms coalescing, on a shared 2-core machine (so handler times run
# above a warm Lambda's); one turn in five was a chat-and-drop that resumed with getMessages.
REFERENCE_RUN: dict[str, Any] = {
    "operations": {
        "source": "server",
        "duration_s": 64.659,
        "turns": 160,
        "apigw": {
            "inbound_messages": 307,
            "outbound_messages": 5048,
            "connection_minutes": 21.142767,
        },
        "lambda": {
            "connect": {"invocations": 51, "duration_ms": 11585.111, "memory_mb": 128},
            "disconnect": {"invocations": 51, "duration_ms": 763.631, "memory_mb": 128},
            "get_messages": {"invocations": 147, "duration_ms": 3032.616, "memory_mb": 256},
            "put_message": {"invocations": 160, "duration_ms": 30713.96, "memory_mb": 256},
            "reply_worker": {"invocations": 160, "duration_ms": 1082965.952, "memory_mb": 512},
        },
        "dynamodb": {"read_units": 2509.0, "write_units": 4255.0, "measured": True},
        "redis": {"commands": 0, "measured": False},
        "adapters": {"storage": "dynamodb", "lock": "dynamodb", "memory": "dynamodb"},
        "model": {
            "model_id": "azuchi-scripted",
            "input_tokens": 178880,
            "output_tokens": 48000,
            "cache_read_tokens": 0,
            "cache_write_tokens": 0,
        },
    }
}


class CostInputError(ValueError):
    """An input file azuchi cost cannot use; the message names the file and the field."""


def register(commands: Any) -> None:
    cost = commands.add_parser(
        "cost",
        help="what azuchi costs on AWS per 1,000 turns and per month, from a load run",
        description="Price a load run's operations (azuchi load --json) for the lean and "
        "redis deployment profiles at a traffic profile, idle floor included.",
    )
    cost.add_argument("--from", dest="source", metavar="PATH", help="azuchi load's JSON summary")
    cost.add_argument("--traffic", metavar="PATH", default=str(DEFAULT_TRAFFIC))
    cost.add_argument("--turns-per-month", type=_non_negative_int, metavar="N")
    cost.add_argument("--prices", metavar="FILE", help="price table override (AZUCHI_PRICES_FILE)")
    cost.add_argument("--profile", choices=["lean", "redis", "both"], default="both")
    cost.add_argument("--model", metavar="ID", help="price the run's tokens as this model")
    cost.add_argument("--json", metavar="PATH", help="also write the numbers as JSON")
    cost.set_defaults(run=run)


def _non_negative_int(raw: str) -> int:
    try:
        value = int(raw)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{raw!r} is not a whole number") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"{value} is below 0")
    return value


def run(args: argparse.Namespace) -> int:
    from dataclasses import replace

    from adapters.pricing.table import PriceTableError, load_price_table
    from adapters.settings import Settings, SettingsError
    from load_tests import cost

    try:
        settings = Settings.from_env()
        prices = load_price_table(args.prices or settings.prices_file)
        if args.source:
            ops = parse_operations(_read_json(Path(args.source)), args.source)
        else:
            ops = parse_operations(REFERENCE_RUN, "the built-in reference run")
        traffic = read_traffic(Path(args.traffic))
    except (CostInputError, PriceTableError, SettingsError) as error:
        print(f"azuchi cost: {error}", file=sys.stderr)
        return EXIT_BAD_INPUT
    if args.turns_per_month is not None:
        traffic = replace(traffic, turns_per_month=float(args.turns_per_month))
    shape = cost.Shape(
        heartbeat_ms=settings.chat.heartbeat_ms,
        history_items=settings.history_items,
        message_ttl_days=settings.message_ttl_s / 86_400,
        memory_ttl_days=settings.response_id_ttl_s / 86_400,
    )
    units = cost.run_units(ops, traffic, shape)
    wanted = cost.PROFILES if args.profile == "both" else (args.profile,)
    try:
        bills = [cost.price_profile(p, units, traffic, shape, prices, args.model) for p in wanted]
        lean = cost.price_profile("lean", units, traffic, shape, prices, args.model)
    except PriceTableError as error:
        print(f"azuchi cost: {error}", file=sys.stderr)
        return EXIT_BAD_INPUT
    source = args.source or "the built-in reference run (docs/cost.md; pass --from for yours)"
    report = as_json(source, ops, units, traffic, shape, prices, bills, cost.seed_one(lean))
    print(render(report))
    if args.json:
        try:
            Path(args.json).write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
        except OSError as error:
            print(f"azuchi cost: cannot write {args.json}: {error.strerror}", file=sys.stderr)
            return EXIT_BAD_INPUT
    return 0


# --- reading the inputs ---------------------------------------------------------------------


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise CostInputError(f"cannot read {path}: {error.strerror}") from None
    except UnicodeDecodeError:
        raise CostInputError(f"{path} is not UTF-8 text") from None
    except json.JSONDecodeError as error:
        raise CostInputError(f"{path} is not JSON: {error.msg} at line {error.lineno}") from None


def _number(
    section: Mapping[str, Any], key: str, where: str, default: float | None = None, low: str = "≥ 0"
) -> float:
    value = section.get(key, default)
    name = f"{where}{key}" if where.endswith(" ") else f"{where}.{key}"
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
        name = f"{where}{key}" if where.endswith(" ") else f"{where}.{key}"
        found = "is missing" if value is None else f"must be an object, not {value!r:.40}"
        raise CostInputError(f"{name} {found}")
    return value


def parse_operations(document: Any, where: str) -> Operations:
    """The ``operations`` record of an ``azuchi load`` summary, checked field by field."""
    from load_tests.cost import TOKEN_KINDS, Measured, Operations, memory_mb

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
        functions[str(name)] = Measured(
            invocations=_number(fn, "invocations", f"{at}.lambda.{name}"),
            duration_ms=_number(fn, "duration_ms", f"{at}.lambda.{name}"),
            memory_mb=_number(fn, "memory_mb", f"{at}.lambda.{name}", memory_mb(name), "above 0"),
        )
    dynamo = _mapping(ops, "dynamodb", at, required=False)
    reads = _number(dynamo, "read_units", f"{at}.dynamodb", 0.0)
    writes = _number(dynamo, "write_units", f"{at}.dynamodb", 0.0)
    measured = bool(dynamo.get("measured", reads + writes > 0))
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


TRAFFIC_KEYS = {
    "turns_per_month": ("", "≥ 0"),
    "turns_per_session": ("", "above 0"),
    "connections_per_session": ("", "above 0"),
    "minutes_per_connection": ("", "≥ 0"),
    "user_message_bytes": ("", "≥ 0"),
    "bytes_per_token": ("", "≥ 0"),
    "sessions_kept_months": ("stored", "≥ 0"),
    "session_item_bytes": ("stored", "≥ 0"),
    "frontend_mb": ("stored", "≥ 0"),
    "log_bytes_per_invocation": ("logs", "≥ 0"),
    "interface_endpoints": ("deployment", "≥ 0"),
    "availability_zones": ("deployment", "≥ 0"),
    "nat_gateways": ("deployment", "≥ 0"),
}
TRAFFIC_RENAMED = {"log_bytes_per_invocation": "bytes_per_invocation"}


def read_traffic(path: Path) -> Traffic:
    """The traffic profile (``traffic.yaml``); every key is required."""
    import yaml

    from load_tests.cost import Traffic

    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise CostInputError(f"cannot read the traffic profile {path}: {error.strerror}") from None
    except (yaml.YAMLError, UnicodeDecodeError) as error:
        raise CostInputError(f"the traffic profile {path} is not valid YAML: {error}") from None
    if not isinstance(data, dict):
        raise CostInputError(f"the traffic profile {path} must be a mapping")
    values: dict[str, Any] = {"name": str(data.get("name", path.stem))}
    for key, (section, low) in TRAFFIC_KEYS.items():
        where = f"{path}: {section}" if section else f"{path}: "
        holder = _mapping(data, section, f"{path}: ") if section else data
        value = _number(holder, TRAFFIC_RENAMED.get(key, key), where, low=low)
        values[key] = int(value) if section == "deployment" else value
    return Traffic(**values)


# --- showing the result ---------------------------------------------------------------------


def as_json(
    source: str,
    ops: Operations,
    units: RunUnits,
    traffic: Traffic,
    shape: Shape,
    prices: PriceTable,
    bills: list[ProfileCost],
    seed: dict[str, float | None],
) -> dict[str, Any]:
    """Every figure ``render`` prints, as data (``--json``)."""
    from dataclasses import asdict

    return {
        "as_of": prices.as_of,
        "currency": prices.currency,
        "run": {
            "file": source,
            "source": ops.source,
            "turns": ops.turns,
            "duration_s": ops.duration_s,
            "adapters": dict(ops.adapters),
            "redis_commands_per_turn": (
                None if ops.redis_commands is None else ops.redis_commands / ops.turns
            ),
        },
        "traffic": asdict(traffic),
        "settings": asdict(shape),
        "per_turn": {
            "messages": units.messages,
            "lambda": {name: asdict(fn) for name, fn in units.functions.items()},
            "dynamodb_storage": {
                "read_units": units.store_reads,
                "write_units": units.store_writes,
            },
            "lock": asdict(units.ports["lock"]),
            "memory": asdict(units.ports["memory"]),
            "reply_s": units.reply_s,
            "tokens": dict(units.tokens),
        },
        "profiles": {
            bill.profile: {
                "items": [
                    {
                        "label": item.label,
                        "per_turn": item.per_turn,
                        "per_1000_turns": item.per_1000_turns,
                        "per_month": item.per_month(bill.turns_per_month),
                        "idle_per_month": item.idle,
                        "model_tokens": item.tokens,
                    }
                    for item in bill.items
                ],
                "infra_per_1000_turns": bill.infra_per_1000_turns,
                "infra_per_month": bill.infra_per_month,
                "tokens_per_month": bill.tokens_per_month,
                "per_month": bill.per_month,
                "idle_floor_per_month": bill.idle_floor,
                "notes": list(bill.notes),
            }
            for bill in bills
        },
        "seed_one": seed,
        "notes": list(units.notes),
    }


def _money(value: float) -> str:
    if value == 0:
        return "0.00"
    if abs(value) < 0.0001:
        return "<0.0001"
    return f"{value:,.4f}" if abs(value) < 0.1 else f"{value:,.2f}"


def _dollars(value: float) -> str:
    shown = _money(value)
    return "under $0.0001" if shown.startswith("<") else f"${shown}"


def render(report: Mapping[str, Any]) -> str:
    run, traffic = report["run"], report["traffic"]
    sessions = traffic["turns_per_month"] / traffic["turns_per_session"]
    lines = [
        f"azuchi cost — prices as of {report['as_of']} ({report['currency']}, us-east-1 "
        "on-demand, no free tier)",
        f"run:     {run['file']} ({run['source']}): {run['turns']:,.0f} turns; lock and memory "
        f"ran on {run['adapters'].get('lock', '?')} / {run['adapters'].get('memory', '?')}",
        f"traffic: {traffic['name']}: {traffic['turns_per_month']:,.0f} turns/month, "
        f"{sessions:,.0f} sessions, {sessions * traffic['connections_per_session']:,.0f} "
        f"connections of {traffic['minutes_per_connection']:g} min",
    ]
    row = "  {:<44} {:<40} {:>12} {:>11} {:>10}"
    for name, bill in report["profiles"].items():
        lines += ["", row.format(f"{name} profile", "per turn", "$/1k turns", "$/month", "idle")]
        infra = [i for i in bill["items"] if not i["model_tokens"]]
        for item in infra:
            lines.append(
                row.format(
                    item["label"],
                    item["per_turn"],
                    _money(item["per_1000_turns"]),
                    _money(item["per_month"]),
                    _money(item["idle_per_month"]),
                )
            )
        lines.append(
            row.format(
                "total without model tokens",
                "",
                _money(bill["infra_per_1000_turns"]),
                _money(bill["infra_per_month"]),
                _money(bill["idle_floor_per_month"]),
            )
        )
        for item in bill["items"]:
            if item["model_tokens"]:
                lines.append(
                    row.format(
                        item["label"],
                        item["per_turn"],
                        _money(item["per_1000_turns"]),
                        _money(item["per_month"]),
                        "",
                    )
                )
        lines.append(row.format("total with model tokens", "", "", _money(bill["per_month"]), ""))
        stored = sum(
            i["idle_per_month"]
            for i in infra
            if i["label"] in ("DynamoDB storage", "Frontend (S3)")
        )
        lines.append(
            f"  idle floor: {_dollars(bill['idle_floor_per_month'])}/month = "
            f"{_dollars(bill['idle_floor_per_month'] - stored)} compute, requests and hourly "
            f"resources + {_dollars(stored)} storage (sessions kept "
            f"{traffic['sessions_kept_months']:g} months, the frontend in S3)"
        )
        lines += [f"  note: {note}" for note in bill["notes"]]
    seed = report["seed_one"]
    reach = seed["lean_reaches_seed_one_at_turns"]
    lines += [
        "",
        f"seed 1 estimated ${seed['seed_one_per_month']:.2f}/month plus tokens (its traffic is "
        f"not stated); at {seed['turns_per_month']:,.0f} turns/month lean costs "
        f"{_dollars(seed['lean_per_month'])} plus tokens"
        + (
            f", and stays under ${seed['seed_one_per_month']:.2f} up to {reach:,.0f} turns/month."
            if reach is not None
            else "."
        ),
    ]
    lines += [f"note: {note}" for note in report["notes"]]
    return "\n".join(lines)
