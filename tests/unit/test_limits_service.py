"""The limits where no client frame passes: replies of queued and recovered messages are
checked and counted too, the reply slots are a hard bound, and the settings say what the
README says (core/services/limits.py)."""

from __future__ import annotations

import json
from typing import Any

import anyio
import pytest

from adapters.inprocess.scripted_model import ScriptedChatModel, ScriptedSettings
from adapters.settings import Settings
from core.domain import (
    MessageDraft,
    MessageType,
    Role,
    StreamEnded,
    TextDelta,
    Usage,
    UsageReported,
)
from core.services.limits import MICRO, LimitsConfig, Rate
from tests.support import Client, fast_settings, running_app, settle
from testsupport.profiles import UNLIMITED

pytestmark = pytest.mark.anyio


def limited(**on: str) -> Settings:
    chosen = {f"AZUCHI_LIMIT_{k.upper()}": v for k, v in on.items()}
    return fast_settings(**{**UNLIMITED, **chosen, "AZUCHI_TITLES": "false"})


class CountingModel(ScriptedChatModel):
    """The scripted model, counting its calls and the most that ran at once."""

    def __init__(self, settings: ScriptedSettings) -> None:
        super().__init__(settings)
        self.calls = 0
        self.running = 0
        self.most = 0

    async def stream(self, request: Any) -> Any:  # type: ignore[override]
        self.calls += 1
        self.running += 1
        self.most = max(self.most, self.running)
        try:
            await anyio.sleep(0.05)
            async for event in super().stream(request):
                yield event
        finally:
            self.running -= 1


async def pending_message(app: Any, session_id: str, text: str) -> None:
    """A USER message stored without launching its reply (as a crashed replier leaves it)."""
    await app.store.append_message(
        MessageDraft(session_id, Role.USER, MessageType.CONVERSATION, text)
    )


async def test_a_recovered_message_is_refused_once_the_spend_cap_is_reached() -> None:
    model = CountingModel(ScriptedSettings(tokens_per_second=0))
    async with running_app(limited(spend_per_day_usd="1"), model=model) as app:
        client = await Client.connect(app, "c1")
        await pending_message(app, client.session_id, "answer me after the crash")
        await app.limits.record(client.session_id, 0, 1.5)  # today's spend is past the cap

        result = await app.recover(client.session_id, wait_s=0)

        assert result.replies == 1 and model.calls == 0  # answered, by a refusal
        note = await client.wait_for(lambda f: f.get("role") == "SYSTEM")
        assert "SPEND_CAP_REACHED" in note["message"] and note["status"] == "error"
        session = await app.store.get_session(client.session_id)
        assert session is not None and not session.has_pending  # nothing loops on it


async def test_replies_count_tokens_and_a_queued_message_meets_the_day_cap() -> None:
    model = CountingModel(ScriptedSettings(tokens_per_second=0, reply_tokens=50))
    async with running_app(limited(session_tokens_per_day="60"), model=model) as app:
        client = await Client.connect(app, "c1")
        await client.say("first")
        await settle(app)
        # The second was accepted while the first was still unanswered, in effect: stored
        # as pending, then its reply is refused because the first used the day's tokens.
        await pending_message(app, client.session_id, "second")
        await app.replies.run_pending(client.session_id)
        assert model.calls == 1
        note = await client.wait_for(lambda f: "TOKEN_LIMIT_REACHED" in str(f.get("message")))
        assert note["role"] == "SYSTEM"


async def test_reply_slots_bound_the_replies_running_at_once() -> None:
    model = CountingModel(ScriptedSettings(tokens_per_second=0))
    async with running_app(limited(concurrent_replies="2"), model=model) as app:
        clients = [await Client.connect(app, f"c{i}") for i in range(5)]
        for client in clients:
            await pending_message(app, client.session_id, "hello")
        async with anyio.create_task_group() as tg:
            for client in clients:
                tg.start_soon(app.replies.run_pending, client.session_id)
        assert model.calls == 5 and model.most == 2


