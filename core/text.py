"""Text every store and every frame can carry: text that UTF-8 can encode.

JSON lets a client send a lone surrogate (``"\\ud800"``): Python decodes it into a ``str``
that UTF-8 cannot encode, so a store that kept it could never send it back (the echo, and
every later history page of the session, would fail). Such text is refused at the edge
(``core.protocol.read_client_frame``) and again by every storage adapter before it writes
(``require_storable``), so no path stores it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from core.domain import MessageDraft
from core.errors import TextNotEncodable


def encodable(text: str) -> bool:
    """True when ``text`` encodes as UTF-8 (it holds no lone surrogate)."""
    if text.isascii():  # a flag of the string, read without encoding it (every token asks)
        return True
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


_SURROGATE = re.compile("[\ud800-\udfff]")


def scrub(text: str) -> str:
    """``text`` with each lone surrogate replaced by U+FFFD: for text azuchi did not get
    from a client but must keep (a model's deltas, a tool's answer), which is better shown
    with a mark than refused."""
    return text if encodable(text) else _SURROGATE.sub("\ufffd", text)


def require_encodable(fields: Iterable[tuple[str, str | None]]) -> None:
    """Raises ``TextNotEncodable`` naming the first field whose text UTF-8 cannot encode."""
    for name, text in fields:
        if text is not None and not encodable(text):
            raise TextNotEncodable(
                f'"{name}" holds text that cannot be encoded as UTF-8 (a lone surrogate); '
                "nothing was stored."
            )


def require_storable(draft: MessageDraft) -> None:
    """What every ``ChatStore.append_message`` checks before it writes anything."""
    require_encodable(
        (
            ("message", draft.message),
            ("clientMessageId", draft.client_message_id),
            ("messageType", draft.message_type),
            ("connectionId", draft.connection_id),
            ("replyId", draft.reply_id),
            ("status", draft.status),
            ("model", draft.model),
            ("detail", draft.detail),
        )
    )
