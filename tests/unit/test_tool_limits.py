"""Tools cannot freeze the server: a huge calculation is refused before it is computed,
CPU-bound work runs in a worker process killed at the time limit, a tool's answer is
bounded, and a timeout is a failed AGENT_LOG step while the reply goes on."""

from __future__ import annotations

import time
from typing import Any

import anyio
import pytest

from adapters.inprocess import InProcessChatStore
from adapters.tools.arithmetic import MAX_RESULT_BITS, calculate, check
from adapters.tools.builtin import CalculateTool
from adapters.tools.worker import off_loop
from core.domain import ModelRequest, ToolCall, ToolSpec
from core.ports import ToolContext
from core.services.agent import Agent, AgentOutcome
from core.services.reply import ReplyContext
from tests.support import Client, fast_settings, running_app, settle
from tests.unit.test_agent import Sink, ToolHappyModel

pytestmark = pytest.mark.anyio
CTX = ReplyContext("s1", InProcessChatStore())
HUGE = "((((9**64)**64)**64)**64)"  # about 16 million digits: minutes of CPU if computed


def model_request() -> ModelRequest:
    return ModelRequest(system="s", history=(), prompt="p")


def spin(seconds: str) -> str:
    """Pure-Python CPU work that holds the GIL (run in a worker process by the tests)."""
    end = time.monotonic() + float(seconds)
    while time.monotonic() < end:
        pass
    return "spun"


class SpinTool:
    """A CPU-bound tool run the way the built-in ones are: ``off_loop``."""

    spec = ToolSpec("spin", "Spin the CPU.", {"type": "object", "properties": {}})

    async def run(self, arguments: dict[str, Any], context: ToolContext) -> str:
        return await off_loop(spin, "3600")


class ChattyTool:
    spec = ToolSpec("chatty", "Talk a lot.", {"type": "object", "properties": {}})

    async def run(self, arguments: dict[str, Any], context: ToolContext) -> str:
        return "word " * 100_000


@pytest.mark.parametrize(
    "expression", [HUGE, "(9**64)**64", "2 ** 2 ** 2 ** 2 ** 2", "2**-(-99999)"]
)
def test_calculate_refuses_a_huge_result_before_computing_it(expression: str) -> None:
    with pytest.raises(ValueError, match="digits"):
        check(expression)


@pytest.mark.parametrize(
    ("expression", "answer"),
    [("2**100", str(2**100)), ("9**64", str(9**64)), ("10 ** -2", "0.01"), ("7 // 2", "3")],
)
def test_calculate_still_answers_what_fits(expression: str, answer: str) -> None:
    assert calculate(expression) == f"{expression} = {answer}"


def test_the_largest_allowed_result_is_printable() -> None:
    exponent = MAX_RESULT_BITS - 1
    assert calculate(f"2 ** {exponent}").endswith(str(2**exponent))


async def test_calculate_runs_in_a_worker_process() -> None:
    assert await CalculateTool().run({"expression": "(1 + 2) ** 3"}, CTX) == "(1 + 2) ** 3 = 27"


async def test_cpu_bound_work_is_killed_at_the_time_limit_and_the_loop_keeps_running() -> None:
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            await anyio.sleep(0.01)
            ticks += 1

    async with anyio.create_task_group() as tg:
        tg.start_soon(ticker)
        with pytest.raises(TimeoutError):
            with anyio.fail_after(2):
                await off_loop(spin, "3600")
        tg.cancel_scope.cancel()
    assert ticks > 0  # the event loop ran while the worker spun
    # The pool is usable again after the kill.
    assert await off_loop(spin, "0") == "spun"


async def test_a_tool_timeout_is_a_failed_step_and_the_reply_goes_on() -> None:
    model = ToolHappyModel(ToolCall("1", "spin", {}))
    sink = Sink()
    agent = Agent(model, {"spin": SpinTool()}, max_steps=2, tool_timeout_s=1.0)
    outcome = await agent.run(model_request(), sink, CTX, AgentOutcome())
    (result,) = [payload for kind, payload in sink.events if kind == "result"]
    assert result == ("The tool timed out after 1 s.", True)
    assert outcome.text == "final answer"


async def test_a_tool_answer_is_bounded() -> None:
    model = ToolHappyModel(ToolCall("1", "chatty", {}))
    sink = Sink()
    agent = Agent(model, {"chatty": ChattyTool()}, max_steps=2, max_result_chars=1_000)
    await agent.run(model_request(), sink, CTX, AgentOutcome())
    ((content, is_error),) = [payload for kind, payload in sink.events if kind == "result"]
    assert not is_error and len(content) < 1_100 and "cut: 500,000 characters" in content
    assert len(model.requests[-1].rounds[0].results[0].content) == len(content)


async def test_a_huge_calculation_fails_its_step_while_another_session_keeps_streaming() -> None:
    settings = fast_settings(
        AZUCHI_SCRIPTED_TOKENS_PER_SECOND="400", AZUCHI_SCRIPTED_REPLY_TOKENS="200"
    )
    async with running_app(settings) as app:
        streamer = await Client.connect(app, "c-stream")
        asker = await Client.connect(app, "c-ask")
        await streamer.say("tell me a long story")
        await streamer.wait_for(lambda f: f["type"] == "delta")
        await asker.say(f"What is {HUGE}?")
        await settle(app)
        logs = [m["message"] for m in asker.of_type("message") if m["messageType"] == "AGENT_LOG"]
        assert logs[0] == f'→ calculate({{"expression": "{HUGE}"}})'
        assert logs[1].startswith("✗ calculate: The tool failed:") and "digits" in logs[1]
        assert [d["status"] for d in asker.of_type("done")] == ["complete"]
        assert [d["status"] for d in streamer.of_type("done")] == ["complete"]
        streamed = "".join(d["text"] for d in streamer.of_type("delta"))
        assert len(streamed.split()) == 200
