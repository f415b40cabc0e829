"""Short session titles, proposed by the model after a session's first exchange.

Models do not keep to instructions about length and form, small local ones least of all,
so ``clean_title`` enforces them: the first line of what remains after any thinking
(``<think>…</think>``), without quotes, markdown or a "Title:" label, at most
``MAX_TITLE_WORDS`` words and ``MAX_TITLE_CHARS`` characters.
"""

from __future__ import annotations

import re

from core.domain import ModelRequest, TextDelta, Usage, UsageReported
from core.ports import ChatModel
from core.protocol import Frame, session_frame

MAX_TITLE_WORDS = 6
MAX_TITLE_CHARS = 60
TITLE_PROMPT = (
    f"Write a title of at most {MAX_TITLE_WORDS} words for the conversation below. "
    "Answer with the title only: no quotes, no punctuation at the end."
)
_THINKING = re.compile(r"<(think|thinking|reasoning)>.*?(</\1>|$)", re.IGNORECASE | re.DOTALL)
_LABEL = re.compile(r"^(title|session title)\s*[:：-]\s*", re.IGNORECASE)
_MARKDOWN = re.compile(r"[*_`#>~\[\]]+")
_QUOTES = "\"'“”‘’«»「」『』"


async def propose_title(model: ChatModel, user_text: str, reply: str) -> tuple[str | None, Usage]:
    """The title the model proposes (None when nothing usable), and what the call used:
    it is a model call like a reply's, counted against the same limits."""
    request = ModelRequest(
        system=TITLE_PROMPT,
        history=(),
        prompt=f"User: {user_text[:2000]}\n\nAssistant: {reply[:2000]}",
        purpose="title",
        max_output_tokens=24,
    )
    parts: list[str] = []
    usage = Usage()
    async for event in model.stream(request):
        if isinstance(event, TextDelta):
            parts.append(event.text)
        elif isinstance(event, UsageReported):
            usage = usage + event.usage
    return clean_title("".join(parts)), usage


def clean_title(raw: str) -> str | None:
    text = _THINKING.sub(" ", raw)
    line = next((ln for ln in text.splitlines() if _bare(ln)), "")
    title = _bare(line)
    words = title.split()
    if len(words) > MAX_TITLE_WORDS:
        title = " ".join(words[:MAX_TITLE_WORDS])
    if len(title) > MAX_TITLE_CHARS:
        title = title[: MAX_TITLE_CHARS - 1].rstrip() + "…"
    return title or None


def _bare(line: str) -> str:
    """A line without its markdown, label, list marker, quotes and closing punctuation."""
    text = _MARKDOWN.sub("", line).strip()
    text = re.sub(r"^(?:[-+]|\d+[.)])\s+", "", text)
    text = _LABEL.sub("", text).strip().strip(_QUOTES).strip()
    text = " ".join(text.split())
    return text.rstrip(".:;,!。").strip(_QUOTES).strip()


def title_frame(session_id: str, title: str) -> Frame:
    return session_frame(session_id, title)
