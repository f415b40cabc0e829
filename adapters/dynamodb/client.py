"""DynamoDB clients: settings, a lazily opened client (aioboto3's or the lite one), and a
capacity meter.

Adapters take any object with the DynamoDB client's coroutine methods (``put_item`` ...):
a real aioboto3 client, a stub in tests, a ``MeteredClient``, or the ``LazyDynamoClient``
the plugin's factories build. Plugin factories are synchronous while opening an aioboto3
client is not, so the lazy client opens it on first use and ``aclose`` closes it.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Mapping
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from adapters.aws.clients import LazyClient, shared_session
from adapters.backoff import RetryPolicy
from adapters.dynamodb.items import item_size
from adapters.dynamodb.tables import DEFAULT_PREFIX, TableNames

if TYPE_CHECKING:
    from botocore.config import Config


@dataclass(frozen=True, slots=True)
class DynamoConfig:
    """Where the tables are: ``AZUCHI_DYNAMODB_ENDPOINT`` (else the account's DynamoDB),
    ``AWS_REGION`` / ``AWS_DEFAULT_REGION`` (default us-east-1), ``AZUCHI_TABLE_PREFIX``
    (default ``azuchi-local-``), ``AZUCHI_DYNAMODB_MAX_ATTEMPTS`` (default 6)."""

    endpoint: str | None = None
    region: str = "us-east-1"
    tables: TableNames = field(default_factory=TableNames)
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    max_pool_connections: int = 50
    connect_timeout_s: float = 3.0
    read_timeout_s: float = 10.0

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> DynamoConfig:
        env = os.environ if env is None else env
        prefix = env.get("AZUCHI_TABLE_PREFIX")
        attempts = env.get("AZUCHI_DYNAMODB_MAX_ATTEMPTS", "").strip()
        return cls(
            endpoint=env.get("AZUCHI_DYNAMODB_ENDPOINT") or None,
            region=env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or "us-east-1",
            tables=TableNames(DEFAULT_PREFIX if prefix is None else prefix),
            retry=RetryPolicy(max_attempts=max(1, int(attempts))) if attempts else RetryPolicy(),
        )

    def botocore_config(self) -> Config:
        from botocore.config import Config

        # botocore's retries are off: errors.Caller retries, bounded and testable.
        return Config(
            retries={"total_max_attempts": 1, "mode": "standard"},
            max_pool_connections=self.max_pool_connections,
            connect_timeout=self.connect_timeout_s,
            read_timeout=self.read_timeout_s,
        )


class LazyDynamoClient:
    """A DynamoDB client opened on first use and closed by ``aclose``: aioboto3's, or with
    ``kind="lite"`` the standard-library one (``adapters.aws.lite.dynamodb``; same calls,
    same answers). Operations are looked up by name: ``await lazy.put_item(...)``."""

    def __init__(self, config: DynamoConfig, session: Any = None, kind: str = "sdk") -> None:
        self.config = config
        self.kind = kind
        self._session = session
        self._lazy = LazyClient()

    def _open(self) -> AbstractAsyncContextManager[Any]:
        if self.kind == "lite":
            from adapters.aws.lite.dynamodb import LiteDynamoClient

            return LiteDynamoClient(
                self.config.endpoint,
                self.config.region,
                connect_timeout_s=self.config.connect_timeout_s,
                read_timeout_s=self.config.read_timeout_s,
                max_connections=self.config.max_pool_connections,
            )
        session = self._session or shared_session()
        opened: AbstractAsyncContextManager[Any] = session.client(
            "dynamodb",
            endpoint_url=self.config.endpoint,
            region_name=self.config.region,
            config=self.config.botocore_config(),
        )
        return opened

    async def client(self) -> Any:
        return await self._lazy.get(self._open)

    def __getattr__(self, operation: str) -> Any:
        if operation.startswith("_"):
            raise AttributeError(operation)

        async def call(**params: Any) -> Any:
            return await getattr(await self.client(), operation)(**params)

        return call

    async def aclose(self) -> None:
        await self._lazy.aclose()


READS = frozenset({"get_item", "query", "scan", "batch_get_item", "transact_get_items"})
WRITES = frozenset(
    {"put_item", "update_item", "delete_item", "batch_write_item", "transact_write_items"}
)
TRANSACTIONS = frozenset({"transact_get_items", "transact_write_items"})
KB = 1024


def aws_transaction_write_units(items: list[dict[str, Any]]) -> float:
    """What AWS bills a TransactWriteItems: 2 units per item per KB (rounded up, at least
    1 KB). A Put is measured from its item; an Update, Delete or ConditionCheck is counted
    at 1 KB (azuchi's transactions update only the session item, a few hundred bytes)."""
    units = 0
    for entry in items:
        for action, body in entry.items():
            size = item_size(body["Item"]) if action == "Put" else KB
            units += 2 * max(1, math.ceil(size / KB))
    return float(units)


@dataclass
class MeteredClient:
    """Wraps a client: asks every read and write for ``ReturnConsumedCapacity=TOTAL`` and
    adds the units up, AWS-true, per operation and in total (``by_operation``:
    ``"query <table>"`` → units). DynamoDB Local's figure for a transaction is not AWS's
    (it reports 2 for one small item, as AWS does, but also 2 for three), so by default
    (``local_transactions``) a write transaction is counted from its items with AWS's rule
    (``aws_transaction_write_units``); against the real service, pass
    ``local_transactions=False`` to take its figures as they are. ``failed_writes`` counts
    units of conditional writes that were refused (DynamoDB bills them but returns no
    figure): one per plain write, two per item of a transaction (items here are under
    1 KB)."""

    inner: Any
    local_transactions: bool = True
    read_units: float = 0.0
    write_units: float = 0.0
    calls: dict[str, int] = field(default_factory=dict)
    by_operation: dict[str, float] = field(default_factory=dict)
    failed_writes: float = 0.0
    # Prefixes each ``by_operation`` label (a bench names the adapter method calling).
    tag: Callable[[], str] = field(default=lambda: "")
    counts: dict[str, int] = field(default_factory=dict)  # calls per by_operation label

    def snapshot(self) -> dict[str, Any]:
        """Units so far, refused conditional writes included (see the class docstring)."""
        return {
            "read_units": round(self.read_units, 3),
            "write_units": round(self.write_units + self.failed_writes, 3),
            "measured": True,
            "transactions_at_aws_rate": True,
        }

    def reset(self) -> None:
        self.read_units = self.write_units = self.failed_writes = 0.0
        self.calls.clear()
        self.by_operation.clear()
        self.counts.clear()

    def __getattr__(self, operation: str) -> Any:
        if operation.startswith("_"):
            raise AttributeError(operation)
        target = getattr(self.inner, operation)
        if operation not in READS | WRITES:
            return target
        factor = 2.0 if operation in TRANSACTIONS else 1.0

        async def call(**params: Any) -> Any:
            self.calls[operation] = self.calls.get(operation, 0) + 1
            label = f"{self.tag()}{operation} {_table_of(params)}"
            self.counts[label] = self.counts.get(label, 0) + 1
            try:
                result = await target(ReturnConsumedCapacity="TOTAL", **params)
            except Exception:
                if operation in WRITES:
                    refused = factor * len(params.get("TransactItems", [None]))
                    self.failed_writes += refused
                    self.by_operation[label] = self.by_operation.get(label, 0.0) + refused
                raise
            if operation == "transact_write_items" and self.local_transactions:
                units = aws_transaction_write_units(params["TransactItems"])
            else:
                consumed = result.get("ConsumedCapacity") or []
                units = sum(
                    float(c.get("CapacityUnits", 0.0))
                    for c in (consumed if isinstance(consumed, list) else [consumed])
                )
            if operation in READS:
                self.read_units += units
            else:
                self.write_units += units
            self.by_operation[label] = self.by_operation.get(label, 0.0) + units
            return result

        return call


def _table_of(params: dict[str, Any]) -> str:
    """The table a call is about (a transaction's items, action and table), for the
    breakdown."""
    if "TableName" in params:
        return str(params["TableName"])
    parts = [
        f"{action}:{body.get('TableName', '?')}"
        for entry in params.get("TransactItems", [])
        for action, body in entry.items()
    ]
    return "[" + " ".join(parts) + "]" if parts else "?"
