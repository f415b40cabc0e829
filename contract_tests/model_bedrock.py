"""The Bedrock model adapter's backend for the model suite: the ConverseStream stub
(``testsupport/stubs/bedrock.py``), started once per run on a thread of its own, and reached
through the SDK's own variable ``AWS_ENDPOINT_URL_BEDROCK_RUNTIME`` with dummy credentials."""

from __future__ import annotations

from typing import TYPE_CHECKING

from contract_tests.providers import ModelProvider, ToolPrompt

if TYPE_CHECKING:
    from testsupport.stubs.bedrock import BedrockStub
    from testsupport.stubs.thread import StubOnThread


class BedrockModelProvider(ModelProvider):
    tool_prompts = (
        ToolPrompt("Please plan my afternoon.", frozenset({"update_plan", "current_time"})),
        ToolPrompt("What is 12 * 7?", frozenset({"calculate"})),
    )
    failure_prompt = "Tell me a story, then fail."

    def __init__(self) -> None:
        self._thread: StubOnThread[BedrockStub] | None = None
        self._env: dict[str, str] | None = None

    def environment(self) -> dict[str, str]:
        if self._env is None:
            from testsupport.stubs.bedrock import running_bedrock_stub
            from testsupport.stubs.thread import StubOnThread

            self._thread = StubOnThread(
                lambda: running_bedrock_stub(tokens_per_second=0, reply_tokens=40)
            )
            stub = self._thread.start()
            self._env = {
                "AWS_ENDPOINT_URL_BEDROCK_RUNTIME": stub.url,
                "AWS_ACCESS_KEY_ID": "contract-tests",
                "AWS_SECRET_ACCESS_KEY": "contract-tests",
                "AWS_REGION": "us-east-1",
            }
        return self._env

    def shutdown(self) -> None:
        if self._thread is not None:
            self._thread.stop()
        self._thread = self._env = None
