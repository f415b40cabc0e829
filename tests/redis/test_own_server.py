"""The Redis tier writes only to a server it owns, unless ``AZUCHI_REDIS_URL`` names one."""

from __future__ import annotations

import os
from urllib.parse import urlsplit

import pytest
import redis.asyncio as aioredis

from testsupport.redis_server import FoundRedis

pytestmark = pytest.mark.anyio


async def test_the_tier_talks_to_the_redis_server_it_started(
    redis_server: FoundRedis, client: aioredis.Redis
) -> None:
    named = os.environ.get("AZUCHI_REDIS_URL")
    if named:
        assert (redis_server.url, redis_server.shared) == (named, True)
        pytest.skip("AZUCHI_REDIS_URL names the server; this run owns none")
    assert redis_server.owned is not None
    port = urlsplit(redis_server.url).port
    assert port != 6379
    # ``client`` is the adapters' own connection (adapters.redis.client.connect).
    info = await client.info("server")
    assert (info["process_id"], info["tcp_port"]) == (redis_server.owned.pid, port)
