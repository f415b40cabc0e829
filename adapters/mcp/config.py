"""The MCP servers file (``AZUCHI_MCP_CONFIG``): JSON or YAML, read once at start-up.

servers:
  - name: calc                     # [A-Za-z0-9_-]; the tools are offered as calc__<tool>
    transport: http                # streamable HTTP
    url: https://mcp.example.com/mcp
    headers: {Authorization: "Bearer ${CALC_TOKEN}"}   # ${VAR} is read from the environment
    timeoutSeconds: 10             # per call, connect included
    maxResultChars: 8000           # a longer answer is cut to this
  - name: files
    transport: stdio               # a local subprocess (never on Lambda)
    command: python
    args: [-m, my_server]
    env: {ROOT: /srv/files}        # the only variables it gets beyond PATH, HOME and the like
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from adapters.settings import SettingsError

NAME = re.compile(r"^[A-Za-z0-9_-]{1,32}$")
VARIABLE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
TRANSPORTS = ("http", "stdio")


class McpConfigError(SettingsError):
    """The servers file cannot be used; the message names the file and the entry."""


@dataclass(frozen=True, slots=True)
class McpServer:
    name: str
    transport: str  # http | stdio
    url: str = ""
    headers: Mapping[str, str] = field(default_factory=dict)
    command: str = ""
    args: tuple[str, ...] = ()
    env: Mapping[str, str] = field(default_factory=dict)
    timeout_s: float = 10.0
    max_result_chars: int = 8_000
    # Tools (the server's own names) that wait for the user's approval; "*": every one.
    require_approval: tuple[str, ...] = ()

    def needs_approval(self, tool: str) -> bool:
        return "*" in self.require_approval or tool in self.require_approval


def load_servers(
    path: str, env: Mapping[str, str], on_lambda: bool = False
) -> tuple[McpServer, ...]:
    """The servers ``path`` lists; ``McpConfigError`` for anything azuchi cannot use."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise McpConfigError(f"AZUCHI_MCP_CONFIG={path!r}: {exc.strerror}") from None
    try:
        data = json.loads(text) if path.endswith(".json") else yaml.safe_load(text)
    except (ValueError, yaml.YAMLError) as exc:
        raise McpConfigError(f"{path}: not valid JSON/YAML: {exc}") from None
    entries = data.get("servers") if isinstance(data, dict) else None
    if not isinstance(entries, list):
        raise McpConfigError(f"{path}: expected a top-level 'servers' list")
    servers = [_server(entry, index, path, env, on_lambda) for index, entry in enumerate(entries)]
    seen: set[str] = set()
    for server in servers:
        if server.name in seen:
            raise McpConfigError(f"{path}: two servers are named {server.name!r}")
        seen.add(server.name)
    return tuple(servers)


def _server(
    entry: Any, index: int, path: str, env: Mapping[str, str], on_lambda: bool
) -> McpServer:
    where = f"{path}: servers[{index}]"
    if not isinstance(entry, dict):
        raise McpConfigError(f"{where} is not a mapping")
    name = entry.get("name")
    if not isinstance(name, str) or not NAME.match(name):
        raise McpConfigError(f"{where}: name must be 1-32 characters of A-Z a-z 0-9 _ -")
    where = f"{path}: server {name!r}"
    transport = entry.get("transport")
    if transport not in TRANSPORTS:
        raise McpConfigError(f"{where}: transport must be one of {', '.join(TRANSPORTS)}")
    timeout = entry.get("timeoutSeconds", 10.0)
    limit = entry.get("maxResultChars", 8_000)
    if not isinstance(timeout, int | float) or isinstance(timeout, bool) or timeout <= 0:
        raise McpConfigError(f"{where}: timeoutSeconds must be a positive number")
    if not isinstance(limit, int) or isinstance(limit, bool) or limit < 1:
        raise McpConfigError(f"{where}: maxResultChars must be a positive integer")
    approval = entry.get("requireApproval", [])
    if approval is True:
        approval = ["*"]
    elif approval is False:
        approval = []
    if not isinstance(approval, list) or not all(isinstance(t, str) and t for t in approval):
        raise McpConfigError(
            f"{where}: requireApproval must be true (every tool) or a list of tool names"
        )
    common = {
        "name": name,
        "transport": transport,
        "timeout_s": float(timeout),
        "require_approval": tuple(approval),
    }
    if transport == "http":
        url = entry.get("url")
        if not isinstance(url, str) or not url.startswith(("http://", "https://")):
            raise McpConfigError(f"{where}: url must be an http:// or https:// URL")
        headers = _strings(entry.get("headers", {}), f"{where}: headers", env)
        return McpServer(**common, url=url, headers=headers, max_result_chars=limit)
    if on_lambda:
        raise McpConfigError(f"{where}: stdio servers run only locally, not on Lambda")
    command = entry.get("command")
    args = entry.get("args", [])
    if not isinstance(command, str) or not command:
        raise McpConfigError(f"{where}: command is required for a stdio server")
    if not isinstance(args, list) or not all(isinstance(a, str) for a in args):
        raise McpConfigError(f"{where}: args must be a list of strings")
    child_env = _strings(entry.get("env", {}), f"{where}: env", env)
    return McpServer(
        **common, command=command, args=tuple(args), env=child_env, max_result_chars=limit
    )


def _strings(value: Any, where: str, env: Mapping[str, str]) -> dict[str, str]:
    """A string-to-string mapping, with ``${VAR}`` read from ``env`` (so a token need not
    be written in the file); a variable that is not set is an error, never an empty value."""
    if not isinstance(value, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in value.items()
    ):
        raise McpConfigError(f"{where} must map names to strings")

    def expand(match: re.Match[str]) -> str:
        if match.group(1) not in env:
            raise McpConfigError(f"{where}: ${{{match.group(1)}}} is not set")
        return env[match.group(1)]

    return {key: VARIABLE.sub(expand, text) for key, text in value.items()}