async def test_spend_is_counted_in_micro_dollars_for_the_whole_deployment() -> None:
    async with running_app(limited(spend_per_day_usd="10")) as app:
        await app.limits.record("s1", 10, 0.0000014)
        await app.limits.record("s2", 10, 0.25)
        assert await app.limits.spent_today() == 0.250001
        assert round(0.250001 * MICRO) == 250_001


def test_the_defaults_and_the_settings() -> None:
    defaults = Settings.from_env({}).limit
    assert defaults == LimitsConfig()
    assert defaults.connection_messages == Rate(10, 5) and defaults.spend_per_day_usd == 20.0
    env = {
        "AZUCHI_LOCK": "redis",
        "AZUCHI_LIMIT_CONNECTION_MESSAGES_PER_MINUTE": "30",
        "AZUCHI_LIMIT_CONNECTION_BURST": "3",
        "AZUCHI_LIMIT_NEW_SESSIONS_BURST": "9",
    }
    settings = Settings.from_env(env)
    assert settings.limits == "redis"  # follows the lock's adapter unless AZUCHI_LIMITS says
    assert settings.limit.connection_messages == Rate(30, 3)
    assert settings.limit.new_sessions.capacity == 9
    assert Settings.from_env({**env, "AZUCHI_LIMITS": "sqlite"}).limits == "sqlite"


async def test_on_lambda_the_owner_is_told_by_a_cloudwatch_metric(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from adapters.bootstrap import build_app

    settings = limited(spend_per_day_usd="1")
    async with build_app(settings, runtime="lambda") as app:
        await app.limits.record("s1", 10, 2.0)
    records = [json.loads(line) for line in capsys.readouterr().out.splitlines() if "_aws" in line]
    assert len(records) == 1  # once a day per process
    (metric,) = records[0]["_aws"]["CloudWatchMetrics"]
    # What infra/template.yaml's SpendCapAlarm watches: namespace, name and dimension.
    assert metric["Namespace"] == "azuchi" and metric["Metrics"] == [{"Name": "SpendCapReached"}]
    assert metric["Dimensions"] == [["stage"]] and records[0]["stage"] == settings.stage
    assert records[0]["SpendCapReached"] == 1 and records[0]["spentUsd"] == 2.0
    from adapters.dynamodb.tables import load_template

    alarm = load_template()["Resources"]["SpendCapAlarm"]["Properties"]
    assert (alarm["Namespace"], alarm["MetricName"]) == ("azuchi", "SpendCapReached")
    assert [d["Name"] for d in alarm["Dimensions"]] == ["stage"]


class CostlyTitles(ScriptedChatModel):
    """The scripted model, whose title calls use 1,000 input tokens each."""

    async def stream(self, request: Any) -> Any:  # type: ignore[override]
        if request.purpose != "title":
            async for event in super().stream(request):
                yield event
            return
        yield TextDelta("Castles")
        yield UsageReported(Usage(input_tokens=1000))
        yield StreamEnded("end_turn")


async def test_a_title_call_counts_against_the_sessions_tokens() -> None:
    """A title is a model call too: its tokens are the session's, so a loop of new
    sessions' first messages cannot spend past the day's cap on titles alone."""
    model = CostlyTitles(ScriptedSettings(tokens_per_second=0, reply_tokens=20))
    settings = fast_settings(
        **{**UNLIMITED, "AZUCHI_LIMIT_SESSION_TOKENS_PER_DAY": "900", "AZUCHI_TITLES": "true"}
    )
    async with running_app(settings, model=model) as app:
        client = await Client.connect(app, "c1")
        await client.say("first")
        await settle(app)
        assert (await app.store.get_session(client.session_id)).title == "Castles"  # type: ignore[union-attr]
        await pending_message(app, client.session_id, "second")
        await app.replies.run_pending(client.session_id)
        note = await client.wait_for(lambda f: "TOKEN_LIMIT_REACHED" in str(f.get("message")))
        assert note["role"] == "SYSTEM"
