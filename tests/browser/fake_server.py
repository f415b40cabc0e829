"""The real page (frontend/, served by request routing) against a scripted WebSocket peer in
the test, through Playwright's WebSocket routing: frames no running azuchi would send yet
(another issue's `interrupted`, REASONING, listSessions) or that a test wants exactly (a
reply of 32 XSS payloads, a markdown reply), shown by the real page in Chromium.

The peer speaks wire protocol v1 (docs/protocol.md) well enough for the page: it answers
`routes`, `getMessages` (from its own list of stored messages) and `putMessage` (an echo),
and records every frame the page sent.
"""

from __future__ import annotations

import itertools
import json
import time
import uuid
from typing import Any

from tests.browser.static import ORIGIN, serve_static

ROUTES = ["putMessage", "getMessages", "stopGeneration", "renameSession", "deleteSession"]


class FakeServer:
    """One session's worth of server, shared by every socket the page opens."""

    def __init__(self, *, routes: list[str] | None = None, limits: dict[str, Any] | None = None):
        self.session_id = str(uuid.uuid4())
        self.title: str | None = None
        self.routes = routes or ROUTES
        self.limits = limits if limits is not None else {"maxMessageBytes": 16384}
        self.stored: list[dict[str, Any]] = []
        self.received: list[dict[str, Any]] = []
        self.sockets: list[Any] = []
        self.urls: list[str] = []
        self.echo = True  # answer putMessage with the stored USER message
        self._clock = itertools.count(int(time.time() * 1000))

    # --- what the test does -------------------------------------------------------------

    def store(
        self, role: str, text: str, message_type: str = "CONVERSATION", **fields: Any
    ) -> dict[str, Any]:
        """A message the server has stored (getMessages returns it); not sent by itself."""
        message = {
            "type": "message",
            "sessionId": self.session_id,
            "createdAt": next(self._clock),
            "role": role,
            "messageType": message_type,
            "message": text,
            **fields,
        }
        self.stored.append(message)
        return message

    def push(self, frame: dict[str, Any]) -> None:
        """Send a frame to every socket the page has open."""
        frame.setdefault("sessionId", self.session_id)
        for socket in self.sockets:
            socket.send(json.dumps(frame, ensure_ascii=False))

    def reply(self, text: str, *, chunks: int = 4, status: str = "complete", **fields: Any) -> str:
        """A whole reply: deltas, the stored AGENT message, then `done`. Returns its replyId."""
        reply_id = uuid.uuid4().hex
        size = max(1, -(-len(text) // chunks))
        for seq, start in enumerate(range(0, len(text), size)):
            self.push(
                {
                    "type": "delta",
                    "replyId": reply_id,
                    "seq": seq,
                    "messageType": "CONVERSATION",
                    "text": text[start : start + size],
                }
            )
        self.push(self.store("AGENT", text, replyId=reply_id, status=status, **fields))
        self.push(
            {
                "type": "done",
                "replyId": reply_id,
                "status": status,
                "usage": {"inputTokens": 10, "outputTokens": 20},
                "costUsd": 0.0,
            }
        )
        return reply_id

    def sent(self, action: str) -> list[dict[str, Any]]:
        return [frame for frame in self.received if frame.get("action") == action]

    # --- the peer ------------------------------------------------------------------------

    def attach(self, socket: Any) -> None:
        self.sockets.append(socket)
        self.urls.append(socket.url)
        socket.on_message(lambda raw: self._on_frame(socket, raw))
        socket.on_close(lambda *_: self.sockets.remove(socket) if socket in self.sockets else None)

    def _send(self, socket: Any, frame: dict[str, Any]) -> None:
        frame.setdefault("sessionId", self.session_id)
        socket.send(json.dumps(frame, ensure_ascii=False))

    def _on_frame(self, socket: Any, raw: str | bytes) -> None:
        try:
            frame = json.loads(raw)
        except ValueError:
            return
        self.received.append(frame)
        action = frame.get("action")
        if action == "getMessages":
            after = frame.get("after") or 0
            if not after and self.title:
                self._send(socket, {"type": "session", "title": self.title})
            page = [m for m in self.stored if m["createdAt"] > after]
            self._send(socket, {"type": "history", "messages": page, "next": None})
        elif action == "putMessage" and self.echo:
            fields = {k: frame[k] for k in ("clientMessageId", "replaces") if k in frame}
            self.push(self.store("USER", frame.get("message", ""), **fields))
        elif action not in self.routes:
            self._send(socket, {"type": "routes", "routes": self.routes, "limits": self.limits})


def open_app(page: Any, fake: FakeServer, hash_path: str = "") -> Any:
    """The page from frontend/, its WebSocket answered by ``fake``."""
    page.route(f"{ORIGIN}/**", serve_static)
    page.route_web_socket(f"{ORIGIN.replace('http', 'ws', 1)}/**", fake.attach)
    page.goto(f"{ORIGIN}/index.html{hash_path}")
    page.wait_for_function("() => document.getElementById('status').dataset.state === 'open'")
    return page
