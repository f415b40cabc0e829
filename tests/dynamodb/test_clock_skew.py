"""The message-key race under clock skew, closed by the session's high-water mark.

Writer D (clock behind) reads the newest key, then writer C (clock ahead) stores a USER
message and it is answered; D's USER message must still land above C's and be pending.
Without the mark D's message landed below ``answeredAt``: stored, never answered.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from adapters.dynamodb.client import DynamoConfig
from adapters.dynamodb.store import DynamoChatStore
from core.domain import MessageDraft, Role, Session

pytestmark = pytest.mark.anyio


class FixedClock:
    def __init__(self, ms: int) -> None:
        self.ms = ms

    def now_ms(self) -> int:
        return self.ms


async def test_a_message_from_a_clock_behind_lands_above_what_was_answered(
    client: Any, config: DynamoConfig
) -> None:
    base = 1_700_000_000_000
    ahead = DynamoChatStore(client, config.tables, clock=FixedClock(base + 90_000))
    behind = DynamoChatStore(client, config.tables, clock=FixedClock(base))
    sid = str(uuid.uuid4())
    await ahead.create_session(Session(sid, created_at=base))

    # D read the newest key (none yet) before C wrote: replay that stale read.
    stale = behind._messages._newest  # type: ignore[attr-defined]

    async def newest_read_before_c(session_id: str) -> int:
        return 0

    behind._messages._newest = newest_read_before_c  # type: ignore[attr-defined]
    c = await ahead.append_message(MessageDraft(sid, Role.USER, "CONVERSATION", "from C"))
    await ahead.finish_reply(
        MessageDraft(
            sid, Role.AGENT, "CONVERSATION", "answer", reply_to=c.message.created_at, fence=1
        )
    )
    d = await behind.append_message(MessageDraft(sid, Role.USER, "CONVERSATION", "from D"))
    behind._messages._newest = stale  # type: ignore[attr-defined]

    assert d.message.created_at > c.message.created_at  # keys follow commit order
    session = await ahead.get_session(sid)
    assert session is not None and session.has_pending  # D will be answered
    assert session.last_user_at == d.message.created_at
    texts = [m.message for m in await ahead.messages_after(sid, session.answered_at, 10)]
    assert "from D" in texts  # the reply's drain loop finds it
