"""The lite AWS client against aioboto3: import cost and DynamoDB call latency.

    nice -n 10 .venv/bin/python bench/aws_lite_bench.py [--calls 300]

Import: a fresh ``python -I`` process imports what a small function's DynamoDB client needs
(``adapters.aws.lite.dynamodb`` vs ``aioboto3`` and opening a client), wall and CPU time,
median of 5. Calls: ``get_item`` and ``put_item`` against DynamoDB Local (started here), one
client, sequential, p50/p99 in ms, and 20 at once (the fan-out shape), after a round that
warms DynamoDB Local for both. Figures only.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import anyio  # noqa: E402

from adapters.dynamodb.client import DynamoConfig, LazyDynamoClient  # noqa: E402
from testsupport.aws_credentials import use_dummy_credentials  # noqa: E402
from testsupport.dynamodb_local import fresh_tables, shared_endpoint, stop_shared  # noqa: E402

IMPORTS = {
    "lite": (
        "import anyio\nfrom adapters.aws.lite.dynamodb import LiteDynamoClient\n"
        "async def main():\n    async with LiteDynamoClient('https://dynamodb.us-east-1."
        "amazonaws.com'):\n        pass\nanyio.run(main)"
    ),
    "sdk": (
        "import anyio, aioboto3\nasync def main():\n"
        "    async with aioboto3.Session().client('dynamodb', region_name='us-east-1'):\n"
        "        pass\nanyio.run(main)"
    ),
}
TIMER = (
    "import time, sys; p, c = time.perf_counter(), time.process_time()\n{body}\n"
    "print(time.perf_counter() - p, time.process_time() - c)"
)


def import_cost(kind: str) -> tuple[float, float]:
    runs = []
    env = {"PATH": "/usr/bin:/bin", "AWS_ACCESS_KEY_ID": "a", "AWS_SECRET_ACCESS_KEY": "b"}
    for _ in range(5):
        out = subprocess.run(
            [
                sys.executable,
                "-c",
                f"import sys; sys.path.insert(0, {str(ROOT)!r})\n"
                + TIMER.format(body=IMPORTS[kind]),
            ],
            capture_output=True,
            text=True,
            env=env,
            check=True,
        ).stdout.split()
        runs.append((float(out[0]), float(out[1])))
    return statistics.median(r[0] for r in runs), statistics.median(r[1] for r in runs)


async def latency(kind: str, config: DynamoConfig, calls: int) -> dict[str, float]:
    client = LazyDynamoClient(config, kind=kind)
    table = config.tables.sessions
    key = {"sessionId": {"S": f"bench-{kind}"}}
    await client.put_item(TableName=table, Item={**key, "n": {"N": "1"}})
    figures = {}
    for op in ("get_item", "put_item"):
        times = []
        for i in range(calls):
            params = {"TableName": table}
            if op == "get_item":
                params["Key"] = key
            else:
                params["Item"] = {**key, "n": {"N": str(i)}}
            t = time.perf_counter()
            await getattr(client, op)(**params)
            times.append((time.perf_counter() - t) * 1000)
        times.sort()
        figures[f"{op} p50"] = times[len(times) // 2]
        figures[f"{op} p99"] = times[int(len(times) * 0.99) - 1]
    rounds = []
    for _ in range(10):  # the first opens 20 connections; later ones reuse them
        t = time.perf_counter()
        async with anyio.create_task_group() as group:
            for _ in range(20):
                group.start_soon(lambda: client.get_item(TableName=table, Key=key))
        rounds.append((time.perf_counter() - t) * 1000)
    figures["20 get_item at once: first"] = rounds[0]
    figures["median of 9 later"] = statistics.median(rounds[1:])
    await client.aclose()
    return figures


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=300)
    args = parser.parse_args()
    print("import + open a DynamoDB client, fresh process (median of 5): wall s / CPU s")
    for kind in IMPORTS:
        wall, cpu = import_cost(kind)
        print(f"  {kind:5} {wall:.3f} / {cpu:.3f}")
    use_dummy_credentials()
    env = fresh_tables(shared_endpoint(), "litebench")
    config = DynamoConfig.from_env(env)
    print(f"DynamoDB Local, {args.calls} sequential calls each (ms):")
    try:
        # A first round warms DynamoDB Local's JVM for both; the second is printed.
        for round_ in range(2):
            for kind in ("lite", "sdk") if round_ else ("sdk", "lite"):
                figures = anyio.run(latency, kind, config, args.calls)
                if round_:
                    print(f"  {kind:5} " + ", ".join(f"{k} {v:.2f}" for k, v in figures.items()))
    finally:
        stop_shared()


if __name__ == "__main__":
    main()
