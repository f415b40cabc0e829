"""The transport port on API Gateway's management API, through aioboto3 or the lite client
(``adapters.aws.lite.apigateway``; ``AZUCHI_AWS_CLIENT``), which answer and fail alike.

    management API answer                 becomes
    ├── 200 / 204                         delivered / closed
    ├── 410 GoneException                 core.errors.ConnectionGone (the fan-out then deletes
    │                                     that connection from the store)
    ├── 413 PayloadTooLargeException      PayloadTooLarge (normally refused here first: a frame
    │                                     over 128 KB of UTF-8 is never sent)
    ├── 429 LimitExceededException,       retried: AZUCHI_APIGW_MAX_ATTEMPTS attempts in all
    │   throttling                        (default 4), full-jitter backoff; then TransportError
    ├── 403 ForbiddenException            TransportError naming the usual causes (IAM policy,
    │                                     a custom domain as endpoint)
    └── anything else, unreachable        TransportError saying what failed and where

botocore's own retries are off, so the loop here is the only one and it can be tested.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import anyio

from adapters.apigateway.endpoint import endpoint_from_event
from adapters.aws.clients import LazyClient, shared_session
from adapters.aws.errors import client_errors, failed_errors
from adapters.aws.retry import RetryPolicy, error_code, is_client_error, throttled
from adapters.backoff import RetriesExhausted, retrying
from adapters.settings import EnvReader
from core.config import MAX_FRAME_BYTES
from core.errors import ConnectionGone, PayloadTooLarge, TransportError

if TYPE_CHECKING:
    from botocore.config import Config

# Opens a management API client for an endpoint URL (aioboto3's, or a test's stub).
OpenClient = Callable[[str], AbstractAsyncContextManager[Any]]


@dataclass(frozen=True, slots=True)
class ApiGatewayOptions:
    """``AZUCHI_APIGW_ENDPOINT`` (else taken from each API Gateway event),
    ``AZUCHI_APIGW_MAX_ATTEMPTS`` (default 4), ``AWS_REGION`` / ``AWS_DEFAULT_REGION``."""

    endpoint: str | None = None
    region: str = "us-east-1"
    retry: RetryPolicy = field(
        default_factory=lambda: RetryPolicy(max_attempts=4, base_delay_s=0.05, max_delay_s=1.0)
    )
    connect_timeout_s: float = 2.0
    read_timeout_s: float = 5.0
    max_pool_connections: int = 50  # a fan-out posts to every connection of a session at once

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> ApiGatewayOptions:
        read = EnvReader(env)
        attempts = read.int("AZUCHI_APIGW_MAX_ATTEMPTS", 4, low=1)
        return cls(
            endpoint=(env.get("AZUCHI_APIGW_ENDPOINT") or "").strip().rstrip("/") or None,
            region=env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or "us-east-1",
            retry=RetryPolicy(max_attempts=attempts, base_delay_s=0.05, max_delay_s=1.0),
        )

    def botocore_config(self) -> Config:
        from botocore.config import Config

        return Config(
            retries={"total_max_attempts": 1, "mode": "standard"},
            connect_timeout=self.connect_timeout_s,
            read_timeout=self.read_timeout_s,
            max_pool_connections=self.max_pool_connections,
        )


def aioboto3_client(options: ApiGatewayOptions) -> OpenClient:
    def open_client(endpoint: str) -> AbstractAsyncContextManager[Any]:
        client: AbstractAsyncContextManager[Any] = shared_session().client(
            "apigatewaymanagementapi",
            endpoint_url=endpoint,
            region_name=options.region,
            config=options.botocore_config(),
        )
        return client

    return open_client


def lite_client(options: ApiGatewayOptions) -> OpenClient:
    def open_client(endpoint: str) -> AbstractAsyncContextManager[Any]:
        from adapters.aws.lite.apigateway import LiteManagementClient

        return LiteManagementClient(
            endpoint,
            options.region,
            connect_timeout_s=options.connect_timeout_s,
            read_timeout_s=options.read_timeout_s,
            max_connections=options.max_pool_connections,
        )

    return open_client


class ApiGatewayTransport:
    """Delivers frames with ``PostToConnection`` and closes with ``DeleteConnection``.

    One client is opened on first use and reused by every later call (warm Lambda
    invocations included) until ``aclose``. Without ``AZUCHI_APIGW_ENDPOINT`` the endpoint
    comes from the events the Lambda runtime hands to ``bind_event``.
    """

    def __init__(
        self,
        options: ApiGatewayOptions | None = None,
        *,
        open_client: OpenClient | None = None,
        sleep: Callable[[float], Awaitable[None]] = anyio.sleep,
        max_payload_bytes: int = MAX_FRAME_BYTES,
    ) -> None:
        self.options = options or ApiGatewayOptions()
        self._open = open_client or aioboto3_client(self.options)
        self._sleep = sleep
        self._max = max_payload_bytes
        self._bound: str | None = None
        self._lazy = LazyClient()

    @property
    def max_payload_bytes(self) -> int:
        return self._max

    @property
    def endpoint(self) -> str | None:
        """The management endpoint in use: the setting, else the last event's API."""
        return self.options.endpoint or self._bound

    def bind_event(self, event: Mapping[str, Any]) -> None:
        """Learns the endpoint from an API Gateway event (called by the Lambda runtime before
        each event); events from elsewhere, or a configured endpoint, leave it unchanged."""
        if self.options.endpoint is None:
            self._bound = endpoint_from_event(event, self.options.region) or self._bound

    async def send(self, connection_id: str, data: str) -> None:
        payload = data.encode("utf-8")
        if len(payload) > self._max:
            raise PayloadTooLarge(
                f"A frame of {len(payload)} bytes passes the {self._max}-byte limit."
            )
        await self._call("post_to_connection", "post to", connection_id, Data=payload)

    async def close(self, connection_id: str) -> None:
        await self._call("delete_connection", "close", connection_id)

    async def warm(self) -> None:
        """Opens the client when the endpoint is known already (``AZUCHI_APIGW_ENDPOINT``);
        no call is made."""
        if self.endpoint is not None:
            await self._connected()

    async def aclose(self) -> None:
        await self._lazy.aclose()

    async def _call(self, operation: str, what: str, connection_id: str, **params: Any) -> None:
        endpoint = self.endpoint

        async def attempt() -> None:
            nonlocal endpoint
            client, endpoint = await self._connected()
            await getattr(client, operation)(ConnectionId=connection_id, **params)

        try:
            await retrying(attempt, self.options.retry, _throttled, self._sleep)
        except RetriesExhausted as exhausted:
            last = exhausted.last
            code = error_code(last) if is_client_error(last) else "throttled"
            raise TransportError(
                f"API Gateway kept throttling requests to {what} connection {connection_id}: "
                f"{code} after {exhausted.attempts} attempts."
            ) from last
        except client_errors() as exc:
            raise _mapped(exc, what, connection_id, endpoint or "?") from exc
        except failed_errors() as exc:
            raise TransportError(
                f"Could not {what} connection {connection_id}: API Gateway's management "
                f"API at {endpoint} did not answer ({type(exc).__name__}: {exc})."
            ) from exc

    async def _connected(self) -> tuple[Any, str]:
        endpoint = self.endpoint
        if endpoint is None:
            raise TransportError(
                "No API Gateway management endpoint is known: set AZUCHI_APIGW_ENDPOINT to "
                "https://{apiId}.execute-api.{region}.amazonaws.com/{stage} (a function that "
                "API Gateway does not invoke, such as the reply worker, always needs it)."
            )
        # A Lambda serves one API, so the endpoint changes at most once, when the first event
        # arrives; the old client is closed then.
        client = await self._lazy.get(lambda: self._open(endpoint), key=endpoint)
        return client, endpoint


def _throttled(exc: BaseException) -> bool:
    # Only throttling is retried: a post that timed out may have been delivered already.
    return is_client_error(exc) and throttled(exc)


def _mapped(exc: Any, what: str, connection_id: str, endpoint: str) -> Exception:
    code = error_code(exc)
    message = exc.response.get("Error", {}).get("Message", "")
    if code == "GoneException":
        return ConnectionGone(f"Connection {connection_id} is gone.")
    if code == "PayloadTooLargeException":
        return PayloadTooLarge(f"API Gateway refused the frame as too large: {message}")
    if code == "ForbiddenException":
        return TransportError(
            f"API Gateway refused to {what} connection {connection_id} (403 {code}: "
            f"{message}). The function's role needs execute-api:ManageConnections on "
            f"this API's @connections, and the endpoint ({endpoint}) must be the API's "
            "execute-api URL with its stage, not a custom domain."
        )
    return TransportError(
        f"API Gateway refused to {what} connection {connection_id}: {code or 'error'}: {message}"
    )
