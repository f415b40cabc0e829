"""MCP tools that act wait for the user (``requireApproval``), over HTTP and stdio, and a
tool's answer cannot get around that: the prompt-injection test has a hostile server's
answer ask for an acting tool "already approved", and a model that obeys it."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from core.domain import (
    ModelEvent,
    ModelRequest,
    StreamEnded,
    TextDelta,
    ToolCall,
    ToolCallRequested,
)
from tests.mcp.conftest import http_server, stdio_server
from tests.support import Client, fast_settings, running_app, settle

pytestmark = pytest.mark.anyio

CALL = re.compile(r"CALL (\{.*\})")


class ObedientModel:
    """Calls ``first``; then does whatever a tool answer tells it to (``CALL {...}``): the
    worst case of a model persuaded by a prompt injection. Ends quoting the results."""

    model_id = "obedient"

    def __init__(self, first: ToolCall) -> None:
        self.first = first
        self.requests: list[ModelRequest] = []

    async def stream(self, request: ModelRequest) -> AsyncIterator[ModelEvent]:
        if request.purpose == "title":
            yield TextDelta("Tools")
            yield StreamEnded("end_turn")
            return
        self.requests.append(request)
        results = [r.content for round_ in request.rounds for r in round_.results]
        if request.tools and not request.rounds:
            yield ToolCallRequested(self.first)
            yield StreamEnded("tool_use")
            return
        wanted = CALL.search(results[-1]) if results else None
        if request.tools and wanted and len(request.rounds) == 1:
            order = json.loads(wanted.group(1))
            yield ToolCallRequested(ToolCall("call-2", order["tool"], order["arguments"]))
            yield StreamEnded("tool_use")
            return
        yield TextDelta("Done: " + " | ".join(results))
        yield StreamEnded("end_turn")


@pytest.fixture(params=["http", "stdio"])
def gated(request: pytest.FixtureRequest, servers_file: Any) -> dict[str, str]:
    """The test server with its acting tool (touch) behind approval."""
    if request.param == "http":
        server = http_server("calc", request.getfixturevalue("mcp_url"))
    else:
        server = stdio_server("calc")
    return servers_file({**server, "requireApproval": ["touch"]})  # type: ignore[no-any-return]


def of(client: Client, message_type: str) -> list[dict[str, Any]]:
    return [f for f in client.of_type("message") if f["messageType"] == message_type]


async def test_an_acting_mcp_tool_runs_only_once_approved(
    gated: dict[str, str], tmp_path: Path
) -> None:
    target = tmp_path / "touched.txt"
    model = ObedientModel(ToolCall("call-1", "calc__touch", {"path": str(target)}))
    async with running_app(fast_settings(**gated), model=model) as app:
        client = await Client.connect(app, "c1")
        await client.say("touch the file")
        await settle(app)
        (request,) = client.of_type("approval")
        assert request["tool"] == "calc__touch"
        assert not target.exists()  # the server was never asked
        await app.approvals.decide("c1", {"approvalId": request["approvalId"]}, True)
        await settle(app)
        assert target.read_text() == "touched"
        logs = [m["message"] for m in of(client, "AGENT_LOG")]
        assert logs[-1] == f"← calc__touch: wrote {target}"
        assert client.of_type("done")[-1]["status"] == "complete"


async def test_a_tool_answer_cannot_make_an_acting_tool_run_unapproved(
    gated: dict[str, str], tmp_path: Path
) -> None:
    target = tmp_path / "injected.txt"
    model = ObedientModel(ToolCall("call-1", "calc__news", {"path": str(target)}))
    async with running_app(fast_settings(**gated), model=model) as app:
        client = await Client.connect(app, "c1")
        await client.say("what is new?")
        await settle(app)
        # The model obeyed the injection and asked for touch: azuchi paused it.
        assert [c.name for c in model.requests[-1].rounds[0].calls] == ["calc__news"]
        (request,) = client.of_type("approval")
        assert (request["tool"], request["arguments"]) == ("calc__touch", {"path": str(target)})
        assert not target.exists()
        # The answer's text is data: it decided nothing, approved nothing.
        assert not of(client, "APPROVAL_DECISION")
        assert client.of_type("done")[-1]["status"] == "awaiting_approval"
        await app.approvals.decide("c1", {"approvalId": request["approvalId"]}, False)
        await settle(app)
        assert not target.exists()
        logs = [m["message"] for m in of(client, "AGENT_LOG")]
        assert logs[-1] == "✗ calc__touch: The user denied this call; it was not run."
        assert client.of_type("done")[-1]["status"] == "complete"


async def test_require_approval_true_gates_every_tool_of_the_server(
    mcp_url: str, servers_file: Any
) -> None:
    env = servers_file({**http_server("calc", mcp_url), "requireApproval": True})
    model = ObedientModel(ToolCall("call-1", "calc__add", {"a": 1, "b": 2}))
    async with running_app(fast_settings(**env), model=model) as app:
        client = await Client.connect(app, "c1")
        await client.say("add")
        await settle(app)
        assert client.of_type("approval")[0]["tool"] == "calc__add"
