"""A SQLite file azuchi cannot use stops ``azuchi serve`` at start-up: exit 2 and one line
that names the file and says what to do, rather than a server that fails at the first
message. Each case is made for real: a read-only mount (root writes through file modes), a
process holding the write lock, a damaged file, a file from a newer azuchi."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

from adapters.sqlite.database import SCHEMA_VERSION, SqliteDatabase
from tests.sqlite.serve import refused_start, serve_command, serve_env
from testsupport import mounts

EXIT_USAGE = 2


def _one_line_naming(stderr: str, path: Path) -> str:
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    assert lines[0].startswith(f"azuchi: AZUCHI_SQLITE_PATH={path}: "), lines[0]
    return lines[0]


def _existing_database(path: Path) -> Path:
    SqliteDatabase(path)._conn.close()
    return path


def test_a_file_on_a_read_only_disk_is_refused_naming_it(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    path = _existing_database(data / "azuchi.db")
    before = path.read_bytes()
    command = mounts.read_only(data, serve_command())
    code, err = refused_start(command, serve_env(path))
    line = _one_line_naming(err, path)
    assert code == EXIT_USAGE
    assert "the file is on a disk mounted read-only" in line
    assert "make it writable, or point AZUCHI_SQLITE_PATH elsewhere" in line
    assert path.read_bytes() == before


def test_a_new_file_on_a_read_only_disk_is_refused_naming_it(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    path = data / "azuchi.db"
    code, err = refused_start(mounts.read_only(data, serve_command()), serve_env(path))
    line = _one_line_naming(err, path)
    assert code == EXIT_USAGE and "its directory is on a disk mounted read-only" in line
    assert not path.exists()


def test_a_file_another_process_keeps_locked_past_the_busy_timeout_is_refused(
    tmp_path: Path,
) -> None:
    path = _existing_database(tmp_path / "azuchi.db")
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sqlite3, sys\n"
            f"c = sqlite3.connect({str(path)!r}, isolation_level=None)\n"
            "c.execute('BEGIN EXCLUSIVE')\n"
            "print('holding', flush=True)\n"
            "sys.stdin.read()\n",
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "holding"
        env = serve_env(path, AZUCHI_SQLITE_BUSY_TIMEOUT_MS="200")
        code, err = refused_start(serve_command(), env)
    finally:
        assert holder.stdin is not None
        holder.stdin.close()
        holder.wait(timeout=30)
    line = _one_line_naming(err, path)
    assert code == EXIT_USAGE
    assert "locked by another process for more than 200 ms" in line
    assert "AZUCHI_SQLITE_BUSY_TIMEOUT_MS" in line


def test_a_file_that_is_not_a_database_is_refused_and_left_as_it_was(tmp_path: Path) -> None:
    path = tmp_path / "azuchi.db"
    path.write_bytes(b"this is not a database, it is a shopping list\n" * 100)
    code, err = refused_start(serve_command(), serve_env(path))
    line = _one_line_naming(err, path)
    assert code == EXIT_USAGE and "damaged; move it aside" in line
    assert path.read_bytes().startswith(b"this is not a database")


def test_a_database_damaged_inside_is_refused(tmp_path: Path) -> None:
    """A valid header over a wrecked schema page (a disk error, a bad copy): caught when
    the schema is read at start-up, not by the first user."""
    path = _existing_database(tmp_path / "azuchi.db")
    raw = bytearray(path.read_bytes())
    raw[100:4096] = b"\xff" * (4096 - 100)  # page 1 after the header: the schema's root
    path.write_bytes(bytes(raw))
    code, err = refused_start(serve_command(), serve_env(path))
    line = _one_line_naming(err, path)
    assert code == EXIT_USAGE and "damaged; move it aside" in line


def test_a_file_from_a_newer_azuchi_is_refused_and_not_migrated(tmp_path: Path) -> None:
    path = _existing_database(tmp_path / "azuchi.db")
    with sqlite3.connect(path) as conn:
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    code, err = refused_start(serve_command(), serve_env(path))
    line = _one_line_naming(err, path)
    assert code == EXIT_USAGE
    assert f"newer azuchi (schema {SCHEMA_VERSION + 1}" in line and "upgrade azuchi" in line
    version = sqlite3.connect(path).execute("PRAGMA user_version").fetchone()[0]
    assert version == SCHEMA_VERSION + 1
