"""Lua scripts sent to the one node that holds their keys.

redis-py's ``register_script`` answers NOSCRIPT with ``SCRIPT LOAD``, which a cluster
client sends to every primary: with one node down (a restart, a failover) every session's
first call of a script would fail, not only that node's. Here NOSCRIPT is answered with
``EVAL`` instead, routed by the keys' slot like the ``EVALSHA`` was, so it loads the script
on the node that needs it and nowhere else. The same on a single Redis.
"""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Sequence
from typing import Any, Protocol

from redis.exceptions import NoScriptError


class ScriptingClient(Protocol):
    """What a script needs of a client (``redis.asyncio.Redis`` and ``RedisCluster``)."""

    def evalsha(self, sha: str, numkeys: int, *keys_and_args: str | int) -> Awaitable[Any]: ...

    def eval(self, script: str, numkeys: int, *keys_and_args: str | int) -> Awaitable[Any]: ...


class KeyedScript:
    """One Lua script: ``await script(keys, args)``."""

    def __init__(self, client: ScriptingClient, source: str) -> None:
        self.client = client  # the one its app opened (tests check it is shared)
        self._source = source
        self._sha = hashlib.sha1(source.encode()).hexdigest()

    async def __call__(self, keys: Sequence[str], args: Sequence[str | int]) -> Any:
        try:
            return await self.client.evalsha(self._sha, len(keys), *keys, *args)
        except NoScriptError:
            return await self.client.eval(self._source, len(keys), *keys, *args)
