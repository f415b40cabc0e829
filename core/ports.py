"""The ports: what the core needs from the outside world, and what each adapter promises.

Every adapter of a port passes that port's suite in ``contract_tests/``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from enum import StrEnum
from typing import Any, Protocol, runtime_checkable

from core.domain import (
    AppendResult,
    Connection,
    HistoryItem,
    Lease,
    Message,
    MessageDraft,
    ModelEvent,
    ModelRequest,
    ReplyCheckpoint,
    Rewind,
    Session,
    SessionCursor,
    ToolSpec,
    Usage,
)


@runtime_checkable
class ChatStore(Protocol):
    """Durable state of the chat service: sessions, connections, messages.

    Promises:
    - ``append_message`` gives each message a ``created_at`` (epoch ms) that is unique and
      strictly increasing within its session, never overwriting a stored message: two appends
      in the same millisecond both survive, in the order they were made.
    - ``append_message`` is idempotent on ``client_message_id`` within a session: a repeat
      returns the first stored message with ``created=False`` and stores nothing.
    - Reading the newest N messages costs the same whatever the length of the conversation.
    - TTL attributes (``expire_at``) are epoch seconds.
    - ``record_user_message`` / ``record_answered`` only ever move the session's markers forward;
      appending a USER message records it as ``last_user_at`` in the same atomic write.
    - Keys follow commit order: a message stored after another (even by a writer whose clock
      is behind) gets a larger ``createdAt``, so no message lands below a marker or a
      cursor that was already read (a per-session high-water mark, written with the message).
    - Fencing (docs/recovery.md): every write given a ``fence`` (``MessageDraft.fence``,
      ``start_reply``, ``checkpoint_reply``, ``finish_reply``, a fenced ``record_answered``)
      is refused with ``FenceRejected`` once a newer fence has written for the session
      (``take_checkpoint`` counts as the checkpoint's write), and stores nothing.
    - ``finish_reply`` stores a reply's final message and moves ``answered_at`` to its
      ``reply_to`` in one atomic write: never one without the other.
    Raises ``BackendUnavailable`` when the backend cannot be reached (after bounded retries).
    """

    async def create_session(self, session: Session) -> None: ...

    async def get_session(self, session_id: str) -> Session | None: ...

    async def set_session_title(self, session_id: str, title: str) -> None: ...

    async def user_sessions(
        self, user_id: str, limit: int, before: SessionCursor | None = None
    ) -> list[Session]:
        """Up to ``limit`` sessions whose ``owner`` is ``user_id``, newest first: descending
        on (``created_at``, ``session_id``), starting after ``before`` when given. Costs the
        page, not the user's whole list (an index on owner and creation time)."""
        ...

    async def record_user_message(self, session_id: str, created_at: int) -> None: ...

    async def record_answered(
        self, session_id: str, created_at: int, fence: int | None = None
    ) -> None: ...

    async def start_reply(self, session_id: str, reply_id: str, reply_to: int, fence: int) -> None:
        """Claims the session for a reply: records its fence, id and prompt on the session
        (``Session.fence``, ``reply_id``, ``reply_to``)."""
        ...

    async def checkpoint_reply(self, checkpoint: ReplyCheckpoint) -> None:
        """Stores a streaming reply's text so far (replacing the session's checkpoint)."""
        ...

    async def take_checkpoint(self, session_id: str, fence: int) -> ReplyCheckpoint | None:
        """Returns the session's checkpoint and, in the same atomic write, empties it under
        ``fence``: the writer of the old one can add nothing more (a recovering replier
        keeps what an interrupted reply had streamed)."""
        ...

    async def finish_reply(self, draft: MessageDraft) -> Message:
        """Appends a reply's final message (``draft.fence`` and ``draft.reply_to`` set)
        and records ``reply_to`` as answered, atomically."""
        ...

    async def pending_sessions(self, limit: int) -> list[str]:
        """Up to ``limit`` sessions with a USER message not yet answered (for recovery
        sweeps; may cost a scan on stores without an index for it)."""
        ...

    async def put_connection(self, connection: Connection) -> None: ...

    async def get_connection(self, connection_id: str) -> Connection | None: ...

    async def delete_connection(self, connection_id: str) -> None: ...

    async def session_connections(self, session_id: str) -> list[Connection]: ...

    async def append_message(self, draft: MessageDraft) -> AppendResult: ...

    async def last_messages(self, session_id: str, limit: int) -> list[Message]:
        """The newest ``limit`` messages, in chronological order."""
        ...

    async def messages_after(self, session_id: str, after: int | None, limit: int) -> list[Message]:
        """Up to ``limit`` messages with ``created_at > after`` (all when None), oldest first."""
        ...

    async def rewind(self, rewind: Rewind) -> list[int]:
        """Takes the session's last turn back (``Rewind`` says which messages go), in one
        fenced write: the messages are deleted (a dropped prompt's ``client_message_id``
        may be used again), ``answered_at`` becomes ``prompt_at - 1`` so that the turn is
        pending again, the session's reply marker (``reply_id``, ``reply_to``) is cleared,
        ``rewound_at`` is set at or above every deleted key, and later keys stay above the
        deleted ones (the high-water mark is kept). Returns
        the ``created_at`` of the deleted messages, oldest first. Refused with
        ``FenceRejected`` (nothing deleted) once a newer fence has written."""
        ...

    async def delete_session(self, session_id: str) -> None:
        """Deletes the session and every message of it (their idempotency records too):
        afterwards ``get_session`` is None and reads find no message. Connections are left
        to the caller (they may still be open). Deleting an unknown session does nothing."""
        ...


class LeaseState(StrEnum):
    HELD = "held"  # still ours; the lease was extended
    STOP_REQUESTED = "stop_requested"  # still ours (extended), but someone asked us to stop
    LOST = "lost"  # expired or taken: stop writing at once


@runtime_checkable
class SessionLock(Protocol):
    """One reply generation per session at a time.

    Promises: mutual exclusion among holders; ``release`` and ``extend`` succeed only for
    the token ``acquire`` returned; a lease not extended expires after ``lease_ms``; a holder
    whose lease expired or was taken learns it from ``extend`` (``LeaseState.LOST``).
    ``request_stop`` flags the session's running reply; the holder sees it on its next
    ``extend``; ``acquire`` clears any old flag.
    Raises ``BackendUnavailable`` when the backend cannot be reached.
    """

    async def acquire(self, session_id: str, lease_ms: int) -> Lease | None:
        """A fresh lease (owner token and fence), or None when another holder has the lock.
        Each acquisition's fence is above every earlier one's for the session."""
        ...

    async def is_held(self, session_id: str) -> bool:
        """True while a live lease exists (recovery asks before launching a reply)."""
        ...

    async def extend(self, session_id: str, token: str, lease_ms: int) -> LeaseState: ...

    async def release(self, session_id: str, token: str) -> bool: ...

    async def request_stop(self, session_id: str) -> bool:
        """Flag the running reply to stop; True when a holder was running."""
        ...


@runtime_checkable
class AgentMemory(Protocol):
    """The agent's short memory of a session.

    Promises: the history keeps the newest N items (N fixed per adapter) in chronological
    order, appended and trimmed atomically; the previous response id expires after its TTL
    (20 days by default). A write given a ``fence`` is refused with ``FenceRejected`` (and
    changes nothing) once a newer fence has written for the session.
    Raises ``BackendUnavailable`` when the backend cannot be reached.
    """

    async def append_history(
        self, session_id: str, items: Sequence[HistoryItem], fence: int | None = None
    ) -> None: ...

    async def recent_history(self, session_id: str) -> list[HistoryItem]: ...

    async def get_previous_response_id(self, session_id: str) -> str | None: ...

    async def set_previous_response_id(
        self, session_id: str, response_id: str, fence: int | None = None
    ) -> None: ...

    async def forget(self, session_id: str, fence: int | None = None) -> None:
        """Drops the session's history and its previous response id (a turn was taken
        back: regenerate, editMessage). The next reply rebuilds its history from the
        durable store and starts a new response chain. Fenced as the other writes."""
        ...


@runtime_checkable
class ChatModel(Protocol):
    """A model that streams a reply.

    ``stream`` yields ``TextDelta``, ``ToolCallRequested``, ``UsageReported`` and ends with
    one ``StreamEnded`` (carrying the provider's response id where it has one). Provider
    errors are raised as ``ModelError`` subclasses, also in the middle of a stream.
    """

    @property
    def model_id(self) -> str: ...

    def stream(self, request: ModelRequest) -> AsyncIterator[ModelEvent]: ...


@runtime_checkable
class Transport(Protocol):
    """Delivers text frames to client connections.

    Promises: a frame to a closed or unknown connection raises ``ConnectionGone``; a frame
    over ``max_payload_bytes`` (UTF-8) raises ``PayloadTooLarge`` before anything is sent.
    """

    @property
    def max_payload_bytes(self) -> int: ...

    async def send(self, connection_id: str, data: str) -> None: ...

    async def close(self, connection_id: str) -> None: ...

    def bind_event(self, event: Mapping[str, Any]) -> None:
        """Learns what it needs from each API Gateway event before it is handled (the API
        Gateway transport: its management endpoint); a transport that needs nothing
        ignores it."""


@runtime_checkable
class ReplyLauncher(Protocol):
    """Starts reply generation for a session without making the caller wait for it
    (in-process task locally; an asynchronous invocation on AWS)."""

    async def launch(self, session_id: str) -> None: ...


@runtime_checkable
class Tool(Protocol):
    """A tool the agent may call. ``run`` returns text for the model; raising is reported
    to the model (and the user) as a failed step, never as a failed reply."""

    @property
    def spec(self) -> ToolSpec: ...

    async def run(self, arguments: dict[str, Any], context: ToolContext) -> str: ...


# Why a tool's arguments fail its schema (a JSON schema), or None: the agent asks before it
# runs a call or puts it to the user for approval (adapters/tools/schema.py).
ArgumentCheck = Callable[[dict[str, Any], dict[str, Any]], str | None]


class ToolContext(Protocol):
    """What a tool may know about the reply it serves."""

    @property
    def session_id(self) -> str: ...

    @property
    def store(self) -> ChatStore: ...


class PriceList(Protocol):
    """What a reply costs: token usage priced by a dated table."""

    def reply_cost(self, model_id: str, usage: Usage) -> float | None:
        """Dollars, or None when the table has no price for the model."""
        ...


class Clock(Protocol):
    def now_ms(self) -> int: ...


@runtime_checkable
class LimitCounters(Protocol):
    """Shared counters for the limits (core/services/limits.py): rate buckets and totals.

    Promises:
    - ``take`` is one atomic step of a token bucket kept as GCRA (one number per key, the
      bucket's "theoretical arrival time"): ``capacity`` takes in a row from a full bucket,
      then one every ``interval_ms``. It returns 0 and counts the take, or the milliseconds
      until a take would be allowed, counting nothing. Keys are independent; a key is
      either a bucket or a total, never both.
    - ``add`` adds ``amount`` (an integer) to a total and returns the new total, atomically
      (two adders never lose one another's amount); ``total`` reads it (0 when unknown).
      A total is gone after ``expire_at_s`` (epoch seconds; the counter's TTL).
    - Every stored counter expires by itself (a bucket once full again, a total at its
      ``expire_at_s``), so nothing grows without bound.
    ``now_ms`` is the caller's wall clock: every process judging one key must agree on time
    to within a bucket's interval (NTP, as on Lambda).
    Raises ``BackendUnavailable`` when the backend cannot be reached.
    """

    async def take(self, key: str, capacity: int, interval_ms: int, now_ms: int) -> int: ...

    async def add(self, key: str, amount: int, expire_at_s: int) -> int: ...

    async def total(self, key: str, now_ms: int) -> int: ...
