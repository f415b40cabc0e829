"""ConverseStream's events, turned into the core's ``ModelEvent`` values.

A reply arrives as::

    messageStart → (contentBlockStart? → contentBlockDelta* → contentBlockStop)* →
    messageStop(stopReason) → metadata(usage, metrics)

A text block has no start event; a tool-use block starts with its id and name, then streams
its input as JSON fragments. A reasoning block (extended thinking) streams its text, then its
signature; a redacted one arrives whole, encrypted. Citations and union members this botocore
does not know (``SDK_UNKNOWN_MEMBER``) are passed over. A tool call is reported once its
block stops, when the input is whole. ``StreamEnded`` has to be the last event, and the stop
reason comes before the usage, so the reader holds the stop reason until the stream is over
(``finish``).
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from typing import Any

from core.domain import (
    ModelEvent,
    ReasoningDelta,
    StreamEnded,
    TextDelta,
    ToolCall,
    ToolCallRequested,
    Usage,
    UsageReported,
)
from core.errors import ModelStreamError

log = logging.getLogger(__name__)

# Bedrock's stop reasons, in the core's words (core.domain.StopReason).
STOP_REASONS = {
    "end_turn": "end_turn",
    "tool_use": "tool_use",
    "max_tokens": "max_tokens",
    "stop_sequence": "stop_sequence",
    "content_filtered": "content_filtered",
    "guardrail_intervened": "guardrail",
    "model_context_window_exceeded": "context_window",
}
UNKNOWN_STOP = "incomplete"  # a reason newer than this table: not a normal end


@dataclass(slots=True)
class _ToolBlock:
    call_id: str
    name: str
    fragments: list[str] = field(default_factory=list)


@dataclass(slots=True)
class StreamReader:
    """Feeds on botocore's parsed events (``{"contentBlockDelta": {...}}``); one per call."""

    model_id: str
    stop_reason: str | None = None
    usage: Usage | None = None
    _tools: dict[int, _ToolBlock] = field(default_factory=dict)

    def feed(self, event: dict[str, Any]) -> list[ModelEvent]:
        if "contentBlockDelta" in event:
            return self._delta(event["contentBlockDelta"])
        if "contentBlockStart" in event:
            start = event["contentBlockStart"]
            tool = start.get("start", {}).get("toolUse")
            if tool:
                index = start.get("contentBlockIndex", 0)
                self._tools[index] = _ToolBlock(tool["toolUseId"], tool["name"])
            return []
        if "contentBlockStop" in event:
            block = self._tools.pop(event["contentBlockStop"].get("contentBlockIndex", 0), None)
            return [ToolCallRequested(self._call(block))] if block else []
        if "messageStop" in event:
            reason = event["messageStop"].get("stopReason", "")
            self.stop_reason = STOP_REASONS.get(reason)
            if self.stop_reason is None:
                log.warning(
                    "Bedrock model %s stopped for an unknown reason %r", self.model_id, reason
                )
                self.stop_reason = UNKNOWN_STOP
            return []
        if "metadata" in event:
            raw = event["metadata"].get("usage", {})
            self.usage = Usage(
                input_tokens=int(raw.get("inputTokens", 0)),
                output_tokens=int(raw.get("outputTokens", 0)),
                cache_read_tokens=int(raw.get("cacheReadInputTokens", 0)),
                cache_write_tokens=int(raw.get("cacheWriteInputTokens", 0)),
            )
            return [UsageReported(self.usage)]
        return []  # messageStart, and events this adapter has no use for

    def finish(self) -> list[ModelEvent]:
        """The events that close a stream the service ended normally."""
        if self.stop_reason is None:
            raise ModelStreamError(
                f"Bedrock's stream for model {self.model_id} ended before the reply was complete."
            )
        tail: list[ModelEvent] = [] if self.usage else [UsageReported(Usage())]
        return [*tail, StreamEnded(self.stop_reason, None)]  # Bedrock keeps no response ids

    def _delta(self, body: dict[str, Any]) -> list[ModelEvent]:
        delta = body.get("delta", {})
        text = delta.get("text")
        if text:
            return [TextDelta(text)]
        reasoning = delta.get("reasoningContent")
        if reasoning:
            return [_reasoning(reasoning)]
        tool_input = delta.get("toolUse", {}).get("input")
        block = self._tools.get(body.get("contentBlockIndex", 0))
        if tool_input and block is not None:
            block.fragments.append(tool_input)
        return []  # citations, and members this adapter does not know

    def _call(self, block: _ToolBlock) -> ToolCall:
        raw = "".join(block.fragments)
        if not raw.strip():
            return ToolCall(block.call_id, block.name, {})
        try:
            arguments = json.loads(raw)
        except ValueError:
            arguments = None
        if not isinstance(arguments, dict):
            log.warning(
                "Bedrock model %s called %s with arguments that are not a JSON object (%.200s); "
                "calling it with none",
                self.model_id,
                block.name,
                raw,
            )
            arguments = {}
        return ToolCall(block.call_id, block.name, arguments)


def _reasoning(delta: dict[str, Any]) -> ReasoningDelta:
    """One piece of a reasoning block: text, the block's signature, or a redacted block
    (botocore hands its blob over as bytes)."""
    redacted = delta.get("redactedContent")
    if isinstance(redacted, str):  # a client that did not decode the blob
        redacted = redacted.encode()
    return ReasoningDelta(
        text=str(delta.get("text") or ""),
        signature=delta.get("signature"),
        redacted=redacted,
    )
