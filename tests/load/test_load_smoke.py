"""A small load run, as part of the test command: nothing lost, nothing repeated."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from load_tests.harness import LoadConfig
from load_tests.run import run_load

pytestmark = pytest.mark.anyio

ROOT = Path(__file__).resolve().parents[2]
SUMMARY_KEYS = {"sessions", "replies", "lost", "duplicated", "errors", "ttfd_ms", "gap_ms",
                "reply_ms", "frames_per_reply", "operations"}  # fmt: skip


async def test_a_direct_run_with_drops_loses_and_repeats_nothing(start_gateway):
    gateway = await start_gateway(
        {
            "AZUCHI_SCRIPTED_TOKENS_PER_SECOND": "300",
            "AZUCHI_SCRIPTED_REPLY_TOKENS": "40",
            "AZUCHI_ADMIN_PORT": "0",
        }
    )
    config = LoadConfig(
        url=gateway.ws_url,
        stats_url=gateway.stats_url,
        sessions=5,
        duration_s=3.0,
        think_s=(0.05, 0.2),
        chat_weight=1,
        drop_weight=1,
        reply_timeout_s=10.0,
        seed=7,
    )
    summary = (await run_load(config, out=None)).summary

    assert (summary["lost"], summary["duplicated"], summary["errors"]) == (0, 0, 0)
    assert summary["dropped"] > 0, "the run should have exercised drop-and-resume"
    assert summary["replies"] >= summary["dropped"] + 5
    assert summary["unverified_sessions"] == 0
    assert summary["ttfd_ms"]["p99"] >= summary["ttfd_ms"]["p50"] > 0
    operations = summary["operations"]
    assert operations["source"] == "server"  # read from the gateway's stats endpoint
    assert operations["lambda"]["put_message"]["invocations"] == summary["replies"]
    assert operations["lambda"]["reply_worker"]["invocations"] == summary["replies"]
    assert operations["lambda"]["connect"]["invocations"] == 5 + summary["dropped"]
    # every reply has the same length, dropped ones included (their usage read from the store)
    per_reply = summary["tokens_per_reply"]["mean"]
    assert operations["model"]["output_tokens"] == per_reply * summary["replies"]


def test_azuchi_load_local_writes_its_json_and_an_html_report(tmp_path):
    summary_path, report_path = tmp_path / "load.json", tmp_path / "load.html"
    env = {k: v for k, v in os.environ.items() if not k.startswith("AZUCHI_")}
    done = subprocess.run(
        [sys.executable, "-m", "handlers.cli", "load", "--local", "--sessions", "5",
         "--duration", "4", "--tokens-per-second", "200", "--reply-tokens", "40",
         "--coalesce-ms", "20", "--think", "0.1", "0.3", "--seed", "3", "--progress", "1",
         "--json", str(summary_path), "--report", str(report_path)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=90,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    summary = json.loads(summary_path.read_text())
    assert SUMMARY_KEYS <= summary.keys()
    assert (summary["lost"], summary["duplicated"], summary["errors"]) == (0, 0, 0)
    assert summary["replies"] > 0
    assert {"p50", "p95", "p99"} <= summary["ttfd_ms"].keys()
    assert summary["coalescing"]["frames_per_token"] < 1  # deltas were coalesced
    assert summary["operations"]["apigw"]["outbound_messages"] > summary["replies"]
    assert "load: [" in done.stderr  # progress lines while it ran
    assert "lost 0, duplicated 0, errors 0" in done.stdout
    page = report_path.read_text()
    assert page.count("<svg") >= 4 and "<polyline" in page
