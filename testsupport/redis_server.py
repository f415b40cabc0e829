"""Throw-away ``redis-server`` processes on free ports, and the rule for which Redis a test
run uses: ``AZUCHI_REDIS_URL`` when set (a shared server the caller named), else a
``redis-server`` of the run's own on a free port, else ``RedisUnavailable``.

Never 127.0.0.1:6379 unless ``AZUCHI_REDIS_URL`` says so: whatever answers there is someone
else's server, not the tests' to write to. Nothing here imports pytest; test fixtures turn
``RedisUnavailable`` into ``backend_missing``, the benchmark into an exit with the reason.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import uuid
from dataclasses import dataclass, field

from testsupport.ports import NotReady, accepts, free_port, wait_ready

START_TIMEOUT_S = 10.0
STOP_TIMEOUT_S = 5.0


class RedisUnavailable(RuntimeError):
    """No Redis can be found or started here; the message says why."""


def redis_server_binary() -> str:
    """``AZUCHI_REDIS_SERVER``, else ``redis-server`` on PATH; raises ``RedisUnavailable``."""
    path = os.environ.get("AZUCHI_REDIS_SERVER") or shutil.which("redis-server")
    if path is None:
        raise RedisUnavailable(
            "AZUCHI_REDIS_URL is unset and there is no redis-server binary on PATH to start "
            "one (apt-get install redis-server)"
        )
    return path


def run_prefix() -> str:
    """A key prefix of its own per test run, so tests never touch real data."""
    return f"azuchi-test-{uuid.uuid4().hex[:12]}"


@dataclass
class RedisServer:
    """A ``redis-server`` this run owns: no persistence, localhost only, on a free port.

    ``start`` after ``stop`` serves the same port again (empty), for outage tests; ``pause``
    and ``resume`` make it a server that accepts connections and never answers."""

    port: int = field(default_factory=free_port)
    extra_args: tuple[str, ...] = ()
    binary: str = field(default_factory=redis_server_binary)
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    @property
    def pid(self) -> int | None:
        """The server's process id while it runs (``INFO server`` reports the same)."""
        return self.process.pid if self.process is not None else None

    def start(self) -> RedisServer:
        """Starts the server and returns once it accepts connections; raises
        ``RedisUnavailable`` when it exits or does not listen in time."""
        if self.process is not None and self.process.poll() is None:
            return self
        args = [self.binary, "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
        args += ["--port", str(self.port), *self.extra_args]
        self.process = process = subprocess.Popen(
            args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        listen_port = int(self._tls_port() or self.port)

        def stderr() -> str:
            # Read only once the process has exited: a live one would block the read.
            if process.poll() is None or process.stderr is None:
                return ""
            return process.stderr.read().decode(errors="replace")

        try:
            wait_ready(
                lambda: accepts(listen_port),
                what=f"redis-server on port {listen_port}",
                timeout=START_TIMEOUT_S,
                process=process,
                log=stderr,
            )
        except NotReady as exc:
            self.stop()
            raise RedisUnavailable(str(exc)) from None
        return self

    def _tls_port(self) -> str | None:
        args = list(self.extra_args)
        return args[args.index("--tls-port") + 1] if "--tls-port" in args else None

    def stop(self) -> None:
        if self.process is None:
            return
        self.resume()
        self.process.terminate()
        try:
            self.process.wait(STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(STOP_TIMEOUT_S)
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
    """The Redis a run uses: ``owned`` is the server it started (stopped by ``close``), or
    None for a shared server named by ``AZUCHI_REDIS_URL``, whose keys the caller deletes."""

    url: str
    owned: RedisServer | None = None

    @property
    def shared(self) -> bool:
        return self.owned is None

    def close(self) -> None:
        if self.owned is not None:
            self.owned.stop()


def find_redis(env: dict[str, str] | None = None) -> FoundRedis:
    """``AZUCHI_REDIS_URL`` from ``env`` (default ``os.environ``) when set, else a
    ``redis-server`` started on a free port; raises ``RedisUnavailable``."""
    url = (os.environ if env is None else env).get("AZUCHI_REDIS_URL")
    if url:
        return FoundRedis(url)
    server = RedisServer().start()
    return FoundRedis(server.url, owned=server)


def delete_keys(url: str, pattern: str) -> int:
    """Deletes the keys a run made on a shared server (``pattern`` from
    ``RedisKeys.pattern``)."""
    import redis

    client = redis.Redis.from_url(url, socket_timeout=5)
    try:
        keys = list(client.scan_iter(match=pattern, count=1000))
        for start in range(0, len(keys), 500):
            client.delete(*keys[start : start + 500])
        return len(keys)
    finally:
        client.close()
