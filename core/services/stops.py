"""How a reply ended, in words the user reads: its status, its stop reason, and the
SYSTEM_LOG note that says what happened and what to do.

Every model adapter reports why its model stopped (``StreamEnded.stop_reason``, a
``StopReason``). A normal end (end_turn, stop_sequence, tool_use) needs no note; anything
else does, even when the reply has text: a reply cut at the token limit looks finished
otherwise. A reply with no text at all is never stored as complete.
"""

from __future__ import annotations

from dataclasses import dataclass

from core.domain import ReplyStatus, StopReason
from core.errors import AzuchiError, ModelContextExceeded

SAVED = "Your message is saved; send another message to try again."

NOTES: dict[StopReason, str] = {
    StopReason.MAX_TOKENS: (
        "The reply was cut short: the model reached its output limit. Ask it to continue, "
        "or for a shorter answer (the limit is AZUCHI_MAX_OUTPUT_TOKENS)."
    ),
    StopReason.CONTENT_FILTERED: (
        "The provider's content filter stopped the reply. Rephrase your message and send it again."
    ),
    StopReason.GUARDRAIL: (
        "A guardrail stopped the reply. Rephrase your message, or ask whoever runs this "
        "service about its guardrail."
    ),
    StopReason.REFUSAL: (
        "The model declined to answer this. Rephrase your message if you think it "
        "misunderstood you."
    ),
    StopReason.CONTEXT_WINDOW: (
        "The reply was cut short: the conversation filled the model's context window. "
        "Start a new chat, or ask for a shorter answer."
    ),
    StopReason.INCOMPLETE: (
        "The provider ended the reply before it was finished. Send another message to ask "
        "it to continue."
    ),
}
EMPTY = (
    "The model ended its turn without writing a reply. Send your message again, perhaps reworded."
)
EMPTY_AFTER_THINKING = (
    "The model spent its whole output budget thinking and wrote no reply. Ask a narrower "
    "question, or raise AZUCHI_MAX_OUTPUT_TOKENS (or lower the thinking budget)."
)
TOO_LONG = (
    "Your message is saved, but it does not fit this model's context window together with "
    "the conversation so far (azuchi already tried again with the older messages left out). "
    "Send a shorter message, or split it into parts; the chat goes on as before."
)


@dataclass(frozen=True, slots=True)
class Ending:
    status: ReplyStatus
    stop_reason: StopReason | None  # None only when the user stopped the reply
    note: str | None  # the SYSTEM_LOG text, when the user should be told something


def ending(
    status: ReplyStatus,
    failure: AzuchiError | None,
    model_stop: str,
    has_text: bool,
    thought: bool = False,
) -> Ending:
    """How a reply ended. ``status`` and ``failure`` are what the generation came to
    (stopped by the user, failed, or complete); ``model_stop`` is the model's last stop
    reason; ``thought`` says whether it streamed reasoning."""
    if status is ReplyStatus.STOPPED:
        note = None if has_text else "Stopped before the reply began."
        return Ending(status, None, note)
    if failure is not None:
        if isinstance(failure, ModelContextExceeded):
            return Ending(ReplyStatus.ERROR, StopReason.CONTEXT_WINDOW, TOO_LONG)
        kept = " The partial reply above is kept." if has_text else ""
        note = f"The reply failed ({failure.code}): {failure.message.rstrip('.')}.{kept} {SAVED}"
        return Ending(ReplyStatus.ERROR, StopReason.ERROR, note)
    stop = _normalised(model_stop)
    if not has_text:
        if stop.is_normal:
            note = EMPTY_AFTER_THINKING if thought else EMPTY
        elif stop is StopReason.MAX_TOKENS and thought:
            note = EMPTY_AFTER_THINKING
        else:
            note = _note(stop)
        return Ending(ReplyStatus.ERROR, stop, note)
    return Ending(status, stop, None if stop.is_normal else _note(stop))


def _note(stop: StopReason) -> str:
    return NOTES.get(stop, NOTES[StopReason.INCOMPLETE])


def _normalised(value: str) -> StopReason:
    try:
        return StopReason(value)
    except ValueError:
        return StopReason.INCOMPLETE
