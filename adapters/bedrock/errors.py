"""Bedrock's errors, mapped once, at the adapter's edge.

    what botocore / aiohttp raise                     becomes               retried*
    ├── ThrottlingException (429), throttlingException  ModelThrottled        yes
    │   in the stream, ModelNotReadyException (429)
    ├── ValidationException saying the input is too     ModelContextExceeded  no
    │   long for the model's context
    ├── ValidationException (400), validationException  ModelInvalidRequest   no
    │   in the stream, SDK configuration errors
    │   (ParamValidationError, ProfileNotFound ...)
    ├── AccessDeniedException (403)                     ModelInvalidRequest   no
    ├── ResourceNotFoundException (404)                 ModelInvalidRequest   no
    ├── ModelTimeoutException (408), read and connect   ModelTimeout          no
    │   timeouts (botocore's, or aiohttp's mid-stream)
    └── InternalServerException (500),                  ModelStreamError      yes
        ServiceUnavailableException (503), any 5xx,
        ModelErrorException (424), the stream's
        internalServerException / serviceUnavailable-
        Exception / modelStreamErrorException,
        connection errors and drops

    * with backoff, and only while nothing of the reply has been yielded yet.

Messages name Bedrock, the model and the reason; they never carry credentials (botocore's
messages hold none, and the adapter adds none).
"""

from __future__ import annotations

import asyncio
import re

import aiohttp
from botocore.eventstream import ParserError
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectTimeoutError,
    HTTPClientError,
    NoCredentialsError,
    ReadTimeoutError,
)
from botocore.exceptions import ConnectionError as BotoConnectionError
from botocore.parsers import ResponseParserError

from adapters.aws.retry import error_code as error_code
from adapters.aws.retry import http_status
from core.errors import (
    ModelContextExceeded,
    ModelError,
    ModelInvalidRequest,
    ModelStreamError,
    ModelThrottled,
    ModelTimeout,
)

THROTTLED = frozenset({"ThrottlingException", "throttlingException", "ModelNotReadyException"})
INVALID = frozenset({"ValidationException", "validationException"})
SERVER = frozenset(
    {
        "InternalServerException",
        "internalServerException",
        "ServiceUnavailableException",
        "serviceUnavailableException",
        "ModelErrorException",
        "modelStreamErrorException",
    }
)


_status = http_status

# How ValidationException words a prompt over the context window ("Input is too long for
# requested model.", Anthropic's "prompt is too long: 215000 tokens > 200000 maximum",
# others' "exceeds the maximum context length").
TOO_LONG = re.compile(
    r"too long|context (length|window)|maximum context|input length|too many (input )?tokens",
    re.IGNORECASE,
)


# Everything the SDK and its HTTP library raise; the model maps these and nothing else.
VENDOR_ERRORS = (
    ClientError,
    BotoCoreError,
    aiohttp.ClientError,
    asyncio.TimeoutError,
    ParserError,  # a corrupt event-stream frame
    ResponseParserError,
)
TIMEOUTS = (ReadTimeoutError, ConnectTimeoutError, asyncio.TimeoutError)
CONNECTION = (
    BotoConnectionError,
    HTTPClientError,
    aiohttp.ClientError,
    ParserError,
    ResponseParserError,
)


def is_retryable(exc: BaseException) -> bool:
    """Worth another attempt: throttling, a server-side failure, a dropped connection."""
    if isinstance(exc, ClientError):
        code = error_code(exc)
        return code in THROTTLED or code in SERVER or _status(exc) >= 500
    return isinstance(exc, CONNECTION) and not isinstance(exc, TIMEOUTS)


def map_error(exc: BaseException, model_id: str) -> ModelError:
    """The core error for a vendor exception; ``raise map_error(e, m) from e``."""
    if isinstance(exc, ClientError):
        return _client_error(exc, model_id)
    if isinstance(exc, TIMEOUTS):
        return ModelTimeout(f"Bedrock model {model_id} did not answer in time ({_describe(exc)}).")
    if isinstance(exc, CONNECTION):
        return ModelStreamError(
            f"Bedrock model {model_id}'s connection failed ({_describe(exc)}); "
            "whatever it sent before is kept."
        )
    if isinstance(exc, NoCredentialsError):
        return ModelInvalidRequest(
            "Bedrock cannot be called: no AWS credentials found (set AWS_PROFILE or "
            "AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, or run with an IAM role)."
        )
    # ParamValidationError, ProfileNotFound, a bad endpoint URL ...: retrying won't help.
    return ModelInvalidRequest(f"Bedrock cannot be called for model {model_id}: {_describe(exc)}")


def _client_error(exc: ClientError, model_id: str) -> ModelError:
    code = error_code(exc)
    message = str(exc.response.get("Error", {}).get("Message", "")).strip() or code
    if code in THROTTLED:
        if code == "ModelNotReadyException":
            return ModelThrottled(f"Bedrock model {model_id} is not ready yet: {message}")
        return ModelThrottled(f"Bedrock is throttling requests to model {model_id}: {message}")
    if code in INVALID and TOO_LONG.search(message):
        return ModelContextExceeded(
            f"Bedrock model {model_id} cannot take this much input: {message}"
        )
    if code in INVALID:
        return ModelInvalidRequest(f"Bedrock rejected the request to model {model_id}: {message}")
    if code == "AccessDeniedException":
        return ModelInvalidRequest(
            f"Bedrock denied access to model {model_id}: enable model access in the Bedrock "
            f"console and check the IAM policy allows bedrock:InvokeModelWithResponseStream "
            f"({message})."
        )
    if code == "ResourceNotFoundException":
        return ModelInvalidRequest(
            f"Bedrock has no model {model_id} in this Region: check AZUCHI_MODEL_ID and "
            f"AWS_REGION ({message})."
        )
    if code == "ModelTimeoutException":
        return ModelTimeout(f"Bedrock model {model_id} took too long to answer: {message}")
    if code not in SERVER and 400 <= _status(exc) < 500:  # a refusal that retrying will not change
        return ModelInvalidRequest(
            f"Bedrock refused the request to model {model_id} ({code}): {message}"
        )
    return ModelStreamError(f"Bedrock model {model_id} failed ({code}): {message}")


def _describe(exc: BaseException) -> str:
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
