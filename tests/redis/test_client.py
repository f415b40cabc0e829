"""Connecting: TLS and ACL users from the URL, bounded failures, one client per app."""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import anyio
import pytest
import redis.asyncio as aioredis

from adapters.bootstrap import build_app
from adapters.redis.client import RedisOptions, connect
from adapters.redis.lock import RedisSessionLock
from adapters.settings import Settings
from core.errors import BackendUnavailable
from testsupport.backend import backend_missing
from testsupport.ports import free_port
from testsupport.profiles import IN_PROCESS
from testsupport.redis_server import RedisServer, RedisUnavailable, redis_server_binary

pytestmark = pytest.mark.anyio


def make_certs(directory: Path) -> dict[str, Path]:
    if shutil.which("openssl") is None:
        backend_missing("no openssl binary to make a test certificate")
    files = {n: directory / f"{n}.pem" for n in ("ca", "ca-key", "srv", "srv-key", "srv-csr")}
    (directory / "ext").write_text("subjectAltName=DNS:localhost,IP:127.0.0.1\n")

    def openssl(*args: str) -> None:
        subprocess.run(["openssl", *args], check=True, capture_output=True, cwd=directory)

    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=test-ca",
            "-keyout", str(files["ca-key"]), "-out", str(files["ca"]))  # fmt: skip
    openssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=localhost",
            "-keyout", str(files["srv-key"]), "-out", str(files["srv-csr"]))  # fmt: skip
    openssl("x509", "-req", "-in", str(files["srv-csr"]), "-CA", str(files["ca"]), "-CAkey",
            str(files["ca-key"]), "-CAcreateserial", "-days", "1", "-extfile", "ext",
            "-out", str(files["srv"]))  # fmt: skip
    return files


@pytest.fixture
def tls_server(tmp_path: Path) -> Iterator[tuple[RedisServer, Path]]:
    """TLS only (like ElastiCache in-transit encryption), with an ACL user and no default."""
    certs = make_certs(tmp_path)
    port = free_port()
    try:
        binary = redis_server_binary()
    except RedisUnavailable as exc:
        backend_missing(str(exc))
    server = RedisServer(
        port=0,
        binary=binary,
        extra_args=(
            "--tls-port", str(port), "--tls-cert-file", str(certs["srv"]),
            "--tls-key-file", str(certs["srv-key"]), "--tls-ca-cert-file", str(certs["ca"]),
            "--tls-auth-clients", "no",
            "--user", "default", "off", "--user", "alice", "on", ">s3cret", "~*", "&*", "+@all",
        ),
    )  # fmt: skip
    try:
        server.start()
    except RedisUnavailable as exc:
        backend_missing(f"this redis-server cannot serve TLS: {exc}")
    yield server, certs["ca"]
    server.stop()


async def test_rediss_with_username_and_password(tls_server: tuple[RedisServer, Path]) -> None:
    server, ca = tls_server
    port = server.extra_args[1]
    good = RedisOptions.from_env(
        {"AZUCHI_REDIS_URL": f"rediss://alice:s3cret@localhost:{port}/0?ssl_ca_certs={ca}"}
    )
    client = connect(good)
    lock = RedisSessionLock(client, good.keys)
    token = await lock.acquire("tls-session", 1_000)
    assert token is not None and await lock.release("tls-session", token)
    assert await client.acl_whoami() == "alice"
    await client.aclose()

    wrong = RedisOptions.from_env(
        {"AZUCHI_REDIS_URL": f"rediss://alice:wrong@localhost:{port}/0?ssl_ca_certs={ca}"}
    )
    client = connect(wrong)
    with pytest.raises(BackendUnavailable, match=r"credentials|password|auth"):
        await RedisSessionLock(client, wrong.keys).acquire("tls-session", 1_000)
    await client.aclose()

    plain = RedisOptions.from_env({"AZUCHI_REDIS_URL": f"redis://alice:s3cret@localhost:{port}/0"})
    client = connect(plain)
    with pytest.raises(BackendUnavailable):  # a TLS port does not speak plain text
        await RedisSessionLock(client, plain.keys, deadline_s=plain.deadline_s).acquire("x", 1_000)
    await client.aclose()


async def test_nothing_listening_is_backend_unavailable_at_once() -> None:
    options = RedisOptions.from_env({"AZUCHI_REDIS_URL": f"redis://127.0.0.1:{free_port()}"})
    client = connect(options)
    lock = RedisSessionLock(client, options.keys, deadline_s=options.deadline_s)
    started = time.monotonic()
    with pytest.raises(BackendUnavailable, match="take the session lock"):
        await lock.acquire("s", 1_000)
    assert time.monotonic() - started < 1.0
    await client.aclose()


async def test_a_silent_redis_fails_within_the_timeout(own_server: RedisServer) -> None:
    env = {"AZUCHI_REDIS_URL": own_server.url, "AZUCHI_REDIS_TIMEOUT_MS": "300"}
    options = RedisOptions.from_env(env)
    client = connect(options)
    lock = RedisSessionLock(client, options.keys, deadline_s=options.deadline_s)
    assert await lock.request_stop("s") is False  # connected and warm
    own_server.pause()
    try:
        with anyio.fail_after(2):
            for call in (lock.acquire("s", 1_000), lock.extend("s", "t", 1_000)):
                started = time.monotonic()
                with pytest.raises(BackendUnavailable):
                    await call
                assert time.monotonic() - started < options.deadline_s + 0.2
    finally:
        own_server.resume()
    assert await lock.request_stop("nobody") is False  # and back by itself
    await client.aclose()


def test_lock_and_memory_of_one_app_share_a_client_closed_once(
    redis_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    closed: list[object] = []
    original = aioredis.Redis.aclose

    async def counting_close(self: aioredis.Redis) -> None:
        closed.append(self)
        await original(self)

    monkeypatch.setattr(aioredis.Redis, "aclose", counting_close)
    settings = Settings.from_env(
        {**IN_PROCESS, **redis_env, "AZUCHI_LOCK": "redis", "AZUCHI_AGENT_MEMORY": "redis"}
    )
    app = build_app(settings)
    other = build_app(Settings.from_env({**IN_PROCESS, **redis_env, "AZUCHI_LOCK": "redis"}))
    client = app.agent_memory._client  # type: ignore[attr-defined]
    assert app.lock._acquire.client is client  # type: ignore[attr-defined]
    assert other.lock._acquire.client is not client  # type: ignore[attr-defined]

    async def close_one_then_the_other() -> None:
        assert await app.lock.acquire("s", 1000)  # the pool is in use before it closes
        await app.aclose()
        assert closed == [client]
        assert await other.lock.acquire("s2", 1000)  # the other app's pool is still open
        await other.aclose()

    anyio.run(close_one_then_the_other)
    assert len(closed) == 2


def test_without_the_redis_package_only_choosing_redis_fails() -> None:
    code = (
        "import sys; sys.modules['redis'] = None\n"
        "from adapters.bootstrap import build_app\n"
        "from adapters.settings import Settings, SettingsError\n"
        f"build_app(Settings.from_env({IN_PROCESS!r}))\n"
        "try:\n"
        f"    build_app(Settings.from_env({{**{IN_PROCESS!r}, 'AZUCHI_LOCK': 'redis'}}))\n"
        "except SettingsError as e:\n"
        "    print(e)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "AZUCHI_LOCK=redis needs the Python package 'redis'" in out.stdout
