"""Wire protocol v1: the JSON frames between clients and azuchi (DESIGN §5)."""

from __future__ import annotations

import json
from typing import Any

from core.config import ROUTES, SIGNED_IN_ROUTES
from core.domain import Message, Session, Usage
from core.errors import FrameRejected, TextNotEncodable
from core.text import encodable

Frame = dict[str, Any]

# No route reads past the first level; a client's deeper structure is still accepted up to
# here, and refused beyond it before any code walks it recursively.
MAX_FRAME_DEPTH = 32
_NOT_OBJECT = 'That frame is not a JSON object; send {"action": <route>, ...}.'


# One encoder for every frame: json.dumps with non-default options builds a new one per call.
_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))
# And its C encoder built once too: JSONEncoder.encode builds one (and a dict of the
# containers it is inside, against cycles) on every call; frames are trees azuchi builds,
# never cyclic. The same options, so the same bytes (tests/unit/test_protocol_encode.py).
_C_ENCODER = (
    json.encoder.c_make_encoder(  # type: ignore[attr-defined]
        None,  # no cycle check
        _ENCODER.default,
        json.encoder.encode_basestring,  # ensure_ascii=False's string encoder
        None,  # no indent
        ":",
        ",",
        False,  # sort_keys
        False,  # skipkeys
        True,  # allow_nan
    )
    if getattr(json.encoder, "c_make_encoder", None) is not None
    else None
)


def encode(frame: Frame) -> str:
    if _C_ENCODER is None:  # a Python without the _json accelerator
        return _ENCODER.encode(frame)
    return "".join(_C_ENCODER(frame, 0))


def encoded_size(frame: Frame) -> int:
    return len(encode(frame).encode("utf-8"))


def parse_client_frame(body: str | None) -> dict[str, Any] | None:
    """The frame as a JSON object, or None when the body is not one (or is refused)."""
    try:
        return read_client_frame(body)
    except (FrameRejected, TextNotEncodable):
        return None


def read_client_frame(body: str | None) -> Frame:
    """The frame as a JSON object, or the reason it cannot be one, as a domain error:
    ``FrameRejected`` (``FRAME_NOT_JSON``, ``FRAME_NOT_OBJECT``, ``FRAME_TOO_DEEP``) or
    ``TextNotEncodable`` (a lone surrogate in any key or string, at any depth)."""
    if not body:
        raise FrameRejected(_NOT_OBJECT, code="FRAME_NOT_JSON")
    if not encodable(body):
        raise TextNotEncodable("The frame holds text that cannot be encoded as UTF-8.")
    try:
        value = json.loads(body)
    except RecursionError:
        raise FrameRejected(_too_deep(), code="FRAME_TOO_DEEP") from None
    except ValueError:  # also a number past int's digit limit
        raise FrameRejected(_NOT_OBJECT, code="FRAME_NOT_JSON") from None
    if not isinstance(value, dict):
        raise FrameRejected(_NOT_OBJECT, code="FRAME_NOT_OBJECT")
    _check_tree(value)
    return value


