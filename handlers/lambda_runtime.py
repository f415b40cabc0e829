"""Running the async handlers inside AWS Lambda.

Lambda calls a plain function per event. The app (and so its clients) is built on the first
event and kept for warm invocations, with one event loop for the life of the process so that
async clients stay bound to a live loop.

Replies: a Lambda is frozen once it returns, so a reply is never left running in the
background. ``AZUCHI_REPLY_LAUNCHER`` picks how one starts: ``inline`` (default) runs it
before the handler returns; ``lambda`` invokes the reply worker (``AZUCHI_REPLY_FUNCTION``)
asynchronously, so that no API Gateway integration limit cuts it (docs/aws-runtime.md).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from typing import Any, Protocol, runtime_checkable

from adapters.bootstrap import App, LauncherFactory, build_app
from adapters.memory.launcher import InlineReplyLauncher
from adapters.settings import EnvReader, Settings, SettingsError
from handlers.events import Event, Handle, Response

_app: App | None = None
_loop: asyncio.AbstractEventLoop | None = None


@runtime_checkable
class BindsEvents(Protocol):
    """An adapter that learns something from each event (the API Gateway transport learns
    its management endpoint from requestContext)."""

    def bind_event(self, event: Mapping[str, Any]) -> None: ...


def reply_launcher(settings: Settings) -> LauncherFactory:
    """The launcher ``AZUCHI_REPLY_LAUNCHER`` names; a clear ``SettingsError`` otherwise."""
    kind = EnvReader(settings.env).name("AZUCHI_REPLY_LAUNCHER", "inline")
    if kind == "inline":
        return lambda replies: InlineReplyLauncher(replies.run_pending)
    if kind == "lambda":
        function = (settings.env.get("AZUCHI_REPLY_FUNCTION") or "").strip()
        if not function:
            raise SettingsError(
                "AZUCHI_REPLY_LAUNCHER=lambda needs AZUCHI_REPLY_FUNCTION: the name or ARN "
                "of the reply worker function (handlers.reply_worker.handler)"
            )
        from adapters.awslambda.launcher import LambdaInvokeLauncher

        launcher = LambdaInvokeLauncher.from_env(function, settings.env)
        return lambda replies: launcher
    raise SettingsError(f"AZUCHI_REPLY_LAUNCHER={kind!r} is not a launcher; use inline or lambda")


def lambda_app() -> App:
    global _app
    if _app is None:
        settings = Settings.from_env()
        _app = build_app(settings, launcher=reply_launcher(settings))
    return _app


def _run(coro: Any) -> Any:
    global _loop
    if _loop is None or _loop.is_closed():
        _loop = asyncio.new_event_loop()
    return _loop.run_until_complete(coro)


def bind_event(app: App, event: Event) -> None:
    """Hands the event to the adapters that learn from events, before it is handled."""
    if isinstance(app.transport, BindsEvents):
        app.transport.bind_event(event)


def lambda_entry(handle: Handle) -> Callable[[Event, Any], Response]:
    def handler(event: Event, context: Any = None) -> Response:
        app = lambda_app()
        bind_event(app, event)
        return _run(handle(event, app))  # type: ignore[no-any-return]

    handler.__doc__ = handle.__doc__
    return handler
