"""`azuchi serve` tunes the garbage collector for a long-lived server; a gateway started in
a test's own process does not touch it."""

from __future__ import annotations

import gc
import subprocess
import sys

import pytest

from adapters.local_gateway.collector import YOUNG_THRESHOLD


def test_tuning_freezes_start_up_and_raises_the_young_threshold_in_its_own_process() -> None:
    script = (
        "import gc; from adapters.local_gateway.collector import tune_for_serving; "
        "print(*tune_for_serving(), gc.get_freeze_count() > 0)"
    )
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    ).stdout.split()
    assert out == [str(YOUNG_THRESHOLD), "10", "10", "True"]


@pytest.mark.anyio
async def test_an_in_process_gateway_leaves_the_collector_as_it_was() -> None:
    from adapters.bootstrap import build_app
    from adapters.local_gateway import serving
    from adapters.settings import Settings

    before = gc.get_threshold()
    ports = ("STORAGE", "LOCK", "AGENT_MEMORY", "TRANSPORT", "LIMITS")
    env = {"AZUCHI_MODEL": "scripted", **{f"AZUCHI_{p}": "inprocess" for p in ports}}
    app = build_app(Settings.from_env(env))
    async with serving(app, websocket_routes={}, rest_routes={}, port=0):
        assert gc.get_threshold() == before
