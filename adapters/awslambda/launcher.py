"""Starting a reply on AWS: an asynchronous invocation of the reply worker function.

    putMessage Lambda ── Invoke(InvocationType=Event, {"sessionId"}) ──► 202, returns at once
                                   Lambda's queue ──► ReplyWorkerFunction ──► run_pending

The caller never waits for the reply, so API Gateway's 29 s integration limit never cuts one;
a repeated or retried invocation is harmless because ``run_pending`` answers only what is
still pending, under the session lock (docs/aws-runtime.md).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from contextlib import AbstractAsyncContextManager
from typing import Any

from adapters.aws.clients import LazyClient, shared_session
from adapters.aws.errors import client_errors, failed_errors
from adapters.aws.retry import RetryPolicy, error_code, error_message, is_client_error, transient
from adapters.backoff import RetriesExhausted, retrying
from core.errors import BackendUnavailable

SAVED = "Your message is saved; send another message to try again."


class LambdaInvokeLauncher:
    """``core.ports.ReplyLauncher`` that invokes ``function_name`` (name or ARN) with
    ``{"sessionId": ...}``. One client, opened on first use, serves every later launch;
    ``aclose`` closes it. Failures raise ``BackendUnavailable`` with a sentence for the user.
    """

    def __init__(
        self,
        function_name: str,
        *,
        endpoint_url: str | None = None,
        region: str = "us-east-1",
        max_attempts: int = 3,
        connect_timeout_s: float = 2.0,
        read_timeout_s: float = 5.0,
        session: Any = None,
        client: str = "sdk",
    ) -> None:
        self.function_name = function_name
        self._endpoint_url = endpoint_url
        self._region = region
        # Throttling, 5xx and connection errors are retried on azuchi's one schedule
        # (botocore's own retries off): a repeated Event invocation is harmless (module doc).
        self._retry = RetryPolicy(max_attempts=max_attempts, base_delay_s=0.05, max_delay_s=1.0)
        self._timeouts = (connect_timeout_s, read_timeout_s)
        self._client_kind = client  # "sdk" (aioboto3) or "lite" (adapters.aws.lite)
        self._session = session
        self._lazy = LazyClient()

    @classmethod
    def from_env(
        cls, function_name: str, env: Mapping[str, str], client: str = "sdk"
    ) -> LambdaInvokeLauncher:
        """``AWS_ENDPOINT_URL_LAMBDA`` (the SDK's own variable; a stub or emulator) and
        ``AWS_REGION`` / ``AWS_DEFAULT_REGION``, read from the settings' environment."""
        return cls(
            function_name,
            endpoint_url=env.get("AWS_ENDPOINT_URL_LAMBDA") or None,
            region=env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or "us-east-1",
            client=client,
        )

    async def launch(self, session_id: str) -> None:
        payload = json.dumps({"sessionId": session_id}).encode("utf-8")

        async def attempt() -> Any:
            client = await self._connected()
            return await client.invoke(
                FunctionName=self.function_name, InvocationType="Event", Payload=payload
            )

        try:
            answer = await retrying(attempt, self._retry, transient)
        except RetriesExhausted as exhausted:
            last = exhausted.last
            why = error_code(last) if is_client_error(last) else type(last).__name__
            raise BackendUnavailable(
                f"The reply could not be started: AWS Lambda could not be reached to invoke "
                f"{self.function_name} ({why}, {exhausted.attempts} attempts). {SAVED}"
            ) from last
        except client_errors() as exc:
            message = error_message(exc)
            raise BackendUnavailable(
                f"The reply could not be started: AWS Lambda refused to invoke "
                f"{self.function_name} ({error_code(exc)}: {message}). {SAVED}"
            ) from exc
        except failed_errors() as exc:
            raise BackendUnavailable(
                f"The reply could not be started: AWS Lambda could not be reached to invoke "
                f"{self.function_name} ({type(exc).__name__}). {SAVED}"
            ) from exc
        status = answer.get("StatusCode")
        if status != 202:  # an Event invocation is queued with 202 or not at all
            raise BackendUnavailable(
                f"The reply could not be started: AWS Lambda answered {status} instead of "
                f"202 for {self.function_name}. {SAVED}"
            )

    async def warm(self) -> None:
        """Opens the client (no call is made)."""
        await self._connected()

    async def aclose(self) -> None:
        await self._lazy.aclose()

    def _open(self) -> AbstractAsyncContextManager[Any]:
        connect_s, read_s = self._timeouts
        if self._client_kind == "lite":
            from adapters.aws.lite.awslambda import LiteLambdaClient

            return LiteLambdaClient(
                self._endpoint_url, self._region, connect_timeout_s=connect_s, read_timeout_s=read_s
            )
        from botocore.config import Config

        config = Config(
            retries={"total_max_attempts": 1, "mode": "standard"},
            connect_timeout=connect_s,
            read_timeout=read_s,
        )
        session = self._session or shared_session()
        opened: AbstractAsyncContextManager[Any] = session.client(
            "lambda", endpoint_url=self._endpoint_url, region_name=self._region, config=config
        )
        return opened

    async def _connected(self) -> Any:
        return await self._lazy.get(self._open)
