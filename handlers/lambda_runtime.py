"""Running the async handlers inside AWS Lambda.

Lambda calls a plain function per event. The app (and so its clients) is built on the first
event and kept for warm invocations, with one event loop for the life of the process so that
async clients stay bound to a live loop.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from adapters.bootstrap import App, build_app
from adapters.memory.launcher import InlineReplyLauncher
from handlers.events import Event, Handle, Response

_app: App | None = None
_loop: asyncio.AbstractEventLoop | None = None


def lambda_app() -> App:
    global _app
    if _app is None:
        # A Lambda is frozen once it returns: a reply can't be left running in the
        # background, so it runs before the handler returns.
        _app = build_app(launcher=lambda replies: InlineReplyLauncher(replies.run_pending))
    return _app


def _run(coro: Any) -> Any:
    global _loop
    if _loop is None or _loop.is_closed():
        _loop = asyncio.new_event_loop()
    return _loop.run_until_complete(coro)


def lambda_entry(handle: Handle) -> Callable[[Event, Any], Response]:
    def handler(event: Event, context: Any = None) -> Response:
        return _run(handle(event, lambda_app()))  # type: ignore[no-any-return]

    handler.__doc__ = handle.__doc__
    return handler
