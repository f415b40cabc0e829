"""``azuchi tables create``: makes the template's tables where the settings point
(``AZUCHI_DYNAMODB_ENDPOINT``, else the account's DynamoDB) and turns their TTL on.

Idempotent: existing tables are left as they are (their TTL is still switched on).
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, TextIO

import anyio
from botocore.exceptions import BotoCoreError, ClientError

from adapters.dynamodb.client import DynamoConfig, LazyDynamoClient
from adapters.dynamodb.errors import Caller, error_code
from adapters.dynamodb.tables import TEMPLATE, TableSpec, table_specs
from adapters.settings import Settings
from core.errors import AzuchiError


@dataclass
class TablesReport:
    created: list[str] = field(default_factory=list)
    existing: list[str] = field(default_factory=list)
    ttl_enabled: list[str] = field(default_factory=list)


async def create_tables(
    settings: Settings,
    *,
    client: Any = None,
    specs: Sequence[TableSpec] | None = None,
    wait_s: float = 120.0,
) -> TablesReport:
    """Creates every missing table of ``infra/template.yaml`` and enables TTL where the
    template does. ``client`` may be any DynamoDB client; by default one is opened from
    ``settings`` and closed again."""
    config = DynamoConfig.from_env(settings.env)
    own = client is None
    client = client or LazyDynamoClient(config)
    call = Caller(client, config.retry)
    report = TablesReport()
    try:
        for spec in specs or table_specs(TEMPLATE):
            args = spec.create_table_args(config.tables)
            name = args["TableName"]
            if await _exists(client, name):
                report.existing.append(name)
            else:
                await call("create_table", **args)
                report.created.append(name)
            await _wait_active(call, name, wait_s)
            if spec.ttl_attribute and await _enable_ttl(call, name, spec.ttl_attribute):
                report.ttl_enabled.append(name)
    finally:
        if own:
            await client.aclose()
    return report


async def _exists(client: Any, name: str) -> bool:
    try:
        await client.describe_table(TableName=name)
    except ClientError as exc:
        if error_code(exc) == "ResourceNotFoundException":
            return False
        raise
    return True


async def _wait_active(call: Caller, name: str, wait_s: float) -> None:
    with anyio.fail_after(wait_s):
        while True:
            table = (await call("describe_table", TableName=name))["Table"]
            indexes = table.get("GlobalSecondaryIndexes", [])
            if table["TableStatus"] == "ACTIVE" and all(
                i.get("IndexStatus", "ACTIVE") == "ACTIVE" for i in indexes
            ):
                return
            await anyio.sleep(0.5)


async def _enable_ttl(call: Caller, name: str, attribute: str) -> bool:
    """Turns TTL on; False when it already was."""
    described = await call("describe_time_to_live", TableName=name)
    status = described.get("TimeToLiveDescription", {}).get("TimeToLiveStatus")
    if status in ("ENABLED", "ENABLING"):
        return False
    await call(
        "update_time_to_live",
        TableName=name,
        TimeToLiveSpecification={"AttributeName": attribute, "Enabled": True},
    )
    return True


def run(settings: Settings | None = None, out: TextIO = sys.stdout) -> int:
    """The command: prints what it did; returns the exit status."""
    settings = settings or Settings.from_env()
    config = DynamoConfig.from_env(settings.env)
    where = config.endpoint or f"DynamoDB in {config.region}"
    try:
        report = anyio.run(create_tables, settings)
    except (AzuchiError, BotoCoreError, ClientError, TimeoutError) as exc:
        out.write(f"azuchi tables create: cannot create the tables at {where}: {exc}\n")
        return 1
    for name in report.created:
        out.write(f"created {name}\n")
    for name in report.existing:
        out.write(f"exists  {name}\n")
    for name in report.ttl_enabled:
        out.write(f"TTL on  {name} (expireAt)\n")
    out.write(f"{len(report.created)} created, {len(report.existing)} existing, at {where}\n")
    return 0
