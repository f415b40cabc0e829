"""How ConverseStream's events become the core's events, edge cases the stub never sends."""

from __future__ import annotations

import logging
import subprocess
import sys
from pathlib import Path

import pytest

from adapters.bedrock import plugin
from adapters.bedrock.events import StreamReader
from core.domain import StreamEnded, ToolCall, ToolCallRequested, Usage, UsageReported
from core.errors import ModelStreamError

ROOT = Path(__file__).resolve().parents[2]


def tool_events(fragments: list[str]) -> list[dict[str, object]]:
    start = {"toolUse": {"toolUseId": "tooluse_1", "name": "calculate"}}
    deltas: list[dict[str, object]] = [
        {"contentBlockDelta": {"contentBlockIndex": 0, "delta": {"toolUse": {"input": f}}}}
        for f in fragments
    ]
    return [
        {"messageStart": {"role": "assistant"}},
        {"contentBlockStart": {"contentBlockIndex": 0, "start": start}},
        *deltas,
        {"contentBlockStop": {"contentBlockIndex": 0}},
    ]


def read(events: list[dict[str, object]]) -> list[object]:
    reader = StreamReader("model-x")
    return [out for raw in events for out in reader.feed(raw)]


@pytest.mark.parametrize(
    ("fragments", "arguments"),
    [
        (['{"expr', 'ession": "1 +', ' 1"}'], {"expression": "1 + 1"}),
        ([], {}),  # a tool without arguments may stream no input at all
        (['{"expression": "1 +'], {}),  # cut short: not JSON
        (["[1, 2]"], {}),  # JSON, but not an object
    ],
)
def test_a_tool_call_is_reported_once_its_input_is_whole(
    fragments: list[str], arguments: dict[str, str], caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING):
        events = read(tool_events(fragments))

    assert events == [ToolCallRequested(ToolCall("tooluse_1", "calculate", arguments))]
    broken = bool(fragments) and not arguments
    assert ("not a JSON object" in caplog.text) is broken


@pytest.mark.parametrize(
    ("reason", "normalised"),
    [
        ("end_turn", "end_turn"),
        ("tool_use", "tool_use"),
        ("max_tokens", "max_tokens"),
        ("content_filtered", "content_filtered"),
        ("guardrail_intervened", "guardrail"),
        ("model_context_window_exceeded", "context_window"),
        ("stop_sequence", "stop_sequence"),
        ("something_new", "incomplete"),  # a reason newer than azuchi is no normal end
    ],
)
def test_stop_reasons_are_normalised(reason: str, normalised: str) -> None:
    reader = StreamReader("model-x")
    reader.feed({"messageStop": {"stopReason": reason}})
    usage = {"inputTokens": 3, "outputTokens": 2, "totalTokens": 5}
    reported = reader.feed({"metadata": {"usage": usage, "metrics": {"latencyMs": 9}}})

    assert reported == [UsageReported(Usage(3, 2))]
    assert reader.finish() == [StreamEnded(normalised, None)]


def test_a_stream_without_usage_still_reports_usage_once() -> None:
    reader = StreamReader("model-x")
    reader.feed({"messageStop": {"stopReason": "end_turn"}})

    assert reader.finish() == [UsageReported(Usage()), StreamEnded("end_turn", None)]


def test_a_stream_cut_before_its_end_is_a_stream_error() -> None:
    reader = StreamReader("model-x")
    reader.feed({"contentBlockDelta": {"contentBlockIndex": 0, "delta": {"text": "Hel"}}})

    with pytest.raises(ModelStreamError, match="model-x ended before the reply was complete"):
        reader.finish()


def test_the_plugin_registers_bedrock_without_loading_the_sdk() -> None:
    (spec,) = plugin.azuchi_adapters()
    probe = "import sys, adapters.bedrock.plugin; print('aioboto3' in sys.modules)"
    loaded = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True
    )

    assert (spec.port, spec.name) == ("model", "bedrock")
    assert loaded.stdout.strip() == "False"
