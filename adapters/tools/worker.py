"""CPU-bound tool work runs off the event loop, in a worker process that can be killed.

A tool's pure-Python computation holds the GIL: run on the event loop it stalls every
session of the process, and run in a thread it cannot be stopped. ``off_loop`` hands it
to one of anyio's worker processes (reused while warm; at most one per CPU at a time) and,
when the caller's time limit cancels it (the agent's ``AZUCHI_TOOL_TIMEOUT_S``), the worker
is killed with SIGKILL and the caller gets ``TimeoutError``, a failed step. The workers are
plain subprocesses talking over pipes, so this works on Lambda too (no /dev/shm needed).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import anyio.to_process

T = TypeVar("T")


async def off_loop(func: Callable[[str], T], argument: str) -> T:
    """``func(argument)`` in a worker process; ``func`` must be importable by name there
    (a module-level function of a module that imports nothing heavy)."""
    return await anyio.to_process.run_sync(func, argument, cancellable=True)
