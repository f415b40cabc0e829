"""A session's whole conversation, for its user to take: ``azuchi sessions export``.

The export reads the storage port only (any adapter), a page at a time, so a long
conversation never sits in one read. JSON carries the messages exactly as ``getMessages``
sends them (docs/protocol.md); Markdown is for people.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from core.domain import Message, Role, Session, is_session_id
from core.errors import InvalidSessionId, SessionNotFound
from core.ports import ChatStore
from core.protocol import message_frame

EXPORT_VERSION = 1
PAGE = 200


@dataclass(frozen=True, slots=True)
class SessionExport:
    session: Session
    messages: list[Message]


async def export_session(store: ChatStore, session_id: str) -> SessionExport:
    """The session and every stored message, oldest first. Raises ``InvalidSessionId`` or
    ``SessionNotFound``, and what the store raises (``BackendUnavailable``)."""
    if not is_session_id(session_id):
        raise InvalidSessionId(f"{session_id!r} is not a session id (a UUID v4 made by azuchi).")
    session = await store.get_session(session_id)
    if session is None:
        raise SessionNotFound(f"No session {session_id} in this storage.")
    messages: list[Message] = []
    after: int | None = None
    while True:
        page = await store.messages_after(session_id, after, PAGE)
        messages += page
        if len(page) < PAGE:
            return SessionExport(session, messages)
        after = page[-1].created_at


def to_json(export: SessionExport) -> str:
    session = export.session
    document: dict[str, Any] = {
        "version": EXPORT_VERSION,
        "sessionId": session.session_id,
        "title": session.title,
        "createdAt": session.created_at,
        "messages": [message_frame(m) for m in export.messages],
    }
    return json.dumps(document, ensure_ascii=False, indent=2) + "\n"


_SPEAKER = {Role.USER: "You", Role.AGENT: "Assistant", Role.SYSTEM: "System"}
_KIND = {
    "PLAN": "plan",
    "AGENT_LOG": "tool step",
    "SYSTEM_LOG": "notice",
    "APPROVAL": "tool call to approve",
    "APPROVAL_DECISION": "decision",
}


def to_markdown(export: SessionExport) -> str:
    session = export.session
    lines = [
        f"# {_one_line(session.title) if session.title else 'Chat ' + session.session_id}",
        "",
        f"Session `{session.session_id}`, started {_when(session.created_at)}; "
        f"{len(export.messages)} messages.",
        "",
    ]
    for message in export.messages:
        lines += [_heading(message), ""]
        if message.message_type == "CONVERSATION":
            lines += [message.message, ""]
        else:  # plans, tool steps, notices: shown as they are, never as markup
            fence = "`" * max(3, _longest_backtick_run(message.message) + 1)
            lines += [fence, message.message, fence, ""]
    return "\n".join(lines).rstrip("\n") + "\n"


def _heading(message: Message) -> str:
    parts = [f"## {_SPEAKER.get(message.role, message.role.value)}"]
    kind = _KIND.get(message.message_type)
    if kind is None and message.message_type != "CONVERSATION":
        kind = message.message_type
    if kind:
        parts.append(f"({kind})")
    details = [_when(message.created_at)]
    if message.model:
        details.append(message.model)
    if message.status and message.status != "complete":
        details.append(message.status)
    return " ".join(parts) + " · " + " · ".join(details)


def _when(epoch_ms: int) -> str:
    return datetime.fromtimestamp(epoch_ms / 1000, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _longest_backtick_run(text: str) -> int:
    return max((len(run) for run in re.findall(r"`+", text)), default=0)
