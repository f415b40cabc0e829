"""The storage port in memory."""

from __future__ import annotations

import bisect
import dataclasses

from core.clock import SystemClock
from core.domain import (
    AppendResult,
    Connection,
    Message,
    MessageDraft,
    ReplyCheckpoint,
    Rewind,
    Role,
    Session,
    SessionCursor,
    list_key,
)
from core.errors import FenceRejected
from core.ports import Clock
from core.text import require_encodable, require_storable

DAY_S = 86_400


class InProcessChatStore:
    """Sessions, connections and messages in dicts. Every method runs without awaiting,
    so each is atomic under the event loop, as the conditional writes of a real store are."""

    def __init__(
        self,
        clock: Clock | None = None,
        message_ttl_s: int = 7 * DAY_S,
        connection_ttl_s: int = DAY_S,
    ) -> None:
        self._clock = clock or SystemClock()
        self._message_ttl_s = message_ttl_s
        self._connection_ttl_s = connection_ttl_s
        self._sessions: dict[str, Session] = {}
        self._connections: dict[str, Connection] = {}
        # connectionId per session, in the order they came (a fan-out reads it every reply:
        # a scan of every connection made it cost the whole server's connection count).
        self._session_connections: dict[str, dict[str, None]] = {}
        self._messages: dict[str, list[Message]] = {}
        self._by_client_id: dict[tuple[str, str], Message] = {}
        self._checkpoints: dict[str, ReplyCheckpoint] = {}
        self._high_water: dict[str, int] = {}  # the newest key ever given, deleted or not

    async def create_session(self, session: Session) -> None:
        self._sessions.setdefault(session.session_id, session)

    async def get_session(self, session_id: str) -> Session | None:
        return self._sessions.get(session_id)

    async def set_session_title(self, session_id: str, title: str) -> None:
        require_encodable((("title", title),))
        self._update(session_id, title=title)

    async def user_sessions(
        self, user_id: str, limit: int, before: SessionCursor | None = None
    ) -> list[Session]:
        owned = sorted(
            (s for s in self._sessions.values() if s.owner == user_id), key=list_key, reverse=True
        )
        if before is not None:
            owned = [s for s in owned if list_key(s) < before.key]
        return owned[:limit]

    async def record_user_message(self, session_id: str, created_at: int) -> None:
        session = self._sessions.get(session_id)
        if session and created_at > session.last_user_at:
            self._update(session_id, last_user_at=created_at)

    async def record_answered(
        self, session_id: str, created_at: int, fence: int | None = None
    ) -> None:
        self._fence(session_id, fence)
        session = self._sessions.get(session_id)
        if session and created_at > session.answered_at:
            self._update(session_id, answered_at=created_at)

    def _fence(self, session_id: str, fence: int | None) -> None:
        """Refuses a write whose fence is older than the newest that wrote; else records
        it. Called before any change, so a refused write changes nothing."""
        session = self._sessions.get(session_id)
        if fence is None or session is None:
            return
        if fence < session.fence:
            raise FenceRejected(f"fence {fence} is older than {session.fence} in {session_id}")
        if fence > session.fence:
            self._update(session_id, fence=fence)

    async def start_reply(self, session_id: str, reply_id: str, reply_to: int, fence: int) -> None:
        self._fence(session_id, fence)
        self._update(session_id, reply_id=reply_id, reply_to=reply_to)

    async def checkpoint_reply(self, checkpoint: ReplyCheckpoint) -> None:
        sid = checkpoint.session_id
        held = self._checkpoints.get(sid)
        if held is not None and held.fence > checkpoint.fence:
            raise FenceRejected(f"checkpoint of {sid} is fenced at {held.fence}")
        self._fence(sid, checkpoint.fence)
        self._checkpoints[sid] = checkpoint

    async def take_checkpoint(self, session_id: str, fence: int) -> ReplyCheckpoint | None:
        held = self._checkpoints.get(session_id)
        if held is not None and held.fence > fence:
            raise FenceRejected(f"checkpoint of {session_id} is fenced at {held.fence}")
        self._fence(session_id, fence)
        self._checkpoints[session_id] = ReplyCheckpoint(session_id, "", 0, fence)
        return held if held is not None and held.reply_id else None

    async def finish_reply(self, draft: MessageDraft) -> Message:
        if draft.fence is None or draft.reply_to is None:
            raise ValueError("finish_reply needs a fenced draft with reply_to")
        self._fence(draft.session_id, draft.fence)
        message = (await self.append_message(draft)).message
        await self.record_answered(draft.session_id, draft.reply_to)
        return message

    async def pending_sessions(self, limit: int) -> list[str]:
        return [s.session_id for s in self._sessions.values() if s.has_pending][:limit]

    def _update(self, session_id: str, **changes: object) -> None:
        session = self._sessions.get(session_id)
        if session is not None:
            self._sessions[session_id] = dataclasses.replace(session, **changes)  # type: ignore[arg-type]

    async def put_connection(self, connection: Connection) -> None:
        expire_at = connection.connected_at // 1000 + self._connection_ttl_s
        self._forget(connection.connection_id, keep=connection.session_id)
        self._connections[connection.connection_id] = dataclasses.replace(
            connection, expire_at=expire_at
        )
        self._session_connections.setdefault(connection.session_id, {})[
            connection.connection_id
        ] = None

    async def get_connection(self, connection_id: str) -> Connection | None:
        return self._connections.get(connection_id)

    async def delete_connection(self, connection_id: str) -> None:
        self._forget(connection_id)
        self._connections.pop(connection_id, None)

    def _forget(self, connection_id: str, keep: str | None = None) -> None:
        """Takes the connection out of its session's index (unless it stays in ``keep``)."""
        old = self._connections.get(connection_id)
        if old is None or old.session_id == keep:
            return
        ids = self._session_connections.get(old.session_id, {})
        ids.pop(connection_id, None)
        if not ids:
            self._session_connections.pop(old.session_id, None)

    async def session_connections(self, session_id: str) -> list[Connection]:
        ids = self._session_connections.get(session_id, ())
        return [self._connections[c] for c in ids]

    async def append_message(self, draft: MessageDraft) -> AppendResult:
        require_storable(draft)
        self._fence(draft.session_id, draft.fence)
        if draft.client_message_id is not None:
            earlier = self._by_client_id.get((draft.session_id, draft.client_message_id))
            if earlier is not None:
                return AppendResult(earlier, created=False)
        messages = self._messages.setdefault(draft.session_id, [])
        created_at = max(self._clock.now_ms(), self._high_water.get(draft.session_id, 0) + 1)
        self._high_water[draft.session_id] = created_at
        message = Message.from_draft(draft, created_at, created_at // 1000 + self._message_ttl_s)
        messages.append(message)
        if draft.role is Role.USER:
            await self.record_user_message(draft.session_id, created_at)
        if draft.client_message_id is not None:
            self._by_client_id[(draft.session_id, draft.client_message_id)] = message
        return AppendResult(message, created=True)

    async def last_messages(self, session_id: str, limit: int) -> list[Message]:
        messages = self._messages.get(session_id, [])
        return list(messages[-limit:]) if limit > 0 else []

    async def messages_after(self, session_id: str, after: int | None, limit: int) -> list[Message]:
        messages = self._messages.get(session_id, [])
        start = 0 if after is None else bisect.bisect_right(messages, after, key=_created_at)
        return list(messages[start : start + limit])

    async def rewind(self, rewind: Rewind) -> list[int]:
        sid = rewind.session_id
        self._fence(sid, rewind.fence)
        kept: list[Message] = []
        removed: list[int] = []
        for message in self._messages.get(sid, []):
            if rewind.removes(message.created_at, message.role):
                removed.append(message.created_at)
                if message.client_message_id is not None:
                    self._by_client_id.pop((sid, message.client_message_id), None)
            else:
                kept.append(message)
        self._messages[sid] = kept
        self._update(
            sid,
            answered_at=rewind.prompt_at - 1,
            reply_id=None,
            reply_to=0,
            rewound_at=self._high_water.get(sid, 0),
        )
        return removed

    async def delete_session(self, session_id: str) -> None:
        self._sessions.pop(session_id, None)
        self._messages.pop(session_id, None)
        self._high_water.pop(session_id, None)
        for key in [k for k in self._by_client_id if k[0] == session_id]:
            del self._by_client_id[key]


def _created_at(message: Message) -> int:
    return message.created_at
