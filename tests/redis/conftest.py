"""The Redis tier: one Redis per run (``AZUCHI_REDIS_URL``, else a ``redis-server`` of the
run's own on a free port; never 127.0.0.1:6379 unless the variable names it), a key prefix of
the run's own."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest
import redis.asyncio as aioredis

from adapters.redis.client import RedisOptions, connect
from testsupport.backend import backend_missing
from testsupport.redis_server import (
    FoundRedis,
    RedisServer,
    RedisUnavailable,
    delete_keys,
    find_redis,
    run_prefix,
)


@pytest.fixture(scope="session")
def redis_server() -> Iterator[FoundRedis]:
    try:
        found = find_redis()
    except RedisUnavailable as exc:
        backend_missing(f"no Redis: {exc}")
    yield found
    found.close()


@pytest.fixture(scope="session")
def redis_env(redis_server: FoundRedis) -> Iterator[dict[str, str]]:
    """The settings that point azuchi at the test Redis, under a prefix of this run."""
    env = {"AZUCHI_REDIS_URL": redis_server.url, "AZUCHI_REDIS_PREFIX": run_prefix()}
    yield env
    if redis_server.shared:
        delete_keys(redis_server.url, RedisOptions.from_env(env).keys.pattern())


@pytest.fixture
def options(redis_env: dict[str, str]) -> RedisOptions:
    return RedisOptions.from_env(redis_env)


@pytest.fixture
async def client(options: RedisOptions) -> AsyncIterator[aioredis.Redis]:
    redis = connect(options)
    yield redis
    await redis.aclose()


@pytest.fixture
def own_server() -> Iterator[RedisServer]:
    """A redis-server only this test uses, so it may stop or pause it."""
    try:
        server = RedisServer().start()
    except RedisUnavailable as exc:
        backend_missing(str(exc))
    yield server
    server.stop()
