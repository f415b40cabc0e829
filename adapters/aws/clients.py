"""The AWS adapters' clients: aioboto3's, or the lite client's (``adapters.aws.lite``).

Plugin factories are synchronous and opening a client is not, so each adapter holds a
``LazyClient``: the client opens on first use (under a lock, once), is reused by every
later call (warm Lambda invocations included), and closes in ``aclose``. Which client is
``Settings.aws_client`` (``AZUCHI_AWS_CLIENT``: ``sdk`` by default; a Lambda function gets
the one ``handlers.functions`` declares for it). aioboto3 is imported only when an SDK
client is opened.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Hashable
from contextlib import AbstractAsyncContextManager, AsyncExitStack
from typing import Any

import anyio

Opener = Callable[[], AbstractAsyncContextManager[Any]]


@functools.cache
def shared_session() -> Any:
    """One aioboto3 session per process: its clients share the loaded service model and
    credentials (a second client costs ~4 ms instead of ~40 ms of a Lambda cold start).
    Sessions are not bound to an event loop; clients are, so each adapter opens its own."""
    import aioboto3

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


def require_sdk(kind: str, who: str) -> None:
    """With ``kind="sdk"``, refuses at build time (not at the first call) when aioboto3 is
    not installed, as in a folder that ``azuchi package`` built for the lite client."""
    if kind != "sdk":
        return
    import importlib.util

    if importlib.util.find_spec("aioboto3") is None:
        from adapters.settings import SettingsError

        raise SettingsError(
            f"AZUCHI_AWS_CLIENT=sdk: {who} need aioboto3, which is not installed "
            "(pip install 'aioboto3>=13'; a Lambda folder built for the lite client has "
            "none: unset AZUCHI_AWS_CLIENT, or package with --aws-client sdk)"
        )
