"""Stream plumbing both OpenAI adapters share: retrying an attempt until its first event,
and turning streamed tool-call arguments into a dict.

Why retries stop at the first event: once a ``TextDelta`` has reached the caller it is on a
user's screen; a second attempt would stream a different reply after it. So a failure after
that point is raised, and the core keeps the partial text.
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import aclosing
from typing import Any

import anyio

from adapters.openai.client import OpenAIOptions, is_retryable, map_error, retry_delay
from core.domain import ModelEvent
from core.errors import ModelError

log = logging.getLogger(__name__)

Attempt = Callable[[], AsyncIterator[ModelEvent]]


async def with_retries(
    attempt: Attempt, options: OpenAIOptions, where: str
) -> AsyncIterator[ModelEvent]:
    """Runs ``attempt`` (an async generator that may raise SDK errors), retrying throttling
    and server errors with backoff while it has yielded nothing, and mapping every SDK error
    to a ``ModelError``. Other exceptions pass through untouched."""
    import openai

    retries = 0
    while True:
        started = False
        try:
            async with aclosing(attempt()) as events:  # type: ignore[type-var]
                async for event in events:
                    started = True
                    yield event
            return
        except ModelError:
            raise
        except (openai.OpenAIError, ValueError) as exc:
            if started or retries >= options.max_retries or not is_retryable(exc):
                raise map_error(exc, where, options.api_key) from exc
            retries += 1
            delay = retry_delay(retries, options.retry_base_s, exc)
            log.info("%s: %s; retry %d in %.2fs", where, type(exc).__name__, retries, delay)
        await anyio.sleep(delay)


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
