"""The lock port on DynamoDB (the lean profile): one lease item per session."""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from typing import Any

from adapters.dynamodb.errors import Caller, ConditionFailed, RetryPolicy
from adapters.dynamodb.items import to_attr
from core.domain import Lease, next_fence
from core.ports import LeaseState

TTL_SLACK_S = 3_600  # an abandoned lease item is deleted by TTL this long after it expired
FENCE_ATTEMPTS = 5  # acquires refused only because the fence had to go higher


class DynamoSessionLock:
    """Leases in the ``locks`` table: ``{sessionId, owner, expiresAt (epoch ms), stop,
    expireAt (TTL, epoch s)}``. Every operation is one conditional write, so DynamoDB's
    per-item atomicity is the mutual exclusion. Timeline::

        t0  A: set {owner a, expiresAt t0+L}  IF no item OR expiresAt <= t0     ✓ A holds, fence f
        t1  B: set {owner b, ...}             IF no item OR expiresAt <= t1     ✗ → None
        t2  A: update expiresAt = t2+L        IF owner = a AND expiresAt > t2   ✓ HELD
            (A stalls past t2+L: a frozen Lambda, a long GC pause)
        t3  B: set {owner b, ...}             IF ... expiresAt <= t3            ✓ B holds, fence > f
        t4  A: update ...                     IF owner = a ...                  ✗ LOST
        t5  A: release                        IF owner = a                      ✗ B's lease stays
        (and every write A still makes with fence f is refused by the stores)

    ``acquire`` rewrites the whole lease and removes the stop flag, so an old flag never
    outlives its lease; it also sets ``fence`` to ``max(fence + 1, now ms)``: a condition
    ``fence < :f`` with ``:f`` = now, and, if only that part failed, once more with the
    stored fence + 1 (one read). ``release`` empties the lease instead of deleting the
    item, so the fence counts on until TTL removes an idle item (then the clock carries
    it). ``request_stop`` sets the flag only on a live lease; ``extend`` returns the item after
    the update (ReturnValues ALL_NEW), so the holder learns of a stop in the same call.

    What a heartbeat costs: a write is 1 WCU ($0.625 per million), a strongly consistent
    read of this small item 1 RCU ($0.125). While more than half of the requested lease is
    left from this instance's last write, ``extend`` reads the item instead of writing it
    (the owner, the expiry and the stop flag answer the same question), so a reply shorter
    than half a lease (15 s by default) writes the lock twice, at acquire and release,
    however often its keeper beats; the lease it holds never falls below half a lease.
    Expiry is judged by the callers' wall clocks: leases assume clocks (NTP, as on Lambda)
    agree to well within a lease (30 s by default).
    """

    def __init__(
        self,
        client: Any,
        table: str,
        *,
        clock: Callable[[], float] = time.time,
        retry: RetryPolicy | None = None,
    ) -> None:
        self._client = client
        self._call = Caller(client, retry)
        self._table = table
        self._clock = clock
        self._written: dict[tuple[str, str], int] = {}  # (session, token) -> expiresAt written

    def _now_ms(self) -> int:
        return int(self._clock() * 1000)

    def _key(self, session_id: str) -> dict[str, Any]:
        return {"sessionId": to_attr(session_id)}

    async def acquire(self, session_id: str, lease_ms: int) -> Lease | None:
        now = self._now_ms()
        token = secrets.token_hex(16)
        fence = now
        for _ in range(FENCE_ATTEMPTS):
            try:
                await self._call(
                    "update_item",
                    TableName=self._table,
                    Key=self._key(session_id),
                    UpdateExpression=(
                        "SET #owner = :token, expiresAt = :exp, expireAt = :ttl, fence = :f"
                        " REMOVE #stop"
                    ),
                    ConditionExpression=(
                        "(attribute_not_exists(sessionId) OR expiresAt <= :now)"
                        " AND (attribute_not_exists(fence) OR fence < :f)"
                    ),
                    ExpressionAttributeNames={"#owner": "owner", "#stop": "stop"},
                    ExpressionAttributeValues={
                        ":token": to_attr(token),
                        ":exp": to_attr(now + lease_ms),
                        ":ttl": to_attr((now + lease_ms) // 1000 + TTL_SLACK_S),
                        ":f": to_attr(fence),
                        ":now": to_attr(now),
                    },
                )
                self._forget_expired(now)
                self._written[(session_id, token)] = now + lease_ms
                return Lease(token, fence)
            except ConditionFailed:
                item = await self._item(session_id)
                if item is None:
                    continue  # released and expired by TTL in between: try again
                if int(item.get("expiresAt", {}).get("N", "0")) > now:
                    return None  # a live lease is someone else's
                fence = next_fence(int(item.get("fence", {}).get("N", "0")), now)
        return None

    async def _item(self, session_id: str) -> dict[str, Any] | None:
        response = await self._call(
            "get_item", TableName=self._table, Key=self._key(session_id), ConsistentRead=True
        )
        item: dict[str, Any] | None = response.get("Item")
        return item

    async def is_held(self, session_id: str) -> bool:
        item = await self._item(session_id)
        return item is not None and int(item.get("expiresAt", {}).get("N", "0")) > self._now_ms()

    def _forget_expired(self, now: int) -> None:
        for key in [k for k, expires in self._written.items() if expires <= now]:
            del self._written[key]

    async def extend(self, session_id: str, token: str, lease_ms: int) -> LeaseState:
        now = self._now_ms()
        written = self._written.get((session_id, token))
        if written is not None and written - now > lease_ms / 2:
            return await self._check(session_id, token, now)
        try:
            response = await self._call(
                "update_item",
                TableName=self._table,
                Key=self._key(session_id),
                UpdateExpression="SET expiresAt = :exp, expireAt = :ttl",
                ConditionExpression="#owner = :token AND expiresAt > :now",
                ExpressionAttributeNames={"#owner": "owner"},
                ExpressionAttributeValues={
                    ":exp": to_attr(now + lease_ms),
                    ":ttl": to_attr((now + lease_ms) // 1000 + TTL_SLACK_S),
                    ":token": to_attr(token),
                    ":now": to_attr(now),
                },
                ReturnValues="ALL_NEW",
            )
        except ConditionFailed:
            self._written.pop((session_id, token), None)
            return LeaseState.LOST  # expired, taken, or released
        self._written[(session_id, token)] = now + lease_ms
        stop = response.get("Attributes", {}).get("stop", {}).get("BOOL", False)
        return LeaseState.STOP_REQUESTED if stop else LeaseState.HELD

    async def _check(self, session_id: str, token: str, now: int) -> LeaseState:
        """The lease as it stands, read rather than written (see the class docstring)."""
        response = await self._call(
            "get_item", TableName=self._table, Key=self._key(session_id), ConsistentRead=True
        )
        item = response.get("Item", {})
        live = int(item.get("expiresAt", {}).get("N", "0")) > now
        if item.get("owner", {}).get("S") != token or not live:
            self._written.pop((session_id, token), None)
            return LeaseState.LOST
        stop = item.get("stop", {}).get("BOOL", False)
        return LeaseState.STOP_REQUESTED if stop else LeaseState.HELD

    async def release(self, session_id: str, token: str) -> bool:
        self._written.pop((session_id, token), None)
        try:
            await self._call(
                "update_item",
                TableName=self._table,
                Key=self._key(session_id),
                UpdateExpression="SET expiresAt = :zero REMOVE #owner, #stop",
                ConditionExpression="#owner = :token AND expiresAt > :now",
                ExpressionAttributeNames={"#owner": "owner", "#stop": "stop"},
                ExpressionAttributeValues={
                    ":token": to_attr(token),
                    ":now": to_attr(self._now_ms()),
                    ":zero": to_attr(0),
                },
            )
        except ConditionFailed:
            return False  # not ours (any more): an expired lease is left for the next acquire
        return True

    async def request_stop(self, session_id: str) -> bool:
        try:
            await self._call(
                "update_item",
                TableName=self._table,
                Key=self._key(session_id),
                UpdateExpression="SET #stop = :true",
                ConditionExpression="attribute_exists(sessionId) AND expiresAt > :now",
                ExpressionAttributeNames={"#stop": "stop"},
                ExpressionAttributeValues={":true": to_attr(True), ":now": to_attr(self._now_ms())},
            )
        except ConditionFailed:
            return False  # no reply is running
        return True
