"""The real local model tier: llama-cpp-python's server with SmolLM2-135M (see
``testsupport/llama_server.py``). A run without it skips on a laptop and fails under CI."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from testsupport.backend import backend_missing
from testsupport.llama_server import LlamaServer, LlamaUnavailable


def start_llama(**options: int) -> LlamaServer:
    try:
        return LlamaServer(**options).start()
    except LlamaUnavailable as exc:
        backend_missing(str(exc))


@pytest.fixture(scope="module")
def llama() -> Iterator[LlamaServer]:
    """One server for the module's tests (loading the model takes a few seconds)."""
    server = start_llama()
    yield server
    server.stop()


@pytest.fixture
def own_llama() -> Iterator[LlamaServer]:
    """A server of the test's own, for a test that kills it."""
    server = start_llama()
    yield server
    server.stop()
