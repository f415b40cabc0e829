"""Serving the AWS stubs: every stub here is an aiohttp app on a free port of 127.0.0.1,
so the real aioboto3 clients can be pointed at it with ``endpoint_url``."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from aiohttp import web


@asynccontextmanager
async def listening(app: web.Application) -> AsyncIterator[str]:
    """Serves ``app`` until the block ends and yields its base URL (``http://127.0.0.1:PORT``).
    No access log and no signal handlers: the test runner owns both."""
    runner = web.AppRunner(app, access_log=None, handle_signals=False)
    await runner.setup()
    try:
        await web.TCPSite(runner, "127.0.0.1", 0).start()
        yield f"http://127.0.0.1:{runner.addresses[0][1]}"
    finally:
        await runner.cleanup()
