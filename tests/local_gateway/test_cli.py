"""``azuchi serve`` as a user runs it."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from handlers.cli import main

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    ("variable", "value", "named"),
    [
        ("AZUCHI_STORAGE", "floppy", "AZUCHI_STORAGE='floppy'"),
        ("AZUCHI_COALESCE_MS", "soon", "AZUCHI_COALESCE_MS"),
        ("AZUCHI_PORT", "eighty", "AZUCHI_PORT"),
        ("AZUCHI_STAGE", "a/b", "stage 'a/b'"),
        ("AZUCHI_ADMIN_PORT", "70000", "AZUCHI_ADMIN_PORT"),
        ("AZUCHI_ALLOWED_ORIGINS", "*", "AZUCHI_ALLOWED_ORIGINS"),
        ("AZUCHI_HEADER_TIMEOUT_S", "never", "AZUCHI_HEADER_TIMEOUT_S"),
    ],
)
def test_a_bad_setting_is_one_clear_line_and_exit_2(monkeypatch, capsys, variable, value, named):
    monkeypatch.setenv(variable, value)
    with pytest.raises(SystemExit) as exited:
        main(["serve", "--port", "0"] if variable != "AZUCHI_PORT" else ["serve"])
    assert exited.value.code == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("azuchi: ") and named in lines[0]


def test_a_busy_port_is_one_clear_line(capsys):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(SystemExit) as exited:
            main(["serve", "--port", str(port)])
    assert exited.value.code == 1
    err = capsys.readouterr().err
    assert f"cannot listen on 127.0.0.1:{port}" in err


def test_a_busy_admin_port_is_one_clear_line_naming_it(capsys):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(SystemExit) as exited:
            main(["serve", "--port", "0", "--admin-port", str(port)])
    assert exited.value.code == 1
    assert f"the admin port 127.0.0.1:{port}" in capsys.readouterr().err


def test_serve_prints_where_to_chat_answers_and_stops_on_sigterm():
    env = {k: v for k, v in os.environ.items() if not k.startswith("AZUCHI_")}
    process = subprocess.Popen(
        [sys.executable, "-m", "handlers.cli", "serve", "--port", "0", "--stage", "dev"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        found = re.search(
            r"http://127\.0\.0\.1:(\d+)/ .*ws://127\.0\.0\.1:\1/dev .*?(\d+) ms", line
        )
        assert found, line
        port = int(found.group(1))
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5) as health:
            assert health.read() == b"ok"
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/config.json", timeout=5) as config:
            assert b"/dev" in config.read()
        started = time.monotonic()
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=10) == 0
        assert time.monotonic() - started < 5
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        if process.stdout is not None:
            process.stdout.close()


def test_serve_with_an_admin_port_names_the_admin_listener_and_serves_the_stats_there():
    env = {k: v for k, v in os.environ.items() if not k.startswith("AZUCHI_")}
    process = subprocess.Popen(
        [sys.executable, "-m", "handlers.cli", "serve", "--port", "0", "--admin-port", "0"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        public = re.search(r"http://127\.0\.0\.1:(\d+)/ ", line)
        admin = re.search(r"admin API .* at http://127\.0\.0\.1:(\d+), loopback only", line)
        assert public and admin, line
        stats = f"http://127.0.0.1:{admin.group(1)}/_azuchi/stats"
        with urllib.request.urlopen(stats, timeout=5) as answer:
            assert b'"apigw"' in answer.read()
        with pytest.raises(urllib.error.HTTPError) as missing:
            urllib.request.urlopen(f"http://127.0.0.1:{public.group(1)}/_azuchi/stats", timeout=5)
        assert missing.value.code == 404
    finally:
        process.terminate()
        process.wait(timeout=10)
        if process.stdout is not None:
            process.stdout.close()


# --- the checkout commands (load, cost, package) -------------------------------------------

WITHOUT_CHECKOUT = """
import sys
for package in ("load_tests", "costmodel", "tooling"):
    sys.modules[package] = None  # as in an install that has only the runtime packages
from handlers.cli import main
main(sys.argv[1:])
"""


@pytest.mark.parametrize(
    ("command", "package"), [("cost", "costmodel"), ("package", "tooling"), ("load", "load_tests")]
)
def test_a_checkout_command_without_its_package_says_so_plainly(command, package):
    result = subprocess.run(
        [sys.executable, "-c", WITHOUT_CHECKOUT, command, "--from", "run.json"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 1
    (line,) = result.stderr.strip().splitlines()  # one sentence, no traceback
    assert line.startswith(f"azuchi {command}: this command runs from a checkout of azuchi")
    assert f"{package}/ is not importable here" in line
    assert result.stdout == ""


def test_serve_still_starts_its_parser_without_the_checkout_packages():
    result = subprocess.run(
        [sys.executable, "-c", WITHOUT_CHECKOUT, "--help"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0
    assert "serve" in result.stdout
    assert re.search(
        r"\bcost\s+\(needs an azuchi checkout: costmodel/ is not installed\)", result.stdout
    )


def test_a_broken_import_inside_a_checkout_command_is_not_taken_for_a_missing_checkout():
    from handlers.cli import _add_checkout_command

    def find():
        raise ModuleNotFoundError("No module named 'yaml'", name="yaml")

    with pytest.raises(ModuleNotFoundError, match="yaml"):
        _add_checkout_command(None, "cost", "costmodel", find)


def test_building_the_parser_leaves_the_commands_heavy_modules_unimported():
    probe = (
        "import sys, handlers.cli as cli; cli._parser()\n"
        "heavy = ['costmodel.pricing', 'costmodel.inputs', 'load_tests.run', 'load_tests.local']\n"
        "print(sorted(m for m in heavy if m in sys.modules))"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"
