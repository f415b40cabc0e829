"""``BedrockChatModel``: the model port over Amazon Bedrock's ConverseStream."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import anyio

from adapters.backoff import RetryPolicy
from adapters.bedrock.config import BedrockConfig
from adapters.bedrock.convert import build_request
from adapters.bedrock.errors import VENDOR_ERRORS, is_retryable, map_error
from adapters.bedrock.events import StreamReader
from adapters.model_common import retry_until_first_event
from core.domain import ModelEvent, ModelRequest

log = logging.getLogger(__name__)


class BedrockChatModel:
    """Streams replies from a Bedrock model (``AZUCHI_MODEL_ID``) through ConverseStream.

    ``client`` is anything with an awaitable ``converse_stream(**kwargs)`` returning
    botocore's response (a ``LazyBedrockClient``, a real aioboto3 client, a fake). Bedrock
    is stateless: every call carries the whole conversation, and ``StreamEnded`` carries no
    response id. Throttling and server errors are retried with backoff until the first event
    is yielded; after that they end the stream as a ``ModelError`` and the caller keeps the
    text it already has.
    """

    def __init__(
        self,
        config: BedrockConfig,
        client: Any,
        sleep: Callable[[float], Awaitable[None]] = anyio.sleep,
    ) -> None:
        self._config = config
        self._client = client
        self._sleep = sleep
        self._retry = RetryPolicy(
            max_attempts=config.max_retries + 1,
            base_delay_s=config.retry_base_s,
            max_delay_s=config.retry_cap_s,
        )

    @property
    def model_id(self) -> str:
        return self._config.model_id

    def stream(self, request: ModelRequest) -> AsyncIterator[ModelEvent]:
        kwargs = build_request(request, self._config)
        return retry_until_first_event(
            lambda: self._attempt(kwargs),
            where=f"Bedrock model {self.model_id}",
            max_retries=self._config.max_retries,
            errors=VENDOR_ERRORS,
            retryable=is_retryable,
            to_error=lambda exc: map_error(exc, self.model_id),
            delay=lambda retry, _exc: self._retry.delay(retry - 1),
            sleep=self._sleep,
        )

    async def _attempt(self, kwargs: dict[str, Any]) -> AsyncIterator[ModelEvent]:
        reader = StreamReader(self.model_id)
        response = await self._client.converse_stream(**kwargs)
        events = response["stream"]
        try:
            async for raw in events:
                for event in reader.feed(raw):
                    yield event
        finally:
            events.close()
        for event in reader.finish():
            yield event
