"""``azuchi cost``: a load run's operations, priced per 1,000 turns and per month.

    azuchi cost --from load.json [--traffic costmodel/traffic.yaml] [--turns-per-month N]
                [--prices FILE] [--profile lean|redis|both] [--model ID] [--json PATH]
                [--per-turn]

Reads the ``operations`` record of ``azuchi load --json`` (without ``--from``, a built-in
reference record, labelled as such), the traffic profile and the price table
(``--prices``, else ``AZUCHI_PRICES_FILE``, over the built-in table), and the app settings
that move costs (``AZUCHI_HEARTBEAT_MS``, ``AZUCHI_HISTORY_ITEMS``, ``AZUCHI_MESSAGE_TTL_DAYS``,
``AZUCHI_RESPONSE_ID_TTL_S``). Input it cannot use is one line on stderr and exit code 2.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from adapters.pricing.table import PriceTable
    from costmodel.inputs import Operations, Shape, Traffic
    from costmodel.pricing import ProfileCost
    from costmodel.units import RunUnits

DEFAULT_TRAFFIC = Path(__file__).with_name("traffic.yaml")
EXIT_BAD_INPUT = 2


def register(commands: Any) -> None:
    """Add ``azuchi cost`` to ``commands`` (handlers/cli.py's subparsers)."""
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
    cost.add_argument(
        "--per-turn",
        action="store_true",
        help="also print DynamoDB units and $ per turn at turns 1, 2, 50 and 200 per profile",
    )
    cost.add_argument(
        "--limits",
        action="store_true",
        help="print the worst model spend per hour one client, and the whole deployment, "
        "can cause under the AZUCHI_LIMIT_* settings (costmodel/limits.py), and stop",
    )
    cost.add_argument(
        "--in-flight",
        type=_non_negative_int,
        metavar="N",
        default=10,
        help="with --limits: replies running at once when the spend cap is crossed "
        "(the reply worker's reserved concurrency; default 10, the template's)",
    )
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
    """Price the run and print it; 2 for input it cannot use. The cost model is imported
    here, not at the top, because handlers/cli.py imports this module for every command."""
    from dataclasses import asdict, replace

    from adapters.pricing.table import PriceTableError, load_price_table
    from adapters.settings import Settings, SettingsError
    from costmodel import pricing
    from costmodel.inputs import (
        CostInputError,
        Shape,
        parse_operations,
        read_json,
        read_traffic,
    )
    from costmodel.reference import REFERENCE_RUN, REFERENCE_SOURCE
    from costmodel.units import run_units

    try:
        settings = Settings.from_env()
        prices = load_price_table(args.prices or settings.prices_file)
        if args.source:
            ops = parse_operations(read_json(Path(args.source)), args.source)
        else:
            ops = parse_operations(REFERENCE_RUN, REFERENCE_SOURCE)
        traffic = read_traffic(Path(args.traffic))
    except (CostInputError, PriceTableError, SettingsError) as error:
        print(f"azuchi cost: {error}", file=sys.stderr)
        return EXIT_BAD_INPUT
    if args.limits:
        return _limits(args, settings, prices)
    if args.turns_per_month is not None:
        traffic = replace(traffic, turns_per_month=float(args.turns_per_month))
    shape = Shape(
        heartbeat_ms=settings.chat.heartbeat_ms,
        history_items=settings.history_items,
        message_ttl_days=settings.message_ttl_s / 86_400,
        memory_ttl_days=settings.response_id_ttl_s / 86_400,
        lock_lease_ms=settings.chat.lock_lease_ms,
    )
    units = run_units(ops, traffic, shape)
    wanted = pricing.PROFILES if args.profile == "both" else (args.profile,)
    try:
        bills = [
            pricing.price_profile(p, units, traffic, shape, prices, args.model) for p in wanted
        ]
        lean = pricing.price_profile("lean", units, traffic, shape, prices, args.model)
    except PriceTableError as error:
        print(f"azuchi cost: {error}", file=sys.stderr)
        return EXIT_BAD_INPUT
    source = args.source or f"{REFERENCE_SOURCE} (docs/cost.md; pass --from for yours)"
    report = as_json(source, ops, units, traffic, shape, prices, bills, pricing.seed_one(lean))
    print(render(report))
    if args.per_turn:
        from costmodel import per_turn

        costs = per_turn.turn_costs(shape, traffic)
        report["per_turn_of_a_session"] = [asdict(c) for c in costs]
        read = prices.aws_price("dynamodb_on_demand", "per_million_read_units")
        write = prices.aws_price("dynamodb_on_demand", "per_million_write_units")
        print("\n" + per_turn.render(costs, read, write, prices.as_of))
    if args.json:
        try:
            Path(args.json).write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
        except OSError as error:
            print(f"azuchi cost: cannot write {args.json}: {error.strerror}", file=sys.stderr)
            return EXIT_BAD_INPUT
    return 0


def _limits(args: argparse.Namespace, settings: Any, prices: PriceTable) -> int:
    from adapters.bedrock.config import DEFAULT_MODEL_ID
    from costmodel.limits import render, spend_bounds

    model_id = args.model or settings.env.get("AZUCHI_MODEL_ID") or DEFAULT_MODEL_ID
    price = prices.model(model_id)
    if price is None:
        print(f"azuchi cost: the price table has no price for {model_id}", file=sys.stderr)
        return EXIT_BAD_INPUT
    bounds = spend_bounds(model_id, price, settings.chat, settings.limit, args.in_flight)
    print(render(bounds))
    if args.json:
        from dataclasses import asdict

        Path(args.json).write_text(json.dumps(asdict(bounds), indent=2) + "\n", encoding="utf-8")
    return 0


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


ROW = "  {:<44} {:<40} {:>12} {:>11} {:>10}"  # label, per turn, $/1k turns, $/month, idle


def _item_row(item: Mapping[str, Any], idle: bool = True) -> str:
    """One line item of the table; token lines leave ``idle`` blank (tokens never idle)."""
    return ROW.format(
        item["label"],
        item["per_turn"],
        _money(item["per_1000_turns"]),
        _money(item["per_month"]),
        _money(item["idle_per_month"]) if idle else "",
    )


def render(report: Mapping[str, Any]) -> str:
    """The table ``azuchi cost`` prints, from ``as_json``'s report so both show one set of
    numbers."""
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
    for name, bill in report["profiles"].items():
        lines += ["", ROW.format(f"{name} profile", "per turn", "$/1k turns", "$/month", "idle")]
        infra = [i for i in bill["items"] if not i["model_tokens"]]
        lines += [_item_row(item) for item in infra]
        lines.append(
            ROW.format(
                "total without model tokens",
                "",
                _money(bill["infra_per_1000_turns"]),
                _money(bill["infra_per_month"]),
                _money(bill["idle_floor_per_month"]),
            )
        )
        lines += [_item_row(i, idle=False) for i in bill["items"] if i["model_tokens"]]
        lines.append(ROW.format("total with model tokens", "", "", _money(bill["per_month"]), ""))
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
