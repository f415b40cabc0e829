"""Taking the last turn back: regenerate the last reply, edit and resend the last message.

Both run under the session lock, as a reply does, so no reply streams while a turn is
rewritten, and every write carries the lease's fence, so a replier paused past its lease
cannot write into the rewritten turn afterwards:

    regenerate (lease, fence 12)                    reply worker
    acquire ✓ (none running; U answered)
    memory.forget(12)  ← first: if a later step fails, the memory is empty and the next
                         reply rebuilds it from storage, which still holds the old turn
    store.rewind(U, 12) → removed [U+1 …]; answered_at = U - 1 (U pending again)
    release; `removed` to every tab; launch ─────► acquire (fence 13) → answers U again

editMessage stores the new USER message first (fenced), then rewinds with the old one
dropped: a failure between the two leaves both messages, never neither.
A turn is refused (``TurnRefused``, nothing changed) while a reply runs or is on its way.
A refused or failed turn re-reads the session after its release and launches what is
pending: a reply launched for a message stored meanwhile found the lock taken and left the
message to the holder, as every holder of the lock must answer it (core/services/reply.py).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from core.config import ChatConfig
from core.domain import Lease, MessageType, Rewind, Session
from core.errors import BackendUnavailable, ClientMessageIdReused, InvalidInput, TurnRefused
from core.ports import AgentMemory, ChatStore, ReplyLauncher, SessionLock
from core.protocol import message_frame, removed_frame
from core.services.chat import MAX_CURSOR, ChatService, user_draft

RUNNING = "A reply is being written in this chat; wait for it to end (or stop it), then try again."


class TurnService:
    """The ``regenerate`` and ``editMessage`` routes (docs/protocol.md)."""

    def __init__(
        self,
        chat: ChatService,
        store: ChatStore,
        lock: SessionLock,
        memory: AgentMemory,
        launcher: ReplyLauncher,
        config: ChatConfig,
    ) -> None:
        self._chat = chat
        self._store = store
        self._lock = lock
        self._memory = memory
        self._launcher = launcher
        self._config = config

    async def regenerate(self, connection_id: str, frame: dict[str, Any]) -> None:
        """Deletes the reply to the session's last USER message and answers it again.
        ``replyTo`` (optional) names that message; another is refused, so a tab that has
        not seen a newer message cannot take back the wrong turn."""
        connection = await self._chat.connection(connection_id)
        await self._chat.check_session(frame, connection)
        asked = _created_at(frame.get("replyTo"), "replyTo", required=False)
        sid = connection.session_id
        await self._chat.check_limits(connection_id, sid)  # each one is a model call
        async with self._turn(sid) as (session, lease):
            if not session.last_user_at:
                raise TurnRefused(
                    "There is no reply in this chat to write again.", code="NOTHING_TO_REGENERATE"
                )
            if asked is not None and asked != session.last_user_at:
                raise _not_last("replyTo")
            await self._memory.forget(sid, lease.fence)
            removed = await self._store.rewind(Rewind(sid, session.last_user_at, lease.fence))
        try:
            await self._chat.tell(sid, connection_id, removed_frame(sid, removed))
        finally:  # the turn is pending again: it is answered whatever the tabs heard
            await self._launcher.launch(sid)

    async def edit_message(self, connection_id: str, frame: dict[str, Any]) -> None:
        """Stores ``message`` in place of the session's last USER message (``replaces``,
        its createdAt), deletes the old one and its reply, and answers the new one. A
        repeat of an edit already made (same clientMessageId and text) is answered with
        its echo, to the sender only."""
        connection = await self._chat.connection(connection_id)
        await self._chat.check_session(frame, connection)
        text = self._chat.valid_text(frame.get("message"))
        client_message_id = self._chat.valid_client_message_id(frame.get("clientMessageId"))
        replaces = _created_at(frame.get("replaces"), "replaces", required=True)
        sid = connection.session_id
        if client_message_id is not None and await self._echo_repeat(
            connection_id, sid, client_message_id, text
        ):
            return
        await self._chat.check_limits(connection_id, sid)
        async with self._turn(sid) as (session, lease):
            if replaces != session.last_user_at:
                raise _not_last("replaces")
            old = await self._store.messages_after(sid, replaces - 1, 1)
            if old and old[0].message_type != MessageType.CONVERSATION:
                raise TurnRefused(
                    "Only a message you wrote can be edited (this one is a decision on a "
                    "tool call); use regenerate to have the reply written again.",
                    code="NOT_EDITABLE",
                )
            await self._memory.forget(sid, lease.fence)
            result = await self._store.append_message(
                user_draft(sid, text, connection_id, client_message_id, lease.fence)
            )
            if not result.created:
                raise ClientMessageIdReused(
                    f"clientMessageId {client_message_id!r} was already used for another "
                    "message; nothing changed. Send the edit with a new clientMessageId."
                )
            rewind = Rewind(sid, replaces, lease.fence, drop_prompt=True)
            removed = await self._store.rewind(rewind)
        try:
            await self._chat.tell(sid, connection_id, removed_frame(sid, removed))
            await self._chat.tell(sid, connection_id, message_frame(result.message))
        finally:
            await self._launcher.launch(sid)

    async def _echo_repeat(self, connection_id: str, sid: str, client_id: str, text: str) -> bool:
        """True (and the sender has the echo again) when the session's last USER message
        is this very edit, stored by an earlier try of the same frame."""
        session = await self._store.get_session(sid)
        if session is None or not session.last_user_at:
            return False
        last = await self._store.messages_after(sid, session.last_user_at - 1, 1)
        if not last or last[0].client_message_id != client_id or last[0].message != text:
            return False
        await self._chat.send(connection_id, message_frame(last[0]))
        return True

    @asynccontextmanager
    async def _turn(self, session_id: str) -> AsyncIterator[tuple[Session, Lease]]:
        """The session under its lock, refused while a reply runs or waits to run."""
        lease = await self._lock.acquire(session_id, self._config.lock_lease_ms)
        if lease is None:
            raise TurnRefused(RUNNING, code="REPLY_RUNNING")
        done = False
        try:
            session = await self._store.get_session(session_id)
            if session is None:
                raise TurnRefused(
                    "There is no reply in this chat to write again.", code="NOTHING_TO_REGENERATE"
                )
            if session.has_pending:  # a reply is on its way (or stranded: launched below)
                raise TurnRefused(RUNNING, code="REPLY_RUNNING")
            yield session, lease
            done = True  # the caller tells the tabs, then launches the reply
        finally:
            try:
                await self._lock.release(session_id, lease)
            except BackendUnavailable:
                pass  # the lease runs out by itself
            if not done:
                # A reply launched while we held the lock found it taken and left the
                # message to the holder: answer what is pending, as every holder does.
                try:
                    after = await self._store.get_session(session_id)
                except BackendUnavailable:
                    after = None  # the error on its way says so; recovery answers it later
                if after is not None and after.has_pending:
                    await self._launcher.launch(session_id)


def _created_at(value: object, name: str, *, required: bool) -> int | None:
    if value is None and not required:
        return None
    if not isinstance(value, int) or isinstance(value, bool) or not 0 < value <= MAX_CURSOR:
        raise InvalidInput(
            f'"{name}" must be the createdAt of your last message (an integer).',
            code="INVALID_CREATED_AT",
        )
    return value


def _not_last(name: str) -> TurnRefused:
    return TurnRefused(
        f'"{name}" is not the last message of this chat: only the last turn can be taken '
        "back. Reload the chat to see its newest messages.",
        code="NOT_LAST_MESSAGE",
    )
