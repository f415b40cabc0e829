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
    "regenerate",
    "editMessage",
    "approveTool",
    "denyTool",
)
# Offered (in the routes frame) to a signed-in connection only; anonymous callers are
# refused with SIGN_IN_REQUIRED.
SIGNED_IN_ROUTES = ("listSessions",)
MAX_TITLE_CHARS = 200  # a title the user gives a chat (renameSession)

DEFAULT_MAX_OUTPUT_TOKENS = 4096  # AZUCHI_MAX_OUTPUT_TOKENS: a reply's output budget

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
    # The model's context window (tokens); None: unknown, only the budget above bounds the
    # history. The history never takes more than the window leaves after the system prompt,
    # the user's message and the output budget (core.services.history.history_budget).
    context_window_tokens: int | None = None
    max_output_tokens: int = DEFAULT_MAX_OUTPUT_TOKENS
    page_default: int = 50
    page_max: int = 200
    max_agent_steps: int = 6  # model calls per reply (tool round trips + final answer)
    tool_timeout_s: float = 20.0  # one tool call; past it the step fails and the reply goes on
    max_tool_result_chars: int = 8_000  # a tool's answer is cut here (model input, AGENT_LOG)
    # Tools that wait for the user's approval before they run (core/services/approvals.py),
    # and how long a request waits before it expires.
    approval_tools: frozenset[str] = frozenset()
    approval_timeout_s: float = 900.0
    max_reply_bytes: int = 300_000  # stored reply text is cut here, UTF-8 (DynamoDB: 400 KB items)
    system_prompt: str = DEFAULT_SYSTEM_PROMPT
    make_titles: bool = True
    # Durable partial replies (docs/recovery.md): a streaming reply's text so far is stored
    # every checkpoint_s seconds, or as soon as checkpoint_bytes more have streamed (0: off).
    checkpoint_s: float = 5.0
    checkpoint_bytes: int = 8 * 1024
    # A lock backend that cannot be reached is tried again (doubling from the first delay)
    # for this long before the reply is left to a recovery sweep or the on-failure path.
    lock_retry_s: float = 120.0
    lock_retry_first_ms: int = 500

    @property
    def checkpointing(self) -> bool:
        return self.checkpoint_s > 0 or self.checkpoint_bytes > 0
