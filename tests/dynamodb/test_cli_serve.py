"""`azuchi tables create` then `azuchi serve` on DynamoDB Local: a chat lands in the tables."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import boto3
import websockets

from testsupport.ports import free_port, http_answers, wait_ready

ROOT = Path(__file__).resolve().parents[2]


def test_tables_create_then_serve_chats_into_dynamodb(dynamodb_endpoint: str) -> None:
    prefix = f"azuchi-cli-{uuid.uuid4().hex[:6]}-"
    env = {
        **os.environ,
        "AZUCHI_DYNAMODB_ENDPOINT": dynamodb_endpoint,
        "AZUCHI_TABLE_PREFIX": prefix,
        "AZUCHI_STORAGE": "dynamodb",
        "AZUCHI_LOCK": "dynamodb",
        "AZUCHI_AGENT_MEMORY": "dynamodb",
        "AZUCHI_SCRIPTED_TOKENS_PER_SECOND": "0",
        "AWS_REGION": "us-east-1",
    }
    created = subprocess.run(
        [sys.executable, "-m", "handlers.cli", "tables", "create"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert created.returncode == 0, created.stdout + created.stderr
    assert f"created {prefix}messages" in created.stdout

    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "handlers.cli", "serve", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        wait_ready(
            lambda: http_answers(f"http://127.0.0.1:{port}/healthz"),
            what="azuchi serve",
            timeout=30,
            process=server,
            # stderr is a pipe: read it only once the server has exited, or it blocks.
            log=lambda: server.stderr.read().decode() if server.poll() is not None else "",  # type: ignore[union-attr]
        )
        session_id = asyncio.run(_chat(port))
    finally:
        server.terminate()
        server.wait(10)

    table = boto3.resource(
        "dynamodb", endpoint_url=dynamodb_endpoint, region_name="us-east-1"
    ).Table(f"{prefix}messages")
    items = table.query(
        KeyConditionExpression="sessionId = :s", ExpressionAttributeValues={":s": session_id}
    )["Items"]
    assert [(i["role"], i["messageType"]) for i in items] == [
        ("USER", "CONVERSATION"),
        ("AGENT", "CONVERSATION"),
    ]
    now = time.time()
    for item in items:  # TTL in epoch seconds, about 7 days out
        assert 6.9 * 86400 < float(item["expireAt"]) - now < 7.1 * 86400


async def _chat(port: int) -> str:
    async with websockets.connect(f"ws://127.0.0.1:{port}/local") as ws:
        await ws.send(json.dumps({"action": "putMessage", "message": "hello dynamo"}))
        async with asyncio.timeout(20):
            while True:
                frame = json.loads(await ws.recv())
                if frame["type"] == "done":
                    assert frame["status"] == "complete"
                    return str(frame["sessionId"])
