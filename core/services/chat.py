"""The chat service's WebSocket flows: connect, disconnect, $default, putMessage,
getMessages, stopGeneration, renameSession, deleteSession, listSessions (DESIGN §4).

Sign-in (docs/auth.md): a connection carries the user id the authorizer gave $connect, a
session made by a signed-in user is that user's, and every route refuses another user's
session with ``SESSION_FORBIDDEN`` (an anonymous caller's included). Anonymous sessions
are anyone's who holds the id, as before."""

from __future__ import annotations

import logging
from typing import Any

from core.config import MAX_TITLE_CHARS, ChatConfig
from core.domain import (
    Connection,
    Message,
    MessageDraft,
    MessageType,
    Page,
    Role,
    Session,
    is_session_id,
    new_session_id,
)
from core.errors import (
    AzuchiError,
    BackendUnavailable,
    ClientMessageIdReused,
    ConnectionGone,
    ConnectionNotFound,
    InvalidInput,
    InvalidSessionId,
    LimitExceeded,
    MessageRejected,
    NothingToStop,
    SessionNotFound,
)
from core.ports import ChatStore, Clock, ReplyLauncher, SessionLock, Transport
from core.protocol import (
    deleted_frame,
    encode,
    encoded_size,
    error_frame,
    history_frame,
    message_frame,
    routes_frame,
    session_frame,
)
from core.services.fanout import Fanout
from core.services.limits import Limits
from core.services.ownership import Caller, require_usable
from core.services.recovery import Nudger
from core.services.session_list import list_page
from core.text import encodable, require_encodable

log = logging.getLogger(__name__)

MAX_CLIENT_MESSAGE_ID = 128
RESERVED_CLIENT_ID_PREFIX = "azuchi:"  # decisions on approvals, notes written once
RETRY_WINDOW = 50  # newest messages searched for a resend the limits refused
# The largest cursor: every store holds it (SQLite's INTEGER, DynamoDB's 38 digits); a
# createdAt in epoch ms stays far below it.
MAX_CURSOR = 2**63 - 1


