"""Registers the Redis lock and agent memory with the plugin registry.

This module imports nothing from ``redis``; its factories do. A missing package is
therefore an error only for a process that chose ``AZUCHI_LOCK=redis`` or
``AZUCHI_MEMORY=redis``, and it says what to install.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from adapters.registry import AdapterSpec, BuildContext, hookimpl
from adapters.settings import SettingsError

if TYPE_CHECKING:
    from adapters.redis.agent_memory import RedisAgentMemory
    from adapters.redis.client import RedisOptions
    from adapters.redis.lock import RedisSessionLock


class SharedClient:
    """One client (one connection pool) for the adapters of one ``BuildContext`` (one
    ``build_app``); closed when the last of them closes."""

    def __init__(self, ctx: BuildContext, client: Any, options: RedisOptions) -> None:
        self.ctx = ctx  # held so that id(ctx) stays this entry's key
        self.client = client
        self.options = options
        self._users = 0

    def borrow(self) -> Any:
        self._users += 1
        return self.client

    async def give_back(self) -> None:
        self._users -= 1
        if self._users <= 0:
            if _shared.get(id(self.ctx)) is self:
                del _shared[id(self.ctx)]
            await self.client.aclose()


_shared: dict[int, SharedClient] = {}


def _shared_client(ctx: BuildContext, port: str) -> SharedClient:
    try:
        from adapters.redis.client import RedisOptions, connect
    except ImportError as exc:
        if not (exc.name or "").startswith("redis"):
            raise
        raise SettingsError(
            f"AZUCHI_{port.upper()}=redis needs the Python package 'redis' "
            f"(pip install 'redis>=5'); importing it failed: {exc}"
        ) from None
    shared = _shared.get(id(ctx))
    if shared is None:
        options = RedisOptions.from_env(ctx.settings.env)
        shared = SharedClient(ctx, connect(options), options)
        _shared[id(ctx)] = shared
    return shared


def _lock(ctx: BuildContext) -> RedisSessionLock:
    shared = _shared_client(ctx, "lock")
    from adapters.redis.lock import RedisSessionLock

    return RedisSessionLock(
        shared.borrow(),
        shared.options.keys,
        deadline_s=shared.options.deadline_s,
        on_close=shared.give_back,
    )


def _memory(ctx: BuildContext) -> RedisAgentMemory:
    shared = _shared_client(ctx, "memory")
    from adapters.redis.agent_memory import RedisAgentMemory

    return RedisAgentMemory(
        shared.borrow(),
        shared.options.keys,
        max_items=ctx.settings.history_items,
        response_id_ttl_s=ctx.settings.response_id_ttl_s,
        deadline_s=shared.options.deadline_s,
        on_close=shared.give_back,
    )


@hookimpl
def azuchi_adapters() -> list[AdapterSpec]:
    return [
        AdapterSpec("lock", "redis", _lock, "Redis/Valkey (ElastiCache) SET NX PX leases"),
        AdapterSpec("memory", "redis", _memory, "Redis/Valkey (ElastiCache) capped history"),
    ]
