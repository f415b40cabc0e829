"""SIGKILL ``azuchi serve`` while a reply waits for the user's approval, start it again: the
request is still there after a reload, and approving it in the new process runs the tool
and finishes the reply (the paused run is stored, never held in memory). On the embedded
default (SQLite) and on DynamoDB Local."""

from __future__ import annotations

import asyncio
import json
import signal
from pathlib import Path
from typing import Any

import websockets

from testsupport.crash import start_serve, stop
from testsupport.ports import free_port
from testsupport.profiles import sqlite_profile

GATED = {"AZUCHI_TOOLS_REQUIRE_APPROVAL": "calculate", "AZUCHI_TITLES": "false"}


async def _frames_until(ws: Any, kind: str) -> list[dict[str, Any]]:
    frames = []
    async with asyncio.timeout(60):
        while True:
            frames.append(json.loads(await ws.recv()))
            if frames[-1]["type"] == kind:
                return frames


async def _pause(port: int) -> dict[str, Any]:
    async with websockets.connect(f"ws://127.0.0.1:{port}/local") as ws:
        await ws.send(json.dumps({"action": "putMessage", "message": "What is 12 * 7?"}))
        frames = await _frames_until(ws, "approval")
        return frames[-1]


async def _approve_after_restart(port: int, request: dict[str, Any]) -> list[dict[str, Any]]:
    url = f"ws://127.0.0.1:{port}/local?sessionId={request['sessionId']}"
    async with websockets.connect(url) as ws:
        await ws.send(json.dumps({"action": "getMessages"}))
        history = (await _frames_until(ws, "history"))[-1]["messages"]
        (stored,) = [m for m in history if m["messageType"] == "APPROVAL"]
        assert stored["createdAt"] == request["approvalId"]
        assert stored["approval"]["arguments"] == {"expression": "12 * 7"}
        await ws.send(json.dumps({"action": "approveTool", "approvalId": request["approvalId"]}))
        return await _frames_until(ws, "done")


def _crash_while_paused(env: dict[str, str]) -> list[dict[str, Any]]:
    port = free_port()
    server = start_serve({**env, **GATED}, port)
    try:
        request = asyncio.run(_pause(port))
        server.send_signal(signal.SIGKILL)
        server.wait(15)
    finally:
        stop(server)
    restarted = start_serve({**env, **GATED}, port)
    try:
        return asyncio.run(_approve_after_restart(port, request))
    finally:
        stop(restarted)


def _check(frames: list[dict[str, Any]]) -> None:
    logs = [f["message"] for f in frames if f.get("messageType") == "AGENT_LOG"]
    assert logs == ['→ calculate({"expression": "12 * 7"})', "← calculate: 12 * 7 = 84"]
    assert frames[-1]["status"] == "complete"
    replies = [f for f in frames if f["type"] == "message" and f["role"] == "AGENT"]
    assert "84" in replies[-1]["message"]


def test_a_paused_reply_survives_sigkill_on_sqlite(tmp_path: Path) -> None:
    env = sqlite_profile(tmp_path / "azuchi.db")
    _check(_crash_while_paused(env))


def test_a_paused_reply_survives_sigkill_on_dynamodb(dynamo_env: dict[str, str]) -> None:
    env = {
        **dynamo_env,
        "AZUCHI_STORAGE": "dynamodb",
        "AZUCHI_LOCK": "dynamodb",
        "AZUCHI_AGENT_MEMORY": "dynamodb",
    }
    _check(_crash_while_paused(env))


async def _approve_and_see_it_start(port: int, request: dict[str, Any]) -> None:
    url = f"ws://127.0.0.1:{port}/local?sessionId={request['sessionId']}"
    async with websockets.connect(url) as ws:
        await ws.send(json.dumps({"action": "approveTool", "approvalId": request["approvalId"]}))
        await _frames_until(ws, "delta")  # the resumed reply streams: kill it now


async def _recovered(port: int, session_id: str) -> list[dict[str, Any]]:
    url = f"ws://127.0.0.1:{port}/local?sessionId={session_id}"
    async with websockets.connect(url) as ws, asyncio.timeout(60):
        while True:  # the client sends nothing but getMessages, as a page does
            await ws.send(json.dumps({"action": "getMessages"}))
            history = (await _frames_until(ws, "history"))[-1]["messages"]
            decision = next(m for m in history if m["messageType"] == "APPROVAL_DECISION")
            after = [m for m in history if m["createdAt"] > decision["createdAt"]]
            if any(m["role"] == "AGENT" and m.get("status") == "complete" for m in after):
                return history
            await asyncio.sleep(0.5)


def test_a_resumed_reply_cut_by_sigkill_is_answered_again(tmp_path: Path) -> None:
    """The decision is stored before the tool runs: a crash during the resumed reply leaves
    it pending, and the restarted server answers it (the tool runs again, as any step cut
    by a crash does)."""
    env = {
        **GATED,
        **sqlite_profile(tmp_path / "azuchi.db"),
        "AZUCHI_SCRIPTED_TOKENS_PER_SECOND": "10",
    }
    port = free_port()
    server = start_serve(env, port)
    try:
        request = asyncio.run(_pause(port))
        asyncio.run(_approve_and_see_it_start(port, request))
        server.send_signal(signal.SIGKILL)
        server.wait(15)
    finally:
        stop(server)
    restarted = start_serve({**env, "AZUCHI_SCRIPTED_TOKENS_PER_SECOND": "0"}, port)
    try:
        history = asyncio.run(_recovered(port, request["sessionId"]))
    finally:
        stop(restarted)
    kinds = [(m["role"], m["messageType"], m.get("status")) for m in history]
    assert kinds.count(("USER", "APPROVAL_DECISION", None)) == 1, kinds
    assert ("SYSTEM", "SYSTEM_LOG", "interrupted") in kinds, kinds  # the cut reply, closed
    results = [m["message"] for m in history if m["message"].startswith("← calculate")]
    assert results == ["← calculate: 12 * 7 = 84"] * 2  # run again by the new reply
    final = [m for m in history if m["role"] == "AGENT" and m.get("status") == "complete"]
    assert "84" in final[-1]["message"]
