"""Storing a streaming reply's text so far, at a bounded cost (docs/recovery.md).

A checkpoint is written every ``checkpoint_s`` seconds while new text has streamed, or at
once when ``checkpoint_bytes`` more have streamed since the last one, whichever comes
first; never for text already stored. Each replaces the session's one checkpoint, so a
reply of T seconds and B bytes costs about T / checkpoint_s + B / checkpoint_bytes writes,
whatever its number of deltas. A crash loses at most the text of one interval.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import anyio

from core.domain import ReplyCheckpoint
from core.errors import BackendUnavailable, FenceRejected
from core.ports import ChatStore

log = logging.getLogger(__name__)


class Checkpointer:
    """Runs beside a reply's generation (``run``); ``on_text`` is told of each delta. When
    the store refuses a checkpoint because a newer fence took the session, ``fenced`` is
    set and ``scope`` (the generation) is cancelled: the reply must stop writing."""

    def __init__(
        self,
        store: ChatStore,
        template: ReplyCheckpoint,
        text: Callable[[], str],
        interval_s: float,
        max_bytes: int,
        scope: anyio.CancelScope,
        cut: Callable[[str], str] = lambda text: text,
    ) -> None:
        self._store = store
        self._template = template
        self._text = text
        self._interval = interval_s if interval_s > 0 else None
        self._max_bytes = max_bytes
        self._scope = scope
        self._cut = cut
        self._unsaved_bytes = 0
        self._saved_chars = 0
        self._wake = anyio.Event()
        self.fenced = False
        self.writes = 0

    def on_text(self, delta: str) -> None:
        # Told once per token: an ASCII token's length is its size, without encoding it.
        size = len(delta) if delta.isascii() else len(delta.encode("utf-8", "surrogatepass"))
        self._unsaved_bytes += size
        if self._max_bytes and self._unsaved_bytes >= self._max_bytes:
            self._wake.set()

    async def run(self) -> None:
        while True:
            with anyio.move_on_after(self._interval):
                await self._wake.wait()
            self._wake = anyio.Event()
            await self.save()

    async def save(self) -> None:
        """Stores the text so far, when some is not stored yet."""
        text = self._text()
        if len(text) == self._saved_chars:
            return
        self._unsaved_bytes = 0
        checkpoint = ReplyCheckpoint(
            self._template.session_id,
            self._template.reply_id,
            self._template.reply_to,
            self._template.fence,
            self._cut(text),
            self._template.message_type,
        )
        try:
            await self._store.checkpoint_reply(checkpoint)
        except FenceRejected:
            log.warning("reply %s fenced off: another replier took over", checkpoint.reply_id)
            self.fenced = True
            self._scope.cancel()
            return
        except BackendUnavailable as exc:
            # Best effort: the reply goes on and its final message is stored as usual.
            log.warning("checkpoint of reply %s not stored: %s", checkpoint.reply_id, exc)
            return
        self._saved_chars = len(text)
        self.writes += 1
