"""The limits counters on DynamoDB (the lean profile): one item per key in the ``limits``
table, ``{counterKey, tat | total, expireAt (TTL, epoch s)}``.

A bucket (core/gcra.py) costs one conditional write per take, two when the first guess
is wrong, and never a read on the way (the refused write returns the stored item)::

    take at now, interval I, tolerance τ = (capacity - 1) · I
    1. SET tat = now + I            IF no tat OR tat < now        ✓ the bucket was full
    2. SET tat = tat + I            IF tat <= now + τ             ✓ a token was left
       (step 1 failed, so tat >= now: tat only grows, and TTL removes an item long after)
    ✗  wait = tat - τ - now, from the item the refusal returned; nothing was written

A total is ``ADD total :n`` under ``expireAt > now``; a stale item (past its window, not
yet removed by TTL, which takes up to days) is overwritten instead.
"""

from __future__ import annotations

import time
from typing import Any

from adapters.dynamodb.errors import Caller, ConditionFailed, RetryPolicy
from adapters.dynamodb.items import to_attr
from core.gcra import tolerance_ms

ATTEMPTS = 5  # a counter that keeps changing under us: give up after this many tries


def _number(item: dict[str, Any] | None, name: str) -> int | None:
    if not item or name not in item:
        return None
    return int(item[name]["N"])


class DynamoLimitCounters:
    """``LimitCounters`` on DynamoDB; each step is one conditional write, so DynamoDB's
    per-item atomicity keeps the counts of every Lambda together."""

    def __init__(self, client: Any, table: str, *, retry: RetryPolicy | None = None) -> None:
        self._call = Caller(client, retry)
        self._table = table

    def _key(self, key: str) -> dict[str, Any]:
        return {"counterKey": to_attr(key)}

    async def take(self, key: str, capacity: int, interval_ms: int, now_ms: int) -> int:
        tol = tolerance_ms(capacity, interval_ms)
        for _ in range(ATTEMPTS):
            try:
                await self._update(
                    key,
                    "SET tat = :tat, expireAt = :ttl",
                    "attribute_not_exists(tat) OR tat < :now",
                    {
                        ":tat": now_ms + interval_ms,
                        ":now": now_ms,
                        ":ttl": _ttl(now_ms + interval_ms),
                    },
                )
                return 0
            except ConditionFailed:
                pass
            try:
                await self._update(
                    key,
                    "SET tat = tat + :i, expireAt = :ttl",
                    "tat <= :limit",
                    # the TTL may run a little long (to the furthest TAT possible): harmless
                    {
                        ":i": interval_ms,
                        ":limit": now_ms + tol,
                        ":ttl": _ttl(now_ms + tol + 2 * interval_ms),
                    },
                )
                return 0
            except ConditionFailed as refused:
                tat = _number(refused.item, "tat")
            if tat is not None and tat - tol - now_ms > 0:
                return tat - tol - now_ms
        return interval_ms  # contended past every attempt: say "soon", count nothing

    async def _update(
        self, key: str, update: str, condition: str, values: dict[str, int]
    ) -> dict[str, Any]:
        return await self._call(
            "update_item",
            TableName=self._table,
            Key=self._key(key),
            UpdateExpression=update,
            ConditionExpression=condition,
            ExpressionAttributeValues={k: to_attr(v) for k, v in values.items()},
            **({"ExpressionAttributeNames": {"#total": "total"}} if "#total" in update else {}),
            ReturnValues="UPDATED_NEW",
            ReturnValuesOnConditionCheckFailure="ALL_OLD",
        )

    async def add(self, key: str, amount: int, expire_at_s: int) -> int:
        now_s = int(time.time())
        for _ in range(ATTEMPTS):
            try:
                added = await self._update(
                    key,
                    "ADD #total :n SET expireAt = :exp",
                    "attribute_not_exists(expireAt) OR expireAt > :now",
                    {":n": amount, ":exp": expire_at_s, ":now": now_s},
                )
                return int(added["Attributes"]["total"]["N"])
            except ConditionFailed:
                pass
            try:
                await self._update(
                    key,
                    "SET #total = :n, expireAt = :exp",
                    "expireAt <= :now",
                    {":n": amount, ":exp": expire_at_s, ":now": now_s},
                )
                return amount
            except ConditionFailed:
                continue  # someone else started the new window: add to theirs
        raise ConditionFailed()  # pragma: no cover - five windows in a row cannot close

    async def total(self, key: str, now_ms: int) -> int:
        response = await self._call(
            "get_item", TableName=self._table, Key=self._key(key), ConsistentRead=True
        )
        item = response.get("Item")
        expires = _number(item, "expireAt")
        if expires is None or expires * 1000 <= now_ms:
            return 0
        return _number(item, "total") or 0


def _ttl(at_ms: int) -> int:
    return at_ms // 1000 + 1
