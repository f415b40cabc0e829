"""The aioboto3 ``bedrock-runtime`` client, opened on first use.

The client opens on the first ``converse_stream`` (``adapters.aws.clients.LazyClient``) and
``aclose`` closes it. botocore's
own retries are off: the model retries itself, and only before a reply has started (a
retried stream would repeat text the user has already seen).
"""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager
from typing import Any

import aioboto3
from botocore.config import Config

from adapters.aws.clients import LazyClient
from adapters.bedrock.config import DEFAULT_REGION, BedrockConfig


def open_session(config: BedrockConfig) -> Any:
    """An aioboto3 session with the credentials and profile the settings name, if any
    (else botocore's usual chain)."""
    credentials: dict[str, str] = {}
    if config.access_key_id and config.secret_access_key:
        credentials = {
            "aws_access_key_id": config.access_key_id,
            "aws_secret_access_key": config.secret_access_key,
        }
        if config.session_token:
            credentials["aws_session_token"] = config.session_token
    return aioboto3.Session(profile_name=config.profile, **credentials)


class LazyBedrockClient:
    """Has the client's ``converse_stream``; opens the client the first time it is called."""

    def __init__(self, config: BedrockConfig, session: Any = None) -> None:
        self.config = config
        self._session = session
        self._lazy = LazyClient()

    def _open(self) -> AbstractAsyncContextManager[Any]:
        session = self._session or open_session(self.config)
        opened: AbstractAsyncContextManager[Any] = session.client(
            "bedrock-runtime",
            region_name=self.config.region or session.region_name or DEFAULT_REGION,
            endpoint_url=self.config.endpoint_url,
            config=Config(
                connect_timeout=self.config.timeout_s,
                read_timeout=self.config.timeout_s,
                retries={"total_max_attempts": 1, "mode": "standard"},
                max_pool_connections=50,
            ),
        )
        return opened

    async def client(self) -> Any:
        return await self._lazy.get(self._open)

    async def converse_stream(self, **kwargs: Any) -> Any:
        return await (await self.client()).converse_stream(**kwargs)

    async def aclose(self) -> None:
        await self._lazy.aclose()
