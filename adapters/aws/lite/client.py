"""One AWS service over the lite HTTP pool: sign, send, turn an error answer into
``AwsError`` the way botocore's parsers read it."""

from __future__ import annotations

import http.client
import json
import os
import sys
from collections.abc import Mapping
from types import TracebackType
from typing import Any, Literal

from adapters.aws.lite.errors import AwsError
from adapters.aws.lite.http import HttpPool, HttpResponse, tls_context
from adapters.aws.lite.sigv4 import Credentials, host_header, sign

Protocol = Literal["json", "rest-json"]
USER_AGENT = "azuchi-lite/1 Python/{}.{}.{}".format(*sys.version_info[:3])


def service_endpoint(
    prefix: str, env_suffix: str, region: str, env: Mapping[str, str] | None = None
) -> str:
    """The endpoint the SDK would use: ``AWS_ENDPOINT_URL_<SERVICE>``, ``AWS_ENDPOINT_URL``,
    else ``https://{prefix}.{region}.amazonaws.com`` (``.com.cn`` in China regions)."""
    env = os.environ if env is None else env
    given = env.get(f"AWS_ENDPOINT_URL_{env_suffix}") or env.get("AWS_ENDPOINT_URL")
    if given:
        return given.rstrip("/")
    suffix = "amazonaws.com.cn" if region.startswith("cn-") else "amazonaws.com"
    return f"https://{prefix}.{region}.{suffix}"


class LiteService:
    """Signs for ``signing_name`` in ``region``; credentials are read from the environment
    at each call (Lambda's role credentials; a test's dummies)."""

    def __init__(
        self,
        signing_name: str,
        region: str,
        protocol: Protocol,
        *,
        connect_timeout_s: float = 3.0,
        read_timeout_s: float = 10.0,
        max_connections: int = 50,
        credentials: Credentials | None = None,
    ) -> None:
        self.signing_name = signing_name
        self.region = region
        self.protocol = protocol
        self.pool = HttpPool(
            connect_timeout_s=connect_timeout_s,
            read_timeout_s=read_timeout_s,
            max_connections=max_connections,
        )
        self._credentials = credentials

    async def send(
        self, operation: str, method: str, url: str, headers: dict[str, str], body: bytes
    ) -> HttpResponse:
        credentials = self._credentials or Credentials.from_env()
        headers = {"Host": host_header(url), "User-Agent": USER_AGENT, **headers}
        signed = sign(
            method,
            url,
            headers,
            body,
            credentials=credentials,
            region=self.region,
            service=self.signing_name,
        )
        response = await self.pool.request(method, url, signed, body)
        if response.status >= 301:
            raise AwsError(operation, self.error_response(response))
        return response

    def error_response(self, response: HttpResponse) -> dict[str, Any]:
        """botocore's parse of an error answer: generic for a 5xx without a JSON body,
        else the code from ``__type`` (json) or ``x-amzn-ErrorType``, then the body's
        ``code`` (rest-json), else the HTTP status; the
        message from ``message``/``Message``, the body's other fields at the top."""
        body = _json_object(response.body)
        stripped = response.body.strip()
        generic = response.status >= 500 and (not stripped or stripped.startswith(b"<html>"))
        header_code = response.headers.get("x-amzn-errortype")
        code: Any
        if generic or body is None:
            code, message, fields = str(response.status), "", {}
            message = http.client.responses.get(response.status, "")
            if not generic and header_code:
                code = header_code
        else:
            message = body.get("message", body.get("Message", ""))
            if self.protocol == "rest-json":
                code = header_code or body.get("code", body.get("Code")) or body.get("__type")
            else:  # awsJson: botocore reads the body only
                code = body.get("__type")
            code = code or str(response.status)
            fields = {
                k: v for k, v in body.items() if k not in ("__type", "message", "Message", "code")
            }
        if isinstance(code, str):
            code = code.split(":", 1)[0].rsplit("#", 1)[-1]
        parsed: dict[str, Any] = {**fields, "Error": {"Code": code, "Message": message}}
        parsed["ResponseMetadata"] = metadata(response)
        return parsed

    async def aclose(self) -> None:
        self.pool.close()

    async def __aenter__(self) -> Any:
        # Opening is the init phase's warm-up (App.warm): the trust store is read here, once
        # per process, rather than inside the first event.
        if getattr(self, "endpoint", "").startswith("https:"):
            tls_context()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()


def metadata(response: HttpResponse) -> dict[str, Any]:
    """botocore's ``ResponseMetadata``."""
    out: dict[str, Any] = {}
    request_id = response.headers.get("x-amzn-requestid") or response.headers.get(
        "x-amz-request-id"
    )
    if request_id:
        out["RequestId"] = request_id
    out.update(HTTPStatusCode=response.status, HTTPHeaders=response.headers, RetryAttempts=0)
    return out


def _json_object(raw: bytes) -> dict[str, Any] | None:
    if not raw.strip():
        return {}
    try:
        value = json.loads(raw)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None
