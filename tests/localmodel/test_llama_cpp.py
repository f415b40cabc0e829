"""azuchi's ``openai-chat`` adapter end to end against a real llama.cpp server running
SmolLM2-135M-Instruct: what a user of a small local model sees."""

from __future__ import annotations

import anyio
import pytest

from core.domain import StopReason
from core.services.stops import NOTES, TOO_LONG
from tests.support import Client, fast_settings, running_app
from testsupport.llama_server import LlamaServer

pytestmark = [pytest.mark.anyio, pytest.mark.timeout(600)]

SHORT = {"AZUCHI_MAX_OUTPUT_TOKENS": "48", "AZUCHI_TEMPERATURE": "0"}


def agent_text(client: Client) -> list[str]:
    return [
        f["message"]
        for f in client.of_type("message")
        if f["role"] == "AGENT" and f["messageType"] == "CONVERSATION"
    ]


def notes(client: Client) -> list[str]:
    return [f["message"] for f in client.of_type("message") if f["messageType"] == "SYSTEM_LOG"]


async def settled(app: object) -> None:
    with anyio.fail_after(300):
        await app.launcher.wait_idle()  # type: ignore[attr-defined]


async def test_replies_stream_keep_history_and_get_a_short_title(llama: LlamaServer) -> None:
    async with running_app(fast_settings(**llama.env(**SHORT))) as app:
        client = await Client.connect(app, "c1")
        await client.say("My name is Ana. What is the capital of France?")
        await settled(app)
        await client.say("What is my name?")
        await settled(app)
        deltas = client.of_type("delta")
        replies = agent_text(client)
        assert len(replies) == 2 and all(r.strip() for r in replies)
        first_reply = [
            d["text"] for d in deltas if d["replyId"] == client.of_type("done")[0]["replyId"]
        ]
        assert "".join(first_reply) == replies[0]
        done = client.of_type("done")
        assert [d["status"] for d in done] == ["complete", "complete"]
        assert {d["stopReason"] for d in done} <= {"end_turn", "max_tokens"}
        assert all(d["usage"]["outputTokens"] > 0 for d in done)
        (title,) = client.of_type("session")
        assert title["title"] and len(title["title"].split()) <= 6 and len(title["title"]) <= 60
        history = await app.agent_memory.recent_history(client.session_id)
        assert [h.role for h in history] == ["user", "assistant", "user", "assistant"]


async def test_a_reply_cut_at_the_output_limit_says_so(llama: LlamaServer) -> None:
    env = llama.env(AZUCHI_MAX_OUTPUT_TOKENS="4", AZUCHI_TITLES="false")
    async with running_app(fast_settings(**env)) as app:
        client = await Client.connect(app, "c1")
        await client.say("Write a long story about a castle.")
        await settled(app)
        (done,) = client.of_type("done")
        assert done["stopReason"] == "max_tokens" and done["status"] == "complete"
        assert notes(client) == [NOTES[StopReason.MAX_TOKENS]]


async def test_stop_ends_the_reply_and_keeps_what_came(llama: LlamaServer) -> None:
    env = llama.env(AZUCHI_MAX_OUTPUT_TOKENS="400", AZUCHI_TITLES="false")
    async with running_app(fast_settings(**env)) as app:
        client = await Client.connect(app, "c1")
        await client.say("Write a very long story about a castle on a hill.")
        await client.wait_for(lambda f: f["type"] == "delta", timeout=120)
        await app.chat.stop_generation(client.connection_id)
        await settled(app)
        (done,) = client.of_type("done")
        assert done["status"] == "stopped"
        (kept,) = agent_text(client)
        assert kept.strip() and done["usage"]["outputTokens"] < 400


async def test_two_sessions_at_once_both_get_whole_replies(llama: LlamaServer) -> None:
    async with running_app(fast_settings(**llama.env(**SHORT, AZUCHI_TITLES="false"))) as app:
        one = await Client.connect(app, "c1")
        two = await Client.connect(app, "c2")
        await one.say("Name three colours.")
        await two.say("Name three animals.")
        await settled(app)
        for client in (one, two):
            (done,) = client.of_type("done")
            assert done["status"] == "complete", notes(client)
            (reply,) = agent_text(client)
            assert reply.strip()


async def test_a_message_over_the_context_leaves_the_session_usable(llama: LlamaServer) -> None:
    async with running_app(fast_settings(**llama.env(**SHORT, AZUCHI_TITLES="false"))) as app:
        client = await Client.connect(app, "c1")
        await client.say("Hello, please remember the word azalea.")
        await settled(app)
        await client.say("castle " * 2200)  # ~15 KB: far over a 2,048-token context
        await settled(app)
        done = client.of_type("done")[-1]
        assert done["status"] == "error" and done["stopReason"] == "context_window", notes(client)
        assert notes(client)[-1] == TOO_LONG
        await client.say("Say hello.")
        await settled(app)
        assert client.of_type("done")[-1]["status"] == "complete"
        assert agent_text(client)[-1].strip()


async def test_a_server_killed_mid_reply_ends_it_with_a_note(own_llama: LlamaServer) -> None:
    env = own_llama.env(
        AZUCHI_MAX_OUTPUT_TOKENS="400", AZUCHI_TITLES="false", AZUCHI_MODEL_MAX_RETRIES="1"
    )
    async with running_app(fast_settings(**env)) as app:
        client = await Client.connect(app, "c1")
        await client.say("Write a very long story about a castle on a hill.")
        await client.wait_for(lambda f: f["type"] == "delta", timeout=120)
        own_llama.kill()
        await settled(app)
        (done,) = client.of_type("done")
        assert done["status"] == "error" and done["stopReason"] == "error"
        (kept,) = agent_text(client)
        assert kept.strip()
        (note,) = notes(client)
        assert "MODEL_STREAM_ERROR" in note and "partial reply above is kept" in note
