"""The chat domain: sessions, connections, messages, and what a model streams back."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class Role(StrEnum):
    USER = "USER"
    AGENT = "AGENT"
    SYSTEM = "SYSTEM"


class MessageType(StrEnum):
    """The built-in message types. The set is open: a message's type is any string, and
    plugins add their own (e.g. EXCEL, WORK_ORDER_PREVIEW)."""

    CONVERSATION = "CONVERSATION"
    PLAN = "PLAN"
    SYSTEM_LOG = "SYSTEM_LOG"
    AGENT_LOG = "AGENT_LOG"
    REASONING = "REASONING"  # the model's thinking, streamed and stored apart from the reply
    APPROVAL = "APPROVAL"  # AGENT: a tool call waiting for the user's approval (its reply paused)
    APPROVAL_DECISION = "APPROVAL_DECISION"  # USER: "approve" or "deny"; replyTo names the request


class ReplyStatus(StrEnum):
    COMPLETE = "complete"
    STOPPED = "stopped"
    ERROR = "error"
    INTERRUPTED = "interrupted"  # cut by a crash or a lost lease; the message is answered again
    AWAITING_APPROVAL = "awaiting_approval"  # paused at a tool call the user must approve


class StopReason(StrEnum):
    """Why a model stopped, in one vocabulary for every provider (the ``done`` frame's
    ``stopReason``)."""

    END_TURN = "end_turn"  # it finished its answer
    MAX_TOKENS = "max_tokens"  # it hit the output token limit: the reply is cut short
    STOP_SEQUENCE = "stop_sequence"  # it wrote a configured stop sequence
    TOOL_USE = "tool_use"  # it asked for tools (only ever between the agent's steps)
    CONTENT_FILTERED = "content_filtered"  # the provider's content filter cut the reply
    GUARDRAIL = "guardrail"  # a configured guardrail intervened
    REFUSAL = "refusal"  # the model declined to answer
    CONTEXT_WINDOW = "context_window"  # the conversation no longer fits the model's context
    INCOMPLETE = "incomplete"  # the provider ended the response unfinished, for another reason
    ERROR = "error"  # the call failed (the SYSTEM_LOG note says why)

    @property
    def is_normal(self) -> bool:
        return self in _NORMAL_STOPS


_NORMAL_STOPS = frozenset({StopReason.END_TURN, StopReason.STOP_SEQUENCE, StopReason.TOOL_USE})


_UUID4 = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")


def new_session_id() -> str:
    return str(uuid.uuid4())


def is_session_id(value: str) -> bool:
    """True for a canonical lower-case UUID v4, the only session ids azuchi makes."""
    return bool(_UUID4.match(value))


@dataclass(frozen=True, slots=True)
class Session:
    session_id: str
    created_at: int  # epoch ms
    title: str | None = None
    # Newest USER message stored, and newest one a reply has answered (createdAt values).
    # A session has work pending while last_user_at > answered_at.
    last_user_at: int = 0
    answered_at: int = 0
    # The newest fence that wrote for this session, and the reply it started (its id and
    # the USER message it answers). A reply whose ``reply_to`` is still above
    # ``answered_at`` when the lock is free again was interrupted (docs/recovery.md).
    fence: int = 0
    reply_id: str | None = None
    reply_to: int = 0
    # A key at or above every message the newest rewind deleted (0: none ever): a client
    # resuming from a cursor below it may hold messages that are gone (docs/protocol.md).
    rewound_at: int = 0
    # The signed-in user who made it (the authorizer's user id); None: anonymous, and then
    # anyone holding the id may use it, as before sign-in existed.
    owner: str | None = None

    def usable_by(self, user_id: str | None) -> bool:
        """An anonymous session is anyone's; a signed-in user's is only theirs."""
        return self.owner is None or self.owner == user_id

    @property
    def has_pending(self) -> bool:
        return self.last_user_at > self.answered_at

    @property
    def has_unfinished_reply(self) -> bool:
        """A reply was started and has not recorded its answer (running, or interrupted)."""
        return self.reply_id is not None and self.reply_to > self.answered_at


class Lease(str):
    """What ``SessionLock.acquire`` gives: the owner token (a ``str``, passed back to
    ``extend`` and ``release``) and the lease's ``fence``.

    Fences only grow per session: each acquisition's fence is above every earlier one's,
    so a store that remembers the newest fence that wrote can refuse a paused holder's
    late writes (docs/recovery.md). Adapters make them with ``next_fence``.
    """

    fence: int

    def __new__(cls, token: str, fence: int) -> Lease:
        lease = super().__new__(cls, token)
        lease.fence = fence
        return lease


def next_fence(previous: int, now_ms: int) -> int:
    """The fence after ``previous``: above it, and never below the wall clock in epoch ms,
    so a fence stays above every earlier one even when the counter was lost (an expired
    Redis key, a lock item deleted by TTL, a restarted in-process lock)."""
    return max(previous + 1, now_ms)


@dataclass(frozen=True, slots=True)
class SessionCursor:
    """Where a page of a user's sessions (newest first) stopped: the last one's
    ``created_at`` and id; the next page holds the sessions ordered after it."""

    created_at: int
    session_id: str

    def to_wire(self) -> str:
        return f"{self.created_at}.{self.session_id}"

    @classmethod
    def from_wire(cls, value: object) -> SessionCursor | None:
        """The cursor a ``sessions`` frame gave, or None when ``value`` is not one."""
        if not isinstance(value, str) or value.count(".") != 1:
            return None
        created_at, session_id = value.split(".")
        if (
            not (created_at.isascii() and created_at.isdigit())
            or len(created_at) > 18
            or not is_session_id(session_id)
        ):
            return None
        return cls(int(created_at), session_id)

    @property
    def key(self) -> tuple[int, str]:
        return (self.created_at, self.session_id)


def list_key(session: Session) -> tuple[int, str]:
    """The order of a user's session list: descending on (created_at, session_id)."""
    return (session.created_at, session.session_id)


