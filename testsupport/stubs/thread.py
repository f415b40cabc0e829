"""A stub server on a thread with an event loop of its own, for synchronous callers.

Contract providers and the benchmark are synchronous (or own the main loop themselves), while
the stubs are async context managers; this runs one on a daemon thread until ``stop``, so the
caller's loop, if any, never has to serve it."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from concurrent.futures import Future
from contextlib import AbstractAsyncContextManager
from typing import Generic, TypeVar

T = TypeVar("T")

START_TIMEOUT_S = 10.0
STOP_TIMEOUT_S = 5.0


class StubOnThread(Generic[T]):
    """Enters ``factory()`` on its own thread and loop; ``start`` returns what it yields.

    ``start`` is idempotent while running, and after ``stop`` a fresh ``start`` serves a new
    stub, so one instance can be shared by callers that come and go. Also a ``with`` block."""

    def __init__(self, factory: Callable[[], AbstractAsyncContextManager[T]]) -> None:
        self._factory = factory
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._stub: T | None = None

    def start(self) -> T:
        """Serves the stub and returns it once it is listening; re-raises a failed start."""
        if self._stub is not None:
            return self._stub
        ready: Future[T] = Future()
        self._thread = threading.Thread(
            target=asyncio.run, args=(self._serve(ready),), name="stub", daemon=True
        )
        self._thread.start()
        try:
            self._stub = ready.result(timeout=START_TIMEOUT_S)
        except TimeoutError:
            self.stop()
            raise RuntimeError("the stub did not start") from None
        except BaseException:
            self.stop()
            raise
        return self._stub

    def stop(self) -> None:
        """Leaves the stub's context manager and waits (briefly) for the thread to end."""
        thread, loop, stop = self._thread, self._loop, self._stop
        if thread is not None and thread.is_alive() and loop is not None and stop is not None:
            loop.call_soon_threadsafe(stop.set)
            thread.join(STOP_TIMEOUT_S)
        self._thread = self._loop = self._stop = self._stub = None

    def __enter__(self) -> T:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    async def _serve(self, ready: Future[T]) -> None:
        self._loop, self._stop = asyncio.get_running_loop(), asyncio.Event()
        try:
            async with self._factory() as stub:
                ready.set_result(stub)
                await self._stop.wait()
        except BaseException as exc:
            if ready.done():  # failed while serving: nobody is waiting, so the thread reports it
                raise
            ready.set_exception(exc)  # failed to start: ``start`` re-raises it to the caller
