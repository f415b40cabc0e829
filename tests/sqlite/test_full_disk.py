"""A full disk under the default profile: the user's message is refused with STORAGE_FULL,
nothing of it is stored, and once there is space again the same message (same
clientMessageId) goes through once. The disk is a real one: a 2 MB tmpfs mounted for the
server alone (``testsupport.mounts``), filled from outside through ``/proc/<pid>/root``;
the file is read in the server's namespace."""

from __future__ import annotations

import errno
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from websockets.asyncio.client import connect

from tests.conftest import Client
from tests.sqlite.serve import Server, running, serve_command, serve_env
from testsupport import mounts

pytestmark = pytest.mark.anyio


def _fill(directory: Path) -> Path:
    """Writes a filler file into ``directory`` until the disk refuses another byte."""
    filler = directory / "filler"
    with filler.open("wb", buffering=0) as out:
        for chunk in (64 * 1024, 4096, 512, 1):
            try:
                while True:
                    out.write(b"\0" * chunk)
            except OSError as error:
                assert error.errno == errno.ENOSPC, error
    return filler


def _count(server: Server, database: Path, sql: str) -> int:
    """``SELECT count(*)`` on the server's file, as the server sees it (its namespace)."""
    code = (
        "import sqlite3, sys\n"
        "conn = sqlite3.connect(f'file:{sys.argv[1]}?mode=ro', uri=True)\n"
        "print(conn.execute(sys.argv[2]).fetchone()[0])\n"
    )
    command = mounts.inside(server.pid, [sys.executable, "-c", code, str(database), sql])
    done = subprocess.run(command, capture_output=True, text=True, timeout=30, check=True)
    return int(done.stdout)


def _wait_quiet(server: Server, database: Path) -> None:
    """Until the reply has let go of its lease (its last write)."""
    deadline = time.monotonic() + 30
    while _count(server, database, "SELECT count(*) FROM leases WHERE token != ''"):
        assert time.monotonic() < deadline, "the reply never released its lease"
        time.sleep(0.05)


async def _exchange(client: Client, text: str, cid: str) -> list[dict[str, object]]:
    await client.send(action="putMessage", message=text, clientMessageId=cid)
    return await client.recv_until(lambda f: f.get("type") in ("done", "error"), timeout=30)


async def test_a_full_disk_refuses_the_message_whole_and_the_retry_goes_through(
    tmp_path: Path,
) -> None:
    disk = tmp_path / "disk"
    disk.mkdir()
    command = mounts.small_disk(disk, 2048, serve_command())
    with running(command, serve_env(disk / "azuchi.db", AZUCHI_TITLES="false")) as server:
        await _on_a_disk_that_fills(server, disk)


async def _on_a_disk_that_fills(server: Server, disk: Path) -> None:
    database = disk / "azuchi.db"
    seen = mounts.seen_by(server.pid, disk)
    size = os.statvfs(seen)
    assert size.f_blocks * size.f_frsize <= 2048 * 1024, "not the small disk: filling stops"
    async with connect(server.ws_url, open_timeout=30) as ws:
        client = Client(ws)
        frames = await _exchange(client, "hello", "first")
        assert frames[-1]["type"] == "done" and frames[-1]["status"] == "complete"
        _wait_quiet(server, database)
        stored_before = await client.history()

        filler = _fill(seen)
        big = "a message that needs new pages on the disk " * 280  # about 12 KB
        frames = await _exchange(client, big, "second")
        error = frames[-1]
        assert error["type"] == "error", frames
        assert error["code"] == "STORAGE_FULL"
        assert error["clientMessageId"] == "second" and error["action"] == "putMessage"
        assert "disk is full" in str(error["message"])
        assert not [f for f in frames if f["type"] == "message"], "a refused message was shown"
        # Nothing half-written: the user sees what they saw, the file holds no trace of it.
        assert await client.history() == stored_before
        refused = "SELECT count(*) FROM messages WHERE client_message_id = 'second'"
        assert _count(server, database, refused) == 0

        filler.unlink()
        frames = await _exchange(client, big, "second")
        assert frames[-1]["type"] == "done" and frames[-1]["status"] == "complete", frames
        users = [m for m in await client.history() if m["role"] == "USER"]
        assert [m["clientMessageId"] for m in users] == ["first", "second"]
        assert users[-1]["message"] == big