@dataclass(frozen=True, slots=True)
class Connection:
    connection_id: str
    session_id: str
    connected_at: int  # epoch ms
    user_id: str | None = None
    expire_at: int | None = None  # epoch seconds (TTL)


@dataclass(frozen=True, slots=True)
class Usage:
    input_tokens: int = 0
    output_tokens: int = 0
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0
    # Of ``output_tokens``, those the model spent thinking (priced as output; shown apart).
    reasoning_tokens: int = 0

    def __add__(self, other: Usage) -> Usage:
        return Usage(
            self.input_tokens + other.input_tokens,
            self.output_tokens + other.output_tokens,
            self.cache_read_tokens + other.cache_read_tokens,
            self.cache_write_tokens + other.cache_write_tokens,
            self.reasoning_tokens + other.reasoning_tokens,
        )

    def to_wire(self) -> dict[str, int]:
        wire = {
            "inputTokens": self.input_tokens,
            "outputTokens": self.output_tokens,
            "cacheReadTokens": self.cache_read_tokens,
            "cacheWriteTokens": self.cache_write_tokens,
        }
        if self.reasoning_tokens:
            wire["reasoningTokens"] = self.reasoning_tokens
        return wire

    @classmethod
    def from_wire(cls, wire: dict[str, Any]) -> Usage:
        """The inverse of ``to_wire``; fields a stored message predates read as 0."""
        return cls(
            int(wire.get("inputTokens", 0)),
            int(wire.get("outputTokens", 0)),
            int(wire.get("cacheReadTokens", 0)),
            int(wire.get("cacheWriteTokens", 0)),
            int(wire.get("reasoningTokens", 0)),
        )


@dataclass(frozen=True, slots=True)
class MessageDraft:
    """A message before the store gives it its key (``createdAt``)."""

    session_id: str
    role: Role
    message_type: str
    message: str
    connection_id: str | None = None
    client_message_id: str | None = None
    reply_id: str | None = None
    reply_to: int | None = None  # createdAt of the USER message a reply answers
    status: str | None = None  # ReplyStatus of a reply's final message
    model: str | None = None
    usage: Usage | None = None
    cost_usd: float | None = None  # the reply's price (tokens × the price table), when known
    # The writer's lock fence: a fenced append is refused once a newer fence has written
    # for the session (FenceRejected). None for writes outside a reply (a USER message).
    fence: int | None = None
    stop_reason: str | None = None  # a StopReason, on a reply that did not end normally
    # Server-side state the message carries, never sent to clients as it is (an APPROVAL
    # request's paused reply, as JSON: core/services/approvals.py).
    detail: str | None = None


@dataclass(frozen=True, slots=True)
class ReplyCheckpoint:
    """A reply's text so far, stored while it streams (at most one per session: one reply
    runs at a time). ``fence`` is the lock fence of the reply that wrote it."""

    session_id: str
    reply_id: str
    reply_to: int  # createdAt of the USER message the reply answers
    fence: int
    text: str = ""
    message_type: str = "CONVERSATION"


@dataclass(frozen=True, slots=True)
class Rewind:
    """The last turn of a session taken back (regenerate, editMessage; ``ChatStore.rewind``).

    The reply to the USER message at ``prompt_at`` goes: every message after it that is not
    a USER message. With ``drop_prompt`` (an edit, whose replacement is stored already) the
    message itself goes too. USER messages after ``prompt_at`` always stay: the edit's
    replacement, or one another tab stored meanwhile. ``fence`` is the lock lease's."""

    session_id: str
    prompt_at: int
    fence: int
    drop_prompt: bool = False

    def removes(self, created_at: int, role: Role) -> bool:
        """Whether the message at ``created_at`` (of ``role``) is taken back."""
        if created_at == self.prompt_at:
            return self.drop_prompt
        return created_at > self.prompt_at and role is not Role.USER


