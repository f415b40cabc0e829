"""Stub DynamoDB clients that answer from a script, raising what DynamoDB raises."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError


def client_error(code: str, status: int = 400, **extra: Any) -> ClientError:
    response: Any = {
        "Error": {"Code": code, "Message": f"{code} (stub)"},
        "ResponseMetadata": {"HTTPStatusCode": status},
        **extra,
    }
    return ClientError(response, "Stub")


class StubClient:
    """Answers every operation from a script: an exception to raise or a response."""

    def __init__(self, *script: Any, default: Any = None) -> None:
        self.script = list(script)
        self.default = default if default is not None else {}
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def __getattr__(self, operation: str) -> Any:
        async def call(**params: Any) -> Any:
            self.calls.append((operation, params))
            step = self.script.pop(0) if self.script else self.default
            if isinstance(step, BaseException):
                raise step
            return step

        return call
