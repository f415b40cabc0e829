"""DynamoDB's errors, mapped once, at the adapters' edge.

    error (botocore's, or the lite client's alike)  becomes
    ├── throttling (ProvisionedThroughputExceeded,  retried: bounded attempts, exponential
    │   ThrottlingException, RequestLimitExceeded),  backoff with full jitter; then
    │   5xx, transaction conflicts, connection       core.errors.BackendUnavailable
    │   errors and timeouts
    ├── ConditionalCheckFailedException             ConditionFailed: the caller gives it its
    │                                               domain meaning (key taken, lock held ...)
    ├── TransactionCanceledException                TransactionCancelled(reasons), one reason
    │                                               per item, for the caller to read
    ├── ValidationException                         core.errors.ValueNotStorable: the request
    │                                               is wrong (a number past 38 digits ...);
    │                                               the backend is up, retrying won't help
    └── anything else (missing table,               BackendUnavailable at once, saying why
        no credentials, access denied)

``ConditionFailed`` and ``TransactionCancelled`` never leave the adapters. botocore's own
retries are switched off (client.py) so that these are the only ones, and they can be tested;
the schedule is ``adapters/backoff.py``'s, shared by every adapter.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import anyio

from adapters.aws.errors import client_errors, sdk_errors
from adapters.aws.retry import RetryPolicy as RetryPolicy
from adapters.aws.retry import error_code as error_code
from adapters.aws.retry import is_client_error, transient
from adapters.backoff import RetriesExhausted, retrying
from core.errors import BackendUnavailable, ValueNotStorable

# DynamoDB's own codes worth retrying, beyond the throttling every AWS service shares.
THROTTLING_CODES = frozenset(
    {
        "TransactionConflictException",
        "TransactionInProgressException",
        "InternalServerError",
        "ServiceUnavailable",
    }
)
# Per-item reasons of a cancelled transaction that mean "try again", not "refused".
RETRYABLE_REASONS = frozenset(
    {
        "TransactionConflict",
        "ThrottlingError",
        "ProvisionedThroughputExceeded",
        "RequestLimitExceeded",
    }
)


class ConditionFailed(Exception):
    """A ConditionExpression was false; ``item`` is the stored item when it was asked for."""

    def __init__(self, item: dict[str, Any] | None = None) -> None:
        super().__init__("conditional check failed")
        self.item = item


class TransactionCancelled(Exception):
    """A transaction was cancelled; ``reasons`` holds one code per item ("None" when fine)."""

    def __init__(self, reasons: list[str]) -> None:
        super().__init__(f"transaction cancelled: {reasons}")
        self.reasons = reasons


class Caller:
    """Calls one operation of an injected DynamoDB client, with the mapping above."""

    def __init__(
        self,
        client: Any,
        policy: RetryPolicy | None = None,
        sleep: Callable[[float], Awaitable[None]] = anyio.sleep,
    ) -> None:
        self.client = client
        self.policy = policy or RetryPolicy()
        self._sleep = sleep

    async def __call__(self, operation: str, **params: Any) -> dict[str, Any]:
        async def attempt() -> dict[str, Any]:
            result: dict[str, Any] = await getattr(self.client, operation)(**params)
            return result

        try:
            return await retrying(attempt, self.policy, _retryable, self._sleep)
        except RetriesExhausted as exhausted:
            raise BackendUnavailable(
                f"DynamoDB is unavailable: {operation} still failed after "
                f"{exhausted.attempts} attempts ({_describe(exhausted.last)})."
            ) from exhausted.last
        except client_errors() as exc:
            raise _mapped(operation, params, exc) from exc
        except sdk_errors() as exc:  # no credentials, bad parameters: retrying won't help
            raise BackendUnavailable(f"DynamoDB {operation} failed: {exc}") from exc


def _retryable(exc: BaseException) -> bool:
    if is_client_error(exc) and error_code(exc) == "TransactionCanceledException":
        reasons = _reasons(exc)
        return (
            any(r in RETRYABLE_REASONS for r in reasons) and "ConditionalCheckFailed" not in reasons
        )
    return transient(exc, THROTTLING_CODES)


def _reasons(exc: Any) -> list[str]:
    return [str(r.get("Code", "None")) for r in exc.response.get("CancellationReasons") or []]


def _mapped(operation: str, params: dict[str, Any], exc: Any) -> Exception:
    code = error_code(exc)
    if code == "ConditionalCheckFailedException":
        return ConditionFailed(exc.response.get("Item"))
    if code == "TransactionCanceledException":
        return TransactionCancelled(_reasons(exc))
    message = exc.response.get("Error", {}).get("Message", "")
    if code == "ResourceNotFoundException":
        table = params.get("TableName", "a table")
        return BackendUnavailable(
            f"DynamoDB table {table} does not exist ({message}); "
            "create the tables with `azuchi tables create`."
        )
    if code == "ValidationException":
        return ValueNotStorable(f"DynamoDB refused a value of {operation}: {message}")
    return BackendUnavailable(f"DynamoDB refused {operation}: {code}: {message}")


def _describe(exc: BaseException | None) -> str:
    if is_client_error(exc):
        return error_code(exc) or str(exc)
    return f"{type(exc).__name__}: {exc}" if exc else "no attempt made"
