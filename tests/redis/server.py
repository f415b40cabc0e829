"""Finding a Redis for tests, or starting one (DESIGN §8): ``AZUCHI_REDIS_URL``, else
127.0.0.1:6379 if it answers PING, else a ``redis-server`` binary on a free port.

Adapter-independent (no azuchi imports), so the contract suites' backend providers use it too.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
import uuid
from dataclasses import dataclass, field

from tests.backend import backend_missing

DEFAULT_HOST, DEFAULT_PORT = "127.0.0.1", 6379


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def answers_ping(host: str, port: int, timeout: float = 0.5) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout) as sock:
            sock.settimeout(timeout)
            sock.sendall(b"PING\r\n")
            return sock.recv(64).startswith((b"+PONG", b"-NOAUTH"))
    except OSError:
        return False


def run_prefix() -> str:
    """A key prefix of its own per test run, so tests never touch real data."""
    return f"azuchi-test-{uuid.uuid4().hex[:12]}"


@dataclass
class RedisServer:
    """A ``redis-server`` this test run owns: no persistence, localhost only."""

    port: int = field(default_factory=free_port)
    extra_args: tuple[str, ...] = ()
    binary: str = "redis-server"
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    @classmethod
    def binary_or_missing(cls) -> str:
        path = os.environ.get("AZUCHI_REDIS_SERVER") or shutil.which("redis-server")
        if path is None:
            backend_missing("no redis-server binary on PATH (apt-get install redis-server)")
        return path

    def start(self) -> RedisServer:
        if self.process is not None and self.process.poll() is None:
            return self
        args = [self.binary, "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
        args += ["--port", str(self.port), *self.extra_args]
        self.process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 10
        listen_port = int(self._tls_port() or self.port)
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                err = self.process.stderr.read().decode() if self.process.stderr else ""
                raise RuntimeError(f"redis-server exited: {err}")
            try:
                socket.create_connection(("127.0.0.1", listen_port), timeout=0.2).close()
                return self
            except OSError:
                time.sleep(0.02)
        self.stop()
        raise RuntimeError(f"redis-server did not listen on {listen_port} within 10 s")

    def _tls_port(self) -> str | None:
        args = list(self.extra_args)
        return args[args.index("--tls-port") + 1] if "--tls-port" in args else None

    def stop(self) -> None:
        if self.process is None:
            return
        self.resume()
        self.process.terminate()
        try:
            self.process.wait(5)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(5)
        if self.process.stderr:
            self.process.stderr.close()
        self.process = None

    def pause(self) -> None:
        """SIGSTOP: the socket stays open and accepts, but nothing answers (a slow Redis)."""
        if self.process is not None:
            self.process.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        if self.process is not None:
            self.process.send_signal(signal.SIGCONT)


@dataclass
class FoundRedis:
    url: str
    owned: RedisServer | None = None  # stopped by ``close``

    def close(self) -> None:
        if self.owned is not None:
            self.owned.stop()


def find_redis() -> FoundRedis:
    """A Redis to test against, or ``backend_missing`` (skip / fail under CI)."""
    url = os.environ.get("AZUCHI_REDIS_URL")
    if url:
        return FoundRedis(url)
    if answers_ping(DEFAULT_HOST, DEFAULT_PORT):
        return FoundRedis(f"redis://{DEFAULT_HOST}:{DEFAULT_PORT}/0")
    path = shutil.which("redis-server")
    if path is None:
        backend_missing(
            "no Redis: AZUCHI_REDIS_URL is unset, nothing answers on 127.0.0.1:6379, no "
            "redis-server binary on PATH, and testcontainers needs Docker, which is not here"
        )
    server = RedisServer(binary=path).start()
    return FoundRedis(server.url, owned=server)


def delete_keys(url: str, pattern: str) -> int:
    """Deletes the keys a test run made (``pattern`` from ``RedisKeys.pattern``)."""
    import redis

    client = redis.Redis.from_url(url, socket_timeout=5)
    try:
        keys = list(client.scan_iter(match=pattern, count=1000))
        for start in range(0, len(keys), 500):
            client.delete(*keys[start : start + 500])
        return len(keys)
    finally:
        client.close()
