"""``azuchi sessions export`` when it cannot export: one line saying why, and no file."""

from __future__ import annotations

from pathlib import Path

import pytest

from handlers.cli import main


def _export(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[object, str]:
    with pytest.raises(SystemExit) as exited:
        main(["sessions", "export", *argv])
    return exited.value.code, capsys.readouterr().err.strip()


def test_a_malformed_id_is_a_usage_error(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("AZUCHI_SQLITE_PATH", str(tmp_path / "azuchi.db"))
    code, err = _export(["not-a-session", "-o", str(tmp_path / "out.json")], capsys)
    assert code == 2 and err == (
        "azuchi: 'not-a-session' is not a session id (a UUID v4 made by azuchi)."
    )
    assert not (tmp_path / "out.json").exists()


def test_an_unknown_session_names_the_storage_searched(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("AZUCHI_SQLITE_PATH", str(tmp_path / "azuchi.db"))
    sid = "0b9a5e8e-6a43-4c1e-9d8e-3f0c1b2a4d5e"
    code, err = _export([sid], capsys)
    assert code == 1
    assert err == f"azuchi: No session {sid} in this storage (AZUCHI_STORAGE=sqlite)"
    monkeypatch.setenv("AZUCHI_STORAGE", "inprocess")
    code, err = _export([sid], capsys)
    assert code == 1 and "keeps sessions only inside the process that made them" in err


def test_a_file_azuchi_cannot_use_is_a_usage_error(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "azuchi.db"
    path.write_bytes(b"not a database" * 100)
    monkeypatch.setenv("AZUCHI_SQLITE_PATH", str(path))
    code, err = _export(["0b9a5e8e-6a43-4c1e-9d8e-3f0c1b2a4d5e"], capsys)
    assert code == 2 and err.startswith(f"azuchi: AZUCHI_SQLITE_PATH={path}: ")
