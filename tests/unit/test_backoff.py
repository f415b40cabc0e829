"""The one backoff: its schedule, and the retry loop every adapter runs it through."""

from __future__ import annotations

import pytest

from adapters.backoff import RetriesExhausted, RetryPolicy, full_jitter, retrying

pytestmark = pytest.mark.anyio


def test_full_jitter_doubles_up_to_the_cap() -> None:
    top = [full_jitter(retry, 0.1, 1.0, rand=lambda: 1.0) for retry in range(6)]
    assert top == [0.1, 0.2, 0.4, 0.8, 1.0, 1.0]
    assert full_jitter(3, 0.1, 1.0, rand=lambda: 0.0) == 0.0
    assert full_jitter(2, 0.1, 1.0, rand=lambda: 0.5) == pytest.approx(0.2)


class Flaky:
    def __init__(self, failures: list[Exception]) -> None:
        self.failures = failures
        self.calls = 0

    async def __call__(self) -> str:
        self.calls += 1
        if self.failures:
            raise self.failures.pop(0)
        return "done"


async def test_retryable_errors_are_retried_with_the_policy_s_waits() -> None:
    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)

    call = Flaky([TimeoutError(), TimeoutError()])
    policy = RetryPolicy(max_attempts=3, base_delay_s=0.1, max_delay_s=1.0)
    result = await retrying(call, policy, lambda e: isinstance(e, TimeoutError), sleep)
    assert (result, call.calls, len(waits)) == ("done", 3, 2)
    assert 0 <= waits[0] <= 0.1 and 0 <= waits[1] <= 0.2


async def test_an_error_not_worth_retrying_propagates_at_once() -> None:
    call = Flaky([ValueError("refused")])
    with pytest.raises(ValueError, match="refused"):
        await retrying(call, RetryPolicy(max_attempts=5), lambda e: False, _no_sleep)
    assert call.calls == 1


async def test_exhausted_attempts_carry_the_last_error() -> None:
    call = Flaky([TimeoutError("1"), TimeoutError("2"), TimeoutError("3")])
    with pytest.raises(RetriesExhausted) as raised:
        await retrying(call, RetryPolicy(max_attempts=3), lambda e: True, _no_sleep)
    assert (raised.value.attempts, str(raised.value.last), call.calls) == (3, "3", 3)


async def _no_sleep(_seconds: float) -> None:
    return None
