"""Tool calls that wait for the user's approval: the paused reply, stored; the decision.

A tool named in ``AZUCHI_TOOLS_REQUIRE_APPROVAL`` (or an MCP server's ``requireApproval``)
pauses the reply that calls it (core/services/agent.py). Nothing waits in memory and no
lock is held while the user thinks:

    reply R1 to U (lease, fence 7)                      approveTool / denyTool
    model → calc__rm({"path": "x"})  (needs approval)
    store AGENT text so far + APPROVAL A (its detail: the paused run), A answers U
    done R1 awaiting_approval; approval frame; release ───► (any time before A expires,
                                                          from any tab, after a restart)
                                                          A still the last turn? not expired?
                                                          store USER APPROVAL_DECISION D
                                                          (replyTo A, clientMessageId
                                                          azuchi:approval:A: once only)
                                                          launch ───► reply R2 to D (fence 9):
                                                          run or refuse the call, go on
                                                          from the stored run; done R2

The decision is a USER message, so the drain loop, the launcher, recovery after a crash and
the Lambda worker treat it like any message: it is answered once. A request that waited past
``AZUCHI_APPROVAL_TIMEOUT_S`` is refused (``APPROVAL_EXPIRED``) and a note says the tool was
not run; a request left undecided while the user sends a new message is superseded.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from typing import Any

from core.config import ChatConfig
from core.domain import (
    Message,
    MessageDraft,
    MessageType,
    ReasoningBlock,
    ReplyStatus,
    Role,
    ToolCall,
    ToolResult,
    ToolRound,
)
from core.errors import ApprovalRefused, InvalidInput
from core.ports import ChatStore, Clock, ReplyLauncher
from core.protocol import message_frame
from core.services.agent import AgentPause
from core.services.chat import MAX_CURSOR, ChatService
from core.services.ownership import require_usable

APPROVE, DENY = "approve", "deny"
DECISION_ID = "azuchi:approval:{}"  # a decision's clientMessageId: one per request
EXPIRED_ID = "azuchi:expired:{}"  # the note that a request expired, written once
# A paused run is kept inside its APPROVAL message: bounded well under DynamoDB's 400 KB item.
MAX_DETAIL_BYTES = 256 * 1024
SEARCHED = 50  # messages after a request searched for its decision


@dataclass(frozen=True, slots=True)
class PausedTurn:
    """What an APPROVAL message keeps: the paused run, the turn's prompt and text so far."""

    pause: AgentPause
    prompt: str  # the USER message the turn answers
    prompt_at: int
    text: str  # the reply's text before the pause (every part of the turn's)
    expires_at: int  # epoch ms

    def fits(self) -> bool:
        """Whether the state may be stored (at most ``MAX_DETAIL_BYTES`` of UTF-8)."""
        return len(self.to_json().encode("utf-8")) <= MAX_DETAIL_BYTES

    def to_json(self) -> str:
        return json.dumps(
            {
                "v": 1,
                "public": approval_public_of(self.pause.call, self.expires_at),
                "prompt": self.prompt,
                "promptAt": self.prompt_at,
                "text": self.text,
                "steps": self.pause.steps,
                "rounds": [_round(r) for r in self.pause.rounds],
                "step": _round(self.pause.step),
                "call": _call(self.pause.call),
            },
            ensure_ascii=False,
            separators=(",", ":"),
        )

    @classmethod
    def from_json(cls, text: str) -> PausedTurn:
        """Raises ValueError for state it cannot read (a corrupt or foreign detail)."""
        try:
            data = json.loads(text)
            if data.get("v") != 1:
                raise ValueError(f"unknown paused-state version {data.get('v')!r}")
            pause = AgentPause(
                _call_of(data["call"]),
                tuple(_round_of(r) for r in data["rounds"]),
                _round_of(data["step"]),
                int(data["steps"]),
            )
            return cls(
                pause,
                str(data["prompt"]),
                int(data["promptAt"]),
                str(data["text"]),
                int(data["public"]["expiresAt"]),
            )
        except (KeyError, TypeError, AttributeError) as exc:
            raise ValueError(f"paused state unreadable: {exc!r}") from None


def approval_public_of(call: ToolCall, expires_at: int) -> dict[str, Any]:
    """What clients are shown of a request (the ``approval`` object of its frames)."""
    return {
        "callId": call.call_id,
        "tool": call.name,
        "arguments": call.arguments,
        "expiresAt": expires_at,
    }


def _call(call: ToolCall) -> dict[str, Any]:
    return {"id": call.call_id, "name": call.name, "arguments": call.arguments}


def _call_of(data: dict[str, Any]) -> ToolCall:
    if not isinstance(data["arguments"], dict):
        raise TypeError("arguments is not an object")
    return ToolCall(str(data["id"]), str(data["name"]), data["arguments"])


def _round(r: ToolRound) -> dict[str, Any]:
    return {
        "text": r.text,
        "calls": [_call(c) for c in r.calls],
        "results": [
            {"id": x.call_id, "name": x.name, "content": x.content, "error": x.is_error}
            for x in r.results
        ],
        "responseId": r.response_id,
        "reasoning": [
            {
                "text": b.text,
                "signature": b.signature,
                "redacted": None if b.redacted is None else base64.b64encode(b.redacted).decode(),
            }
            for b in r.reasoning
        ],
    }


