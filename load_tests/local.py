"""Starting a local target for a run: ``azuchi serve`` or the bare relay, in a subprocess.

A subprocess, not a task of the load generator's own loop: the server and the 200 clients
would otherwise share one core and one event loop, and every latency measured would be the
sum of both. Each prints one line with its WebSocket URL once it listens (port 0: a free
port), which is how the caller learns where to connect; ``azuchi serve`` runs with its admin
listener on a free port too, and names it on the same line: the run reads the gateway's
counters there (``/_azuchi/stats`` is not on the public port).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass

import anyio
import anyio.abc

# core/services/limits.py's settings (README: Configuration), each 0 for off.
LIMITS_OFF = (
    "AZUCHI_LIMIT_CONNECTION_MESSAGES_PER_MINUTE",
    "AZUCHI_LIMIT_SESSION_MESSAGES_PER_MINUTE",
    "AZUCHI_LIMIT_QUEUED_MESSAGES",
    "AZUCHI_LIMIT_NEW_SESSIONS_PER_MINUTE",
    "AZUCHI_LIMIT_CONCURRENT_REPLIES",
    "AZUCHI_LIMIT_SESSION_TOKENS_PER_DAY",
    "AZUCHI_LIMIT_SPEND_PER_DAY_USD",
)

WS_URL = re.compile(r"(ws://\S+)")
ADMIN_URL = re.compile(r"admin API .*? at (http://[^\s,]+)")
STATS_PATH = "/_azuchi/stats"
START_TIMEOUT_S = 30.0


@dataclass(frozen=True, slots=True)
class ScriptedLoad:
    """The scripted model's pace, which the relay copies (AZUCHI_SCRIPTED_*, AZUCHI_COALESCE_MS)."""

    tokens_per_second: float = 50.0
    reply_tokens: int = 300
    first_token_delay_ms: int = 0
    coalesce_ms: int = 250

    def env(self) -> dict[str, str]:
        return {
            "AZUCHI_SCRIPTED_TOKENS_PER_SECOND": f"{self.tokens_per_second:g}",
            "AZUCHI_SCRIPTED_REPLY_TOKENS": str(self.reply_tokens),
            "AZUCHI_SCRIPTED_FIRST_TOKEN_DELAY_MS": str(self.first_token_delay_ms),
            "AZUCHI_COALESCE_MS": str(self.coalesce_ms),
        }


@dataclass(frozen=True, slots=True)
class Target:
    """Where a started server listens: its WebSocket URL and, for azuchi, its stats."""

    url: str
    stats_url: str | None = None


@asynccontextmanager
async def local_azuchi(
    load: ScriptedLoad, env: Mapping[str, str] | None = None, python_args: list[str] | None = None
) -> AsyncIterator[Target]:
    """``azuchi serve`` with the scripted model on a free port; yields where it is. The
    caller's environment passes through (``AZUCHI_STORAGE=dynamodb`` and the like); the
    DynamoDB meter is on so the run's consumed capacity is counted. The default profile's
    SQLite file is the run's own, deleted after (a load run must not fill the user's chats),
    unless ``AZUCHI_SQLITE_PATH`` names one. ``python_args`` go before ``-m handlers.cli``
    (``["-m", "cProfile", "-o", PATH]`` profiles the server). The per-client limits are
    off unless set (every simulated user shares one address and one process): a load run
    measures the service, not its refusals."""
    settings = {
        **{k: "0" for k in LIMITS_OFF if k not in os.environ},
        "AZUCHI_MODEL": "scripted",
        "AZUCHI_LOG_LEVEL": "WARNING",
        "AZUCHI_DYNAMODB_METER": "true",
        **load.env(),
        **(env or {}),
    }
    command = [sys.executable, *(python_args or []), *SERVE]
    with tempfile.TemporaryDirectory(prefix="azuchi-load-") as scratch:
        if not (settings.get("AZUCHI_SQLITE_PATH") or os.environ.get("AZUCHI_SQLITE_PATH")):
            settings["AZUCHI_SQLITE_PATH"] = os.path.join(scratch, "azuchi.db")
        async with _process(command, settings) as target:
            yield target


# The admin listener on a free port: the run's stats are read there.
SERVE = ["-m", "handlers.cli", "serve", "--host", "127.0.0.1", "--port", "0", "--admin-port", "0"]


@asynccontextmanager
async def local_relay(load: ScriptedLoad) -> AsyncIterator[Target]:
    """The bare relay (``load_tests.relay``) at the same pace; yields where it listens."""
    command = [
        sys.executable,
        "-m",
        "load_tests.relay",
        "--port",
        "0",
        "--tokens-per-second",
        f"{load.tokens_per_second:g}",
        "--reply-tokens",
        str(load.reply_tokens),
        "--first-token-delay-ms",
        str(load.first_token_delay_ms),
        "--coalesce-ms",
        str(load.coalesce_ms),
    ]
    async with _process(command, {}) as url:
        yield url


@asynccontextmanager
async def _process(command: list[str], env: Mapping[str, str]) -> AsyncIterator[Target]:
    async with serving(command, env) as (target, _):
        yield target


@asynccontextmanager
async def serving(
    command: list[str], env: Mapping[str, str]
) -> AsyncIterator[tuple[Target, anyio.abc.Process]]:
    """Runs ``command`` until the block ends; yields where it listens (from the line it
    prints) and the process (whose pid a benchmark reads CPU time from)."""
    with tempfile.TemporaryFile() as log:
        process = await anyio.open_process(
            command, env={**os.environ, **env}, stdout=subprocess.PIPE, stderr=log
        )
        try:
            target = await _first_url(process)
            if target is None:
                log.seek(0)
                tail = log.read().decode("utf-8", "replace").strip().splitlines()[-5:]
                name = " ".join(command[1:4])
                raise RuntimeError(f"{name} did not start: " + " | ".join(tail))
            yield target, process
        finally:
            await _stop(process)


async def _first_url(process: anyio.abc.Process) -> Target | None:
    """The URLs on the first line the process prints, or None if it exits or takes too long."""
    assert process.stdout is not None
    seen = b""
    with anyio.move_on_after(START_TIMEOUT_S):
        async for chunk in process.stdout:
            seen += chunk
            text = seen.decode("utf-8", "replace")
            match = WS_URL.search(text)
            if match and "\n" in text[match.end() :]:
                line = text[match.start() : text.index("\n", match.end())]
                admin = ADMIN_URL.search(line)
                stats = admin.group(1) + STATS_PATH if admin else None
                return Target(match.group(1), stats)
    return None


async def _stop(process: anyio.abc.Process) -> None:
    if process.returncode is None:
        process.terminate()
        with anyio.move_on_after(10):
            await process.wait()
        if process.returncode is None:
            process.kill()
            await process.wait()
    await process.aclose()
