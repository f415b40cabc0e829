"""``azuchi serve`` as a user starts it, in a subprocess: on the default profile (sqlite) with
a file of the test's own, optionally inside a mount namespace (``testsupport.mounts``)."""

from __future__ import annotations

import os
import queue
import re
import signal
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from testsupport.profiles import UNLIMITED

ROOT = Path(__file__).resolve().parents[2]
WS_URL = re.compile(r"(ws://127\.0\.0\.1:\d+/\w+)")
START_TIMEOUT_S = 60.0


def serve_command(port: int = 0) -> list[str]:
    return [sys.executable, "-m", "handlers.cli", "serve", "--port", str(port)]


def serve_env(database: Path, **settings: str) -> dict[str, str]:
    """No AZUCHI_* setting but the file (so the default profile is what runs), the scripted
    model at full speed, short replies."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AZUCHI_")}
    env.update(
        {
            "AZUCHI_SQLITE_PATH": str(database),
            "AZUCHI_SCRIPTED_TOKENS_PER_SECOND": "0",
            "AZUCHI_SCRIPTED_REPLY_TOKENS": "12",
            "AZUCHI_COALESCE_MS": "20",
            "PYTHONUNBUFFERED": "1",
            **UNLIMITED,
            **settings,
        }
    )
    return env


def refused_start(command: list[str], env: dict[str, str]) -> tuple[int, str]:
    """Runs a start that must fail: its exit code and what it wrote to stderr."""
    done = subprocess.run(
        command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=START_TIMEOUT_S
    )
    if done.returncode == 0 or WS_URL.search(done.stdout):
        raise AssertionError(f"azuchi serve started: {done.stdout!r}")
    return done.returncode, done.stderr


@dataclass
class Server:
    process: subprocess.Popen[str]
    ws_url: str
    log: Path  # its stderr

    @property
    def pid(self) -> int:
        return self.process.pid

    def stop(self, sig: signal.Signals = signal.SIGTERM) -> int:
        self.process.send_signal(sig)
        return self.process.wait(timeout=30)


@contextmanager
def running(command: list[str], env: dict[str, str]) -> Iterator[Server]:
    """Starts ``command``, waits for the line with its WebSocket URL, kills it at the end."""
    log = Path(tempfile.mkstemp(prefix="azuchi-serve-", suffix=".log")[1])
    with log.open("w") as err:
        process = subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=err, text=True
        )
    lines: queue.Queue[str | None] = queue.Queue()

    def read() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            lines.put(line)
        lines.put(None)

    threading.Thread(target=read, daemon=True).start()
    try:
        try:
            line = lines.get(timeout=START_TIMEOUT_S)
        except queue.Empty:
            line = None
        found = WS_URL.search(line or "")
        if found is None:
            process.kill()
            process.wait(timeout=30)
            tail = log.read_text(errors="replace")[-3000:]
            raise AssertionError(f"azuchi serve did not start ({process.returncode}): {tail}")
        yield Server(process, found.group(1), log)
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(timeout=30)
        if process.stdout is not None:
            process.stdout.close()
        log.unlink(missing_ok=True)
