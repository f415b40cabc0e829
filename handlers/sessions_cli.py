"""``azuchi sessions export SESSION_ID [--format json|markdown] [-o FILE]``: one session's
whole conversation, read from the storage the settings name (as ``azuchi serve`` does, so
the same ``AZUCHI_*`` variables point it at the same sqlite file or DynamoDB tables)."""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

import anyio

from adapters.bootstrap import build_app
from adapters.registry import UnknownAdapter
from adapters.settings import Settings, SettingsError
from core.errors import AzuchiError, InvalidSessionId, SessionNotFound
from core.services.export import export_session, to_json, to_markdown

EXIT_UNAVAILABLE = 1
EXIT_USAGE = 2
FORMATS = {"json": to_json, "markdown": to_markdown}


def register(commands: Any) -> None:
    sessions = commands.add_parser(
        "sessions",
        help="take your chats with you: export a session",
        description="Read sessions from the storage AZUCHI_* settings name (the default: "
        "the sqlite file azuchi serve uses).",
    )
    actions = sessions.add_subparsers(dest="action", metavar="ACTION")
    actions.required = True
    export = actions.add_parser(
        "export", help="write one session's whole conversation as JSON or Markdown"
    )
    export.add_argument(
        "session_id",
        metavar="SESSION_ID",
        help="the session's id (the chat page keeps it in localStorage: azuchi.sessionId)",
    )
    export.add_argument("--format", choices=sorted(FORMATS), default="json")
    export.add_argument("-o", "--output", type=Path, help="write to this file (default: stdout)")
    export.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    try:
        settings = Settings.from_env()
        app = build_app(settings)
    except (SettingsError, UnknownAdapter) as error:
        print(f"azuchi: {error}", file=sys.stderr)
        return EXIT_USAGE
    where = f"AZUCHI_STORAGE={settings.storage}"

    async def export() -> str:
        async with app:
            return FORMATS[args.format](await export_session(app.store, args.session_id))

    try:
        text = anyio.run(export)
    except InvalidSessionId as error:
        print(f"azuchi: {error}", file=sys.stderr)
        return EXIT_USAGE
    except SessionNotFound as error:
        hint = (
            " (inprocess storage keeps sessions only inside the process that made them)"
            if settings.storage == "inprocess"
            else ""
        )
        print(f"azuchi: {error.message.rstrip('.')} ({where}){hint}", file=sys.stderr)
        return EXIT_UNAVAILABLE
    except AzuchiError as error:
        print(f"azuchi: cannot read {where}: {error}", file=sys.stderr)
        return EXIT_UNAVAILABLE
    if args.output is None:
        sys.stdout.write(text)
        sys.stdout.flush()
    else:
        _write_whole(args.output, text)
    return 0


def _write_whole(path: Path, text: str) -> None:
    """Writes to a temporary file beside ``path`` and renames it: a half export never
    replaces a whole one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, scratch = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(text)
        os.replace(scratch, path)
    except BaseException:
        Path(scratch).unlink(missing_ok=True)
        raise
