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
