"""What AWS adapters retry, for the SDK's errors and the lite client's alike.

    error answer with a throttling code or an HTTP 5xx  retried (adapters/backoff.py)
    connection errors, timeouts                         retried where a repeat is harmless
    every other error answer, client-side refusals      mapped by the adapter at once

An error answer is botocore's ``ClientError`` or the lite client's ``AwsError``, both with
``.response`` in botocore's shape (``adapters.aws.errors``, which imports no botocore).

Each adapter adds its own service's codes (DynamoDB's transaction conflicts) and maps what
is left to ``core.errors``; the schedule is ``adapters.backoff.RetryPolicy`` for all.
"""

from __future__ import annotations

from typing import Any

from adapters.aws.errors import client_errors, connection_errors
from adapters.backoff import RetryPolicy as RetryPolicy

THROTTLING_CODES = frozenset(
    {
        "ThrottlingException",
        "Throttling",
        "TooManyRequestsException",
        "LimitExceededException",
        "RequestLimitExceeded",
        "ProvisionedThroughputExceededException",
    }
)


def is_client_error(exc: BaseException | None) -> bool:
    """An error answer of the service (botocore's ClientError or the lite AwsError)."""
    return isinstance(exc, client_errors())


def error_code(exc: Any) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def error_message(exc: Any) -> str:
    return str(exc.response.get("Error", {}).get("Message", ""))


def http_status(exc: Any) -> int:
    status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
    return status if isinstance(status, int) else 0


def throttled(exc: Any, extra_codes: frozenset[str] = frozenset()) -> bool:
    """A throttling answer (429 or a throttling code, plus ``extra_codes``)."""
    code = error_code(exc)
    return code in THROTTLING_CODES or code in extra_codes or http_status(exc) == 429


def transient(exc: BaseException, extra_codes: frozenset[str] = frozenset()) -> bool:
    """Worth another attempt: throttled, a 5xx, or the connection failed."""
    if is_client_error(exc):
        return throttled(exc, extra_codes) or http_status(exc) >= 500
    return isinstance(exc, connection_errors())
