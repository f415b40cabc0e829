"""listSessions: a signed-in user's sessions, newest first, a page at a time."""

from __future__ import annotations

from typing import Any

from core.domain import SessionCursor
from core.errors import InvalidInput, SignInRequired
from core.ports import ChatStore
from core.protocol import Frame, sessions_frame

# 100 summaries of 200-character titles stay far below a 128 KB frame.
SESSIONS_PAGE_DEFAULT = 50
SESSIONS_PAGE_MAX = 100


async def list_page(
    store: ChatStore, user_id: str | None, session_id: str, frame: dict[str, Any]
) -> Frame:
    """The ``sessions`` frame answering ``frame`` (``limit``, ``cursor``); its ``next`` is
    the following page's cursor. Anonymous callers have no list to read: ``SIGN_IN_REQUIRED``
    (the page keeps the chats its browser knows in localStorage)."""
    if not user_id:
        raise SignInRequired(
            "listSessions needs a signed-in user; an anonymous chat is listed only by the "
            "browser that made it."
        )
    limit = frame.get("limit", SESSIONS_PAGE_DEFAULT)
    if not isinstance(limit, int) or isinstance(limit, bool) or not 1 <= limit <= SESSIONS_PAGE_MAX:
        raise InvalidInput(
            f'"limit" must be an integer from 1 to {SESSIONS_PAGE_MAX}.', code="INVALID_LIMIT"
        )
    raw_cursor = frame.get("cursor")
    cursor = SessionCursor.from_wire(raw_cursor)
    if raw_cursor is not None and cursor is None:
        raise InvalidInput(
            '"cursor" must be the "next" of an earlier sessions frame.', code="INVALID_CURSOR"
        )
    found = await store.user_sessions(user_id, limit + 1, cursor)
    page = found[:limit]
    more = len(found) > limit
    after = SessionCursor(page[-1].created_at, page[-1].session_id).to_wire() if more else None
    return sessions_frame(session_id, page, after)
