"""Wire protocol v1: the JSON frames between clients and azuchi (DESIGN §5)."""

from __future__ import annotations

import json
from typing import Any

from core.config import ROUTES
from core.domain import Message, Usage

Frame = dict[str, Any]


def encode(frame: Frame) -> str:
    return json.dumps(frame, ensure_ascii=False, separators=(",", ":"))


def encoded_size(frame: Frame) -> int:
    return len(encode(frame).encode("utf-8"))


def parse_client_frame(body: str | None) -> dict[str, Any] | None:
    """The frame as a JSON object, or None when the body is not one."""
    if not body:
        return None
    try:
        value = json.loads(body)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def routes_frame(
    session_id: str, note: str | None = None, limits: dict[str, Any] | None = None
) -> Frame:
    """The routes a client may use and the server's ``limits`` (``maxMessageBytes``; the
    limits port adds its rates to the same object), so that a page refuses what the server
    would refuse before sending it."""
    frame: Frame = {"type": "routes", "sessionId": session_id, "routes": list(ROUTES)}
    if limits:
        frame["limits"] = limits
    if note:
        frame["message"] = note
    return frame


def session_frame(session_id: str, title: str | None) -> Frame:
    return {"type": "session", "sessionId": session_id, "title": title}


def deleted_frame(session_id: str) -> Frame:
    """The session and its messages are gone (deleteSession)."""
    return {"type": "deleted", "sessionId": session_id}


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
    }
    frame.update({k: v for k, v in optional.items() if v is not None})
    return frame


def done_frame(
    session_id: str, reply_id: str, status: str, usage: Usage, cost_usd: float | None = None
) -> Frame:
    """The end of a reply. ``costUsd`` is null when the price table does not know the model."""
    return {
        "type": "done",
        "sessionId": session_id,
        "replyId": reply_id,
        "status": status,
        "usage": usage.to_wire(),
        "costUsd": cost_usd,
    }


def history_frame(session_id: str, messages: list[Frame], next_cursor: int | None) -> Frame:
    return {"type": "history", "sessionId": session_id, "messages": messages, "next": next_cursor}


def error_frame(session_id: str | None, code: str, message: str, **extra: Any) -> Frame:
    frame: Frame = {"type": "error", "sessionId": session_id, "code": code, "message": message}
    frame.update(extra)
    return frame
