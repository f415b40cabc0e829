"""What both OpenAI adapters share: their settings, the SDK client, and the edge where the
SDK's errors become azuchi's.

The client is configured the way every OpenAI user already knows: ``OPENAI_API_KEY`` and
``OPENAI_BASE_URL`` (read from the settings' environment, which is the process environment
in production). The SDK's own retries are off (``max_retries=0``): azuchi retries itself,
and only before the first event of a stream, so that a retry never repeats text a user has
already seen.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from adapters.backoff import full_jitter
from adapters.model_common import common_model_fields, output_tokens
from adapters.settings import EnvReader, SettingsError
from core.domain import ModelRequest
from core.errors import (
    ModelContextExceeded,
    ModelError,
    ModelInvalidRequest,
    ModelStreamError,
    ModelThrottled,
    ModelTimeout,
)

if TYPE_CHECKING:
    from openai import AsyncOpenAI

log = logging.getLogger(__name__)

KEYLESS_PLACEHOLDER = "azuchi-no-key"  # local servers (Ollama, vLLM) ignore the key
MAX_RETRY_AFTER_S = 20.0
MAX_BACKOFF_S = 20.0  # the longest of our own waits, like the longest hint we follow
_SECRET = re.compile(r"\b(sk-[A-Za-z0-9_*\-]{3,})")
# How servers say the prompt is over the context window: OpenAI's code
# ``context_length_exceeded`` ("This model's maximum context length is ..."), vLLM's and
# llama.cpp's sentences ("... exceed context window of 2048", "the request exceeds the
# available context size").
CONTEXT_CODES = frozenset({"context_length_exceeded", "string_above_max_length"})
_TOO_LONG = re.compile(
    r"context (length|window|size)|maximum context|too many tokens|prompt is too long",
    re.IGNORECASE,
)


@dataclass(frozen=True, slots=True)
class OpenAIOptions:
    model_id: str  # AZUCHI_MODEL_ID
    max_output_tokens: int = 4096  # AZUCHI_MAX_OUTPUT_TOKENS
    temperature: float | None = None  # AZUCHI_TEMPERATURE (unset: the provider's default)
    timeout_s: float = 60.0  # AZUCHI_MODEL_TIMEOUT_S: connect, and each read of the stream
    max_retries: int = 3  # AZUCHI_MODEL_MAX_RETRIES (throttling / 5xx, before the first event)
    retry_base_s: float = 0.5  # AZUCHI_MODEL_RETRY_BASE_MS: first backoff, doubled each time
    reasoning_effort: str | None = None  # AZUCHI_OPENAI_REASONING_EFFORT (Responses only)
    reasoning_summary: str | None = None  # AZUCHI_OPENAI_REASONING_SUMMARY (Responses only)
    think_tags: bool = False  # AZUCHI_THINK_TAGS: <think>…</think> in replies is reasoning (chat)
    max_tokens_field: str = "max_tokens"  # AZUCHI_OPENAI_MAX_TOKENS_FIELD (chat only)
    api_key: str | None = None  # OPENAI_API_KEY
    base_url: str | None = None  # OPENAI_BASE_URL

    @classmethod
    def from_env(cls, env: Mapping[str, str], default_model: str) -> OpenAIOptions:
        read = EnvReader(env)
        field = read.name("AZUCHI_OPENAI_MAX_TOKENS_FIELD", "max_tokens")
        if field not in ("max_tokens", "max_completion_tokens"):
            raise SettingsError(
                f"AZUCHI_OPENAI_MAX_TOKENS_FIELD={field!r} must be max_tokens or "
                "max_completion_tokens"
            )
        return cls(
            **common_model_fields(env, default_model),
            reasoning_effort=(env.get("AZUCHI_OPENAI_REASONING_EFFORT") or "").strip() or None,
            reasoning_summary=_summary(read),
            think_tags=read.bool("AZUCHI_THINK_TAGS", False),
            max_tokens_field=field,
            api_key=(env.get("OPENAI_API_KEY") or "").strip() or None,
            base_url=(env.get("OPENAI_BASE_URL") or "").strip() or None,
        )

    def output_tokens(self, request: ModelRequest) -> int:
        return output_tokens(self.max_output_tokens, request.max_output_tokens)


def _summary(read: EnvReader) -> str | None:
    value = read.name("AZUCHI_OPENAI_REASONING_SUMMARY", "")
    if value and value not in ("auto", "concise", "detailed"):
        raise SettingsError(
            f"AZUCHI_OPENAI_REASONING_SUMMARY={value!r} must be auto, concise or detailed"
        )
    return value or None


def make_client(options: OpenAIOptions, *, key_required: bool) -> AsyncOpenAI:
    """The SDK client. Without ``OPENAI_API_KEY`` a placeholder is sent, which local servers
    ignore; only OpenAI's own endpoint (no ``OPENAI_BASE_URL``) makes a missing key an error
    when ``key_required``."""
    from openai import AsyncOpenAI

    api_key = options.api_key
    if api_key is None:
        if key_required and options.base_url is None:
            raise SettingsError(
                "OPENAI_API_KEY is not set: the openai model adapter needs it to call OpenAI "
                "(or set OPENAI_BASE_URL to a local server that needs no key)"
            )
        api_key = KEYLESS_PLACEHOLDER
    return AsyncOpenAI(
        api_key=api_key, base_url=options.base_url, timeout=options.timeout_s, max_retries=0
    )


def is_retryable(exc: BaseException) -> bool:
    """Throttling, server errors and a connection that could not be made or dropped may
    pass; a request the server rejected will not, an exhausted quota (also HTTP 429) will
    not either, and neither will a timeout (a slow server stays slow; as for Bedrock)."""
    import openai

    if isinstance(exc, openai.RateLimitError):
        return exc.code != "insufficient_quota"
    if isinstance(exc, openai.APITimeoutError):
        return False
    if isinstance(exc, openai.APIConnectionError):
        return True
    return isinstance(exc, openai.APIStatusError) and exc.status_code >= 500


def retry_delay(attempt: int, base_s: float, exc: BaseException) -> float:
    """Exponential backoff with full jitter, or the server's ``retry-after`` when it sends one."""
    response = getattr(exc, "response", None)
    headers: Mapping[str, str] = getattr(response, "headers", None) or {}
    for header, scale in (("retry-after-ms", 0.001), ("retry-after", 1.0)):
        try:
            hinted = float(headers[header]) * scale
        except (KeyError, ValueError):
            continue
        if 0 <= hinted <= MAX_RETRY_AFTER_S:
            return hinted
    return full_jitter(attempt - 1, base_s, MAX_BACKOFF_S)


