"""``BedrockChatModel``: the model port over Amazon Bedrock's ConverseStream."""

from __future__ import annotations

import logging
from collections.abc import AsyncGenerator, Awaitable, Callable
from typing import Any

import anyio

from adapters.bedrock.config import BedrockConfig
from adapters.bedrock.convert import build_request
from adapters.bedrock.errors import VENDOR_ERRORS, is_retryable, map_error
from adapters.bedrock.events import StreamReader
from adapters.dynamodb.errors import RetryPolicy
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

    async def stream(self, request: ModelRequest) -> AsyncGenerator[ModelEvent, None]:
        kwargs = build_request(request, self._config)
        for attempt in range(self._retry.max_attempts):
            reader = StreamReader(self.model_id)
            yielded = False
            try:
                response = await self._client.converse_stream(**kwargs)
                events = response["stream"]
                try:
                    async for raw in events:
                        for event in reader.feed(raw):
                            yielded = True
                            yield event
                finally:
                    events.close()
                for event in reader.finish():
                    yield event
                return
            except VENDOR_ERRORS as exc:
                last = attempt == self._retry.max_attempts - 1
                if yielded or last or not is_retryable(exc):
                    raise map_error(exc, self.model_id) from exc
                delay = self._retry.delay(attempt)
                log.info(
                    "Bedrock model %s: %s; retry %d in %.2fs",
                    self.model_id,
                    map_error(exc, self.model_id),
                    attempt + 1,
                    delay,
                )
                await self._sleep(delay)

    async def aclose(self) -> None:
        close = getattr(self._client, "aclose", None)
        if close is not None:
            await close()
