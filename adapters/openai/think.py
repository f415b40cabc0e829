"""Reasoning written inline as ``<think>…</think>`` (DeepSeek-R1, Qwen3, SmolLM3 and other
open-weight models served by chat-completions servers that do not split it out).

``ThinkSplitter`` is fed the reply's text as it streams and hands back pieces marked as
reasoning or text. A tag may arrive cut across chunks ("<thi" + "nk>"), so a tail that
could still become a tag is held back until the next chunk (or ``flush``) decides it.
"""

from __future__ import annotations

OPEN, CLOSE = "<think>", "</think>"
Piece = tuple[bool, str]  # (is reasoning, text)


class ThinkSplitter:
    def __init__(self) -> None:
        self._thinking = False
        self._held = ""
        self._trim = False  # the blank lines models put after </think> are not reply text

    def feed(self, chunk: str) -> list[Piece]:
        text, self._held = self._held + chunk, ""
        pieces: list[Piece] = []
        while text:
            tag = CLOSE if self._thinking else OPEN
            at = text.find(tag)
            if at >= 0:
                pieces.append((self._thinking, text[:at]))
                self._thinking = not self._thinking
                text = text[at + len(tag) :]
                continue
            keep = _partial_tag(text, tag)
            pieces.append((self._thinking, text[: len(text) - keep]))
            self._held = text[len(text) - keep :]
            break
        return self._clean(pieces)

    def _clean(self, pieces: list[Piece]) -> list[Piece]:
        out: list[Piece] = []
        for thinking, piece in pieces:
            if thinking:
                self._trim = True
            elif self._trim:
                piece = piece.lstrip()
                self._trim = not piece
            if piece:
                out.append((thinking, piece))
        return out

    def flush(self) -> list[Piece]:
        held, self._held = self._held, ""
        return self._clean([(self._thinking, held)])


def _partial_tag(text: str, tag: str) -> int:
    """How many characters at the end of ``text`` are the start of ``tag``."""
    for size in range(min(len(tag) - 1, len(text)), 0, -1):
        if text.endswith(tag[:size]):
            return size
    return 0
