"""Wall-clock time, behind a tiny seam so tests can move it."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

import anyio


class SystemClock:
    def now_ms(self) -> int:
        return time.time_ns() // 1_000_000


def loop_clock() -> Callable[[], float]:
    """The running event loop's clock (what ``anyio.current_time`` reads), as a plain
    callable. ``anyio.current_time()`` looks the backend up on every call (sniffio, the
    current task), which a per-token caller pays thousands of times a second; on asyncio
    this is ``loop.time`` itself, elsewhere anyio's own function."""
    try:
        return asyncio.get_running_loop().time
    except RuntimeError:
        return anyio.current_time
