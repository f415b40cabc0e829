"""Which Redis a test run uses: the one ``AZUCHI_REDIS_URL`` names, else a ``redis-server``
it starts on a free port, else none; never whatever answers on 127.0.0.1:6379 (on a shared
machine that is someone else's server)."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

import pytest
import redis

from testsupport.backend import backend_missing
from testsupport.ports import accepts
from testsupport.redis_server import RedisUnavailable, find_redis, redis_server_binary


@pytest.fixture
def binary() -> str:
    try:
        return redis_server_binary()
    except RedisUnavailable as exc:
        backend_missing(str(exc))


def test_without_a_url_it_starts_and_talks_to_a_server_of_its_own(binary: str) -> None:
    found = find_redis({})
    try:
        assert found.owned is not None and not found.shared
        port = urlsplit(found.url).port
        assert port is not None and port != 6379
        info = redis.Redis.from_url(found.url, socket_timeout=5).info("server")
        assert (info["process_id"], info["tcp_port"]) == (found.owned.pid, port)
    finally:
        found.close()
    assert not accepts(port), "close() must stop the server it started"


def test_a_url_names_the_server_and_nothing_is_started() -> None:
    found = find_redis({"AZUCHI_REDIS_URL": "redis://cache.example:6380/2"})
    assert (found.url, found.shared, found.owned) == ("redis://cache.example:6380/2", True, None)


def test_no_binary_and_no_url_is_unavailable_even_if_6379_answers(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # an empty directory: no redis-server
    monkeypatch.delenv("AZUCHI_REDIS_SERVER", raising=False)
    with pytest.raises(RedisUnavailable, match="AZUCHI_REDIS_URL is unset"):
        find_redis({})
