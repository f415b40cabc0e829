"""Two other ways to keep a chat in DynamoDB, built here only to be measured next to azuchi's.

- ``SeedDesign``, seed 000's design (DESIGN §3's messages table, used as the seed used it):
  each turn reads the session's whole history (one Query, paged, eventually consistent,
  the Query default and the cheaper read) and writes two items, the USER message and the
  AGENT reply. Nothing else: no lock, no idempotency guard, no agent memory.
- ``BedrockChatDesign``, aws-samples/bedrock-chat's: one item per conversation holding the
  whole message map as a JSON string (``MessageMap``), read and rewritten whole each turn
  (one GetItem, one PutItem: the best case; the real app also rewrites it when a reply
  starts). The item grows every turn and DynamoDB refuses it past 400 KB, which ends the
  conversation (``ConversationFull``).

Both write items shaped like the originals' (attribute names, the JSON of a message map
entry), with the same texts as azuchi's run, so the units compare like with like.
"""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

from adapters.dynamodb.items import item_size, to_item

SEED_TABLE = "seed-messages"
BEDROCK_CHAT_TABLE = "bedrock-chat-conversations"


class ConversationFull(Exception):
    """DynamoDB refused the conversation's item: it passed 400 KB."""


async def create_design_tables(client: Any, prefix: str) -> None:
    specs = [
        (prefix + SEED_TABLE, [("sessionId", "S", "HASH"), ("createdAt", "N", "RANGE")]),
        (prefix + BEDROCK_CHAT_TABLE, [("PK", "S", "HASH"), ("SK", "S", "RANGE")]),
    ]
    for name, keys in specs:
        await client.create_table(
            TableName=name,
            BillingMode="PAY_PER_REQUEST",
            AttributeDefinitions=[{"AttributeName": k, "AttributeType": t} for k, t, _ in keys],
            KeySchema=[{"AttributeName": k, "KeyType": r} for k, _, r in keys],
        )


class SeedDesign:
    """Read all history, then write the two messages of the turn."""

    def __init__(self, client: Any, prefix: str) -> None:
        self._client = client
        self._table = prefix + SEED_TABLE
        self._session = str(uuid.uuid4())
        self._now = int(time.time() * 1000)

    async def turn(self, user: str, reply: str, usage: dict[str, int]) -> None:
        params: dict[str, Any] = {
            "TableName": self._table,
            "KeyConditionExpression": "sessionId = :s",
            "ExpressionAttributeValues": {":s": {"S": self._session}},
        }
        while True:  # the whole history, every turn
            page = await self._client.query(**params)
            if "LastEvaluatedKey" not in page:
                break
            params["ExclusiveStartKey"] = page["LastEvaluatedKey"]
        for role, text in (("USER", user), ("AGENT", reply)):
            self._now += 1
            item = {
                "sessionId": self._session,
                "createdAt": self._now,
                "connectionId": "bench-connection-000000000000000=",
                "role": role,
                "message": text,
                "messageType": "CONVERSATION",
                "expireAt": self._now // 1000 + 7 * 86_400,
            }
            if role == "AGENT":
                item |= {"model": "global.anthropic.claude-sonnet-4-6", "usage": usage}
            await self._client.put_item(TableName=self._table, Item=to_item(item))


class BedrockChatDesign:
    """One item per conversation, the message map inside it, rewritten whole each turn."""

    def __init__(self, client: Any, prefix: str) -> None:
        self._client = client
        self._table = prefix + BEDROCK_CHAT_TABLE
        self._user = str(uuid.uuid4())
        self._conversation = uuid.uuid4().hex
        self._map: dict[str, Any] = {"system": _entry("system", "", None, "")}
        self._last = "system"
        self.size = 0

    async def turn(self, user: str, reply: str, usage: dict[str, int]) -> None:
        key = {"PK": {"S": self._user}, "SK": {"S": f"{self._user}#CONV#{self._conversation}"}}
        await self._client.get_item(TableName=self._table, Key=key)
        for role, text in (("user", user), ("assistant", reply)):
            message_id = uuid.uuid4().hex[:26].upper()
            self._map[self._last]["children"].append(message_id)
            self._map[message_id] = _entry(role, text, self._last, message_id)
            self._last = message_id
        item = {
            **key,
            **to_item(
                {
                    "Title": "Tell me about castles",
                    "CreateTime": int(time.time() * 1000),
                    "MessageMap": json.dumps(self._map),
                    "LastMessageId": self._last,
                    "TotalPrice": usage.get("outputTokens", 0) * 15e-6,
                    "BotId": "",
                    "ShouldContinue": False,
                }
            ),
        }
        self.size = item_size(item)
        try:
            await self._client.put_item(TableName=self._table, Item=item)
        except Exception as exc:
            if "size" in str(exc).lower():
                raise ConversationFull(f"item of {self.size:,} bytes refused: {exc}") from exc
            raise


def _entry(role: str, text: str, parent: str | None, message_id: str) -> dict[str, Any]:
    """One MessageMap entry, with the fields bedrock-chat's MessageModel serialises."""
    return {
        "role": role,
        "content": [{"content_type": "text", "media_type": None, "body": text}],
        "model": "claude-v3.7-sonnet",
        "children": [],
        "parent": parent,
        "create_time": time.time(),
        "feedback": None,
        "used_chunks": None,
        "thinking_log": None,
        "message_id": message_id,
    }
