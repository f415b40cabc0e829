"""SIGKILL ``azuchi serve`` mid-reply, start it again: the reply is recovered without the
client sending anything, and the text the client had seen (up to the last checkpoint) is
still stored, with status ``interrupted``. On the embedded default (SQLite) and on DynamoDB
Local. The time from restart to the recovered reply's first delta is printed by
``bench/recovery_bench.py``, not asserted here."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import anyio
import boto3

from adapters.bootstrap import build_app
from adapters.settings import Settings
from core.domain import Message, Role
from testsupport.crash import CrashOutcome, crash_and_recover


def _stored(env: dict[str, str], session_id: str) -> list[Message]:
    async def read() -> list[Message]:
        async with build_app(Settings.from_env(env)) as app:
            return await app.store.last_messages(session_id, 50)

    return anyio.run(read)


def _check(outcome: CrashOutcome, stored: list[Message]) -> None:
    # The reply the kill cut is closed for the client (a live `done` or its stored message
    # says interrupted, so nothing shows it streaming), then a new one answers it.
    replies = outcome.replies()
    seen = [(f["type"], f.get("replyId"), f.get("status")) for f in outcome.after_restart]
    assert replies.get(outcome.reply_id) == "interrupted", seen
    new = [r for r, status in replies.items() if r != outcome.reply_id and status == "complete"]
    assert len(new) == 1, replies
    live = [f for f in outcome.after_restart if f["type"] in ("delta", "done")]
    assert {f["replyId"] for f in live} <= {outcome.reply_id, new[0]}
    assert all(f["replyId"] == new[0] for f in live if f["type"] == "delta")

    cut = [m for m in stored if m.reply_id == outcome.reply_id and m.role is Role.AGENT]
    assert len(cut) == 1 and cut[0].status == "interrupted"
    # What the client had seen, up to the last checkpoint, is kept; nothing it never saw.
    assert cut[0].message.startswith(outcome.checkpointed)
    assert outcome.seen_before_kill.startswith(cut[0].message)
    answers = [m for m in stored if m.role is Role.AGENT and m.status == "complete"]
    assert len(answers) == 1 and answers[0].reply_id == new[0]
    users = [m for m in stored if m.role is Role.USER]
    assert len(users) == 1 and answers[0].reply_to == users[0].created_at


def test_sigkill_mid_reply_on_sqlite_is_recovered(tmp_path: Path) -> None:
    path = tmp_path / "azuchi.db"
    env = {
        "AZUCHI_STORAGE": "sqlite",
        "AZUCHI_LOCK": "sqlite",
        "AZUCHI_AGENT_MEMORY": "sqlite",
        "AZUCHI_SQLITE_PATH": str(path),
    }

    def checkpoint(session_id: str) -> str | None:
        with sqlite3.connect(path, timeout=5) as conn:
            row = conn.execute(
                "SELECT text FROM reply_checkpoints WHERE session_id = ?", (session_id,)
            ).fetchone()
        return None if row is None else str(row[0])

    outcome = crash_and_recover(env, checkpoint)
    _check(outcome, _stored(env, outcome.session_id))


def test_sigkill_mid_reply_on_dynamodb_is_recovered(dynamo_env: dict[str, str]) -> None:
    env = {
        **dynamo_env,
        "AZUCHI_STORAGE": "dynamodb",
        "AZUCHI_LOCK": "dynamodb",
        "AZUCHI_AGENT_MEMORY": "dynamodb",
    }
    client = boto3.client(
        "dynamodb", endpoint_url=env["AZUCHI_DYNAMODB_ENDPOINT"], region_name="us-east-1"
    )
    table = env["AZUCHI_TABLE_PREFIX"] + "messages"

    def checkpoint(session_id: str) -> str | None:
        item = client.get_item(
            TableName=table,
            Key={"sessionId": {"S": session_id + "#reply"}, "createdAt": {"N": "0"}},
            ConsistentRead=True,
        ).get("Item")
        return None if item is None else str(item["message"]["S"])

    outcome = crash_and_recover(env, checkpoint)
    _check(outcome, _stored(env, outcome.session_id))
