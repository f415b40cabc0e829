"""An artefact's build facts against the stack's parameters (handlers/build_facts.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from handlers.build_facts import BuildFacts, BuildMismatch

LEAN_BEDROCK = BuildFacts("reply_worker", "lean", "bedrock", "0.1.0", "3.13", "lambda")


def test_facts_round_trip_through_the_artefact_file(tmp_path: Path) -> None:
    LEAN_BEDROCK.write(tmp_path)
    assert BuildFacts.read(tmp_path) == LEAN_BEDROCK


def test_a_checkout_has_no_facts_and_so_nothing_to_check(tmp_path: Path) -> None:
    assert BuildFacts.read(tmp_path) is None


def test_matching_parameters_pass() -> None:
    LEAN_BEDROCK.check({"AZUCHI_PROFILE": "lean", "AZUCHI_MODEL": "bedrock"}, talks_to_model=True)


def test_a_profile_mismatch_names_the_build_and_the_stack() -> None:
    with pytest.raises(BuildMismatch) as caught:
        LEAN_BEDROCK.check({"AZUCHI_PROFILE": "redis"}, talks_to_model=False)
    message = str(caught.value)
    assert "built for profile 'lean'" in message
    assert "Profile parameter is 'redis'" in message
    assert "make package PROFILE=redis MODEL=bedrock" in message


def test_the_model_matters_only_where_the_model_is_called() -> None:
    env = {"AZUCHI_PROFILE": "lean", "AZUCHI_MODEL": "openai"}
    LEAN_BEDROCK.check(env, talks_to_model=False)
    with pytest.raises(BuildMismatch, match="ModelProvider parameter is 'openai'"):
        LEAN_BEDROCK.check(env, talks_to_model=True)


def test_both_mismatches_are_reported_at_once() -> None:
    env = {"AZUCHI_PROFILE": "redis", "AZUCHI_MODEL": "openai-chat"}
    assert len(LEAN_BEDROCK.mismatches(env, talks_to_model=True)) == 2