@dataclass(frozen=True, slots=True)
class Message:
    """A stored message. ``created_at`` (epoch ms) is unique and increasing per session:
    it is the sort key and the resume cursor."""

    session_id: str
    created_at: int
    role: Role
    message_type: str
    message: str
    connection_id: str | None = None
    client_message_id: str | None = None
    reply_id: str | None = None
    reply_to: int | None = None
    status: str | None = None
    model: str | None = None
    usage: Usage | None = None
    cost_usd: float | None = None
    stop_reason: str | None = None
    expire_at: int | None = None  # epoch seconds (TTL)
    detail: str | None = None  # server-side state (MessageDraft.detail)

    @classmethod
    def from_draft(cls, draft: MessageDraft, created_at: int, expire_at: int | None) -> Message:
        return cls(
            session_id=draft.session_id,
            created_at=created_at,
            role=draft.role,
            message_type=draft.message_type,
            message=draft.message,
            connection_id=draft.connection_id,
            client_message_id=draft.client_message_id,
            reply_id=draft.reply_id,
            reply_to=draft.reply_to,
            status=draft.status,
            model=draft.model,
            usage=draft.usage,
            cost_usd=draft.cost_usd,
            stop_reason=draft.stop_reason,
            expire_at=expire_at,
            detail=draft.detail,
        )


@dataclass(frozen=True, slots=True)
class AppendResult:
    message: Message
    created: bool  # False when an earlier append with the same clientMessageId won


@dataclass(frozen=True, slots=True)
class HistoryItem:
    """One turn of the agent's memory, in the model's terms."""

    role: str  # "user" | "assistant"
    content: str


# --- what a model streams -------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ToolSpec:
    name: str
    description: str
    parameters: dict[str, Any]  # JSON schema of the arguments object


@dataclass(frozen=True, slots=True)
class ToolCall:
    call_id: str
    name: str
    arguments: dict[str, Any]


@dataclass(frozen=True, slots=True)
class ToolResult:
    call_id: str
    name: str
    content: str
    is_error: bool = False


@dataclass(frozen=True, slots=True)
class ReasoningBlock:
    """One block of a model's thinking as the provider returned it: its text and the
    signature that vouches for it, or an encrypted (``redacted``) block. Providers that
    check thinking (Bedrock with extended thinking) want these back, unchanged, in the
    tool follow-up of the step that made them."""

    text: str = ""
    signature: str | None = None
    redacted: bytes | None = None


@dataclass(frozen=True, slots=True)
class ToolRound:
    """The calls a model made in one step and what the tools answered. ``response_id`` is
    the provider's id of the response that made the calls, where it has one; ``reasoning``
    is the thinking that came before the calls."""

    text: str
    calls: tuple[ToolCall, ...]
    results: tuple[ToolResult, ...]
    response_id: str | None = None
    reasoning: tuple[ReasoningBlock, ...] = ()


@dataclass(frozen=True, slots=True)
class ModelRequest:
    """One model call.

    The conversation is ``history`` (earlier turns, oldest first), then ``prompt`` (this
    turn's user message), then ``rounds`` (this turn's tool calls and results so far).
    ``previous_response_id`` is the provider's id of the response that ended the previous
    turn, so it covers ``history``; a provider that chains responses may send only what came
    after it (and a round's own ``response_id`` covers everything up to that round's calls).
    Stateless providers ignore both ids and send everything.
    """

    system: str
    history: tuple[HistoryItem, ...]
    prompt: str
    tools: tuple[ToolSpec, ...] = ()
    rounds: tuple[ToolRound, ...] = ()
    previous_response_id: str | None = None
    purpose: str = "reply"  # "reply" | "title"
    max_output_tokens: int = 4096


@dataclass(frozen=True, slots=True)
class TextDelta:
    text: str


@dataclass(frozen=True, slots=True)
class ReasoningDelta:
    """A piece of the model's thinking: ``text`` to show; ``signature`` closes the block
    the text so far belongs to; ``redacted`` is a whole encrypted block (nothing to show)."""

    text: str = ""
    signature: str | None = None
    redacted: bytes | None = None


@dataclass(frozen=True, slots=True)
class ToolCallRequested:
    call: ToolCall


@dataclass(frozen=True, slots=True)
class UsageReported:
    usage: Usage


@dataclass(frozen=True, slots=True)
class StreamEnded:
    stop_reason: str  # a StopReason value
    response_id: str | None = None


ModelEvent = TextDelta | ReasoningDelta | ToolCallRequested | UsageReported | StreamEnded


@dataclass(frozen=True, slots=True)
class Page:
    messages: list[Message] = field(default_factory=list)
    next: int | None = None
