"""aioboto3 clients for the AWS adapters.

Plugin factories are synchronous and opening an aioboto3 client is not, so each adapter
holds a ``LazyClient``: the client opens on first use (under a lock, once), is reused by every
later call (warm Lambda invocations included), and closes in ``aclose``.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Hashable
from contextlib import AbstractAsyncContextManager, AsyncExitStack
from typing import Any

import aioboto3
import anyio

Opener = Callable[[], AbstractAsyncContextManager[Any]]


@functools.cache
def shared_session() -> Any:
    """One aioboto3 session per process: its clients share the loaded service model and
    credentials (a second client costs ~4 ms instead of ~40 ms of a Lambda cold start).
    Sessions are not bound to an event loop; clients are, so each adapter opens its own."""
    return aioboto3.Session()


class LazyClient:
    """An aioboto3 client opened on first use. ``get(key)`` reopens it when ``key`` changes
    (the API Gateway transport learns its endpoint from the first event)."""

    def __init__(self) -> None:
        self._client: Any = None
        self._key: Hashable = None
        self._stack = AsyncExitStack()
        self._lock = anyio.Lock()

    async def get(self, opener: Opener, key: Hashable = None) -> Any:
        if self._client is None or self._key != key:
            async with self._lock:
                if self._client is None or self._key != key:
                    await self._close()
                    self._client = await self._stack.enter_async_context(opener())
                    self._key = key
        return self._client

    async def aclose(self) -> None:
        async with self._lock:
            await self._close()

    async def _close(self) -> None:
        self._client = self._key = None
        await self._stack.aclose()
        self._stack = AsyncExitStack()
