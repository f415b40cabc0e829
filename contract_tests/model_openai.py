"""Backend providers for the OpenAI model adapters: one stub server (``testsupport.stubs.openai``,
both APIs) started once for the run on a thread with its own event loop
(``testsupport/stubs/thread.py``), since providers are synchronous and each test runs its own
loop."""

from __future__ import annotations

from contract_tests.providers import ModelProvider, ToolPrompt
from testsupport.stubs.openai import OpenAIStub, running_openai_stub
from testsupport.stubs.thread import StubOnThread

_SHARED: StubOnThread[OpenAIStub] = StubOnThread(lambda: running_openai_stub(reply_tokens=40))
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
