"""``azuchi load``: N concurrent sessions against azuchi, checked and summarized.

    azuchi load [--url WS_URL [--stats-url URL] | --local] [--sessions 20] [--duration 30]
                [--json PATH] [--report PATH] [--compare-relay] ...

Without ``--url`` (or with ``--local``) it starts ``azuchi serve`` with the scripted model
at a realistic pace (50 tokens/s, 300-token replies) in a subprocess and stops it after;
``AZUCHI_STORAGE=dynamodb`` and the like pass through the environment. With ``--url`` it
uses a running server or a deployed ``wss://`` URL as it is, and ``--stats-url`` (a local
gateway's ``http://127.0.0.1:ADMIN_PORT/_azuchi/stats``) reads its counters. Progress goes
to stderr, the figures to stdout; the exit code is 1 when anything was lost, duplicated or an error.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from core.config import ChatConfig

EXIT_FAILED = 1


def register(commands: Any) -> None:
    parser = commands.add_parser(
        "load",
        help="load-test concurrent chat sessions and check nothing is lost",
        description=__doc__.split("\n\n")[2].replace("\n", " ") if __doc__ else None,
    )
    target = parser.add_mutually_exclusive_group()
    target.add_argument("--url", help="WebSocket URL of a running azuchi (ws:// or wss://)")
    target.add_argument(
        "--local", action="store_true", help="start azuchi serve for the run (the default)"
    )
    parser.add_argument(
        "--stats-url",
        help="with --url: the gateway's counters, http://127.0.0.1:ADMIN_PORT/_azuchi/stats "
        "(azuchi serve --admin-port); without it operations are estimated from the clients",
    )
    parser.add_argument("--sessions", type=_positive_int, default=20)
    parser.add_argument("--duration", type=_positive_float, default=30.0, help="seconds")
    parser.add_argument("--json", type=Path, help="write the JSON summary here")
    parser.add_argument("--report", type=Path, help="write the HTML report here")
    parser.add_argument("--ramp", type=_positive_float, default=50.0, help="connections/s")
    parser.add_argument("--think", type=float, nargs=2, default=(0.5, 1.5), metavar=("MIN", "MAX"))
    parser.add_argument("--chat-weight", type=int, default=4)
    parser.add_argument("--drop-weight", type=int, default=1, help="chat-and-drop's weight")
    parser.add_argument("--reply-timeout", type=_positive_float, default=60.0)
    parser.add_argument("--no-verify", action="store_true", help="skip the history check")
    parser.add_argument("--seed", type=int)
    parser.add_argument("--progress", type=float, default=5.0, help="seconds between lines")
    local = parser.add_argument_group("the local server (--local)")
    local.add_argument("--tokens-per-second", type=float, default=50.0)
    local.add_argument("--reply-tokens", type=_positive_int, default=300)
    local.add_argument("--first-token-delay-ms", type=int, default=0)
    local.add_argument("--coalesce-ms", type=int, default=ChatConfig().coalesce_ms)
    local.add_argument(
        "--compare-relay",
        action="store_true",
        help="also run the same chat-only load through local azuchi and the bare relay",
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    import anyio

    from load_tests.harness import LoadConfig
    from load_tests.local import ScriptedLoad, local_azuchi
    from load_tests.report import write_report
    from load_tests.run import aimed, compare_with_relay, run_load

    if args.chat_weight < 0 or args.drop_weight < 0 or args.chat_weight + args.drop_weight == 0:
        print("azuchi: --chat-weight and --drop-weight must be >= 0, not both 0", file=sys.stderr)
        return 2
    if not 0 <= args.think[0] <= args.think[1]:
        print("azuchi: --think MIN MAX needs 0 <= MIN <= MAX", file=sys.stderr)
        return 2
    load = ScriptedLoad(
        args.tokens_per_second, args.reply_tokens, args.first_token_delay_ms, args.coalesce_ms
    )
    config = LoadConfig(
        url=args.url or "",
        stats_url=args.stats_url,
        sessions=args.sessions,
        duration_s=args.duration,
        ramp_per_s=args.ramp,
        think_s=(args.think[0], args.think[1]),
        chat_weight=args.chat_weight,
        drop_weight=args.drop_weight,
        reply_timeout_s=args.reply_timeout,
        verify=not args.no_verify,
        progress_s=args.progress,
        seed=args.seed,
    )

    async def main() -> tuple[dict[str, Any], dict[str, Any], dict[str, Any] | None]:
        runs: dict[str, Any] = {}
        if args.url:
            result = await run_load(config)
        else:
            async with local_azuchi(load) as target:
                print(f"load: azuchi serve at {target.url}", file=sys.stderr, flush=True)
                result = await run_load(aimed(config, target))
        runs["azuchi"] = (result.summary, result.metrics)
        comparison = None
        if args.compare_relay:
            azuchi, relay, comparison = await compare_with_relay(config, load)
            runs["azuchi (chat only)"] = (azuchi.summary, azuchi.metrics)
            runs["bare relay"] = (relay.summary, relay.metrics)
            result.summary["relay_comparison"] = comparison
        return result.summary, runs, comparison

    try:
        summary, runs, comparison = anyio.run(main)
    except RuntimeError as error:  # the local server did not start
        print(f"azuchi: {error}", file=sys.stderr)
        return EXIT_FAILED
    if args.json:
        args.json.write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    if args.report:
        write_report(args.report, runs, comparison)
    print(format_summary(summary))
    failed = summary["lost"] or summary["duplicated"] or summary["errors"] or not summary["replies"]
    return EXIT_FAILED if failed else 0


def format_summary(summary: dict[str, Any]) -> str:
    """The figures a reader looks for first, one per line."""

    def pcts(key: str) -> str:
        s = summary[key]
        if not s["count"]:
            return "no samples"
        return f"p50 {s['p50']}  p95 {s['p95']}  p99 {s['p99']}  (n={s['count']})"

    co = summary["coalescing"]
    lines = [
        f"sessions {summary['sessions']}, replies {summary['replies']} "
        f"({summary['dropped']} dropped and resumed) in {summary['duration_s']:.1f} s",
        f"lost {summary['lost']}, duplicated {summary['duplicated']}, "
        f"errors {summary['errors']}" + ("" if summary["verified"] else " (not verified)"),
        f"ttfd ms   {pcts('ttfd_ms')}",
        f"gap ms    {pcts('gap_ms')}",
        f"reply ms  {pcts('reply_ms')}",
        f"delta frames per reply {summary['frames_per_reply']['mean']} for "
        f"{summary['tokens_per_reply']['mean']} output tokens: "
        f"{co['frames_per_token']} frames per token (one per token would be 1.0)",
        f"client loop lag p99 {summary['client_loop_lag_ms']['p99']} ms; operations from "
        f"the {summary['operations']['source']}",
    ]
    for key, row in (summary.get("relay_comparison") or {}).items():
        lines.append(
            f"vs relay {key:<13} azuchi {row['azuchi']:>8} relay {row['relay']:>8} "
            f"ratio {row['ratio']}  added {row['added_ms']} ms"
        )
    for problem in summary.get("problems") or []:
        lines.append(f"problem: {problem}")
    return "\n".join(lines)


def _positive_int(raw: str) -> int:
    value = int(raw)
    if value < 1:
        raise argparse.ArgumentTypeError(f"{raw} is not a positive integer")
    return value


def _positive_float(raw: str) -> float:
    value = float(raw)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"{raw} is not a positive number")
    return value
