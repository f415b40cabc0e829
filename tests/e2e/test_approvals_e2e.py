"""Approving and denying a tool call over a real WebSocket, as a page does: the routes
through the local gateway and the Lambda handlers, with the offline model's calculate call
marked as needing approval (what a user gets with AZUCHI_TOOLS_REQUIRE_APPROVAL=calculate)."""

from __future__ import annotations

from typing import Any

import pytest

pytestmark = pytest.mark.anyio

GATED = {"AZUCHI_TOOLS_REQUIRE_APPROVAL": "calculate"}


def of(frames: list[dict[str, Any]], kind: str, message_type: str | None = None) -> list[Any]:
    return [
        f
        for f in frames
        if f["type"] == kind and (message_type is None or f.get("messageType") == message_type)
    ]


async def test_the_routes_frame_offers_the_decisions(start_gateway, open_client):
    client = await open_client(await start_gateway(env=GATED))
    await client.send(action="hello")
    (routes,) = of(await client.recv_type("routes"), "routes")
    assert {"approveTool", "denyTool"} <= set(routes["routes"])


async def test_approve_over_the_socket_runs_the_tool_and_finishes_the_reply(
    start_gateway, open_client
):
    gateway = await start_gateway(env=GATED)
    client = await open_client(gateway)
    await client.send(action="putMessage", message="What is 12 * 7?")
    frames = await client.recv_type("done")
    assert frames[-1]["status"] == "awaiting_approval"
    (request,) = of(frames, "approval")
    assert (request["tool"], request["arguments"]) == ("calculate", {"expression": "12 * 7"})
    # A second tab opened now (or after a reload) sees the request in the history.
    other = await open_client(gateway, request["sessionId"])
    (stored,) = [m for m in await other.history() if m["messageType"] == "APPROVAL"]
    assert stored["approval"]["tool"] == "calculate"
    assert stored["createdAt"] == request["approvalId"]

    await other.send(action="approveTool", approvalId=request["approvalId"])
    frames = await client.recv_type("done")
    logs = [m["message"] for m in of(frames, "message", "AGENT_LOG")]
    assert logs == ['→ calculate({"expression": "12 * 7"})', "← calculate: 12 * 7 = 84"]
    assert frames[-1]["status"] == "complete"
    reply = of(frames, "message", "CONVERSATION")[-1]
    assert "84" in reply["message"]


async def test_deny_over_the_socket_never_runs_the_tool(start_gateway, open_client):
    client = await open_client(await start_gateway(env=GATED))
    await client.send(action="putMessage", message="What is 12 * 7?")
    (request,) = of(await client.recv_type("done"), "approval")
    await client.send(action="denyTool", approvalId=request["approvalId"])
    frames = await client.recv_type("done")
    logs = [m["message"] for m in of(frames, "message", "AGENT_LOG")]
    assert logs == ["✗ calculate: The user denied this call; it was not run."]
    assert frames[-1]["status"] == "complete"


@pytest.mark.parametrize(
    ("frame", "code"),
    [
        ({"approvalId": "1"}, "INVALID_APPROVAL_ID"),
        ({}, "INVALID_APPROVAL_ID"),
        ({"approvalId": 10**40}, "INVALID_APPROVAL_ID"),
        ({"approvalId": 1}, "APPROVAL_NOT_FOUND"),
        ({"approvalId": 1, "sessionId": "not-a-session"}, "SESSION_MISMATCH"),
    ],
)
async def test_a_bad_decision_frame_gets_a_clear_error_and_changes_nothing(
    start_gateway, open_client, frame, code
):
    client = await open_client(await start_gateway(env=GATED))
    await client.send(action="putMessage", message="What is 12 * 7?")
    await client.recv_type("done")
    await client.send(action="approveTool", **frame)
    (error,) = of(await client.recv_type("error"), "error")
    assert (error["code"], error["action"]) == (code, "approveTool")
    kinds = [m["messageType"] for m in await client.history()]
    assert kinds == ["CONVERSATION", "APPROVAL"]  # the question, the request: nothing more
