"""What AWS adapters retry, read once from botocore's errors.

    ClientError with a throttling code or an HTTP 5xx   retried (adapters/backoff.py)
    connection errors, timeouts (botocore, aiohttp)     retried where a repeat is harmless
    every other ClientError, BotoCoreError              mapped by the adapter at once

Each adapter adds its own service's codes (DynamoDB's transaction conflicts) and maps what
is left to ``core.errors``; the schedule is ``adapters.backoff.RetryPolicy`` for all.
"""

from __future__ import annotations

from botocore.exceptions import ClientError, HTTPClientError
from botocore.exceptions import ConnectionError as BotoConnectionError

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
CONNECTION_ERRORS: tuple[type[BaseException], ...] = (
    BotoConnectionError,
    HTTPClientError,
    OSError,
)


def error_code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def http_status(exc: ClientError) -> int:
    status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
    return status if isinstance(status, int) else 0


def throttled(exc: ClientError, extra_codes: frozenset[str] = frozenset()) -> bool:
    """A throttling answer (429 or a throttling code, plus ``extra_codes``)."""
    code = error_code(exc)
    return code in THROTTLING_CODES or code in extra_codes or http_status(exc) == 429


def transient(exc: BaseException, extra_codes: frozenset[str] = frozenset()) -> bool:
    """Worth another attempt: throttled, a 5xx, or the connection failed."""
    if isinstance(exc, ClientError):
        return throttled(exc, extra_codes) or http_status(exc) >= 500
    return isinstance(exc, CONNECTION_ERRORS)
