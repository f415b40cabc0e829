"""What both OpenAI wire formats share: the error body every failed request carries, the
429 a throttled one gets, message content as text, and timestamps in seconds."""

from __future__ import annotations

import time
from typing import Any

from aiohttp import web

SERVER_ERROR = (
    "An error occurred while processing your request. You can retry your request, or contact "
    "us through our help center at help.openai.com if the error persists."
)


def error_response(
    status: int,
    message: str,
    param: str | None = None,
    code: str | None = None,
    kind: str = "invalid_request_error",
) -> web.Response:
    """An error shaped like OpenAI's, so the SDK raises the same exception it would there."""
    body = {"error": {"message": message, "type": kind, "param": param, "code": code}}
    return web.json_response(body, status=status)


def throttled() -> web.Response:
    """OpenAI's 429, with the reset header the SDK reads to time its retry (kept short)."""
    message = (
        "Rate limit reached for requests in organization org-stub on tokens per min (TPM): "
        "Limit 30000, Used 30000, Requested 120. Please try again in 20ms. Visit "
        "https://platform.openai.com/account/rate-limits to learn more."
    )
    response = error_response(429, message, code="rate_limit_exceeded", kind="tokens")
    response.headers["x-ratelimit-reset-tokens"] = "20ms"
    return response


def overloaded() -> web.Response:
    """A 503, as OpenAI answers when it is overloaded."""
    return error_response(
        503, "The server is overloaded or not ready yet.", kind="server_error", code=None
    )


def context_exceeded() -> web.Response:
    """OpenAI's 400 for a prompt over the model's context window."""
    return error_response(
        400,
        "This model's maximum context length is 128000 tokens. However, your messages "
        "resulted in 131072 tokens. Please reduce the length of the messages.",
        param="messages",
        code="context_length_exceeded",
    )


def text_of(content: Any) -> str:
    """A message's text, whether sent as a string or as a list of content parts."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):  # [{"type": "input_text", "text": ...}, ...]
        return "".join(str(p.get("text", "")) for p in content if isinstance(p, dict))
    return ""


def now() -> int:
    """Both APIs stamp objects with whole Unix seconds."""
    return int(time.time())
