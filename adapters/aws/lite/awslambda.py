"""Lambda's ``Invoke`` (restJson1): POST /2015-03-31/functions/{FunctionName}/invocations.

Answers as botocore does: ``StatusCode`` is the HTTP status (202 for an ``Event``
invocation), ``FunctionError``, ``LogResult`` and ``ExecutedVersion`` come from headers,
``Payload`` is a body with an async ``read()``.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from adapters.aws.lite.client import LiteService, metadata, service_endpoint

HEADERS = {
    "InvocationType": "X-Amz-Invocation-Type",
    "LogType": "X-Amz-Log-Type",
    "ClientContext": "X-Amz-Client-Context",
}


class StreamingBody:
    """The answer's body (aiobotocore's ``StreamingBody``: ``await body.read()``)."""

    def __init__(self, data: bytes) -> None:
        self._data = data

    async def read(self) -> bytes:
        data, self._data = self._data, b""
        return data


class LiteLambdaClient(LiteService):
    def __init__(
        self,
        endpoint: str | None = None,
        region: str = "us-east-1",
        *,
        connect_timeout_s: float = 2.0,
        read_timeout_s: float = 5.0,
    ) -> None:
        super().__init__(
            "lambda",
            region,
            "rest-json",
            connect_timeout_s=connect_timeout_s,
            read_timeout_s=read_timeout_s,
        )
        self.endpoint = (endpoint or service_endpoint("lambda", "LAMBDA", region)).rstrip("/")

    async def invoke(
        self,
        *,
        FunctionName: str,
        Payload: bytes | str = b"",
        Qualifier: str | None = None,
        **params: str,
    ) -> dict[str, Any]:
        url = f"{self.endpoint}/2015-03-31/functions/{quote(FunctionName.encode(), safe='-._~')}"
        url += "/invocations"
        if Qualifier:
            url += f"?Qualifier={quote(Qualifier.encode(), safe='-._~')}"
        headers = {HEADERS[name]: value for name, value in params.items() if name in HEADERS}
        if unknown := set(params) - set(HEADERS):
            raise TypeError(f"invoke() got unknown parameters {sorted(unknown)}")
        body = Payload.encode("utf-8") if isinstance(Payload, str) else bytes(Payload)
        response = await self.send("Invoke", "POST", url, headers, body)
        result: dict[str, Any] = {"StatusCode": response.status}
        for key, header in (
            ("FunctionError", "x-amz-function-error"),
            ("LogResult", "x-amz-log-result"),
            ("ExecutedVersion", "x-amz-executed-version"),
        ):
            if header in response.headers:
                result[key] = response.headers[header]
        result["Payload"] = StreamingBody(response.body)
        result["ResponseMetadata"] = metadata(response)
        return result
