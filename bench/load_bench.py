"""The load benchmark: N concurrent streaming sessions against a local azuchi, and the same
chat-only load through azuchi and through the bare relay, in one command.

    .venv/bin/python bench/load_bench.py [--sessions 200] [--duration 60]
        [--tokens-per-second 50] [--reply-tokens 300] [--json PATH] [--report PATH]
        [--profile PATH] [--skip-full]

Runs, one after the other, each against a fresh server in its own process:
  1. the full mix (chat and chat-and-drop with resume), every history verified;
  2. chat only through azuchi, then 3. through the bare relay (load_tests/relay.py).
Prints the figures and the targets next to them; asserts nothing (timings are noisy).
``--profile`` runs the server of run 1 under cProfile and prints where its time went.
"""

from __future__ import annotations

import argparse
import json
import pstats
import sys
from pathlib import Path
from typing import Any

import anyio

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from core.config import ChatConfig  # noqa: E402
from load_tests.cli import format_summary  # noqa: E402
from load_tests.harness import LoadConfig  # noqa: E402
from load_tests.local import ScriptedLoad, local_azuchi  # noqa: E402
from load_tests.report import write_report  # noqa: E402
from load_tests.run import LoadRun, aimed, compare_with_relay, run_load  # noqa: E402


async def bench(args: argparse.Namespace) -> dict[str, Any]:
    load = ScriptedLoad(args.tokens_per_second, args.reply_tokens, 0, args.coalesce_ms)
    config = LoadConfig(
        url="", sessions=args.sessions, duration_s=args.duration, ramp_per_s=args.ramp
    )
    runs: dict[str, LoadRun] = {}
    if not args.skip_full:
        python = ["-m", "cProfile", "-o", str(args.profile)] if args.profile else []
        async with local_azuchi(load, python_args=python) as target:
            print(f"load: 1/3 full mix against azuchi at {target.url}", file=sys.stderr, flush=True)
            runs["azuchi"] = await run_load(aimed(config, target))
    azuchi, relay, comparison = await compare_with_relay(config, load)
    runs["azuchi (chat only)"], runs["bare relay"] = azuchi, relay
    if args.report:
        write_report(args.report, {k: (r.summary, r.metrics) for k, r in runs.items()}, comparison)
    return {
        "load": {**load.env(), "sessions": args.sessions, "duration_s": args.duration},
        "runs": {k: r.summary for k, r in runs.items()},
        "relay_comparison": comparison,
    }


def print_figures(result: dict[str, Any], reply_tokens: int) -> None:
    for name, summary in result["runs"].items():
        print(f"\n== {name} ==")
        print(format_summary({**summary, "problems": summary["problems"][:5]}))
    print("\n== azuchi against the bare relay (same chat-only load) ==")
    rows = result["relay_comparison"]
    for key, row in rows.items():
        print(
            f"  {key:<13} azuchi {row['azuchi']:>8.1f} ms  relay {row['relay']:>8.1f} ms  "
            f"ratio {row['ratio']}  added {row['added_ms']:+.1f} ms"
        )
    main = result["runs"].get("azuchi") or result["runs"]["azuchi (chat only)"]
    frames = main["frames_per_reply"]["mean"]
    tokens = main["tokens_per_reply"]["mean"]
    added = max(rows.get("gap_ms.p99", {}).get("added_ms", 0), 0)
    print("\n== targets ==")
    print(f"  lost {main['lost']} (target 0), duplicated {main['duplicated']} (target 0)")
    print(f"  p99 added latency per delta {added:.1f} ms (target <= 10 ms; gap p99 difference)")
    first = rows.get("ttfd_ms.p99", {}).get("added_ms")
    print(f"  p99 added latency of the first delta {first} ms")
    if frames and tokens:
        print(
            f"  delta frames per {tokens:.0f}-token reply {frames:.1f} against {tokens:.0f} "
            f"one per token: {frames / tokens:.3f} (target <= 0.1)"
        )


def print_profile(path: Path, top: int = 25) -> None:
    print(f"\n== where the server's time went (cProfile, top {top} by own time) ==")
    stats = pstats.Stats(str(path))
    stats.sort_stats("tottime").print_stats(top)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sessions", type=int, default=200)
    parser.add_argument("--duration", type=float, default=60.0)
    parser.add_argument("--ramp", type=float, default=50.0)
    parser.add_argument("--tokens-per-second", type=float, default=50.0)
    parser.add_argument("--reply-tokens", type=int, default=300)
    parser.add_argument("--coalesce-ms", type=int, default=ChatConfig().coalesce_ms)
    parser.add_argument("--json", type=Path)
    parser.add_argument("--report", type=Path)
    parser.add_argument("--profile", type=Path, help="cProfile output of run 1's server")
    parser.add_argument("--skip-full", action="store_true", help="only the relay comparison")
    args = parser.parse_args()
    result = anyio.run(bench, args)
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n")
    print_figures(result, args.reply_tokens)
    if args.profile and not args.skip_full:
        print_profile(args.profile)


if __name__ == "__main__":
    main()
