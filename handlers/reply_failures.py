"""ReplyFailuresFunction: the reply worker's failed asynchronous invocations, from SQS.

Lambda sends an invocation record to the worker's on-failure destination (the template's
``ReplyFailureQueue``) when an asynchronous invoke failed past its retries or grew older
than ``MaximumEventAgeInSeconds``. Its body (AWS Lambda "asynchronous invocation" docs)::

    {"version": "1.0", "timestamp": "...",
     "requestContext": {"requestId": "...", "functionArn": "...", "condition": "RetriesExhausted",
                        "approximateInvokeCount": 2},
     "requestPayload": {"sessionId": "<uuid>"},
     "responseContext": {"statusCode": 200, "functionError": "Unhandled"},
     "responsePayload": {"errorType": "...", "errorMessage": "..."}}

For each record the session's pending message is answered by ``recover_lost_reply``: today
a SYSTEM_LOG note on the session (the USER message stays saved, and the next message drains
it), so a failed reply is never silent. A record that cannot be handled (a backend down) is
reported back as a batch item failure, so SQS delivers it again and, after the queue's
``maxReceiveCount``, moves it to the dead-letter queue, which has an alarm.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from adapters.bootstrap import App
from core.domain import is_session_id
from core.errors import AzuchiError
from handlers.events import Event, Response
from handlers.lambda_runtime import lambda_entry

log = logging.getLogger(__name__)

CONDITIONS = {
    "RetriesExhausted": "the agent failed twice",
    "EventAgeExceeded": "the agent could not start in time",
}


def _why(record: dict[str, Any]) -> str:
    condition = (record.get("requestContext") or {}).get("condition", "")
    return CONDITIONS.get(condition, "the agent failed")


async def recover_lost_reply(app: App, session_id: str, why: str) -> bool:
    """THE RECOVERY SEAM for a reply whose worker invocation is lost. Issue 13 (crash-safe
    replies) adds a recovery entry point to core/services that answers an interrupted
    reply again; call it here first, and keep the note below for what it cannot recover."""
    return await app.replies.report_lost_reply(session_id, why)


async def handle(event: Event, app: App) -> Response:
    failures = []
    for message in event.get("Records", []) if isinstance(event, dict) else []:
        item = message.get("messageId", "")
        try:
            record = json.loads(message.get("body") or "")
            session_id = (record.get("requestPayload") or {}).get("sessionId")
        except (ValueError, AttributeError):
            record, session_id = {}, None
        if not isinstance(session_id, str) or not is_session_id(session_id):
            log.error("failure record without a session id, dropped: %.300r", message)
            continue  # nothing can ever be done with it; redelivery would not help
        try:
            noted = await recover_lost_reply(app, session_id, _why(record))
        except AzuchiError as error:
            log.warning("session %s: failed reply not reported yet (%s)", session_id, error)
            failures.append({"itemIdentifier": item})
            continue
        log.warning(
            "session %s: worker invocation failed (%s, %s); noted: %s",
            session_id,
            (record.get("requestContext") or {}).get("condition"),
            (record.get("responsePayload") or {}).get("errorMessage"),
            noted,
        )
    return {"batchItemFailures": failures}


handler = lambda_entry(handle)
