"""Free ports on 127.0.0.1, and waiting until a server started on one is ready."""

from __future__ import annotations

import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable

POLL_S = 0.02


class NotReady(RuntimeError):
    """A started server exited, or did not become ready in time; the message says which."""


def free_port() -> int:
    """A TCP port nothing listens on right now (the OS picks it; another process may take it
    before the caller binds it, which callers that start servers detect by ``wait_ready``)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def accepts(port: int, host: str = "127.0.0.1", timeout: float = 0.2) -> bool:
    """True when something accepts a TCP connection on ``host:port``."""
    try:
        socket.create_connection((host, port), timeout=timeout).close()
        return True
    except OSError:
        return False


def http_answers(url: str, timeout: float = 1.0) -> bool:
    """True when ``url`` answers HTTP with a status below 500."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return bool(response.status < 500)
    except urllib.error.HTTPError as error:
        return error.code < 500
    except (OSError, ValueError):
        return False


def wait_ready(
    ready: Callable[[], bool],
    *,
    what: str,
    timeout: float,
    process: subprocess.Popen[bytes] | None = None,
    log: Callable[[], str] = lambda: "",
    poll: float = POLL_S,
) -> None:
    """Polls ``ready`` until it is true. Raises ``NotReady`` as soon as ``process`` exits
    (with its exit code and the tail of ``log``) or once ``timeout`` seconds have passed; the
    caller stops the process."""
    deadline = time.monotonic() + timeout
    while not ready():
        if process is not None and process.poll() is not None:
            raise NotReady(f"{what} exited with {process.returncode}: {log().strip()[-2000:]}")
        if time.monotonic() > deadline:
            raise NotReady(f"{what} was not ready within {timeout:g} s: {log().strip()[-2000:]}")
        time.sleep(poll)
