"""Settings for the storage profiles tests and benchmarks pick on purpose.

With no settings azuchi keeps its chats in one SQLite file under the user's data home; a
test or a benchmark says which profile it wants instead of inheriting that default.
"""

from __future__ import annotations

from pathlib import Path

DURABLE_PORTS = ("AZUCHI_STORAGE", "AZUCHI_LOCK", "AZUCHI_AGENT_MEMORY")

# The ports that have a durable default, in process (dicts in this process).
IN_PROCESS: dict[str, str] = dict.fromkeys(DURABLE_PORTS, "inprocess")


def sqlite_profile(path: str | Path) -> dict[str, str]:
    """The default profile (sqlite) on a file of the caller's own."""
    return {**dict.fromkeys(DURABLE_PORTS, "sqlite"), "AZUCHI_SQLITE_PATH": str(path)}
