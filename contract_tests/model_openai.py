"""Backend providers for the OpenAI model adapters: one stub server (``tests/stubs/openai.py``,
both APIs) started once for the run on a thread with its own event loop, since providers
are synchronous and each test runs its own loop."""

from __future__ import annotations

import asyncio
import threading
from concurrent.futures import Future

from contract_tests.providers import ModelProvider, ToolPrompt
from tests.stubs.openai import OpenAIStub, running_openai_stub


class _StubThread:
    """The stub, served from a daemon thread until ``stop``."""

    def __init__(self) -> None:
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._stub: OpenAIStub | None = None

    def start(self) -> OpenAIStub:
        if self._stub is not None:
            return self._stub
        ready: Future[OpenAIStub] = Future()

        async def serve() -> None:
            self._stop = asyncio.Event()
            try:
                async with running_openai_stub(reply_tokens=40) as stub:
                    ready.set_result(stub)
                    await self._stop.wait()
            except BaseException as exc:
                if not ready.done():
                    ready.set_exception(exc)
                raise

        def run() -> None:
            self._loop = asyncio.new_event_loop()
            self._loop.run_until_complete(serve())
            self._loop.close()

        self._thread = threading.Thread(target=run, name="openai-stub", daemon=True)
        self._thread.start()
        self._stub = ready.result(timeout=10)
        return self._stub

    def stop(self) -> None:
        if self._loop is not None and self._stop is not None and self._thread is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
            self._thread.join(timeout=5)
        self._thread = self._loop = self._stop = self._stub = None


_SHARED = _StubThread()
_USERS: set[int] = set()


class _OpenAIStubProvider(ModelProvider):
    tool_prompts = (
        ToolPrompt("Please plan my afternoon.", frozenset({"update_plan", "current_time"})),
        ToolPrompt("What is 12 * 7?", frozenset({"calculate"})),
    )
    failure_prompt = "Tell me a story, then fail"

    def environment(self) -> dict[str, str]:
        _USERS.add(id(self))
        return _SHARED.start().env(AZUCHI_MODEL_TIMEOUT_S="10")

    def shutdown(self) -> None:
        _USERS.discard(id(self))
        if not _USERS:
            _SHARED.stop()


class OpenAIResponsesProvider(_OpenAIStubProvider):
    """``AZUCHI_MODEL=openai`` against the stub's ``/v1/responses``."""


class OpenAIChatProvider(_OpenAIStubProvider):
    """``AZUCHI_MODEL=openai-chat`` against the stub's ``/v1/chat/completions``."""
