"""The key layout of DESIGN §3, and the settings that shape it."""

from __future__ import annotations

import re

import pytest
from redis.crc import key_slot

from adapters.redis.client import RedisOptions, redact
from adapters.redis.keys import RedisKeys
from adapters.settings import SettingsError

SID = "6f1d2c3b-4a5e-4f60-8a7b-9c0d1e2f3a4b"


def test_keys_are_the_seed_layout() -> None:
    keys = RedisKeys()
    assert keys.lock(SID) == f"azuchi:ai-agent:lock:session:{{{SID}}}"
    assert keys.history(SID) == f"azuchi:ai-agent:session:{{{SID}}}:history"
    assert keys.response_id(SID) == f"azuchi:ai-agent:session:{{{SID}}}:previous_response_id"
    assert keys.stop(SID) == f"azuchi:ai-agent:lock:session:{{{SID}}}:stop"


@pytest.mark.parametrize("sid", [SID, "a", "x{y}", "z}w", "with spaces", "日本"])
def test_every_key_of_a_session_shares_one_cluster_slot(sid: str) -> None:
    keys = RedisKeys("azuchi-prod", "chat")
    slots = {
        key_slot(k.encode())
        for k in (keys.lock(sid), keys.stop(sid), keys.history(sid), keys.response_id(sid))
    }
    assert len(slots) == 1


def test_sessions_spread_over_slots() -> None:
    keys = RedisKeys()
    slots = {key_slot(keys.lock(f"session-{n}").encode()) for n in range(200)}
    assert len(slots) > 150


def test_prefix_and_app_are_settings() -> None:
    options = RedisOptions.from_env({"AZUCHI_REDIS_PREFIX": "acme", "AZUCHI_REDIS_APP": "bot"})
    assert options.keys.lock("s") == "acme:bot:lock:session:{s}"
    assert options.keys.pattern() == "acme:bot:*"


@pytest.mark.parametrize(
    ("env", "words"),
    [
        ({"AZUCHI_REDIS_PREFIX": "a{b}"}, "AZUCHI_REDIS_PREFIX='a{b}' must be non-empty"),
        ({"AZUCHI_REDIS_TIMEOUT_MS": "soon"}, "AZUCHI_REDIS_TIMEOUT_MS='soon' is not an integer"),
        ({"AZUCHI_REDIS_URL": "http://x:1@h"}, "AZUCHI_REDIS_URL='http://x:***@h' must start"),
    ],
)
def test_bad_redis_settings_name_the_variable(env: dict[str, str], words: str) -> None:
    with pytest.raises(SettingsError, match=re.escape(words)):
        RedisOptions.from_env(env)


def test_defaults() -> None:
    options = RedisOptions.from_env({})
    assert options.url == "redis://127.0.0.1:6379/0"
    assert options.timeout_s == 1.0 and options.deadline_s == 3.0


def test_passwords_never_reach_messages() -> None:
    assert (
        redact("rediss://alice:s3cret@cache.example:6379/0")
        == "rediss://alice:***@cache.example:6379/0"
    )
    assert redact("redis://:s3cret@h") == "redis://:***@h"
    assert redact("redis://h:6379") == "redis://h:6379"
