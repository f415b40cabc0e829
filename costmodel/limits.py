"""The worst model spend the limits allow: one client, and the whole deployment, per hour.

    azuchi cost --limits [--model ID] [--prices FILE]     (AZUCHI_LIMIT_* as set)

Pure arithmetic over the price table and the settings (core/services/limits.py):

- a reply's worst cost: ``max_agent_steps`` model calls, each reading the system prompt,
  the history budget, the longest message and what earlier steps added (their output and
  a tool result each), and writing ``max_output_tokens``; never more than the context
  window per call;
- one client (one address): the sessions it may start in an hour (the new-sessions bucket:
  burst + 60 × rate), each bounded by the lower of its message bucket (replies an hour ×
  the worst reply) and its daily tokens (priced all at the dearer output rate, plus one
  reply of overshoot: the cap is checked before a reply, not inside it);
- the deployment: the daily spend cap, plus the replies already running when it is
  crossed (``in_flight`` of them at the worst reply's cost), reachable within one hour.
A bound that a limit set to 0 leaves open is reported as unbounded (None).
"""

from __future__ import annotations

from dataclasses import dataclass

from adapters.pricing.table import PER_MILLION, ModelPrice
from core.config import ChatConfig
from core.services.limits import LimitsConfig

CHARS_PER_TOKEN = 4  # a tool result's characters per token (English prose, roughly)
BYTES_PER_TOKEN = 2  # a message's bytes per token, low on purpose: CJK text packs fewer


@dataclass(frozen=True, slots=True)
class SpendBounds:
    model_id: str
    worst_reply_usd: float
    replies_per_hour_per_session: int | None
    sessions_per_hour_per_client: int | None
    per_session_hour_usd: float | None
    per_client_hour_without_cap_usd: float | None
    per_client_hour_usd: float | None
    deployment_day_usd: float | None  # the cap plus the in-flight overshoot
    in_flight: int


def worst_reply_usd(price: ModelPrice, chat: ChatConfig) -> float:
    prompt = len(chat.system_prompt) // CHARS_PER_TOKEN + 1
    message = chat.max_message_bytes // BYTES_PER_TOKEN
    growth = chat.max_output_tokens + chat.max_tool_result_chars // CHARS_PER_TOKEN
    window = chat.context_window_tokens or price.context_window
    total = 0.0
    for step in range(chat.max_agent_steps):
        read = prompt + chat.history_token_budget + message + step * growth
        if window:
            read = min(read, window)
        total += read * price.input + chat.max_output_tokens * price.output
    return total / PER_MILLION


def spend_bounds(
    model_id: str, price: ModelPrice, chat: ChatConfig, limits: LimitsConfig, in_flight: int
) -> SpendBounds:
    reply = worst_reply_usd(price, chat)
    per_hour = limits.session_messages.per_hour() or None
    by_rate = None if per_hour is None else per_hour * reply
    tokens = limits.session_tokens_per_day
    by_tokens = (
        None if not tokens else tokens * max(price.input, price.output) / PER_MILLION + reply
    )
    session = _least(by_rate, by_tokens)
    sessions = limits.new_sessions.per_hour() or None
    client = None if session is None or sessions is None else session * sessions
    cap = limits.spend_per_day_usd
    deployment = cap + in_flight * reply if cap > 0 else None
    return SpendBounds(
        model_id,
        reply,
        per_hour,
        sessions,
        session,
        client,
        _least(client, deployment),
        deployment,
        in_flight,
    )


def _least(*bounds: float | None) -> float | None:
    known = [b for b in bounds if b is not None]
    return min(known) if known else None


def render(bounds: SpendBounds) -> str:
    def usd(value: float | None) -> str:
        return "unbounded (a limit is off)" if value is None else f"${value:,.2f}"

    rate = bounds.replies_per_hour_per_session
    sessions = bounds.sessions_per_hour_per_client
    return "\n".join(
        [
            f"Worst model spend the limits allow, priced as {bounds.model_id}",
            f"  worst single reply                    {usd(bounds.worst_reply_usd)}",
            f"  replies per hour, one session         {rate if rate else 'unbounded'}",
            f"  new sessions per hour, one address    {sessions if sessions else 'unbounded'}",
            f"  one session, per hour                 {usd(bounds.per_session_hour_usd)}",
            f"  one client (address), per hour        {usd(bounds.per_client_hour_without_cap_usd)}"
            "  (without the spend cap)",
            f"  one client (address), per hour        {usd(bounds.per_client_hour_usd)}  (with it)",
            f"  whole deployment, per day (and hour)  {usd(bounds.deployment_day_usd)}"
            f"  (spend cap + {bounds.in_flight} replies in flight)",
        ]
    )
