"""Limits and knobs of the chat service (the composition root fills them from settings)."""

from __future__ import annotations

from dataclasses import dataclass

# API Gateway WebSocket limits: 128 KB per message, billed in 32 KB frames.
MAX_FRAME_BYTES = 128 * 1024
BILLING_FRAME_BYTES = 32 * 1024

ROUTES = (
    "putMessage",
    "getMessages",
    "stopGeneration",
    "renameSession",
    "deleteSession",
)
MAX_TITLE_CHARS = 200  # a title the user gives a chat (renameSession)

DEFAULT_SYSTEM_PROMPT = (
    "You are azuchi, a helpful assistant. Answer clearly and concisely. "
    "When a task needs several steps, first call update_plan with the steps, then work "
    "through them, using tools where they help."
)


@dataclass(frozen=True, slots=True)
class ChatConfig:
    max_message_bytes: int = 16 * 1024  # a user's message, UTF-8
    max_frame_bytes: int = MAX_FRAME_BYTES  # any frame sent to a client
    delta_frame_bytes: int = BILLING_FRAME_BYTES  # a coalesced delta frame never passes this
    coalesce_ms: int = 250  # deltas after the first are batched over this window
    lock_lease_ms: int = 30_000
    heartbeat_ms: int = 1_000  # lease extension and stop check while a reply streams
    history_items: int = 20  # history rebuilt from storage when agent memory is empty
    history_token_budget: int = 12_000  # estimated tokens of history sent to the model
    page_default: int = 50
    page_max: int = 200
    max_agent_steps: int = 6  # model calls per reply (tool round trips + final answer)
    max_reply_bytes: int = 300_000  # stored reply text is cut here, UTF-8 (DynamoDB: 400 KB items)
    system_prompt: str = DEFAULT_SYSTEM_PROMPT
    make_titles: bool = True
