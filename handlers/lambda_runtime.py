"""Running the async handlers inside AWS Lambda.

Lambda calls a plain function per event. The app (and so its clients) is built once per
execution environment and kept for warm invocations, with one event loop for the life of
the process so that async clients stay bound to a live loop. The composition root chooses
every adapter, the reply launcher included (``runtime="lambda"``: ``inline`` by default,
``lambda`` for the asynchronous reply worker; never a background task, which a frozen
Lambda would never finish — docs/aws-runtime.md).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from adapters.bootstrap import App, build_app
from handlers.events import Event, Handle, Response

_app: App | None = None
_loop: asyncio.AbstractEventLoop | None = None


def lambda_app() -> App:
    global _app
    if _app is None:
        app = build_app(runtime="lambda")
        _run(app.__aenter__())
        _app = app
    return _app


def _run(coro: Any) -> Any:
    global _loop
    if _loop is None or _loop.is_closed():
        _loop = asyncio.new_event_loop()
    return _loop.run_until_complete(coro)


def lambda_entry(handle: Handle) -> Callable[[Event, Any], Response]:
    def handler(event: Event, context: Any = None) -> Response:
        app = lambda_app()
        app.transport.bind_event(event)
        return _run(handle(event, app))  # type: ignore[no-any-return]

    handler.__doc__ = handle.__doc__
    return handler
