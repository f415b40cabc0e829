"""The AWS errors the adapters classify, from either client, without importing botocore.

    kind                 lite client (adapters.aws.lite)   SDK (botocore)
    an error answer      AwsError                          ClientError
    refused client-side  LiteClientError                   BotoCoreError
    no answer            AwsConnectionError (OSError)      ConnectionError, HTTPClientError

Both answers carry ``.response`` in botocore's shape, so ``adapters.aws.retry`` reads codes
and statuses alike. botocore's classes are looked up only when botocore is loaded already:
a process that never imported it cannot meet its exceptions, and a small Lambda function
must not pay for its import (README, "Cold starts").
"""

from __future__ import annotations

import sys

from adapters.aws.lite.errors import AwsError, LiteClientError


def client_errors() -> tuple[type[BaseException], ...]:
    """An error answer of the service (``.response`` holds its code and status)."""
    sdk = sys.modules.get("botocore.exceptions")
    return (AwsError,) if sdk is None else (AwsError, sdk.ClientError)


def sdk_errors() -> tuple[type[BaseException], ...]:
    """Refused by the client itself, or a botocore transport error."""
    sdk = sys.modules.get("botocore.exceptions")
    return (LiteClientError,) if sdk is None else (LiteClientError, sdk.BotoCoreError)


def failed_errors() -> tuple[type[BaseException], ...]:
    """Refused client-side, or no answer (what an adapter reports as "could not reach")."""
    return (*sdk_errors(), OSError)


def connection_errors() -> tuple[type[BaseException], ...]:
    """No answer: worth another attempt where a repeat is harmless."""
    sdk = sys.modules.get("botocore.exceptions")
    if sdk is None:
        return (OSError,)
    return (sdk.ConnectionError, sdk.HTTPClientError, OSError)
