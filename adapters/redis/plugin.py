"""Registers the Redis lock and agent memory with the plugin registry.

This module imports nothing from ``redis``; its factories do. A missing package is
therefore an error only for a process that chose ``AZUCHI_LOCK=redis`` or
``AZUCHI_AGENT_MEMORY=redis``, and it says what to install.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from adapters.registry import AdapterSpec, BuildContext, hookimpl, setting_name
from adapters.settings import SettingsError

if TYPE_CHECKING:
    from adapters.redis.agent_memory import RedisAgentMemory
    from adapters.redis.client import RedisOptions
    from adapters.redis.limits import RedisLimitCounters
    from adapters.redis.lock import RedisSessionLock


def _shared_client(ctx: BuildContext, port: str) -> tuple[Any, RedisOptions]:
    """The one client (one connection pool) every Redis port of this app uses, closed
    with the app."""
    return ctx.resources.shared("redis", lambda: _connect(ctx, port))


def _connect(ctx: BuildContext, port: str) -> tuple[Any, RedisOptions]:
    try:
        from adapters.redis.client import RedisOptions, connect
    except ImportError as exc:
        if not (exc.name or "").startswith("redis"):
            raise
        raise SettingsError(
            f"{setting_name(port)}=redis needs the Python package 'redis' "
            f"(pip install 'redis>=5'); importing it failed: {exc}"
        ) from None
    options = RedisOptions.from_env(ctx.settings.env)
    client = connect(options)
    ctx.resources.on_close(client.aclose)
    return client, options


def _lock(ctx: BuildContext) -> RedisSessionLock:
    client, options = _shared_client(ctx, "lock")
    from adapters.redis.lock import RedisSessionLock

    return RedisSessionLock(client, options.keys, deadline_s=options.deadline_s)


def _agent_memory(ctx: BuildContext) -> RedisAgentMemory:
    client, options = _shared_client(ctx, "agent_memory")
    from adapters.redis.agent_memory import RedisAgentMemory

    return RedisAgentMemory(
        client,
        options.keys,
        max_items=ctx.settings.history_items,
        response_id_ttl_s=ctx.settings.response_id_ttl_s,
        deadline_s=options.deadline_s,
    )


def _limits(ctx: BuildContext) -> RedisLimitCounters:
    client, options = _shared_client(ctx, "limits")
    from adapters.redis.limits import RedisLimitCounters

    return RedisLimitCounters(client, options.keys, deadline_s=options.deadline_s)


@hookimpl
def azuchi_adapters() -> list[AdapterSpec]:
    return [
        AdapterSpec("lock", "redis", _lock, "Redis/Valkey (ElastiCache) SET NX PX leases"),
        AdapterSpec(
            "agent_memory", "redis", _agent_memory, "Redis/Valkey (ElastiCache) capped history"
        ),
        AdapterSpec("limits", "redis", _limits, "Redis/Valkey limit counters (Lua, expiring)"),
    ]