def map_error(exc: BaseException, where: str, secret: str | None = None) -> ModelError:
    """The azuchi error for an SDK error, as a sentence naming the provider (``where``)
    and the reason, with any API key scrubbed out."""
    import openai

    detail = scrub(_detail(exc), secret)
    if isinstance(exc, openai.APITimeoutError):
        return ModelTimeout(f"{where} did not answer in time ({detail})")
    if isinstance(exc, openai.APIConnectionError):
        return ModelStreamError(
            f"{where} could not be reached or dropped the connection ({detail})"
        )
    if isinstance(exc, openai.RateLimitError):
        if exc.code == "insufficient_quota":
            return ModelError(
                f"{where} refused the request: the account's quota is used up ({detail})"
            )
        return ModelThrottled(f"{where} is throttling requests (HTTP 429): {detail}")
    if isinstance(exc, openai.APIStatusError):
        status = exc.status_code
        if status in (401, 403):
            return ModelError(f"{where} rejected the credentials (HTTP {status}): {detail}")
        if status == 408:
            return ModelTimeout(f"{where} timed out the request (HTTP 408): {detail}")
        if status >= 500:
            return ModelStreamError(f"{where} failed (HTTP {status}): {detail}")
        if is_context_error(exc.code, detail):
            return ModelContextExceeded(f"{where} cannot take this much input: {detail}")
        return ModelInvalidRequest(f"{where} rejected the request (HTTP {status}): {detail}")
    if isinstance(exc, openai.APIError) and is_context_error(exc.code, detail):
        return ModelContextExceeded(f"{where} cannot take this much input: {detail}")
    if isinstance(exc, openai.APIError):  # an error payload inside a stream
        return ModelStreamError(f"{where} failed in the middle of the reply: {detail}")
    return ModelStreamError(f"{where} sent a stream azuchi could not read: {detail}")


def is_context_error(code: object, message: str) -> bool:
    """True when an error says the prompt does not fit the model's context."""
    return code in CONTEXT_CODES or bool(_TOO_LONG.search(message))


def scrub(text: str, secret: str | None = None) -> str:
    if secret and secret != KEYLESS_PLACEHOLDER:
        text = text.replace(secret, "***")
    return _SECRET.sub("sk-***", text)


def _detail(exc: BaseException) -> str:
    """The provider's own sentence: the error body's ``message`` where there is one."""
    body = getattr(exc, "body", None)
    if isinstance(body, dict) and isinstance(body.get("message"), str) and body["message"]:
        return str(body["message"]).strip()
    message = getattr(exc, "message", None) or str(exc) or type(exc).__name__
    return str(message).strip()
