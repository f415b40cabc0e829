"""A paused reply on the lean profile (DynamoDB storage, lock and the memory derived from the
messages table): the paused run's detail round-trips, the resumed turn's history holds the
conversation before it once, and the next turn holds the paused turn as one exchange (its
parts joined: Bedrock refuses two assistant messages in a row)."""

from __future__ import annotations

import pytest

from tests.support import Client, fast_settings, running_app, settle
from tests.unit.test_approvals import GATED, ArithmeticOnly, calc, paused

pytestmark = pytest.mark.anyio


async def test_approve_on_the_lean_profile(dynamo_env: dict[str, str]) -> None:
    env = {
        **dynamo_env,
        **GATED,
        "AZUCHI_STORAGE": "dynamodb",
        "AZUCHI_LOCK": "dynamodb",
        "AZUCHI_AGENT_MEMORY": "dynamodb",
        "AZUCHI_LIMITS": "inprocess",
    }
    model = ArithmeticOnly([calc()], None)
    async with running_app(fast_settings(**env), model=model) as app:
        client = await Client.connect(app, "c1")
        await client.say("hello")
        await settle(app)
        request = await paused(app, client)
        assert request["approval"]["arguments"] == {"expression": "6*7"}
        await app.approvals.decide("c1", {"approvalId": request["createdAt"]}, True)
        await settle(app)
        resumed = model.requests[-1]
        assert resumed.prompt == "what is 6*7?"
        assert [h.content for h in resumed.history] == ["hello", "You said hello"]
        await client.say("thanks")
        await settle(app)
        assert [(h.role, h.content) for h in model.requests[-1].history] == [
            ("user", "hello"),
            ("assistant", "You said hello"),
            ("user", "what is 6*7?"),
            ("assistant", "Let me work that out. \n\nResults: 6*7 = 42"),
        ]
