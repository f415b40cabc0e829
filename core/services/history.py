"""Bounding the history a model sees: the newest turns that fit a token budget.

Counting tokens exactly needs the provider's tokenizer; azuchi estimates four characters per
token, which is close for English and errs on the safe side for code. The bound keeps the
newest items, whole, and never starts on an assistant item (providers such as Bedrock require
the conversation to open with the user).
"""

from __future__ import annotations

from collections.abc import Sequence

from core.domain import HistoryItem

CHARS_PER_TOKEN = 4


def estimate_tokens(text: str) -> int:
    return max(1, -(-len(text) // CHARS_PER_TOKEN))


def alternating(items: Sequence[HistoryItem]) -> list[HistoryItem]:
    """The items with consecutive ones of one role joined (a turn paused for an approval is
    stored in parts: its text before and after the pause). Model APIs such as Bedrock's
    Converse refuse two user or two assistant messages in a row."""
    merged: list[HistoryItem] = []
    for item in items:
        if merged and merged[-1].role == item.role:
            merged[-1] = HistoryItem(item.role, merged[-1].content + "\n\n" + item.content)
        else:
            merged.append(item)
    return merged


def bound_history(
    items: Sequence[HistoryItem], max_items: int, token_budget: int
) -> list[HistoryItem]:
    """The newest items, at most ``max_items`` of them and at most ``token_budget`` estimated
    tokens together, oldest first, starting with a user item."""
    kept: list[HistoryItem] = []
    used = 0
    for item in reversed(items[-max_items:] if max_items > 0 else []):
        cost = estimate_tokens(item.content)
        if used + cost > token_budget:
            break
        kept.append(item)
        used += cost
    kept.reverse()
    while kept and kept[0].role != "user":
        kept.pop(0)
    return kept


def history_budget(
    budget: int, context_window: int | None, max_output_tokens: int, *texts: str
) -> int:
    """The history's token budget for one call: ``budget``, never more than what the
    context window leaves after ``texts`` (system prompt, the user's message) and room for
    the reply. The reply's room is the output budget, at most half the window, so that a
    small local model (2,048 tokens) with the default 4,096-token output budget still gets
    some history."""
    if context_window is None:
        return budget
    reserve = min(max_output_tokens, context_window // 2)
    left = context_window - reserve - sum(estimate_tokens(text) for text in texts)
    return max(0, min(budget, left))


def drop_oldest(items: Sequence[HistoryItem]) -> list[HistoryItem]:
    """The newer half of ``items`` (still starting with a user item): what a retry sends
    after the model said the conversation does not fit its context."""
    kept = list(items[len(items) // 2 + len(items) % 2 :])
    while kept and kept[0].role != "user":
        kept.pop(0)
    return kept
