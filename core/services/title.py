"""Short session titles, proposed by the model after a session's first exchange."""

from __future__ import annotations

from core.domain import ModelRequest, TextDelta
from core.ports import ChatModel
from core.protocol import Frame, session_frame

TITLE_PROMPT = (
    "Write a title of at most six words for the conversation below. "
    "Answer with the title only: no quotes, no punctuation at the end."
)
MAX_TITLE_CHARS = 60


async def propose_title(model: ChatModel, user_text: str, reply: str) -> str | None:
    request = ModelRequest(
        system=TITLE_PROMPT,
        history=(),
        prompt=f"User: {user_text[:2000]}\n\nAssistant: {reply[:2000]}",
        purpose="title",
        max_output_tokens=24,
    )
    parts = [event.text async for event in model.stream(request) if isinstance(event, TextDelta)]
    return clean_title("".join(parts))


def clean_title(raw: str) -> str | None:
    line = next((ln for ln in raw.strip().splitlines() if ln.strip()), "")
    title = line.strip().strip("\"'“”‘’*#").strip().rstrip(".")
    if len(title) > MAX_TITLE_CHARS:
        title = title[: MAX_TITLE_CHARS - 1].rstrip() + "…"
    return title or None


def title_frame(session_id: str, title: str) -> Frame:
    return session_frame(session_id, title)
