"""Running the async handlers inside AWS Lambda.

Lambda calls a plain function per event. The app (and so its clients) is built once per
execution environment and kept for warm invocations, with one event loop for the life of
the process so that async clients stay bound to a live loop. The composition root chooses
every adapter, the reply launcher included (``runtime="lambda"``: ``inline`` by default,
``lambda`` for the asynchronous reply worker; never a background task, which a frozen
Lambda would never finish — docs/aws-runtime.md).

Inside Lambda (``AWS_LAMBDA_FUNCTION_NAME`` is set) all of that happens at init, when the
runtime imports the handler module: the artefact's build facts are checked against the
stack's parameters (``handlers.build_facts``), the app is built and entered and its SDK
clients opened (``App.warm``, no call made). Init has its own 10 s limit, and a cold start's
first event then pays only for its own calls, not for imports and client construction
inside the function's timeout. Anywhere else (tests, ``azuchi serve`` importing handlers)
the app is built on the first event, as before.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Callable
from typing import Any

from adapters.bootstrap import App, build_app
from adapters.settings import Settings
from handlers.build_facts import BuildFacts
from handlers.events import Event, Handle, Response
from handlers.functions import BY_NAME

log = logging.getLogger(__name__)

# handlers.functions' port names -> the registry's (lock and memory share storage's client
# in the lean profile; the Redis pool connects on first use).
WARM_PORTS = {
    "storage": "storage",
    "lock": "lock",
    "memory": "agent_memory",
    "limits": "limits",
    "model": "model",
    "transport": "transport",
    "launcher": "launcher",
}

_app: App | None = None
_loop: asyncio.AbstractEventLoop | None = None


def in_lambda(env: Any = None) -> bool:
    """True inside a Lambda execution environment (the runtime sets the variable)."""
    return bool((os.environ if env is None else env).get("AWS_LAMBDA_FUNCTION_NAME"))


def lambda_settings(function: str | None, env: Any = None) -> Settings:
    """The settings of ``function`` (a name of handlers.functions): the environment's, with
    the AWS client that function is declared with (``LambdaFunction.aws_client``) unless
    ``AZUCHI_AWS_CLIENT`` is set."""
    env = dict(os.environ if env is None else env)
    declared = BY_NAME.get(function) if function is not None else None
    if declared is not None and not (env.get("AZUCHI_AWS_CLIENT") or "").strip():
        env["AZUCHI_AWS_CLIENT"] = declared.aws_client
    return Settings.from_env(env)


def lambda_app(function: str | None = None) -> App:
    global _app
    if _app is None:
        app = build_app(lambda_settings(function), runtime="lambda")
        _run(app.__aenter__())
        _app = app
    return _app


def init(function: str) -> App:
    """What the Lambda init phase does for ``function`` (a name of handlers.functions):
    refuse an artefact built for other stack parameters, then build, enter and warm the
    app. Raising here fails the init with the message, which Lambda logs and reports."""
    facts = BuildFacts.read()
    if facts is not None:
        facts.check(os.environ, talks_to_model=BY_NAME[function].talks_to_model)
    app = lambda_app(function)
    # The DynamoDB client serves storage, and every function uses storage.
    _run(app.warm({WARM_PORTS[port] for port in BY_NAME[function].ports}))
    return app


def run(coro: Any) -> Any:
    """Runs ``coro`` on the process's one event loop (for entries that build no app)."""
    return _run(coro)


def _run(coro: Any) -> Any:
    global _loop
    if _loop is None or _loop.is_closed():
        _loop = asyncio.new_event_loop()
    return _loop.run_until_complete(coro)


def lambda_entry(handle: Handle) -> Callable[[Event, Any], Response]:
    """The Lambda ``handler`` of a handler module's ``handle``; inside Lambda, the module's
    import (the init phase) builds the app."""

    function = handle.__module__.removeprefix("handlers.")

    def handler(event: Event, context: Any = None) -> Response:
        app = lambda_app(function)
        app.transport.bind_event(event)
        return _run(handle(event, app))  # type: ignore[no-any-return]

    handler.__doc__ = handle.__doc__
    if in_lambda():
        init(function)
    return handler
