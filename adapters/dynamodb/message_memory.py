"""The agent-memory port on DynamoDB, derived from the messages table (the lean profile).

The history the agent needs is already stored once, as the conversation's messages
(``MessageLog``): a second copy in ``agent_memory`` cost a write per turn (1 WCU for the
fence item, 1–2 for the entries) to hold what the messages table holds. This memory keeps
no copy: ``recent_history`` reads the newest messages, ``append_history`` stores nothing.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from typing import Any

from adapters.dynamodb.agent_memory import DynamoAgentMemory
from adapters.dynamodb.errors import Caller, ConditionFailed, RetryPolicy
from adapters.dynamodb.items import from_item, to_attr
from adapters.dynamodb.messages import _message
from adapters.dynamodb.tables import TableNames
from core.domain import HistoryItem, Message, MessageType, ReplyStatus, Role, StopReason
from core.errors import FenceRejected

SCAN_FACTOR = 3  # messages read at most per history item kept, as reply.py's rebuild


class DynamoMessageMemory:
    """Agent memory that is a view of the session's stored messages.

    - ``recent_history``: the newest ``max_items`` CONVERSATION messages of USER and AGENT
      of the turns already answered, oldest first: one strongly consistent Query of the
      messages table, newest first, ``Limit max_items + 1`` (the pending prompt is the
      newest message; a further page only when other messages, notes or thoughts, are
      among them, sized by how many the first needed per item; at most
      ``3 × max_items`` messages read, as reply.py's rebuild). A turn
      is answered once its reply is stored, and ``finish_reply`` stores the reply and
      moves ``answeredAt`` in one write, so a question is never read without its answer:
      a USER message counts when it is not newer than the newest final reply's
      ``replyTo`` (replies answer their prompts in order, one at a time per session; a
      final reply is a CONVERSATION or SYSTEM_LOG message with a status other than
      ``interrupted``: what ``finish_reply`` stores). An interrupted reply's kept text is
      not history (the model never finished it), as the items memory never held it. A turn whose
      reply ended on ``context_window`` is left out, as the rebuild does. The cost
      follows ``max_items`` and the messages' size, never the conversation's length.
    - ``append_history`` stores nothing (the messages are the history). A fenced one reads
      the session's ``fence`` (a strongly consistent GetItem, 1 RCU) and is refused with
      ``FenceRejected`` when a newer fence has written for the session: the store's
      fenced writes (``start_reply``, checkpoints' takeover, ``finish_reply``) raise it.
    - the previous response id stays one item of the ``agent_memory`` table
      (``DynamoAgentMemory``'s ``response`` item, its own ``fence`` condition); a fenced
      set or ``forget`` also checks the session's fence first.
    - ``forget`` deletes the response id; the history follows the messages, which the
      turn's rewind deletes (core/services/turns.py calls ``forget`` first, then
      ``rewind``: between them, and if the rewind fails, the history is what the store
      holds, which is what the items memory's "rebuilt from the store" gave too).

    Only for ``AZUCHI_STORAGE=dynamodb`` (it reads the store's tables).
    """

    def __init__(
        self,
        client: Any,
        tables: TableNames,
        *,
        max_items: int = 20,
        response_id_ttl_s: int = 1_728_000,
        clock: Callable[[], float] = time.time,
        retry: RetryPolicy | None = None,
    ) -> None:
        self._call = Caller(client, retry)
        self._tables = tables
        self._max_items = max_items
        self._responses = DynamoAgentMemory(
            client,
            tables.agent_memory,
            max_items=max_items,
            response_id_ttl_s=response_id_ttl_s,
            clock=clock,
            retry=retry,
        )

    async def append_history(
        self, session_id: str, items: Sequence[HistoryItem], fence: int | None = None
    ) -> None:
        if fence is not None and items:
            await self._check_fence(session_id, fence)

    async def _check_fence(self, session_id: str, fence: int) -> None:
        response = await self._call(
            "get_item",
            TableName=self._tables.sessions,
            Key={"sessionId": to_attr(session_id)},
            ProjectionExpression="fence",
            ConsistentRead=True,
        )
        stored = int(from_item(response.get("Item", {})).get("fence", 0))
        if stored > fence:
            raise FenceRejected(f"session {session_id} is fenced at {stored}, above {fence}")

    async def recent_history(self, session_id: str) -> list[HistoryItem]:
        params: dict[str, Any] = {
            "TableName": self._tables.messages,
            "KeyConditionExpression": "sessionId = :s",
            "ExpressionAttributeValues": {":s": to_attr(session_id)},
            "ScanIndexForward": False,
            "ConsistentRead": True,  # the next turn may start a moment after the last reply
        }
        most = SCAN_FACTOR * self._max_items
        newest_first: list[Message] = []
        limit = self._max_items + 1
        while True:
            response = await self._call("query", Limit=limit, **params)
            newest_first.extend(_message(from_item(i)) for i in response.get("Items", []))
            history = _history(newest_first, self._max_items)
            if len(history) >= self._max_items or "LastEvaluatedKey" not in response:
                return history
            if len(newest_first) >= most:
                return history
            params["ExclusiveStartKey"] = response["LastEvaluatedKey"]
            # As many more as the messages read so far needed per item kept (thoughts and
            # notes between the turns), for the items still missing.
            per_item = len(newest_first) / max(1, len(history))
            missing = self._max_items - len(history)
            limit = max(1, min(most - len(newest_first), math.ceil(missing * per_item) + 1))

    async def get_previous_response_id(self, session_id: str) -> str | None:
        return await self._responses.get_previous_response_id(session_id)

    async def set_previous_response_id(
        self, session_id: str, response_id: str, fence: int | None = None
    ) -> None:
        if fence is not None:
            await self._check_fence(session_id, fence)
        await self._responses.set_previous_response_id(session_id, response_id, fence)

    async def forget(self, session_id: str, fence: int | None = None) -> None:
        key = {"sessionId": to_attr(session_id), "kind": to_attr("response")}
        if fence is None:
            await self._call("delete_item", TableName=self._tables.agent_memory, Key=key)
            return
        await self._check_fence(session_id, fence)
        try:
            await self._call(
                "delete_item",
                TableName=self._tables.agent_memory,
                Key=key,
                ConditionExpression="attribute_not_exists(fence) OR fence <= :f",
                ExpressionAttributeValues={":f": to_attr(fence)},
            )
        except ConditionFailed:
            raise FenceRejected(f"agent memory of {session_id} is fenced above {fence}") from None


FINAL_TYPES = (MessageType.CONVERSATION, MessageType.SYSTEM_LOG)  # what finish_reply stores


def _turn(message: Message) -> int:
    if message.role is Role.USER or message.reply_to is None:
        return message.created_at
    return message.reply_to


def _answers(message: Message) -> bool:
    """Whether the message is a reply's final one (``finish_reply`` stored it with the
    session's answered marker): a reply's status, not ``interrupted`` (the message is
    answered again), and of a type that ``finish_reply`` stores (a reply's thoughts or its
    steps are stored before it, so they do not tell that it was answered)."""
    return (
        message.reply_to is not None
        and message.status is not None
        and message.status != ReplyStatus.INTERRUPTED
        and message.message_type in FINAL_TYPES
    )


def _history(newest_first: list[Message], cap: int) -> list[HistoryItem]:
    """The newest ``cap`` history items the messages read so far hold, oldest first."""
    answered = max((m.reply_to or 0 for m in newest_first if _answers(m)), default=None)
    if answered is None:
        return []
    too_long = {m.reply_to for m in newest_first if m.stop_reason == StopReason.CONTEXT_WINDOW}
    kept = [
        HistoryItem("user" if m.role is Role.USER else "assistant", m.message)
        for m in newest_first
        if m.message_type == MessageType.CONVERSATION
        and m.role in (Role.USER, Role.AGENT)
        and m.message
        and m.status != ReplyStatus.INTERRUPTED  # the model never finished it
        and _turn(m) <= answered
        and _turn(m) not in too_long
    ]
    return list(reversed(kept[:cap]))
