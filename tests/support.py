"""Helpers for tests that play clients against an in-process app."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import anyio

from adapters.bootstrap import App, build_app
from adapters.inprocess.transport import Outbox
from adapters.settings import Settings
from testsupport.profiles import IN_PROCESS

# In process: these tests are about the services, and the contract suites prove that every
# adapter (sqlite, the default, included) keeps the same promises.
FAST = {
    **IN_PROCESS,
    "AZUCHI_SCRIPTED_TOKENS_PER_SECOND": "0",
    "AZUCHI_COALESCE_MS": "5",
    "AZUCHI_HEARTBEAT_MS": "20",
    "AZUCHI_LOCK_RETRY_SECONDS": "0",  # a test that wants the lock retried says so
}


def fast_settings(**env: str) -> Settings:
    return Settings.from_env({**FAST, **env})


@asynccontextmanager
async def running_app(settings: Settings | None = None, **overrides: Any) -> AsyncIterator[App]:
    async with build_app(settings or fast_settings(), overrides=overrides or None) as app:
        yield app


class Client:
    """A connection registered with the app, whose frames land in an Outbox."""

    def __init__(self, app: App, connection_id: str, session_id: str) -> None:
        self.app = app
        self.connection_id = connection_id
        self.session_id = session_id
        self.outbox = Outbox()
        app.hub.attach(connection_id, self.outbox)

    @classmethod
    async def connect(cls, app: App, connection_id: str, session_id: str | None = None) -> Client:
        sid = await app.chat.connect(connection_id, session_id)
        return cls(app, connection_id, sid)

    @property
    def frames(self) -> list[dict[str, Any]]:
        return [json.loads(f) for f in self.outbox.frames]

    def of_type(self, kind: str) -> list[dict[str, Any]]:
        return [f for f in self.frames if f["type"] == kind]

    async def say(self, text: str, **extra: Any) -> None:
        await self.app.chat.put_message(self.connection_id, {"message": text, **extra})

    async def wait_for(self, predicate: Any, timeout: float = 5.0) -> dict[str, Any]:
        with anyio.fail_after(timeout):
            while True:
                for frame in self.frames:
                    if predicate(frame):
                        return frame
                await anyio.sleep(0.005)


class PrivateLoop:
    """Runs an async context manager on a private event loop for a synchronous test (a
    hypothesis ``@given`` one): entered and exited in one task, as task groups require,
    which runs whenever ``run`` runs the loop. ``value`` is what it yielded."""

    def __init__(self, context: Any) -> None:
        self.loop = asyncio.new_event_loop()
        self._ready: asyncio.Future[Any] = self.loop.create_future()
        self._stop = asyncio.Event()
        self._holder = self.loop.create_task(self._hold(context))
        self.value = self.run(asyncio.shield(self._ready))

    async def _hold(self, context: Any) -> None:
        async with context as value:
            self._ready.set_result(value)
            await self._stop.wait()

    def run(self, coroutine: Any) -> Any:
        return self.loop.run_until_complete(coroutine)

    def close(self) -> None:
        self._stop.set()
        self.run(self._holder)
        self.loop.close()


async def connected(app: App, connection_id: str) -> tuple[Outbox, str]:
    """Connects through the $connect handler (a full API Gateway event): the connection's
    frames, and its new session's id."""
    from handlers import connect
    from tests.handlers import samples

    assert await connect.handle(samples.connect(connection_id), app) == {"statusCode": 200}
    outbox = Outbox()
    app.hub.attach(connection_id, outbox)
    connection = await app.store.get_connection(connection_id)
    assert connection is not None
    return outbox, connection.session_id


async def settle(app: App) -> None:
    """Waits until every reply launched in the app has finished."""
    with anyio.fail_after(10):
        await app.launcher.wait_idle()  # type: ignore[attr-defined]
