"""Helpers for tests that play clients against an in-process app."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import anyio

from adapters.bootstrap import App, build_app
from adapters.inprocess.transport import Outbox
from adapters.settings import Settings

FAST = {
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


async def settle(app: App) -> None:
    """Waits until every reply launched in the app has finished."""
    with anyio.fail_after(10):
        await app.launcher.wait_idle()  # type: ignore[attr-defined]