class ChatService:
    def __init__(
        self,
        store: ChatStore,
        lock: SessionLock,
        transport: Transport,
        launcher: ReplyLauncher,
        clock: Clock,
        config: ChatConfig,
        limits: Limits | None = None,
    ) -> None:
        self._limits = limits
        self._store = store
        self._lock = lock
        self._transport = transport
        self._launcher = launcher
        self._clock = clock
        self._config = config
        self._nudger = Nudger(store, lock, launcher)

    # --- $connect / $disconnect / $default ------------------------------------------

    async def connect(
        self,
        connection_id: str,
        session_id: str | None,
        user_id: str | None = None,
        source_ip: str | None = None,
    ) -> str:
        """Registers the connection; returns its session id (new when none was asked for).
        Raises InvalidSessionId (malformed), SessionNotFound (unknown) or LimitExceeded
        (too many new sessions from ``source_ip``: nothing is stored)."""
        now = self._clock.now_ms()
        if session_id is None or session_id == "":
            if self._limits is not None:
                await self._limits.check_new_session(source_ip)
            session_id = new_session_id()
            await self._store.create_session(
                Session(session_id=session_id, created_at=now, owner=user_id)
            )
        else:
            session_id = session_id.strip().lower()
            if not is_session_id(session_id):
                raise InvalidSessionId("sessionId must be a UUID v4 made by azuchi.")
            session = await self._store.get_session(session_id)
            if session is None:
                raise SessionNotFound(f"No session {session_id}.")
            require_usable(session, user_id)
            await self._recover(session)
        await self._store.put_connection(
            Connection(connection_id, session_id, connected_at=now, user_id=user_id)
        )
        return session_id

    async def _recover(self, session: Session) -> None:
        """A session whose message waits for a reply nobody is producing gets one
        (core/services/recovery.py); never a reason to fail the caller's own request."""
        try:
            await self._nudger.nudge(session, ask_lock=False)
        except AzuchiError as exc:
            log.warning("could not recover session %s: %s", session.session_id, exc)

    async def disconnect(self, connection_id: str) -> None:
        await self._store.delete_connection(connection_id)

    async def default_route(
        self, connection_id: str, note: str | None = None, code: str | None = None
    ) -> None:
        connection = await self.connection(connection_id)
        await self.send(
            connection_id,
            routes_frame(
                connection.session_id, note, code, self.limits(), signed_in=bool(connection.user_id)
            ),
        )

    def limits(self) -> dict[str, Any]:
        """What the server refuses, published to clients in the ``routes`` frame."""
        published: dict[str, Any] = {"maxMessageBytes": self._config.max_message_bytes}
        if self._limits is not None:
            published.update(self._limits.config.published())
        return published

    # --- putMessage ---------------------------------------------------------------

    async def put_message(self, connection_id: str, frame: dict[str, Any]) -> None:
        connection = await self.connection(connection_id)
        await self.check_session(frame, connection)
        await self.submit(connection.session_id, frame, connection_id)

    async def submit(
        self, session_id: str, frame: dict[str, Any], connection_id: str | None = None
    ) -> None:
        """Stores a USER message (idempotent on clientMessageId), shows it to every
        connection of the session and starts the reply. Nothing is stored when the
        message is rejected."""
        text = self.valid_text(frame.get("message"))
        client_message_id = self.valid_client_message_id(frame.get("clientMessageId"))
        if self._limits is not None:
            session = await self._store.get_session(session_id)
            if session is not None:
                try:
                    await self._limits.check_message(connection_id, session, self._store)
                except LimitExceeded:
                    if not await self._echo_retry(session_id, client_message_id, connection_id):
                        raise
                    return
        result = await self._store.append_message(
            user_draft(session_id, text, connection_id, client_message_id)
        )
        echo = message_frame(result.message)
        if not result.created and result.message.message != text:
            raise ClientMessageIdReused(
                f"clientMessageId {client_message_id!r} was already used for another message; "
                "that one stays as it was. Send a new message with a new clientMessageId."
            )
        if not result.created:  # a retry of a message already stored: tell the sender only
            if connection_id is not None:
                await self.send(connection_id, echo)
            return
        # (the append recorded it as the session's last USER message, in the same write)
        connections = await self._store.session_connections(session_id)
        await Fanout(self._transport, self._store, [c.connection_id for c in connections]).send(
            echo
        )
        await self._launcher.launch(session_id)

    async def check_limits(self, connection_id: str | None, session_id: str) -> None:
        """The limits a new message meets (rates, queue, caps), for routes that start a
        reply without putMessage (regenerate, editMessage); raises LimitExceeded."""
        if self._limits is None:
            return
        session = await self._store.get_session(session_id)
        if session is not None:
            await self._limits.check_message(connection_id, session, self._store)

    async def _echo_retry(
        self, session_id: str, client_message_id: str | None, connection_id: str | None
    ) -> bool:
        """A resend of a message already stored (a page flushes what was not acknowledged
        when it reconnects) is no new message: a limit that would refuse it answers with
        the stored echo instead. Looked for only on a refusal, among the newest messages."""
        if client_message_id is None:
            return False
        recent = await self._store.last_messages(session_id, RETRY_WINDOW)
        for message in recent:
            if message.role is Role.USER and message.client_message_id == client_message_id:
                if connection_id is not None:
                    await self.send(connection_id, message_frame(message))
                return True
        return False

    async def session(self, session_id: str, caller: Caller | None = None) -> Session:
        """The session, for callers outside a connection (the agent REST API). ``caller``
        None: a trusted service (IAM-signed on AWS), which may use any session; else the
        session must be usable by ``caller.user_id``."""
        if not is_session_id(session_id):
            raise InvalidSessionId("sessionId must be a UUID v4 made by azuchi.")
        session = await self._store.get_session(session_id)
        if session is None:
            raise SessionNotFound(f"No session {session_id}.")
        if caller is not None:
            require_usable(session, caller.user_id)
        return session

    async def generate(
        self, session_id: str, frame: dict[str, Any], caller: Caller | None = None
    ) -> None:
        """The agent REST API: store the message when one is given, then start the reply."""
        await self.session(session_id, caller)
        if "message" in frame:
            await self.submit(session_id, frame)
        else:
            await self._launcher.launch(session_id)

    def valid_text(self, text: object) -> str:
        if text is None:
            raise MessageRejected('putMessage needs a "message".', code="MESSAGE_REQUIRED")
        if not isinstance(text, str):
            raise MessageRejected('"message" must be a string.', code="MESSAGE_NOT_STRING")
        if not text.strip():
            raise MessageRejected('"message" is empty.', code="MESSAGE_EMPTY")
        require_encodable((("message", text),))
        size = len(text.encode("utf-8"))
        if size > self._config.max_message_bytes:
            raise MessageRejected(
                f"The message is {size} bytes; the limit is {self._config.max_message_bytes}.",
                code="MESSAGE_TOO_LARGE",
            )
        return text

    @staticmethod
    def valid_client_message_id(value: object) -> str | None:
        if value is None:
            return None
        if not isinstance(value, str) or not value or len(value) > MAX_CLIENT_MESSAGE_ID:
            raise InvalidInput(
                f'"clientMessageId" must be a string of 1 to {MAX_CLIENT_MESSAGE_ID} characters.',
                code="INVALID_CLIENT_MESSAGE_ID",
            )
        require_encodable((("clientMessageId", value),))
        if value.startswith(RESERVED_CLIENT_ID_PREFIX):
            raise InvalidInput(
                f'A "clientMessageId" may not start with {RESERVED_CLIENT_ID_PREFIX!r} '
                "(azuchi's own messages use it).",
                code="INVALID_CLIENT_MESSAGE_ID",
            )
        return value

    async def check_session(self, frame: dict[str, Any], connection: Connection) -> None:
        """A frame of the connection's own session may name it by ``sessionId``; naming
        another user's session is ``SESSION_FORBIDDEN``, any other ``SESSION_MISMATCH``."""
        asked = frame.get("sessionId")
        if asked is None or asked == connection.session_id:
            return
        if isinstance(asked, str) and is_session_id(asked.strip().lower()):
            other = await self._store.get_session(asked.strip().lower())
            if other is not None:
                require_usable(other, connection.user_id)
        raise InvalidInput(
            "This connection belongs to another session; reconnect with ?sessionId= to switch.",
            code="SESSION_MISMATCH",
        )

    # --- getMessages -------------------------------------------------------------

    async def get_messages(self, connection_id: str, frame: dict[str, Any]) -> None:
        connection = await self.connection(connection_id)
        await self.check_session(frame, connection)
        after = frame.get("after")
        limit = frame.get("limit", self._config.page_default)
        if after is not None and (
            not isinstance(after, int) or isinstance(after, bool) or not 0 <= after <= MAX_CURSOR
        ):
            raise InvalidInput(
                f'"after" must be a createdAt cursor (an integer from 0 to {MAX_CURSOR}).',
                code="INVALID_CURSOR",
            )
        if (
            not isinstance(limit, int)
            or isinstance(limit, bool)
            or not 1 <= limit <= self._config.page_max
        ):
            raise InvalidInput(
                f'"limit" must be an integer from 1 to {self._config.page_max}.',
                code="INVALID_LIMIT",
            )
        session = await self._store.get_session(connection.session_id)
        if session is not None:
            require_usable(session, connection.user_id)
        if after is None and session is not None and session.title:
            # a client (re)loading the conversation also needs its title
            await self.send(connection_id, session_frame(session.session_id, session.title))
        if session is not None:
            await self._recover(session)
        page = await self.page(connection.session_id, after, limit)
        frames = [message_frame(m) for m in page.messages]
        rewound = after is not None and session is not None and session.rewound_at >= after > 0
        await self.send(
            connection_id, history_frame(connection.session_id, frames, page.next, rewound)
        )

    async def page(self, session_id: str, after: int | None, limit: int) -> Page:
        """Up to ``limit`` messages after the cursor, cut short so that the history frame
        fits one WebSocket message; ``next`` is set while more remain."""
        fetched = await self._store.messages_after(session_id, after, limit + 1)
        more = len(fetched) > limit
        fetched = fetched[:limit]
        budget = self._config.max_frame_bytes - encoded_size(history_frame(session_id, [], 10**15))
        taken: list[Message] = []
        used = 0
        for message in fetched:
            size = encoded_size(message_frame(message)) + 1
            if taken and used + size > budget:
                more = True
                break
            taken.append(message)
            used += size
        return Page(taken, taken[-1].created_at if more and taken else None)

    # --- stopGeneration ----------------------------------------------------------

    async def stop_generation(
        self, connection_id: str, frame: dict[str, Any] | None = None
    ) -> None:
        """Flags the running reply (it ends with ``done`` status stopped); raises
        ``NothingToStop`` when no reply of the session is running, so the client hears so."""
        connection = await self.connection(connection_id)
        await self.check_session(frame or {}, connection)
        if not await self._lock.request_stop(connection.session_id):
            raise NothingToStop("No reply is running in this session; there is nothing to stop.")

    # --- renameSession / deleteSession -------------------------------------------------

    async def rename_session(self, connection_id: str, frame: dict[str, Any]) -> None:
        """Sets the title the user chose; every tab of that session (and the asker) is told
        with a ``session`` frame."""
        connection = await self.connection(connection_id)
        session = await self._named_session(frame, connection)
        title = frame.get("title")
        if not isinstance(title, str) or not 1 <= len(title.strip()) <= MAX_TITLE_CHARS:
            raise InvalidInput(
                f'"title" must be a string of 1 to {MAX_TITLE_CHARS} characters.',
                code="INVALID_TITLE",
            )
        await self._store.set_session_title(session.session_id, title.strip())
        await self.tell(
            session.session_id, connection_id, session_frame(session.session_id, title.strip())
        )

    async def delete_session(self, connection_id: str, frame: dict[str, Any]) -> None:
        """Deletes the session and its messages; every tab of it (and the asker) gets a
        ``deleted`` frame. Its connections stay open: a page starts a new chat on them."""
        connection = await self.connection(connection_id)
        session = await self._named_session(frame, connection)
        await self._store.delete_session(session.session_id)
        await self.tell(session.session_id, connection_id, deleted_frame(session.session_id))

    async def _named_session(self, frame: dict[str, Any], connection: Connection) -> Session:
        """The session a frame names by ``sessionId`` (any the client knows the id of, as
        with ?sessionId= on connect), else the connection's own."""
        asked = frame.get("sessionId", connection.session_id)
        if not isinstance(asked, str) or not is_session_id(asked.strip().lower()):
            raise InvalidSessionId("sessionId must be a UUID v4 made by azuchi.")
        session = await self._store.get_session(asked.strip().lower())
        if session is None:
            raise SessionNotFound(f"No session {asked}.")
        require_usable(session, connection.user_id)
        return session

    # --- listSessions --------------------------------------------------------------------

    async def list_sessions(self, connection_id: str, frame: dict[str, Any]) -> None:
        """One page of the signed-in user's sessions (core/services/session_list.py)."""
        connection = await self.connection(connection_id)
        page = await list_page(self._store, connection.user_id, connection.session_id, frame)
        await self.send(connection_id, page)

    async def tell(self, session_id: str, asker: str, frame: dict[str, Any]) -> None:
        connections = await self._store.session_connections(session_id)
        ids = {c.connection_id for c in connections} | {asker}
        await Fanout(self._transport, self._store, sorted(ids)).send(frame)

    # --- errors and helpers --------------------------------------------------------

    async def report(
        self, connection_id: str, error: AzuchiError, frame: dict[str, Any] | None = None
    ) -> None:
        """Tells the client what went wrong, as an ``error`` frame naming the action and,
        for a putMessage, the ``clientMessageId`` it refused."""
        try:
            connection = await self._store.get_connection(connection_id)
        except BackendUnavailable:  # the error is still told, without the session's id
            connection = None
        session_id = connection.session_id if connection else None
        extra: dict[str, Any] = {}
        for key in ("action", "clientMessageId"):
            value = (frame or {}).get(key)
            if isinstance(value, str) and len(value) <= MAX_CLIENT_MESSAGE_ID and encodable(value):
                extra[key] = value
        if isinstance(error, LimitExceeded):
            extra["retryAfter"] = error.retry_after_s
        try:
            await self.send(
                connection_id, error_frame(session_id, error.code, error.message, **extra)
            )
        except ConnectionGone:
            log.info("could not report %s to gone connection %s", error.code, connection_id)

    async def connection(self, connection_id: str) -> Connection:
        connection = await self._store.get_connection(connection_id)
        if connection is None:
            raise ConnectionNotFound("This connection is not registered; reconnect.")
        return connection

    async def send(self, connection_id: str, frame: dict[str, Any]) -> None:
        await self._transport.send(connection_id, encode(frame))


def user_draft(
    session_id: str,
    text: str,
    connection_id: str | None,
    client_message_id: str | None,
    fence: int | None = None,
) -> MessageDraft:
    """A user's message as the store takes it (putMessage, the REST API, editMessage)."""
    return MessageDraft(
        session_id=session_id,
        role=Role.USER,
        message_type=MessageType.CONVERSATION,
        message=text,
        connection_id=connection_id,
        client_message_id=client_message_id,
        fence=fence,
    )
