"""The one backoff in azuchi: bounded attempts, exponential delays with full jitter.

Every adapter that retries (DynamoDB, API Gateway, Lambda Invoke, Bedrock, OpenAI, the lean
agent memory's write conflicts) takes its delays from here, so a retry schedule is one
thing to read and test. Full jitter — a uniform draw in [0, min(cap, base · 2^retry)] —
spreads the retries of many callers that failed together (AWS Architecture Blog,
"Exponential Backoff And Jitter"); botocore's own retries are switched off in the AWS
adapters so that this is the only schedule and it can be tested with a fake sleep.
"""

from __future__ import annotations

import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

import anyio

T = TypeVar("T")


def full_jitter(
    retry: int, base_s: float, cap_s: float, rand: Callable[[], float] = random.random
) -> float:
    """The wait before retry number ``retry`` (counted from 0)."""
    return rand() * min(cap_s, base_s * 2.0 ** max(0, retry))


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Attempts in all (first try included) and the backoff between them."""

    max_attempts: int = 6
    base_delay_s: float = 0.025
    max_delay_s: float = 1.0

    def delay(self, retry: int, rand: Callable[[], float] = random.random) -> float:
        """Full jitter: uniform in [0, min(cap, base * 2**retry)]."""
        return full_jitter(retry, self.base_delay_s, self.max_delay_s, rand)


class RetriesExhausted(Exception):
    """Every attempt failed with an error worth retrying; ``last`` is the final one."""

    def __init__(self, last: BaseException, attempts: int) -> None:
        super().__init__(f"{attempts} attempts failed; last: {last!r}")
        self.last = last
        self.attempts = attempts


async def retrying(
    call: Callable[[], Awaitable[T]],
    policy: RetryPolicy,
    retryable: Callable[[BaseException], bool],
    sleep: Callable[[float], Awaitable[None]] = anyio.sleep,
) -> T:
    """``await call()``, again after a backoff while it raises what ``retryable`` accepts.
    An error it does not accept propagates at once; when the attempts run out,
    ``RetriesExhausted`` carries the last error (the caller words both for its user)."""
    for attempt in range(policy.max_attempts):
        if attempt:
            await sleep(policy.delay(attempt - 1))
        try:
            return await call()
        except Exception as exc:
            if not retryable(exc):
                raise
            if attempt == policy.max_attempts - 1:
                raise RetriesExhausted(exc, policy.max_attempts) from exc
    raise ValueError("a retry policy needs at least one attempt")
