"""Starting replies in process: a background task locally, or inline."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

import anyio
import anyio.abc

log = logging.getLogger(__name__)

RunPending = Callable[[str], Awaitable[object]]


class BackgroundReplyLauncher:
    """Runs each reply as a task of a task group that lives while ``running()`` is entered
    (the app enters it when it starts: ``Resources.while_open``)."""

    def __init__(self, run: RunPending) -> None:
        self._run = run
        self._tg: anyio.abc.TaskGroup | None = None
        self._active = 0
        self._idle = anyio.Event()
        self._idle.set()

    @asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        async with anyio.create_task_group() as tg:
            self._tg = tg
            try:
                yield
            finally:
                self._tg = None
                tg.cancel_scope.cancel()

    async def launch(self, session_id: str) -> None:
        if self._tg is None:
            raise RuntimeError("BackgroundReplyLauncher used outside running()")
        self._active += 1
        self._idle = anyio.Event()
        self._tg.start_soon(self._guarded, session_id)

    async def wait_idle(self) -> None:
        """Waits until no reply launched here is still running."""
        await self._idle.wait()

    async def _guarded(self, session_id: str) -> None:
        try:
            await self._run(session_id)
        except Exception:
            log.exception("reply generation for session %s failed", session_id)
        finally:
            self._active -= 1
            if self._active == 0:
                self._idle.set()


class InlineReplyLauncher:
    """Runs the reply before returning (a caller that must not outlive its reply)."""

    def __init__(self, run: RunPending) -> None:
        self._run = run

    async def launch(self, session_id: str) -> None:
        await self._run(session_id)
