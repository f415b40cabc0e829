"""``AZUCHI_MODEL=bedrock|openai|openai-chat azuchi serve`` as a user runs it: the stub and the
server are separate processes, configured only by environment variables (the SDKs' own
``AWS_ENDPOINT_URL_BEDROCK_RUNTIME`` / ``OPENAI_BASE_URL``), and a WebSocket client chats."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from websockets.asyncio.client import connect

pytestmark = pytest.mark.anyio
ROOT = Path(__file__).resolve().parents[2]
URL = re.compile(r"(https?|wss?)://[\w.:/-]+")

MODELS = {
    # AZUCHI_MODEL: (stub module, variable pointing the SDK at it, model id shown, priced?)
    "bedrock": (
        "testsupport.stubs.bedrock",
        "AWS_ENDPOINT_URL_BEDROCK_RUNTIME",
        "claude-sonnet",
        True,
    ),
    "openai": ("testsupport.stubs.openai", "OPENAI_BASE_URL", "gpt-5-mini", True),
    "openai-chat": ("testsupport.stubs.openai", "OPENAI_BASE_URL", "llama3.2", False),
}


@contextmanager
def process(args: list[str], env: dict[str, str], wait_for: str) -> Iterator[str]:
    """Starts a process and yields the first URL on the line that says ``wait_for``."""
    proc = subprocess.Popen(
        [sys.executable, *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        seen = []
        assert proc.stdout is not None
        for line in proc.stdout:
            seen.append(line)
            if wait_for in line:
                urls = [m.group(0) for m in URL.finditer(line)]
                yield urls[-1] if "WebSocket" in wait_for else urls[0]
                break
        else:
            pytest.fail(f"{args} exited without {wait_for!r}:\n{''.join(seen)}")
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


async def chat(ws_url: str, text: str, expect_title: bool) -> list[dict[str, Any]]:
    frames: list[dict[str, Any]] = []
    async with connect(ws_url, open_timeout=10) as ws:
        await ws.send(json.dumps({"action": "putMessage", "message": text}))
        while True:
            frame = json.loads(await ws.recv())
            frames.append(frame)
            done = any(f["type"] == "done" for f in frames)
            titled = any(f["type"] == "session" and f.get("title") for f in frames)
            if done and (titled or not expect_title):
                return frames


@pytest.mark.parametrize("model", list(MODELS))
async def test_serve_chats_with_each_real_model_adapter_through_its_sdk(model: str) -> None:
    stub_module, variable, model_id, priced = MODELS[model]
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("AZUCHI_", "AWS_", "OPENAI_"))  # the user's own settings only
    }
    stub_env = {**env, "PYTHONPATH": str(ROOT)}
    with process(["-m", stub_module, "--port", "0"], stub_env, "http") as stub_url:
        serve_env = {
            **env,
            "AZUCHI_MODEL": model,
            variable: stub_url,
            "AWS_ACCESS_KEY_ID": "test",
            "AWS_SECRET_ACCESS_KEY": "test",
            "AWS_REGION": "eu-west-1",
            "OPENAI_API_KEY": "sk-test",
            **({"AZUCHI_MODEL_ID": "llama3.2"} if model == "openai-chat" else {}),
        }
        args = ["-m", "handlers.cli", "serve", "--port", "0"]
        with process(args, serve_env, "WebSocket at") as ws_url:
            frames = await chat(ws_url, "Castles of Japan: tell me about Azuchi", expect_title=True)

    deltas = "".join(f["text"] for f in frames if f["type"] == "delta")
    (reply,) = [f for f in frames if f["type"] == "message" and f["role"] == "AGENT"]
    (done,) = [f for f in frames if f["type"] == "done"]
    assert done["status"] == "complete"
    assert deltas and reply["message"] == deltas
    assert model_id in reply["model"]
    assert done["usage"]["inputTokens"] > 0 and done["usage"]["outputTokens"] > 0
    assert (done["costUsd"] is not None and done["costUsd"] > 0) == priced
    (titled,) = [f for f in frames if f["type"] == "session" and f.get("title")]
    assert titled["title"].lower().startswith("castles of japan")
