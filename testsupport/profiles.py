"""Settings for the storage profiles tests and benchmarks pick on purpose.

With no settings azuchi keeps its chats in one SQLite file under the user's data home; a
test or a benchmark says which profile it wants instead of inheriting that default.
"""

from __future__ import annotations

from pathlib import Path

DURABLE_PORTS = ("AZUCHI_STORAGE", "AZUCHI_LOCK", "AZUCHI_AGENT_MEMORY", "AZUCHI_LIMITS")

# Every limit off (core/services/limits.py): a test about something else sends messages
# and opens sessions as fast as it likes; a test of the limits turns on what it tests.
UNLIMITED: dict[str, str] = {
    "AZUCHI_LIMIT_CONNECTION_MESSAGES_PER_MINUTE": "0",
    "AZUCHI_LIMIT_SESSION_MESSAGES_PER_MINUTE": "0",
    "AZUCHI_LIMIT_QUEUED_MESSAGES": "0",
    "AZUCHI_LIMIT_NEW_SESSIONS_PER_MINUTE": "0",
    "AZUCHI_LIMIT_CONCURRENT_REPLIES": "0",
    "AZUCHI_LIMIT_SESSION_TOKENS_PER_DAY": "0",
    "AZUCHI_LIMIT_SPEND_PER_DAY_USD": "0",
}

# The ports that have a durable default, in process (dicts in this process), unlimited.
IN_PROCESS: dict[str, str] = {**dict.fromkeys(DURABLE_PORTS, "inprocess"), **UNLIMITED}


def sqlite_profile(path: str | Path) -> dict[str, str]:
    """The default profile (sqlite) on a file of the caller's own."""
    return {
        **dict.fromkeys(DURABLE_PORTS, "sqlite"),
        **UNLIMITED,
        "AZUCHI_SQLITE_PATH": str(path),
    }
