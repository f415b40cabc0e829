"""The tool port's contract (``core.ports.Tool``), for every tool an app offers: the
built-ins and the tools of a real MCP server (testsupport/mcp_server.py over streamable
HTTP, through azuchi's MCP adapter).

Each tool's spec is one that model APIs accept; a call its schema allows answers text; a
call its schema refuses never reaches it; and, marked as needing approval, it never runs
before the user approves, runs once when approved and never when denied."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from adapters.bootstrap import App, build_app
from adapters.settings import Settings
from adapters.tools.schema import schema_problem
from core.domain import (
    ModelEvent,
    ModelRequest,
    StreamEnded,
    TextDelta,
    ToolCall,
    ToolCallRequested,
    ToolResult,
)
from core.ports import Tool, ToolContext
from core.services.agent import Agent, AgentOutcome, Resume
from core.services.reply import ReplyContext
from testsupport.mcp_launch import http_mcp_server
from testsupport.profiles import IN_PROCESS

pytestmark = pytest.mark.anyio

# (tool name, test name) -> why that tool is allowed to fail that test.
KNOWN_DIVERGENCES: dict[tuple[str, str], str] = {}

# A call each tool's schema accepts; every offered tool must have one (a new tool joins
# the suite by adding it here).
VALID: dict[str, dict[str, Any]] = {
    "current_time": {},
    "calculate": {"expression": "(2 + 3) * 7"},
    "search_messages": {"query": "castle"},
    "calc__add": {"a": 12, "b": 7},
    "calc__slow": {"seconds": 0},
    "calc__fail": {},
    "calc__big": {"chars": 10},
    "calc__token": {},
    "calc__echo": {"text": "京都"},
    "calc__pid": {},
    "calc__touch": {"path": "{tmp}/touched"},
    "calc__news": {"path": "{tmp}/news"},
}
# Tools whose answer to a valid call is an error (they exist to fail): they must raise.
FAILING = {"calc__fail"}
# A call each tool's schema refuses (tools whose schema accepts any object have none).
REFUSED: dict[str, dict[str, Any]] = {
    "calculate": {"expression": 42},
    "search_messages": {},
    "calc__add": {"a": "twelve", "b": 7},
    "calc__slow": {"seconds": "soon"},
    "calc__big": {},
    "calc__echo": {"text": ["a"]},
    "calc__touch": {"path": None},
    "calc__news": {},
}
NAMES = sorted(VALID)


@pytest.fixture(scope="module")
def mcp_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with http_mcp_server(tmp_path_factory.mktemp("mcp") / "server.log") as url:
        yield url


@pytest.fixture
async def app(mcp_url: str, tmp_path: Path) -> AsyncIterator[App]:
    servers = tmp_path / "mcp.json"
    servers.write_text(
        json.dumps({"servers": [{"name": "calc", "transport": "http", "url": mcp_url}]})
    )
    settings = Settings.from_env({**IN_PROCESS, "AZUCHI_MCP_CONFIG": str(servers)})
    async with build_app(settings) as built:
        yield built


def sample(name: str, tmp_path: Path) -> dict[str, Any]:
    return {
        k: v.replace("{tmp}", str(tmp_path)) if isinstance(v, str) else v
        for k, v in VALID[name].items()
    }


class Counted:
    """A tool that counts its runs."""

    def __init__(self, tool: Tool) -> None:
        self.tool = tool
        self.spec = tool.spec
        self.runs = 0

    async def run(self, arguments: dict[str, Any], context: ToolContext) -> str:
        self.runs += 1
        return await self.tool.run(arguments, context)


class OneCall:
    model_id = "one-call"

    def __init__(self, call: ToolCall) -> None:
        self.call = call

    async def stream(self, request: ModelRequest) -> AsyncIterator[ModelEvent]:
        if request.tools and not request.rounds:
            yield ToolCallRequested(self.call)
            yield StreamEnded("tool_use")
            return
        yield TextDelta("ok")
        yield StreamEnded("end_turn")


class Sink:
    def __init__(self) -> None:
        self.results: list[ToolResult] = []

    def on_text(self, text: str) -> None: ...

    def on_reasoning(self, text: str) -> None: ...

    async def on_plan(self, steps: list[str]) -> None: ...

    async def on_tool_call(self, call: ToolCall) -> None: ...

    async def on_tool_result(self, call: ToolCall, result: ToolResult) -> None:
        self.results.append(result)


def context(app: App) -> ReplyContext:
    return ReplyContext("0b6e3c8e-2f4a-4b7e-9a51-3c1d2e4f5a6b", app.store)


async def test_every_offered_tool_is_in_the_suite(app: App) -> None:
    assert sorted(app.tools) == NAMES, "add a VALID call for each new tool"


@pytest.mark.parametrize("name", NAMES)
async def test_the_spec_is_one_model_apis_accept(app: App, name: str) -> None:
    import re

    import jsonschema

    spec = app.tools[name].spec
    assert re.fullmatch(r"[A-Za-z0-9_-]{1,64}", spec.name) and spec.name == name
    assert 0 < len(spec.description) <= 1024
    assert spec.parameters.get("type") == "object"
    jsonschema.validators.validator_for(spec.parameters).check_schema(spec.parameters)
    assert len(json.dumps(spec.parameters)) <= 16_384


@pytest.mark.parametrize("name", NAMES)
async def test_a_call_its_schema_allows_answers_text(app: App, name: str, tmp_path: Path) -> None:
    tool = app.tools[name]
    if name in FAILING:
        with pytest.raises(Exception, match="answered with an error"):
            await tool.run(sample(name, tmp_path), context(app))
        return
    answer = await tool.run(sample(name, tmp_path), context(app))
    assert isinstance(answer, str) and answer


@pytest.mark.parametrize("name", sorted(REFUSED))
async def test_a_call_its_schema_refuses_never_reaches_it(app: App, name: str) -> None:
    counted = Counted(app.tools[name])
    call = ToolCall("x", name, REFUSED[name])
    agent = Agent(OneCall(call), {name: counted}, 3, check_arguments=schema_problem)
    sink = Sink()
    await agent.run(ModelRequest("", (), "go"), sink, context(app), AgentOutcome())
    assert counted.runs == 0
    (result,) = sink.results
    assert result.is_error and "refused by the tool's schema" in result.content


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("approved", [True, False])
async def test_a_gated_call_runs_only_once_approved(
    app: App, name: str, approved: bool, tmp_path: Path
) -> None:
    counted = Counted(app.tools[name])
    call = ToolCall("x", name, sample(name, tmp_path))
    agent = Agent(
        OneCall(call),
        {name: counted},
        3,
        approval=frozenset({name}),
        check_arguments=schema_problem,
    )
    request = ModelRequest("", (), "go")
    outcome = await agent.run(request, Sink(), context(app), AgentOutcome())
    assert outcome.pause is not None and outcome.pause.call == call
    assert counted.runs == 0 and not outcome.text
    sink = Sink()
    resumed = await agent.run(
        request, sink, context(app), AgentOutcome(), Resume(outcome.pause, approved)
    )
    assert counted.runs == (1 if approved else 0)
    assert resumed.pause is None and resumed.text == "ok"
    (result,) = sink.results
    assert result.call_id == "x" and result.is_error == (not approved or name in FAILING)
