"""The event loop under streaming load: azuchi's CPU per delta next to a minimal relay's.

    .venv/bin/python bench/loop_bench.py [--sessions 200,400,800] [--duration 30]
        [--tokens-per-second 50] [--reply-tokens 300] [--coalesce-ms 250]
        [--profile DIR] [--gc] [--token-relay] [--json PATH]

For each session count, one after the other in one run: ``azuchi serve`` (one process, the
in-process adapters, the scripted model at the given pace) and then ``bench/minimal_relay.py``
(the same chunks at the same times, nothing else), each under the same chat-only load
(``load_tests``: every session sends, streams the reply, thinks 0.5-1.5 s, sends again).
CPU is the server process's user + system time (``/proc/<pid>/stat``, what ``getrusage``
reports for a child) over the live phase, divided by the delta frames the clients received:
CPU time, not wall time, because the machine is shared and its load moves wall figures.
Prints, with the load average, CPU per delta and the ratio to the relay, replies completed,
lost and duplicated (azuchi's checked against its store), the inter-delta gap's p50/p99,
the client's own loop lag (a saturated load generator shows there), and the targets.
``--gc`` runs azuchi under ``bench/gc_serve.py`` and prints the share of its CPU the
cyclic garbage collector took (``gc.callbacks``). ``--profile DIR`` samples azuchi's
process with py-spy (``pip install py-spy``) during each run and prints the functions
where its time went (DIR keeps the raw stacks).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any

import anyio

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from load_tests.harness import LoadConfig  # noqa: E402
from load_tests.local import LIMITS_OFF, SERVE, ScriptedLoad, serving  # noqa: E402
from load_tests.run import run_load  # noqa: E402
from testsupport.ports import free_port  # noqa: E402

TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a running process, from /proc (clock ticks)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def load_average() -> str:
    return "/".join(f"{x:.2f}" for x in os.getloadavg())


def azuchi_command(
    load: ScriptedLoad, gc_stats: Path | None = None
) -> tuple[list[str], dict[str, str]]:
    serve = [sys.executable, *SERVE]  # with the admin listener: the run reads its stats
    if gc_stats is not None:  # the same server, its collections timed (bench/gc_serve.py)
        serve = [sys.executable, str(ROOT / "bench" / "gc_serve.py"), str(gc_stats), *SERVE[2:]]
    # The per-client limits off, as `azuchi load --local` runs: every simulated user shares
    # one address, and the relay refuses nothing.
    env = {k: "0" for k in LIMITS_OFF if k not in os.environ}
    env.update({"AZUCHI_MODEL": "scripted", "AZUCHI_LOG_LEVEL": "WARNING", **load.env()})
    for port in ("STORAGE", "LOCK", "AGENT_MEMORY", "TRANSPORT"):
        env[f"AZUCHI_{port}"] = "inprocess"
    return serve, env


def relay_command(load: ScriptedLoad, *mode: str) -> tuple[list[str], dict[str, str]]:
    args = [str(free_port()), f"{load.tokens_per_second:g}", str(load.reply_tokens)]
    script = str(ROOT / "bench" / "minimal_relay.py")
    command = [sys.executable, script, *args, str(load.coalesce_ms), *mode]
    return command, {"PYTHONPATH": str(ROOT)}


def token_relay_command(load: ScriptedLoad) -> tuple[list[str], dict[str, str]]:
    return relay_command(load, "tokens")


async def measure(
    name: str, command: list[str], env: dict[str, str], config: LoadConfig, profile: Path | None
) -> dict[str, Any]:
    async with serving(command, env) as (target, process):
        spy = None
        if profile is not None:
            raw = profile / f"{name}-{config.sessions}.txt"
            spy = subprocess.Popen(  # noqa: ASYNC220 - a sampler beside the run, stopped below
                [_py_spy(), "record", "--pid", str(process.pid), "--format", "raw", "--rate",
                 "200", "--output", str(raw), "--nonblocking"],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            )  # fmt: skip
        start = cpu_seconds(process.pid)
        used: list[float] = []
        collected: list[dict[str, Any]] = []
        gc_file = env.get("AZUCHI_BENCH_GC_STATS")

        def after_live() -> None:
            used.append(cpu_seconds(process.pid) - start)
            if gc_file and Path(gc_file).exists():
                collected.append(json.loads(Path(gc_file).read_text()))

        verify = name == "azuchi"
        run = await run_load(
            LoadConfig(
                url=target.url,
                stats_url=target.stats_url,
                sessions=config.sessions,
                duration_s=config.duration_s,
                ramp_per_s=config.ramp_per_s,
                chat_weight=1,
                drop_weight=0,
                verify=verify,
                progress_s=0,
            ),
            out=None,
            after_live=after_live,
        )
        if spy is not None:
            spy.send_signal(2)  # py-spy writes its output on SIGINT
            spy.wait(timeout=30)
    summary = run.summary
    deltas = sum(run.metrics.frames_per_reply)
    return {
        "name": name,
        "sessions": config.sessions,
        "replies": summary["replies"],
        "deltas": deltas,
        "cpu_s": used[0],
        "cpu_us_per_delta": used[0] / deltas * 1e6 if deltas else float("nan"),
        "cpu_ms_per_reply": used[0] / summary["replies"] * 1e3 if summary["replies"] else 0.0,
        "lost": summary["lost"],
        "duplicated": summary["duplicated"],
        "errors": summary["errors"],
        "verified_against_store": verify,
        "gap_ms": summary["gap_ms"],
        "ttfd_ms": summary["ttfd_ms"],
        "client_loop_lag_ms": summary["client_loop_lag_ms"],
        "load_average": load_average(),
        "gc": collected[0] if collected else None,
    }


def _py_spy() -> str:
    found = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    if not Path(found).exists():
        sys.exit("loop_bench: --profile needs py-spy (pip install py-spy)")
    return found


IDLE = ("select (selectors.py)",)  # the loop waiting for I/O or a timer: not work


def top_functions(raw: Path, limit: int = 30) -> tuple[int, list[tuple[str, float, float]]]:
    """(busy samples, [(function, self share, inclusive share)]) from py-spy's raw stacks,
    shares of the samples in which the process was working (not waiting in select)."""
    own: Counter[str] = Counter()
    total: Counter[str] = Counter()
    busy = 0
    for line in raw.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        frames = [_function(f) for f in stack.split(";")]
        if frames[-1].endswith(IDLE):
            continue
        n = int(count)
        busy += n
        own[frames[-1]] += n
        for frame in set(frames):
            total[frame] += n
    ranked = [(f, own[f] / busy, total[f] / busy) for f, _ in own.most_common(limit)]
    return busy, ranked


def _function(frame: str) -> str:
    """``name (path/file.py:12)`` → ``name (file.py)``: lines of one function together."""
    name, _, where = frame.partition(" (")
    return f"{name.split('.')[-1]} ({where.rsplit('/', 1)[-1].split(':')[0].rstrip(')')})"


async def model_cpu_ms_per_reply(load: ScriptedLoad, streams: int) -> float:
    """CPU the scripted model alone spends per reply (``streams`` at once, at the load's
    pace, nothing consuming them): the part of azuchi's figure that emulates a provider's
    per-token stream, which the minimal relay does not do."""
    from adapters.inprocess.scripted_model import ScriptedChatModel, ScriptedSettings
    from core.domain import ModelRequest

    settings = ScriptedSettings(load.tokens_per_second, 0, load.reply_tokens)
    request = ModelRequest(system="", history=(), prompt="Tell me about castles")

    async def one() -> None:
        async for _ in ScriptedChatModel(settings).stream(request):
            pass

    before = resource.getrusage(resource.RUSAGE_SELF)
    async with anyio.create_task_group() as tg:
        for _ in range(streams):
            tg.start_soon(one)
    after = resource.getrusage(resource.RUSAGE_SELF)
    used = after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
    return used / streams * 1000


async def bench(args: argparse.Namespace) -> list[dict[str, Any]]:
    load = ScriptedLoad(args.tokens_per_second, args.reply_tokens, 0, args.coalesce_ms)
    args.model_ms = await model_cpu_ms_per_reply(load, min(args.sessions))
    rows = []
    for sessions in args.sessions:
        config = LoadConfig(
            url="", sessions=sessions, duration_s=args.duration, ramp_per_s=args.ramp
        )
        runs = (("azuchi", azuchi_command), ("relay", relay_command))
        if args.token_relay:
            runs += (("token-relay", token_relay_command),)
        for name, build in runs:
            if name == "azuchi" and args.gc:
                stats = Path(tempfile.mkdtemp(prefix="loop-bench-gc-")) / "gc.json"
                command, env = azuchi_command(load, stats)
                env["AZUCHI_BENCH_GC_STATS"] = str(stats)
            else:
                command, env = build(load)
            print(f"loop: {name}, {sessions} sessions, load {load_average()}", file=sys.stderr)
            rows.append(await measure(name, command, env, config, args.profile))
    return rows


def report(rows: list[dict[str, Any]], args: argparse.Namespace) -> None:
    window = args.coalesce_ms
    print(
        f"\nStreaming load, one process each: scripted model at {args.tokens_per_second:g} "
        f"tokens/s, {args.reply_tokens}-token replies, {window} ms coalescing, "
        f"{args.duration:g} s per run; load average at the end: {load_average()}"
    )
    head = "{:<7}{:>9}{:>9}{:>8}{:>7}{:>6}{:>8}{:>9}{:>14}{:>16}{:>11}  {}"
    print(head.format("", "sessions", "replies", "deltas", "CPU s", "µs/Δ", "× relay",
                      "ms/reply", "lost/dup/err", "gap p50/p99 ms", "client lag",
                      "load avg"))  # fmt: skip
    relay = {r["sessions"]: r for r in rows if r["name"] == "relay"}
    for row in rows:
        base = relay.get(row["sessions"])
        ratio = row["cpu_us_per_delta"] / base["cpu_us_per_delta"] if base else float("nan")
        gap, lag = row["gap_ms"], row["client_loop_lag_ms"]
        print(head.format(
            row["name"], row["sessions"], row["replies"], row["deltas"], f"{row['cpu_s']:.1f}",
            f"{row['cpu_us_per_delta']:.0f}", f"{ratio:.2f}", f"{row['cpu_ms_per_reply']:.1f}",
            f"{row['lost']}/{row['duplicated']}/{row['errors']}",
            f"{gap.get('p50', 0):.0f}/{gap.get('p99', 0):.0f}", f"{lag.get('p99', 0):.0f}",
            row["load_average"],
        ))  # fmt: skip
    for row in (r for r in rows if r.get("gc")):
        gc = row["gc"]
        print(
            f"  {row['sessions']} sessions: azuchi's garbage collector {gc['gc_s']:.2f} s of "
            f"{gc['cpu_s']:.1f} s CPU ({gc['gc_s'] / gc['cpu_s']:.1%}; collections by "
            f"generation {gc['collections']}, thresholds {gc['thresholds']})"
        )
    model = args.model_ms
    print(
        f"the scripted model alone (per-token stream, {min(args.sessions)} at once, no "
        f"consumer): {model:.1f} ms CPU per reply, inside azuchi's ms/reply"
    )
    for row in (r for r in rows if r["name"] == "azuchi"):
        base = relay[row["sessions"]]
        rest, floor = row["cpu_ms_per_reply"] - model, base["cpu_ms_per_reply"]
        print(
            f"  {row['sessions']} sessions: azuchi without the model's share {rest:.1f} ms per "
            f"reply = {rest / floor:.2f}x the relay's {floor:.1f}"
        )
    token_relay = {r["sessions"]: r for r in rows if r["name"] == "token-relay"}
    print("targets (printed, not asserted):")
    for row in (r for r in rows if r["name"] == "azuchi"):
        base = relay[row["sessions"]]
        ratio = row["cpu_us_per_delta"] / base["cpu_us_per_delta"]
        line = f"  {row['sessions']} sessions: CPU per delta {ratio:.2f}x the relay (<= 1.2)"
        tokens = token_relay.get(row["sessions"])
        if tokens:
            line += f", {row['cpu_us_per_delta'] / tokens['cpu_us_per_delta']:.2f}x the token relay"
        if row["sessions"] == max(relay):
            p99 = row["gap_ms"].get("p99", 0)
            line += (
                f"; lost {row['lost']}, duplicated {row['duplicated']} (0, 0); gap p99 "
                f"{p99:.0f} ms (<= {window + 30}); replies {row['replies']} vs the relay's "
                f"{base['replies']} (>=)"
            )
        print(line)
    if args.profile:
        for row in (r for r in rows if r["name"] == "azuchi"):
            raw = args.profile / f"azuchi-{row['sessions']}.txt"
            if not raw.exists():
                continue
            busy, ranked = top_functions(raw)
            print(
                f"\nwhere azuchi's CPU went at {row['sessions']} sessions (py-spy, {busy} busy "
                "samples; self / inclusive share)"
            )
            for function, own, total in ranked:
                print(f"  {own:6.1%} {total:6.1%}  {function}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--sessions", default="200,400,800")
    parser.add_argument("--duration", type=float, default=30.0)
    parser.add_argument("--ramp", type=float, default=100.0, help="sessions started per second")
    parser.add_argument("--tokens-per-second", type=float, default=50.0)
    parser.add_argument("--reply-tokens", type=int, default=300)
    parser.add_argument("--coalesce-ms", type=int, default=250)
    parser.add_argument(
        "--token-relay",
        action="store_true",
        help="also run the relay taking the text one token at a time (a per-token stream)",
    )
    parser.add_argument("--profile", type=Path, help="sample azuchi with py-spy; raw stacks here")
    parser.add_argument(
        "--gc", action="store_true", help="time azuchi's garbage collections (gc.callbacks)"
    )
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    args.sessions = [int(x) for x in args.sessions.split(",") if x.strip()]
    if args.profile:
        args.profile.mkdir(parents=True, exist_ok=True)
    rows = anyio.run(bench, args)
    report(rows, args)
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2) + "\n")


if __name__ == "__main__":
    main()
