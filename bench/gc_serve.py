"""``azuchi serve`` with the cyclic garbage collector's time counted (bench/loop_bench.py --gc).

    python bench/gc_serve.py STATS_PATH serve ARGS...

Runs ``handlers.cli`` with ``gc.callbacks`` timing every collection (thread CPU time, per
generation) and rewrites STATS_PATH twice a second with the totals as JSON, next to the
process's own CPU time, so that a benchmark can read what share of the server's CPU went to
collections while it was under load.
"""

from __future__ import annotations

import gc
import json
import runpy
import sys
import threading
import time
from pathlib import Path
from typing import Any

_started = [0.0]
_totals: dict[str, Any] = {"gc_s": 0.0, "collections": [0, 0, 0], "gc_s_by_generation": [0.0] * 3}


def _timed(phase: str, info: dict[str, Any]) -> None:
    if phase == "start":
        _started[0] = time.thread_time()
        return
    spent = time.thread_time() - _started[0]
    generation = info["generation"]
    _totals["gc_s"] += spent
    _totals["collections"][generation] += 1
    _totals["gc_s_by_generation"][generation] += spent


def _write_every(path: Path, interval_s: float = 0.5) -> None:
    while True:
        time.sleep(interval_s)
        snapshot = {**_totals, "cpu_s": time.process_time(), "thresholds": gc.get_threshold()}
        path.with_suffix(".tmp").write_text(json.dumps(snapshot))
        path.with_suffix(".tmp").replace(path)


def main() -> None:
    path = Path(sys.argv[1])
    gc.callbacks.append(_timed)
    threading.Thread(target=_write_every, args=(path,), daemon=True).start()
    sys.argv = ["handlers.cli", *sys.argv[2:]]
    runpy.run_module("handlers.cli", run_name="__main__")


if __name__ == "__main__":
    main()
