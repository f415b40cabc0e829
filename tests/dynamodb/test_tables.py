"""One source for the tables: infra/template.yaml, read by the code that creates them."""

from __future__ import annotations

import dataclasses
import uuid
from pathlib import Path

import pytest

from adapters.dynamodb.tables import (
    EXPECTED_TTL,
    TEMPLATE,
    CfnTag,
    TableNames,
    load_template,
    table_specs,
)
from adapters.dynamodb.tables_cli import create_tables
from adapters.settings import Settings


def test_the_template_is_a_sam_template_of_on_demand_encrypted_tables() -> None:
    template = load_template()
    assert template["AWSTemplateFormatVersion"] == "2010-09-09"
    assert template["Transform"] == "AWS::Serverless-2016-10-31"
    assert {"Stage", "TablePrefix", "PointInTimeRecovery"} <= set(template["Parameters"])
    specs = table_specs()
    assert sorted(s.base for s in specs) == sorted(
        ["sessions", "connections", "messages", "locks", "agent_memory", "limits"]
    )
    for spec in specs:
        assert spec.properties["BillingMode"] == "PAY_PER_REQUEST"
        assert isinstance(spec.properties["SSESpecification"]["SSEEnabled"], CfnTag)
        assert (spec.ttl_attribute == "expireAt") == (spec.base in EXPECTED_TTL)


def test_a_template_that_drifts_from_the_code_is_refused(tmp_path: Path) -> None:
    text = TEMPLATE.read_text(encoding="utf-8")
    drifted = tmp_path / "template.yaml"
    drifted.write_text(text.replace("IndexName: bySession", "IndexName: bySessionId"))
    with pytest.raises(ValueError, match="bySessionId"):
        table_specs(drifted)


def test_table_names_take_the_prefix() -> None:
    (messages,) = [s for s in table_specs() if s.base == "messages"]
    args = messages.create_table_args(TableNames("azuchi-prod-"))
    assert args["TableName"] == "azuchi-prod-messages"
    assert TableNames().messages == "azuchi-local-messages"


@pytest.mark.anyio
async def test_tables_create_is_idempotent_and_turns_ttl_on(dynamodb_endpoint: str) -> None:
    prefix = f"azuchi-cli-{uuid.uuid4().hex[:6]}-"
    settings = Settings.from_env(
        {"AZUCHI_DYNAMODB_ENDPOINT": dynamodb_endpoint, "AZUCHI_TABLE_PREFIX": prefix}
    )
    specs = [s for s in table_specs() if s.base in ("sessions", "messages")]
    first = await create_tables(settings, specs=specs)
    again = await create_tables(settings, specs=specs)
    names = [f"{prefix}sessions", f"{prefix}messages"]
    assert (
        first.created == names and first.ttl_enabled == names
    )  # sessions expire with their newest message
    assert dataclasses.astuple(again) == ([], names, [])
