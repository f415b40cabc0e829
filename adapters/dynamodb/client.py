"""DynamoDB clients: settings, a lazily opened aioboto3 client, and a capacity meter.

Adapters take any object with the DynamoDB client's coroutine methods (``put_item`` ...):
a real aioboto3 client, a stub in tests, a ``MeteredClient``, or the ``LazyDynamoClient``
the plugin's factories build. Plugin factories are synchronous while opening an aioboto3
client is not, so the lazy client opens it on first use and ``aclose`` closes it.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from typing import Any

from botocore.config import Config

from adapters.aws.clients import LazyClient, shared_session
from adapters.backoff import RetryPolicy
from adapters.dynamodb.tables import DEFAULT_PREFIX, TableNames


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
        # botocore's retries are off: errors.Caller retries, bounded and testable.
        return Config(
            retries={"total_max_attempts": 1, "mode": "standard"},
            max_pool_connections=self.max_pool_connections,
            connect_timeout=self.connect_timeout_s,
            read_timeout=self.read_timeout_s,
        )


class LazyDynamoClient:
    """An aioboto3 DynamoDB client opened on first use and closed by ``aclose``. Operations
    are looked up by name: ``await lazy.put_item(...)``."""

    def __init__(self, config: DynamoConfig, session: Any = None) -> None:
        self.config = config
        self._session = session
        self._lazy = LazyClient()

    def _open(self) -> AbstractAsyncContextManager[Any]:
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
# AWS bills a transactional read or write 2 units per item (per 4 KB / 1 KB) where a plain
# one costs 1; DynamoDB Local reports transactions at the plain rate, so the meter doubles
# what a transaction reports. On AWS, ``ReturnConsumedCapacity`` already says 2 per item
# (pass ``transaction_factor=1`` against the real service to take its figures as they are).
AWS_TRANSACTION_FACTOR = 2.0
TRANSACTIONS = frozenset({"transact_get_items", "transact_write_items"})


@dataclass
class MeteredClient:
    """Wraps a client: asks every read and write for ``ReturnConsumedCapacity=TOTAL`` and
    adds the units up, AWS-true (a transaction at ``transaction_factor`` times what the
    endpoint reports), per operation and in total (``by_operation``: ``"query <table>"``
    → units). ``failed_writes`` counts units of conditional writes that were refused
    (DynamoDB bills them but returns no figure): one per plain write, two per item of a
    transaction (items here are under 1 KB)."""

    inner: Any
    transaction_factor: float = AWS_TRANSACTION_FACTOR
    read_units: float = 0.0
    write_units: float = 0.0
    calls: dict[str, int] = field(default_factory=dict)
    by_operation: dict[str, float] = field(default_factory=dict)
    failed_writes: float = 0.0

    def snapshot(self) -> dict[str, Any]:
        """Units so far, refused conditional writes included (see the class docstring)."""
        return {
            "read_units": round(self.read_units, 3),
            "write_units": round(self.write_units + self.failed_writes, 3),
            "measured": True,
            "transactions_at_aws_rate": self.transaction_factor == AWS_TRANSACTION_FACTOR,
        }

    def reset(self) -> None:
        self.read_units = self.write_units = self.failed_writes = 0.0
        self.calls.clear()
        self.by_operation.clear()

    def __getattr__(self, operation: str) -> Any:
        if operation.startswith("_"):
            raise AttributeError(operation)
        target = getattr(self.inner, operation)
        if operation not in READS | WRITES:
            return target
        factor = self.transaction_factor if operation in TRANSACTIONS else 1.0

        async def call(**params: Any) -> Any:
            self.calls[operation] = self.calls.get(operation, 0) + 1
            label = f"{operation} {_table_of(params)}"
            try:
                result = await target(ReturnConsumedCapacity="TOTAL", **params)
            except Exception:
                if operation in WRITES:
                    refused = factor * len(params.get("TransactItems", [None]))
                    self.failed_writes += refused
                    self.by_operation[label] = self.by_operation.get(label, 0.0) + refused
                raise
            consumed = result.get("ConsumedCapacity") or []
            units = factor * sum(
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
    """The table a call is about (the first one a transaction names), for the breakdown."""
    if "TableName" in params:
        return str(params["TableName"])
    for entry in params.get("TransactItems", []):
        for action in entry.values():
            return str(action.get("TableName", "?"))
    return "?"
