"""Fixtures of the AWS tests, which run the real aioboto3 clients against local stand-ins."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.aws.gateway import Rig, rigged
from tests.aws.lambda_app import WORKER
from tests.aws.lambda_stub import LambdaStub, serving_lambda
from testsupport.aws_credentials import DUMMY_CREDENTIALS


@pytest.fixture(autouse=True)
def _credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    """The SDK signs every request; the local gateway and the stubs accept any signature."""
    for name, value in DUMMY_CREDENTIALS.items():
        monkeypatch.setenv(name, value)


@pytest.fixture
async def rig() -> AsyncIterator[Rig]:
    async with rigged() as running:
        yield running


@pytest.fixture
async def stub() -> AsyncIterator[LambdaStub]:
    """The Invoke API stub, knowing only the reply worker."""
    async with serving_lambda([WORKER]) as running:
        yield running
