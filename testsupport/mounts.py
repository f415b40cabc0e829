"""Filesystems that stop even root: a read-only view of a directory, a small disk. Each is
mounted inside a mount namespace of its own (``unshare --mount``) that the wrapped command
runs in, so the machine's mounts are never touched and nothing stays mounted once the
command exits. Another process reaches the namespace's view through
``/proc/<pid>/root/<path>`` (``seen_by``) or by running in it (``inside``).

Needs root (CAP_SYS_ADMIN) and util-linux's ``unshare``: CI runs as root, and a run that
cannot mount calls ``backend_missing`` (a skip on a laptop, a failure under CI)."""

from __future__ import annotations

import functools
import shlex
import shutil
import subprocess
from pathlib import Path

from testsupport.backend import backend_missing


@functools.cache
def _unavailable() -> str | None:
    unshare = shutil.which("unshare")
    if unshare is None:
        return "util-linux's unshare is not installed"
    probe = subprocess.run(
        [unshare, "--mount", "--propagation", "private", "sh", "-c", "mount -t tmpfs x /mnt"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    if probe.returncode != 0:
        return f"cannot mount in a mount namespace (needs root): {probe.stderr.strip()[-300:]}"
    return None


def require_mounts() -> None:
    """Reports (``backend_missing``) when this run cannot make mount namespaces."""
    reason = _unavailable()
    if reason is not None:
        backend_missing(reason)


def _wrapped(setup: str, command: list[str]) -> list[str]:
    require_mounts()
    return [
        "unshare",
        "--mount",
        "--propagation",
        "private",
        "sh",
        "-c",
        f'{setup} && exec "$@"',
        "sh",
        *command,
    ]


def read_only(directory: Path, command: list[str]) -> list[str]:
    """``command`` seeing ``directory`` (and everything in it) mounted read-only."""
    d = shlex.quote(str(directory))
    return _wrapped(f"mount --bind {d} {d} && mount -o remount,bind,ro {d}", command)


def small_disk(directory: Path, size_kb: int, command: list[str]) -> list[str]:
    """``command`` seeing an empty tmpfs of ``size_kb`` KB mounted on ``directory``."""
    d = shlex.quote(str(directory))
    return _wrapped(f"mount -t tmpfs -o size={int(size_kb)}k azuchi-small-disk {d}", command)


def seen_by(pid: int, path: Path) -> Path:
    """``path`` as the process ``pid`` sees it, from outside its mount namespace (for the
    kernel's own file calls; SQLite resolves ``/proc/<pid>/root`` to ``/``: use ``inside``)."""
    return Path(f"/proc/{pid}/root") / path.resolve().relative_to("/")


def inside(pid: int, command: list[str]) -> list[str]:
    """``command`` run in the mount namespace of the process ``pid``."""
    return ["nsenter", "--target", str(pid), "--mount", *command]
