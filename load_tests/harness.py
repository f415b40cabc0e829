"""The load test's users: Locust's user/task model on anyio, one task per session.

A ``User`` connects (ramped: API Gateway admits 500 new connections/s per account), then
until the run's end picks a weighted task and thinks between tasks:

- ``chat``: send a putMessage and stream the reply to its ``done``;
- ``chat_and_drop``: the same, but close the socket after a few deltas (a tab going away),
  reconnect with ``?sessionId=`` and resume with getMessages after the USER message's
  ``createdAt`` until the history holds the final reply.

When the run ends each user finishes the task it is in, reads its whole history and
``checks.check_session`` counts what was lost or duplicated.
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass
from typing import Any

import anyio

from load_tests.checks import ReplyView, SessionRecord
from load_tests.client import ConnectFailed, Frame, WsClient
from load_tests.stats import Metrics

HISTORY_PAGE = 200  # getMessages' largest page
RESUME_POLL_S = 2.0  # how long a resumed client waits live before reading history again
CONNECT_ATTEMPTS = 3


@dataclass(frozen=True, slots=True)
class LoadConfig:
    url: str
    stats_url: str | None = None  # the gateway's /_azuchi/stats (its admin listener)
    sessions: int = 5
    duration_s: float = 10.0
    ramp_per_s: float = 50.0
    think_s: tuple[float, float] = (0.5, 1.5)
    chat_weight: int = 4
    drop_weight: int = 1
    reply_timeout_s: float = 60.0
    verify: bool = True  # read every history at the end and count lost / duplicated
    progress_s: float = 5.0  # 0: no progress lines
    seed: int | None = None


@dataclass(slots=True)
class Turn:
    """One message and its reply, while the user waits for it."""

    client_message_id: str
    sent_at: float
    created_at: int | None = None
    reply: ReplyView | None = None
    last_delta_at: float = 0.0
    drop_after: int | None = None  # close the socket after this many deltas


class User:
    def __init__(
        self, index: int, config: LoadConfig, client: WsClient, metrics: Metrics, rng: random.Random
    ) -> None:
        self.index = index
        self.config = config
        self.client = client
        self.metrics = metrics
        self.rng = rng
        self.record = SessionRecord()
        self.turn: Turn | None = None
        self._seen: set[int] = set()  # createdAt of message frames seen live on this socket
        self._known: set[str] = set()  # replyIds of earlier turns
        self._sent = 0
        self._page: Frame | None = None  # the last history frame

    # --- lifecycle --------------------------------------------------------------------

    async def connect(self) -> bool:
        """Opens (or reopens, on the same session) the socket; False after repeated failure."""
        for attempt in range(CONNECT_ATTEMPTS):
            try:
                await self.client.connect(self.record.session_id)
            except ConnectFailed as exc:
                self._error(f"connection failed: {exc}")
                await anyio.sleep(0.5 * (attempt + 1))
                continue
            self._seen.clear()  # a new socket: the history it is sent is new to it
            self.metrics.connected += 1
            return True
        return False

    async def disconnect(self, code: int = 1000) -> None:
        if self.client.open:
            self.metrics.connected -= 1
        await self.client.close(code)

    async def run(self, stop_at: float) -> None:
        tasks = [
            (self.chat, self.config.chat_weight),
            (self.chat_and_drop, self.config.drop_weight),
        ]
        choices = [t for t, w in tasks if w > 0]
        weights = [w for _, w in tasks if w > 0]
        while time.perf_counter() < stop_at and self.client.open:
            task = self.rng.choices(choices, weights)[0]
            await task()
            think = self.rng.uniform(*self.config.think_s)
            await anyio.sleep(max(0.0, min(think, stop_at - time.perf_counter())))

    async def verify(self) -> list[Frame] | None:
        """The session's whole stored history, or None when it cannot be read."""
        if self.record.session_id is None:
            return []
        for _ in range(2):
            if not self.client.open and not await self.connect():
                return None
            try:
                return await self._history(None)
            except (TimeoutError, ConnectionError) as exc:
                self._error(f"history unreadable: {exc!r}")
                await self.disconnect()
        return None

    # --- tasks ------------------------------------------------------------------------

    async def chat(self) -> None:
        await self._exchange(drop_after=None)

    async def chat_and_drop(self) -> None:
        turn = await self._exchange(drop_after=self.rng.randint(1, 4))
        if turn is None or turn.reply is None or not turn.reply.dropped:
            return
        self.metrics.dropped += 1
        await self.disconnect(1001)
        await anyio.sleep(self.rng.uniform(0.1, 1.0))
        if await self.connect():
            await self._resume(turn)

    # --- one exchange -----------------------------------------------------------------

    async def _exchange(self, drop_after: int | None) -> Turn | None:
        if self.turn is not None and self.turn.reply is not None:
            self._known.add(self.turn.reply.reply_id)  # its late frames are not this turn's
        self._sent += 1
        cmid = f"u{self.index}-{self._sent}-{self.rng.getrandbits(32):08x}"
        text = f"Message {self._sent} from load user {self.index}: tell me about castles."
        self.turn = turn = Turn(cmid, time.perf_counter(), drop_after=drop_after)
        try:
            await self.client.send(
                {"action": "putMessage", "message": text, "clientMessageId": cmid}
            )
        except ConnectionError:
            self._error("the connection closed before putMessage")
            return None
        self.record.sent.append((cmid, text))
        event = await self._pump({"done", "drop", "refused"}, self.config.reply_timeout_s)
        if event is None:
            self._error(f"no done for {cmid} within {self.config.reply_timeout_s:.0f} s")
        elif event == "closed":
            self._error(f"the server closed the connection during {cmid}")
            if await self.connect() and turn.reply is not None:
                turn.reply.dropped = True  # resume as a dropped client would
                await self._resume(turn)
        return turn

    async def _resume(self, turn: Turn) -> None:
        reply = turn.reply
        assert reply is not None
        deadline = time.perf_counter() + self.config.reply_timeout_s
        while time.perf_counter() < deadline:
            try:
                history = await self._history(turn.created_at)
            except (TimeoutError, ConnectionError) as exc:
                self._error(f"resume failed: {exc!r}")
                return
            finals = [m for m in history if _is_final(m) and m.get("replyTo") == turn.created_at]
            if finals:
                reply.resumed_finals = len(finals)
                self.metrics.replies += 1 if reply.status is None else 0
                return
            if reply.status is None:
                await self._pump({"done"}, min(RESUME_POLL_S, deadline - time.perf_counter()))
            else:
                await anyio.sleep(0.2)  # done seen but the store not yet read back: retry
        reply.resumed_finals = 0

    async def _history(self, after: int | None) -> list[Frame]:
        messages: list[Frame] = []
        while True:
            query: Frame = {"action": "getMessages", "limit": HISTORY_PAGE}
            if after is not None:
                query["after"] = after
            sent = time.perf_counter()
            await self.client.send(query)
            self._page = None
            event = await self._pump({"history"}, self.config.reply_timeout_s)
            if event != "history" or self._page is None:
                raise TimeoutError("no history frame") if event is None else ConnectionError(event)
            self.metrics.history_ms.append((time.perf_counter() - sent) * 1000)
            messages.extend(self._page.get("messages") or [])
            after = self._page.get("next")
            if after is None:
                return messages

    async def _pump(self, until: set[str], timeout_s: float) -> str | None:
        """Handles frames until one yields an event in ``until`` (or the socket closes:
        "closed"); None on timeout."""
        deadline = time.perf_counter() + timeout_s
        while True:
            left = deadline - time.perf_counter()
            if left <= 0:
                return None
            try:
                got = await self.client.receive(left)
            except TimeoutError:
                return None
            except ValueError as exc:
                self._error(f"protocol violation: {exc}")
                continue
            if got is None:
                if self.client.open:
                    self.metrics.connected -= 1
                    await self.client.close()
                return "closed"
            event = self._observe(*got)
            if event in until:
                return event

    # --- frames -------------------------------------------------------------------------

    def _observe(self, stamp: float, frame: Frame) -> str | None:
        kind, sid = frame.get("type"), frame.get("sessionId")
        if self.record.session_id is None and isinstance(sid, str):
            self.record.session_id = sid
        if sid != self.record.session_id and kind in {"delta", "message", "done", "history"}:
            self._error(f"protocol violation: a {kind} frame of session {sid}")
            return None
        if kind == "history":
            self._page = frame
            return "history"
        if kind == "error":
            self._error(f"error frame {frame.get('code')}: {frame.get('message')}")
            turn = self.turn
            if turn and frame.get("clientMessageId") == turn.client_message_id:
                return "refused"
            return None
        if kind == "message":
            return self._on_message(stamp, frame)
        if kind == "delta":
            return self._on_delta(stamp, frame)
        if kind == "done":
            return self._on_done(stamp, frame)
        if kind not in {"routes", "session"}:
            self._error(f"protocol violation: unknown frame type {kind!r}")
        return None

    def _on_message(self, stamp: float, frame: Frame) -> str | None:
        created = frame.get("createdAt")
        if not isinstance(created, int):
            self._error("protocol violation: a message frame without createdAt")
            return None
        if created in self._seen:
            self.record.live_duplicates += 1
        self._seen.add(created)
        turn = self.turn
        if turn is None:
            return None
        if frame.get("role") == "USER" and frame.get("clientMessageId") == turn.client_message_id:
            turn.created_at = created
            self.metrics.put_ms.append((stamp - turn.sent_at) * 1000)
        elif _is_final(frame) and turn.created_at is not None:
            if frame.get("replyTo") == turn.created_at:
                self.metrics.model_id = self.metrics.model_id or frame.get("model")
                self._reply(turn, str(frame.get("replyId"))).live_final = frame.get("message")
        return None

    def _on_delta(self, stamp: float, frame: Frame) -> str | None:
        turn, reply_id, seq = self.turn, frame.get("replyId"), frame.get("seq")
        if not isinstance(reply_id, str) or not isinstance(seq, int):
            self._error("protocol violation: a delta without replyId or seq")
            return None
        if turn is None or reply_id in self._known:
            return None  # a reply of an earlier turn, still streaming to another socket
        if turn.reply is not None and turn.reply.reply_id != reply_id:
            self._error(f"protocol violation: delta of reply {reply_id} inside another")
            return None
        first = turn.reply is None
        reply = self._reply(turn, reply_id)
        if not reply.add_delta(seq, str(frame.get("text", ""))) or reply.dropped:
            return None
        if first:
            self.metrics.ttfd_ms.append((stamp - turn.sent_at) * 1000)
            self.metrics.ttfd_at_s.append(stamp - self.metrics.started)
        else:
            self.metrics.gap_ms.append((stamp - turn.last_delta_at) * 1000)
        turn.last_delta_at = stamp
        if turn.drop_after is not None and len(reply.deltas) >= turn.drop_after:
            reply.dropped = True
            return "drop"
        return None

    def _on_done(self, stamp: float, frame: Frame) -> str | None:
        turn, reply_id = self.turn, str(frame.get("replyId"))
        if turn is None or reply_id in self._known or turn.created_at is None:
            return None
        if turn.reply is not None and turn.reply.reply_id != reply_id:
            return None
        reply = self._reply(turn, reply_id)
        reply.status, reply.usage = frame.get("status"), frame.get("usage")
        self.metrics.replies += 1
        self.metrics.add_usage(reply.usage)
        if not reply.dropped:
            self.metrics.reply_ms.append((stamp - turn.sent_at) * 1000)
            self.metrics.frames_per_reply.append(len(reply.deltas) + reply.duplicate_seqs)
            self.metrics.tokens_per_reply.append((reply.usage or {}).get("outputTokens", 0))
        if reply.status == "error":
            self.metrics.errors += 1
        return "done"

    def _reply(self, turn: Turn, reply_id: str) -> ReplyView:
        if turn.reply is None:
            turn.reply = ReplyView(reply_id, turn.client_message_id)
            self.record.replies.append(turn.reply)
        return turn.reply

    def _error(self, text: str) -> None:
        self.record.errors.append(text)
        self.metrics.errors += 1


def _is_final(frame: dict[str, Any]) -> bool:
    return frame.get("role") == "AGENT" and frame.get("messageType") == "CONVERSATION"
