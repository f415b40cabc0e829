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
from urllib.parse import parse_qs, urlparse

from tests.browser.static import ORIGIN, serve_static

ROUTES = ["putMessage", "getMessages", "stopGeneration", "renameSession", "deleteSession"]


class FakeServer:
    """A server of several sessions, shared by every socket the page opens. ``session_id``,
    ``title`` and ``stored`` are those of the current session: the one the newest socket
    belongs to (a socket without ?sessionId= makes a new one; an unknown id is refused with
    close code 4004, as a refused handshake looks to the page)."""

    def __init__(self, *, routes: list[str] | None = None, limits: dict[str, Any] | None = None):
        self.sessions: dict[str, dict[str, Any]] = {}
        self.session_id = self.first_session = self.new_session()
        self.routes = routes or ROUTES
        self.limits = limits if limits is not None else {"maxMessageBytes": 16384}
        self.received: list[dict[str, Any]] = []
        self.sockets: list[Any] = []
        self.socket_session: dict[int, str] = {}
        self.urls: list[str] = []
        self.echo = True  # answer putMessage with the stored USER message
        self.fresh_connects = (
            0  # sockets opened without ?sessionId= (the first reuses the first session)
        )
        self._clock = itertools.count(int(time.time() * 1000))

    def new_session(self, title: str | None = None) -> str:
        session_id = str(uuid.uuid4())
        self.sessions[session_id] = {"title": title, "stored": []}
        return session_id

    @property
    def title(self) -> str | None:
        return self.sessions[self.session_id]["title"]  # type: ignore[no-any-return]

    @title.setter
    def title(self, value: str | None) -> None:
        self.sessions[self.session_id]["title"] = value

    @property
    def stored(self) -> list[dict[str, Any]]:
        return self.sessions[self.session_id]["stored"]  # type: ignore[no-any-return]

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
        """Send a frame to every socket of the current session."""
        frame.setdefault("sessionId", self.session_id)
        for socket in list(self.sockets):
            if self.socket_session.get(id(socket)) == frame["sessionId"]:
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
        self.urls.append(socket.url)
        asked = parse_qs(urlparse(socket.url).query).get("sessionId", [None])[0]
        if asked is not None and asked not in self.sessions:
            socket.close(code=4004, reason="no such session")
            return
        if asked is None:
            self.fresh_connects += 1
            # The first fresh socket gets the session made with the server (tests fill it).
            asked = self.new_session() if self.fresh_connects > 1 else self.first_session
        self.session_id = asked
        self.socket_session[id(socket)] = asked
        self.sockets.append(socket)
        socket.on_message(lambda raw: self._on_frame(socket, raw))
        socket.on_close(lambda *_: self.sockets.remove(socket) if socket in self.sockets else None)

    def _send(self, socket: Any, frame: dict[str, Any]) -> None:
        frame.setdefault("sessionId", self.socket_session.get(id(socket), self.session_id))
        socket.send(json.dumps(frame, ensure_ascii=False))

    def _on_frame(self, socket: Any, raw: str | bytes) -> None:
        try:
            frame = json.loads(raw)
        except ValueError:
            return
        self.received.append(frame)
        action = frame.get("action")
        session = self.sessions.get(
            self.socket_session.get(id(socket), ""), {"title": None, "stored": []}
        )
        if action == "getMessages":
            after = frame.get("after") or 0
            if not after and session["title"]:
                self._send(socket, {"type": "session", "title": session["title"]})
            page = [m for m in session["stored"] if m["createdAt"] > after]
            self._send(socket, {"type": "history", "messages": page, "next": None})
        elif action == "putMessage" and self.echo:
            fields = {k: frame[k] for k in ("clientMessageId",) if k in frame}
            self.push(self.store("USER", frame.get("message", ""), **fields))
        elif action == "renameSession" and frame.get("sessionId", self.session_id) in self.sessions:
            sid = frame.get("sessionId", self.session_id)
            self.sessions[sid]["title"] = frame["title"]
            self._send(socket, {"type": "session", "sessionId": sid, "title": frame["title"]})
        elif action == "deleteSession" and frame.get("sessionId") in self.sessions:
            sid = frame["sessionId"]
            del self.sessions[sid]
            self._send(socket, {"type": "deleted", "sessionId": sid})
        elif action == "listSessions":  # pages of ``limit``, the cursor an index (as text)
            listed = [
                {"sessionId": sid, "title": s["title"], "createdAt": 1}
                for sid, s in self.sessions.items()
            ]
            start = int(frame.get("cursor") or 0)
            end = start + int(frame.get("limit") or 50)
            more = str(end) if end < len(listed) else None
            self._send(socket, {"type": "sessions", "sessions": listed[start:end], "next": more})
        elif action not in self.routes:
            self._send(socket, {"type": "routes", "routes": self.routes, "limits": self.limits})


def open_app(page: Any, fake: FakeServer, hash_path: str = "") -> Any:
    """The page from frontend/, its WebSocket answered by ``fake``."""
    page.route(f"{ORIGIN}/**", serve_static)
    page.route_web_socket(f"{ORIGIN.replace('http', 'ws', 1)}/**", fake.attach)
    page.goto(f"{ORIGIN}/index.html{hash_path}")
    page.wait_for_function("() => document.getElementById('status').dataset.state === 'open'")
    return page
