"""The app as the Lambda runtime builds it to start replies with an asynchronous Invoke, and
one client driving it through the handlers, as API Gateway would hand them its events."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from adapters.bootstrap import App, build_app
from adapters.inprocess.transport import Outbox
from core.domain import Role
from handlers import put_message
from tests.handlers import samples
from tests.support import connected as connected_through_handler
from tests.support import fast_settings

WORKER = "azuchi-dev-ReplyWorkerFunction"
CID = "Tqqg2cgqjoECFLQ="


@asynccontextmanager
async def lambda_app(endpoint: str, function: str = WORKER) -> AsyncIterator[App]:
    """The app as the Lambda runtime builds it with AZUCHI_REPLY_LAUNCHER=lambda."""
    settings = fast_settings(
        AZUCHI_REPLY_LAUNCHER="lambda",
        AZUCHI_REPLY_FUNCTION=function,
        AWS_ENDPOINT_URL_LAMBDA=endpoint,
    )
    async with build_app(settings, runtime="lambda") as app:
        yield app


async def connected(app: App) -> tuple[Outbox, str]:
    """Connects ``CID`` through the $connect handler: its frames and its session id."""
    return await connected_through_handler(app, CID)


async def say(app: App, text: str) -> dict[str, Any]:
    """``CID`` sends ``text`` through the putMessage handler; its answer to API Gateway."""
    frame = {"action": "putMessage", "message": text}
    return await put_message.handle(samples.message(CID, "putMessage", frame), app)


def frames(outbox: Outbox, kind: str) -> list[dict[str, Any]]:
    return [f for f in map(json.loads, outbox.frames) if f["type"] == kind]


async def roles(app: App, session_id: str) -> list[Role]:
    """Who spoke in the session, oldest first: how far the reply got in the store."""
    return [m.role for m in await app.store.last_messages(session_id, 50)]
