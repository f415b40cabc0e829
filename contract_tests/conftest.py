"""Fixtures shared by the contract suites: one parametrized fixture per port over every
registered adapter, and the known-divergence marks (see README.md)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import AsyncExitStack
from typing import Any

import pytest

from contract_tests.backends import (
    DERIVED_MEMORIES,
    PROVIDERS,
    AdapterUnderTest,
    adapter_names,
    adapter_under_test,
    derived_memory_names,
)


@pytest.fixture(scope="session")
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="session", autouse=True)
def _stop_backends() -> Iterator[None]:
    yield
    for provider in PROVIDERS.values():
        provider.shutdown()


def divergence_reason(request: pytest.FixtureRequest, adapter: str) -> str | None:
    """The reason recorded in the test module's ``KNOWN_DIVERGENCES`` for this adapter and
    test, if any."""
    known: dict[tuple[str, str], str] = getattr(request.module, "KNOWN_DIVERGENCES", {})
    return known.get((adapter, request.node.originalname))


def _adapter_fixture(port: str) -> Any:
    @pytest.fixture(name=f"{port}_adapter", params=adapter_names(port))
    def fixture(request: pytest.FixtureRequest) -> AdapterUnderTest:
        under_test = adapter_under_test(port, request.param)
        reason = divergence_reason(request, request.param)
        if reason is not None:
            # strict: once the adapter is fixed the test passes, the run fails, and the
            # entry must go.
            request.applymarker(pytest.mark.xfail(strict=True, reason=reason))
        return under_test

    return fixture


storage_adapter = _adapter_fixture("storage")
lock_adapter = _adapter_fixture("lock")
agent_memory_adapter = _adapter_fixture("agent_memory")
limits_adapter = _adapter_fixture("limits")
model_adapter = _adapter_fixture("model")
transport_adapter = _adapter_fixture("transport")


@pytest.fixture(params=derived_memory_names())
def derived_memory_adapter(
    request: pytest.FixtureRequest,
) -> tuple[AdapterUnderTest, AdapterUnderTest]:
    """An agent memory that reads its history from a store, and that store."""
    memory = adapter_under_test("agent_memory", request.param)
    store = adapter_under_test("storage", DERIVED_MEMORIES[request.param])
    reason = divergence_reason(request, request.param)
    if reason is not None:
        request.applymarker(pytest.mark.xfail(strict=True, reason=reason))
    return memory, store


@pytest.fixture
async def exit_stack(anyio_backend: str) -> AsyncIterator[AsyncExitStack]:
    """Closes the adapters a test opened, after the test."""
    async with AsyncExitStack() as stack:
        yield stack
