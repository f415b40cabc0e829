"""``azuchi cost --limits``: the worst spend the limits allow, from the price table and the
settings (costmodel/limits.py)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from adapters.pricing.table import ModelPrice
from core.config import ChatConfig
from core.services.limits import LimitsConfig, Rate
from costmodel.limits import spend_bounds, worst_reply_usd

PRICE = ModelPrice(input=1.0, output=10.0)  # $ per million tokens
ONE_STEP = ChatConfig(
    system_prompt="",
    history_token_budget=1000,
    max_message_bytes=2000,  # 1,000 tokens at 2 bytes each
    max_output_tokens=500,
    max_agent_steps=1,
)


def test_a_replys_worst_cost_is_what_it_may_read_and_write() -> None:
    # reads 1 + 1,000 + 1,000 tokens at $1/M, writes 500 at $10/M
    assert worst_reply_usd(PRICE, ONE_STEP) == pytest.approx((2001 * 1 + 500 * 10) / 1e6)


def test_the_client_bound_is_its_sessions_and_the_deployment_is_the_cap() -> None:
    limits = LimitsConfig(
        session_messages=Rate(1, 1),  # 61 replies an hour
        new_sessions=Rate(1, 4),  # 64 sessions an hour
        session_tokens_per_day=0,
        spend_per_day_usd=5.0,
    )
    bounds = spend_bounds("m", PRICE, ONE_STEP, limits, in_flight=2)
    reply = worst_reply_usd(PRICE, ONE_STEP)
    assert bounds.per_session_hour_usd == pytest.approx(61 * reply)
    assert bounds.per_client_hour_without_cap_usd == pytest.approx(64 * 61 * reply)
    assert bounds.deployment_day_usd == pytest.approx(5.0 + 2 * reply)
    assert bounds.per_client_hour_usd == pytest.approx(5.0 + 2 * reply)  # the cap is lower


def test_a_limit_turned_off_leaves_the_bound_open() -> None:
    limits = LimitsConfig(session_messages=Rate(0, 1), session_tokens_per_day=0)
    bounds = spend_bounds("m", PRICE, ONE_STEP, limits, in_flight=1)
    assert bounds.per_session_hour_usd is None and bounds.per_client_hour_without_cap_usd is None
    off = spend_bounds("m", PRICE, ONE_STEP, LimitsConfig(spend_per_day_usd=0), in_flight=1)
    assert off.deployment_day_usd is None


def test_the_command_prints_the_figures() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "handlers.cli", "cost", "--limits"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "one client (address), per hour" in out and "whole deployment, per day" in out
    assert "claude-sonnet-4-6" in out