def _round_of(data: dict[str, Any]) -> ToolRound:
    return ToolRound(
        str(data["text"]),
        tuple(_call_of(c) for c in data["calls"]),
        tuple(
            ToolResult(str(x["id"]), str(x["name"]), str(x["content"]), bool(x["error"]))
            for x in data["results"]
        ),
        data["responseId"],
        tuple(
            ReasoningBlock(
                str(b["text"]),
                b["signature"],
                None if b["redacted"] is None else base64.b64decode(b["redacted"]),
            )
            for b in data["reasoning"]
        ),
    )


def paused_turn(request: Message) -> PausedTurn | None:
    """The paused run an APPROVAL message keeps, or None when it keeps none readable."""
    if request.message_type != MessageType.APPROVAL or not request.detail:
        return None
    try:
        return PausedTurn.from_json(request.detail)
    except ValueError:
        return None


async def find_request(store: ChatStore, session_id: str, created_at: int) -> Message | None:
    """The APPROVAL message stored at ``created_at`` in the session, if there is one."""
    found = await store.messages_after(session_id, created_at - 1, 1)
    if (
        found
        and found[0].created_at == created_at
        and found[0].message_type == (MessageType.APPROVAL)
    ):
        return found[0]
    return None


class ApprovalService:
    """The ``approveTool`` and ``denyTool`` routes (docs/protocol.md)."""

    def __init__(
        self,
        chat: ChatService,
        store: ChatStore,
        launcher: ReplyLauncher,
        clock: Clock,
        config: ChatConfig,
    ) -> None:
        self._chat = chat
        self._store = store
        self._launcher = launcher
        self._clock = clock
        self._config = config

    async def decide(self, connection_id: str, frame: dict[str, Any], approve: bool) -> None:
        """Stores the user's decision on a request of the connection's session and starts
        the reply that acts on it. Refused, with nothing stored, when the request is not
        the session's last turn, was decided already, or expired (then a note says so)."""
        connection = await self._chat.connection(connection_id)
        await self._chat.check_session(frame, connection)
        approval_id = _approval_id(frame.get("approvalId"))
        sid = connection.session_id
        session = await self._store.get_session(sid)
        if session is not None:
            require_usable(session, connection.user_id)
        request = await find_request(self._store, sid, approval_id)
        paused = None if request is None else paused_turn(request)
        if session is None or request is None or paused is None:
            raise ApprovalRefused(
                f"This chat has no tool call {approval_id} waiting for approval.",
                code="APPROVAL_NOT_FOUND",
            )
        decision = APPROVE if approve else DENY
        if session.last_user_at > (request.reply_to or 0):  # a message came after it
            earlier = await self._decision_of(sid, approval_id)
            if earlier is not None:
                if earlier.message == decision:  # a repeat (another tab, a resend)
                    await self._chat.send(connection_id, message_frame(earlier))
                    return
                raise ApprovalRefused(
                    f"This tool call was {_past(earlier.message)} already.",
                    code="APPROVAL_DECIDED",
                )
            raise ApprovalRefused(
                "A newer message was sent after this request: it can no longer be decided "
                "(the tool was not run).",
                code="APPROVAL_SUPERSEDED",
            )
        if self._clock.now_ms() > paused.expires_at:
            await self._note_expired(connection_id, request, paused)
            raise ApprovalRefused(
                f"This request to run {paused.pause.call.name} expired (it waits "
                f"{self._config.approval_timeout_s:g} s); the tool was not run. Ask again "
                "if you still want it.",
                code="APPROVAL_EXPIRED",
            )
        await self._chat.check_limits(connection_id, sid)  # the model goes on: a model call
        result = await self._store.append_message(
            MessageDraft(
                sid,
                Role.USER,
                MessageType.APPROVAL_DECISION,
                decision,
                connection_id=connection_id,
                client_message_id=DECISION_ID.format(approval_id),
                reply_to=approval_id,
            )
        )
        if not result.created:  # a concurrent decision won the same request
            if result.message.message != decision:
                raise ApprovalRefused(
                    f"This tool call was {_past(result.message.message)} already.",
                    code="APPROVAL_DECIDED",
                )
            await self._chat.send(connection_id, message_frame(result.message))
            return
        await self._chat.tell(sid, connection_id, message_frame(result.message))
        await self._launcher.launch(sid)

    async def _decision_of(self, session_id: str, approval_id: int) -> Message | None:
        for message in await self._store.messages_after(session_id, approval_id, SEARCHED):
            if (
                message.message_type == MessageType.APPROVAL_DECISION
                and message.reply_to == approval_id
            ):
                return message
        return None

    async def _note_expired(self, asker: str, request: Message, paused: PausedTurn) -> None:
        """Tells every tab (and the asker), once, that the request expired unrun."""
        result = await self._store.append_message(
            MessageDraft(
                request.session_id,
                Role.SYSTEM,
                MessageType.SYSTEM_LOG,
                expired_note(paused.pause.call.name),
                client_message_id=EXPIRED_ID.format(request.created_at),
                reply_to=request.created_at,
                status=ReplyStatus.ERROR.value,
            )
        )
        if result.created:
            await self._chat.tell(request.session_id, asker, message_frame(result.message))


def expired_note(tool: str) -> str:
    return f"The request to run {tool} expired before it was approved; the tool was not run."


def _past(decision: str) -> str:
    return "approved" if decision == APPROVE else "denied"


def _approval_id(value: object) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not 0 < value <= MAX_CURSOR:
        raise InvalidInput(
            '"approvalId" must be the createdAt of the APPROVAL message (an integer).',
            code="INVALID_APPROVAL_ID",
        )
    return value