def _check_tree(root: object) -> None:
    """Walks the parsed frame without recursion: depth bounded, every string encodable
    (JSON's ``\\ud800`` escapes decode into lone surrogates the raw body did not show)."""
    stack: list[tuple[object, int]] = [(root, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, dict):
            items: list[object] = [*value.keys(), *value.values()]
        elif isinstance(value, list):
            items = value
        else:
            if isinstance(value, str) and not encodable(value):
                raise TextNotEncodable(
                    "The frame holds text that cannot be encoded as UTF-8 (a lone surrogate); "
                    "nothing was stored."
                )
            continue
        if depth > MAX_FRAME_DEPTH:
            raise FrameRejected(_too_deep(), code="FRAME_TOO_DEEP")
        stack.extend((item, depth + 1) for item in items)


def _too_deep() -> str:
    return f"The frame is nested more than {MAX_FRAME_DEPTH} levels deep."


def routes_frame(
    session_id: str,
    note: str | None = None,
    code: str | None = None,
    limits: dict[str, Any] | None = None,
    *,
    signed_in: bool = False,
) -> Frame:
    """The $default answer: the routes a client may use and the server's ``limits``
    (``maxMessageBytes``; the limits port adds its rates to the same object), so that a page
    refuses what the server would refuse before sending it. ``code`` says what was wrong
    with the frame (FRAME_NOT_JSON, FRAME_TOO_DEEP, TEXT_NOT_ENCODABLE, NO_ACTION ...).
    A signed-in connection is also offered ``SIGNED_IN_ROUTES`` (listSessions)."""
    routes = [*ROUTES, *SIGNED_IN_ROUTES] if signed_in else list(ROUTES)
    frame: Frame = {"type": "routes", "sessionId": session_id, "routes": routes}
    if limits:
        frame["limits"] = limits
    if note:
        frame["message"] = note
    if code:
        frame["code"] = code
    return frame


def session_frame(session_id: str, title: str | None) -> Frame:
    return {"type": "session", "sessionId": session_id, "title": title}


def sessions_frame(session_id: str, sessions: list[Session], next_cursor: str | None) -> Frame:
    """The answer to listSessions: the user's sessions, newest first; ``next`` is the
    ``cursor`` of the following page (null on the last)."""
    listed = [
        {"sessionId": s.session_id, "title": s.title, "createdAt": s.created_at} for s in sessions
    ]
    return {"type": "sessions", "sessionId": session_id, "sessions": listed, "next": next_cursor}


def deleted_frame(session_id: str) -> Frame:
    """The session and its messages are gone (deleteSession)."""
    return {"type": "deleted", "sessionId": session_id}


def removed_frame(session_id: str, created_at: list[int]) -> Frame:
    """Stored messages that are gone: a turn was taken back (regenerate, editMessage)."""
    return {"type": "removed", "sessionId": session_id, "createdAt": created_at}


def delta_frame(session_id: str, reply_id: str, seq: int, message_type: str, text: str) -> Frame:
    return {
        "type": "delta",
        "sessionId": session_id,
        "replyId": reply_id,
        "seq": seq,
        "messageType": message_type,
        "text": text,
    }


def message_frame(message: Message) -> Frame:
    frame: Frame = {
        "type": "message",
        "sessionId": message.session_id,
        "createdAt": message.created_at,
        "role": message.role.value,
        "messageType": message.message_type,
        "message": message.message,
    }
    optional = {
        "clientMessageId": message.client_message_id,
        "replyId": message.reply_id,
        "replyTo": message.reply_to,
        "status": message.status,
        "model": message.model,
        "usage": message.usage.to_wire() if message.usage else None,
        "costUsd": message.cost_usd,
        "stopReason": message.stop_reason,
    }
    frame.update({k: v for k, v in optional.items() if v is not None})
    if message.message_type == "APPROVAL":
        public = approval_public(message)
        if public is not None:
            frame["approval"] = public
    return frame


def approval_public(message: Message) -> dict[str, Any] | None:
    """What clients see of an APPROVAL message's request: ``callId``, ``tool``,
    ``arguments``, ``expiresAt`` (epoch ms). The paused run it also keeps stays server-side."""
    try:
        public = json.loads(message.detail or "")["public"]
    except (ValueError, KeyError, TypeError):
        return None
    return public if isinstance(public, dict) else None


def approval_frame(message: Message) -> Frame:
    """A reply paused for the user's approval: ``approveTool`` / ``denyTool`` with
    ``approvalId`` (this request's ``createdAt``) resume it."""
    return {
        "type": "approval",
        "sessionId": message.session_id,
        "replyId": message.reply_id,
        "approvalId": message.created_at,
        **(approval_public(message) or {}),
    }


def done_frame(
    session_id: str,
    reply_id: str,
    status: str,
    usage: Usage,
    cost_usd: float | None = None,
    stop_reason: str | None = None,
) -> Frame:
    """The end of a reply. ``costUsd`` is null when the price table does not know the model;
    ``stopReason`` (a ``StopReason``) is null only when the user stopped the reply."""
    return {
        "type": "done",
        "sessionId": session_id,
        "replyId": reply_id,
        "status": status,
        "stopReason": stop_reason,
        "usage": usage.to_wire(),
        "costUsd": cost_usd,
    }


def history_frame(
    session_id: str, messages: list[Frame], next_cursor: int | None, rewound: bool = False
) -> Frame:
    """A page of messages. ``rewound``: a turn was taken back since the client's cursor,
    so messages it holds may be gone; it loads the conversation again without ``after``."""
    frame: Frame = {
        "type": "history",
        "sessionId": session_id,
        "messages": messages,
        "next": next_cursor,
    }
    if rewound:
        frame["rewound"] = True
    return frame


def error_frame(session_id: str | None, code: str, message: str, **extra: Any) -> Frame:
    frame: Frame = {"type": "error", "sessionId": session_id, "code": code, "message": message}
    frame.update(extra)
    return frame
