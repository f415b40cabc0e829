"""ReplyWorkerFunction: answers what a session has pending, invoked asynchronously.

Payload ``{"sessionId": "<uuid>"}`` from ``LambdaInvokeLauncher`` (putMessage, the agent REST
API). An asynchronous invocation has no caller to answer, so a bad payload is logged and
dropped with an error result (raising would only make Lambda retry a payload that can never
work). A failure while answering is raised: Lambda retries the invocation, which is harmless
because ``run_pending`` answers only what is still pending, under the session lock.
"""

from __future__ import annotations

import logging

from adapters.bootstrap import App
from core.domain import is_session_id
from handlers.events import Event, Response
from handlers.lambda_runtime import lambda_entry

log = logging.getLogger(__name__)


def _rejected(event: object, why: str) -> Response:
    log.error("reply worker dropped a bad payload (%s): %.200r", why, event)
    return {"status": "rejected", "error": {"code": "INVALID_PAYLOAD", "message": why}}


async def handle(event: Event, app: App) -> Response:
    if not isinstance(event, dict):
        return _rejected(event, 'the payload must be a JSON object {"sessionId": "<uuid>"}')
    session_id = event.get("sessionId")
    if not isinstance(session_id, str) or not is_session_id(session_id):
        return _rejected(event, '"sessionId" must be a session id (a lower-case UUID v4)')
    replies = await app.replies.run_pending(session_id)
    log.info("session %s: %d replies", session_id, replies)
    return {"status": "done", "sessionId": session_id, "replies": replies}


handler = lambda_entry(handle)
