"""A lease left by a process that died on this host is taken over at once (so a restarted
``azuchi serve`` answers the interrupted reply without waiting out the dead one's lease);
a live process's lease, and any lease whose owner cannot be checked, is not."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from adapters.sqlite import owner
from adapters.sqlite.database import SqliteDatabase
from adapters.sqlite.lock import SqliteSessionLock

SID = "s-dead-owner"
LEASE_MS = 600_000  # ten minutes: only a takeover frees it within the test
ROOT = Path(__file__).resolve().parents[2]

HOLDER = """
import sys, anyio
sys.path.insert(0, sys.argv[2])
from adapters.sqlite.database import SqliteDatabase
from adapters.sqlite.lock import SqliteSessionLock

async def main():
    lease = await SqliteSessionLock(SqliteDatabase(sys.argv[1])).acquire(sys.argv[3], 600_000)
    assert lease is not None
    print(lease.fence, flush=True)
    await anyio.sleep(3600)

anyio.run(main)
"""


def _holder(path: Path) -> tuple[subprocess.Popen[str], int]:
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(path), str(ROOT), SID],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    assert line.strip().isdigit(), f"the holder did not take the lease: {line!r}"
    return proc, int(line)


@pytest.mark.anyio
async def test_a_killed_holders_lease_is_taken_over_at_once(tmp_path: Path) -> None:
    path = tmp_path / "azuchi.db"
    proc, fence = _holder(path)
    lock = SqliteSessionLock(SqliteDatabase(path))
    assert await lock.is_held(SID)
    assert await lock.acquire(SID, LEASE_MS) is None, "a live holder's lease was taken"

    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=10)
    assert not await lock.is_held(SID)
    lease = await lock.acquire(SID, LEASE_MS)
    assert lease is not None and lease.fence > fence
    # The new holder's lease is a live one like any other.
    assert await lock.is_held(SID)
    assert await lock.acquire(SID, LEASE_MS) is None


@pytest.mark.anyio
async def test_a_lease_whose_owner_cannot_be_checked_runs_out_as_before(tmp_path: Path) -> None:
    db = SqliteDatabase(tmp_path / "azuchi.db")
    lock = SqliteSessionLock(db)
    lease = await lock.acquire(SID, LEASE_MS)
    assert lease is not None
    foreign = [
        "0123456789abcdef0123456789abcdef",  # an older release's plain random token
        f"p.{'f' * 32}.1.1.1.{'a' * 24}",  # another boot
        lease.replace(lease.split(".")[2], "1", 1),  # another pid namespace
    ]
    for token in foreign:
        await db.run(
            lambda conn, t=token: conn.execute(
                "UPDATE leases SET token = ? WHERE session_id = ?", (t, SID)
            )
        )
        assert await lock.is_held(SID), token
        assert await lock.acquire(SID, LEASE_MS) is None, token


def test_a_reused_pid_is_not_its_old_owner() -> None:
    token = owner.new_token()
    assert not owner.owner_is_dead(token)
    parts = token.split(".")
    assert parts[3] == str(os.getpid())
    started_elsewhen = ".".join([*parts[:4], str(int(parts[4]) + 1), parts[5]])
    assert owner.owner_is_dead(started_elsewhen)


def test_a_pid_that_no_longer_runs_is_dead() -> None:
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        deadline = time.monotonic() + 10
        while owner._started(proc.pid) is None:
            assert time.monotonic() < deadline
            time.sleep(0.01)
        parts = owner.new_token().split(".")
        token = ".".join([*parts[:3], str(proc.pid), str(owner._started(proc.pid)), parts[5]])
        assert not owner.owner_is_dead(token)
    finally:
        proc.kill()
        proc.wait()
    assert owner.owner_is_dead(token)
