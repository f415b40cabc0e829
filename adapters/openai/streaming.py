"""Stream plumbing both OpenAI adapters share: the retry rule of every model adapter
(``adapters.model_common``) with the SDK's errors, and streamed tool-call arguments as a dict.
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from typing import Any

from adapters.model_common import Attempt, retry_until_first_event
from adapters.openai.client import OpenAIOptions, is_retryable, map_error, retry_delay
from core.domain import ModelEvent

log = logging.getLogger(__name__)


def with_retries(attempt: Attempt, options: OpenAIOptions, where: str) -> AsyncIterator[ModelEvent]:
    """``attempt`` (an async generator that may raise SDK errors), retried on throttling and
    server errors while it has yielded nothing, every SDK error mapped to a ``ModelError``."""
    import openai

    return retry_until_first_event(
        attempt,
        where=where,
        max_retries=options.max_retries,
        errors=(openai.OpenAIError, ValueError),
        retryable=is_retryable,
        to_error=lambda exc: map_error(exc, where, options.api_key),
        delay=lambda retry, exc: retry_delay(retry, options.retry_base_s, exc),
    )


def parse_arguments(raw: str | None, tool: str, where: str) -> dict[str, Any]:
    """A tool call's JSON arguments. Models sometimes stream invalid JSON; that call then
    gets ``{}`` (the tool reports what is missing) instead of failing the whole reply."""
    if not raw or not raw.strip():
        return {}
    try:
        value = json.loads(raw)
    except ValueError:
        log.warning("%s: tool %s got arguments that are not JSON: %.200r", where, tool, raw)
        return {}
    if not isinstance(value, dict):
        log.warning("%s: tool %s got arguments that are not an object: %.200r", where, tool, raw)
        return {}
    return value
