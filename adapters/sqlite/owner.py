"""Who holds a SQLite lease, so that a lease left by a process that died on this host can be
taken over at once instead of after the rest of its lease.

SQLite is one host's database: a lease row's owner is a process on that host, and the kernel
can say whether it still runs. A lease token starts with its owner's identity — the boot id,
the pid namespace, the pid and the process's start time (so a reused pid is not mistaken for
the owner) — followed by random hex. Anything the kernel cannot tell (no ``/proc``, another
boot, another pid namespace, a token from an older release) counts as alive: the lease then
runs out as before. A takeover is safe even if it were wrong: fences still refuse the old
holder's writes, and its next ``extend`` says LOST.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from functools import cache

_PREFIX = "p"


@dataclass(frozen=True, slots=True)
class Owner:
    boot: str
    namespace: str
    pid: int
    started: str

    def token(self) -> str:
        who = f"{self.boot}.{self.namespace}.{self.pid}.{self.started}"
        return f"{_PREFIX}.{who}.{secrets.token_hex(12)}"


def _read(path: str) -> str | None:
    try:
        with open(path, encoding="ascii") as f:
            return f.read()
    except (OSError, UnicodeDecodeError):
        return None


def _boot_id() -> str | None:
    raw = _read("/proc/sys/kernel/random/boot_id")
    return raw.strip().replace("-", "") if raw else None


def _namespace() -> str | None:
    try:
        return str(os.stat("/proc/self/ns/pid").st_ino)
    except OSError:
        return None


def _started(pid: int) -> str | None:
    """The process's start time in clock ticks since boot (field 22 of /proc/PID/stat)."""
    raw = _read(f"/proc/{pid}/stat")
    if raw is None:
        return None
    # The command name (field 2) is in parentheses and may hold spaces: split after it.
    fields = raw[raw.rfind(")") + 2 :].split()
    return fields[19] if len(fields) > 19 else None


@cache
def _this_host() -> tuple[str, str] | None:
    boot, namespace = _boot_id(), _namespace()
    return None if boot is None or namespace is None else (boot, namespace)


def new_token() -> str:
    """A lease token naming this process, or plain random hex where it cannot be named."""
    host = _this_host()
    pid = os.getpid()
    started = _started(pid) if host else None
    if host is None or started is None:
        return secrets.token_hex(16)
    return Owner(host[0], host[1], pid, started).token()


def owner_is_dead(token: str) -> bool:
    """True only when ``token`` names a process of this boot and pid namespace that no
    longer runs (gone, or its pid now belongs to a process started at another time)."""
    parts = token.split(".")
    if len(parts) != 6 or parts[0] != _PREFIX or not parts[3].isdigit():
        return False
    host = _this_host()
    if host is None or (parts[1], parts[2]) != host:
        return False
    return _started(int(parts[3])) != parts[4]
