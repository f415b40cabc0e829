"""What running ``calculate`` off the event loop costs, and what the loop sees meanwhile.

    .venv/bin/python bench/tool_bench.py [--calls 50]

Prints: the first call (it starts a worker process), the median and largest of the warm
calls, how long the size check takes to refuse ``((((9**64)**64)**64)**64)``, and the
longest gap a 1 ms ticker on the same event loop saw while the calls ran (a computation
on the loop would show up there). Asserts nothing.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import anyio

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from adapters.tools.arithmetic import check
from adapters.tools.builtin import CalculateTool
from core.services.reply import ReplyContext

HUGE = "((((9**64)**64)**64)**64)"
WARM = "(2 ** 9999 + 7) % 1000003 * 3 ** 200"


async def main(calls: int) -> None:
    from adapters.inprocess import InProcessChatStore

    tool, context = CalculateTool(), ReplyContext("bench", InProcessChatStore())
    gaps: list[float] = []
    done = anyio.Event()

    async def ticker() -> None:
        last = time.perf_counter()
        while not done.is_set():
            await anyio.sleep(0.001)
            now = time.perf_counter()
            gaps.append(now - last)
            last = now

    async with anyio.create_task_group() as tg:
        tg.start_soon(ticker)
        start = time.perf_counter()
        await tool.run({"expression": WARM}, context)
        first = time.perf_counter() - start
        warm = []
        for _ in range(calls):
            start = time.perf_counter()
            await tool.run({"expression": WARM}, context)
            warm.append(time.perf_counter() - start)
        done.set()
    start = time.perf_counter()
    try:
        check(HUGE)
    except ValueError:
        refused = time.perf_counter() - start
    print(f"first call (starts a worker)   {first * 1000:8.1f} ms")
    print(f"warm call, median of {calls:<4}     {statistics.median(warm) * 1000:8.2f} ms")
    print(f"warm call, largest             {max(warm) * 1000:8.2f} ms")
    print(f"refusing {HUGE}   {refused * 1e6:8.1f} µs")
    print(f"longest event-loop gap         {max(gaps) * 1000:8.2f} ms  (ticker every 1 ms)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=50)
    anyio.run(main, parser.parse_args().calls)
