"""The stub as an aiohttp app on a real port, for tests, benchmarks and ``__main__``."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from aiohttp import web

from testsupport.stubs.openai.chat import chat_completions
from testsupport.stubs.openai.endpoint import STUB
from testsupport.stubs.openai.responses import responses
from testsupport.stubs.openai.script import OpenAIStub


@asynccontextmanager
async def running_openai_stub(
    host: str = "127.0.0.1", port: int = 0, **knobs: Any
) -> AsyncIterator[OpenAIStub]:
    """Serves a stub until the block ends; ``stub.url`` is the base URL (``.../v1``)."""
    stub = OpenAIStub(**knobs)
    app = web.Application()
    app[STUB] = stub
    app.router.add_post("/v1/responses", responses)
    app.router.add_post("/v1/chat/completions", chat_completions)
    runner = web.AppRunner(app, shutdown_timeout=0.5)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    await site.start()
    bound = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    stub.url = f"http://{host}:{bound}/v1"
    try:
        yield stub
    finally:
        await runner.cleanup()
