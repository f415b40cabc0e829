"""What every real model adapter shares: the common model settings, and retrying a stream
only until its first event.

Why retries stop at the first event: once a ``TextDelta`` has reached the caller it is on a
user's screen; a second attempt would stream a different reply after it. So a failure after
that point is raised as a ``ModelError``, and the core keeps the partial text.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import aclosing
from typing import Any

import anyio

from adapters.settings import EnvReader, SettingsError
from core.config import DEFAULT_MAX_OUTPUT_TOKENS
from core.domain import ModelEvent
from core.errors import ModelError

log = logging.getLogger(__name__)

Attempt = Callable[[], AsyncIterator[ModelEvent]]


def common_model_fields(
    env: Mapping[str, str], default_model_id: str, max_temperature: float | None = None
) -> dict[str, Any]:
    """``model_id``, ``max_output_tokens``, ``temperature`` (None: the provider's default),
    ``timeout_s``, ``max_retries`` and ``retry_base_s`` from the ``AZUCHI_MODEL_*`` settings
    every adapter reads the same way."""
    read = EnvReader(env)
    temperature = None
    if (env.get("AZUCHI_TEMPERATURE") or "").strip():
        temperature = read.float("AZUCHI_TEMPERATURE", 0.0, low=0.0)
        if max_temperature is not None and temperature > max_temperature:
            raise SettingsError(
                f"AZUCHI_TEMPERATURE={temperature} must be at most {max_temperature:g}"
            )
    return {
        "model_id": (env.get("AZUCHI_MODEL_ID") or "").strip() or default_model_id,
        "max_output_tokens": read.int("AZUCHI_MAX_OUTPUT_TOKENS", DEFAULT_MAX_OUTPUT_TOKENS, low=1),
        "temperature": temperature,
        "timeout_s": read.float("AZUCHI_MODEL_TIMEOUT_S", 60.0, low=0.001),
        "max_retries": read.int("AZUCHI_MODEL_MAX_RETRIES", 3, low=0),
        "retry_base_s": read.int("AZUCHI_MODEL_RETRY_BASE_MS", 500, low=0) / 1000,
    }


def output_tokens(configured: int, requested: int) -> int:
    """The request's own budget wins when it is smaller (titles ask for a few tokens)."""
    return max(1, min(configured, requested))


async def retry_until_first_event(
    attempt: Attempt,
    *,
    where: str,
    max_retries: int,
    errors: tuple[type[BaseException], ...],
    retryable: Callable[[BaseException], bool],
    to_error: Callable[[BaseException], ModelError],
    delay: Callable[[int, BaseException], float],
    sleep: Callable[[float], Awaitable[None]] = anyio.sleep,
) -> AsyncIterator[ModelEvent]:
    """Runs ``attempt`` (an async generator over one provider call), retrying ``errors``
    that are ``retryable`` while it has yielded nothing (``delay(retry, exc)`` apart, retry
    counted from 1), and raising every one of them as ``to_error(exc)`` otherwise.
    ``ModelError`` and other exceptions pass through untouched."""
    retry = 0
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
        except errors as exc:
            if started or retry >= max_retries or not retryable(exc):
                raise to_error(exc) from exc
            retry += 1
            wait = delay(retry, exc)
            log.info("%s: %s; retry %d in %.2fs", where, type(exc).__name__, retry, wait)
        await sleep(wait)
