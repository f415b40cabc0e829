"""What the lite client raises, shaped so ``adapters.aws.errors`` classifies it as botocore's.

AwsError            the service answered an error: ``.response`` as botocore's
                    ``ClientError.response`` (``Error.Code``/``Message``,
                    ``ResponseMetadata.HTTPStatusCode``, and the error's modelled
                    fields at the top: ``CancellationReasons``, ``Item``)
AwsConnectionError  no answer: refused, reset, DNS, TLS, connect or read timeout
                    (an ``OSError``, as botocore's are classified: worth retrying)
LiteClientError     refused before sending (no credentials, a blob that is no bytes):
                    botocore's ``BotoCoreError`` counterpart, not retried
"""

from __future__ import annotations

from typing import Any


class AwsError(Exception):
    """An error answer of an AWS service (botocore's ``ClientError``)."""

    def __init__(self, operation: str, response: dict[str, Any]) -> None:
        self.operation_name = operation
        self.response = response
        error = response.get("Error", {})
        super().__init__(
            f"An error occurred ({error.get('Code', 'Unknown')}) when calling the "
            f"{operation} operation: {error.get('Message', '')}"
        )

    @property
    def code(self) -> str:
        return str(self.response.get("Error", {}).get("Code", ""))


class AwsConnectionError(ConnectionError):
    """The request got no answer (refused, reset, timed out, TLS failed)."""


class AwsTimeout(AwsConnectionError):
    """Connect or read timeout."""


class LiteClientError(Exception):
    """Refused before anything was sent (botocore's ``BotoCoreError`` counterpart)."""


class NoCredentials(LiteClientError):
    """No AWS credentials in the environment (botocore's ``NoCredentialsError``)."""
