"""A ``ModelRequest`` as the keyword arguments of Bedrock's ``converse_stream``.

What Bedrock insists on, and how the request keeps to it:
- ``messages`` alternate user/assistant and start with a user message: consecutive history
  items of one role are merged into one message, and a leading assistant item is dropped.
- A blank text block is refused: blank texts are left out.
- ``toolUse``/``toolResult`` blocks are refused without a ``toolConfig``. On the agent's last
  step (rounds, but no tools offered) the request still declares the tools its rounds used,
  with a description telling the model they are not available for this answer: the rounds
  keep their structure, and nothing new is offered.

Extended thinking (``AZUCHI_THINKING_BUDGET_TOKENS``): ``additionalModelRequestFields.thinking``
on replies (never on titles). With it on, the assistant message of a tool round must start
with the reasoning blocks that step streamed, signatures and redacted blocks unchanged, or
Bedrock refuses the follow-up; blocks without a signature (another provider's) are left out.

Prompt caching (``cachePoint`` blocks, at most four): after the system prompt, after the
tools, after the history, and after the latest tool results; never on title requests. The
prefix up to a cache point is what later requests of the same session share, so each
checkpoint lets the next call read it from the cache instead of paying for it again.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from adapters.bedrock.config import BedrockConfig
from core.domain import HistoryItem, ModelRequest, ReasoningBlock, ToolRound, ToolSpec
from core.errors import ModelInvalidRequest

CACHE_POINT: dict[str, Any] = {"cachePoint": {"type": "default"}}
UNAVAILABLE_TOOL = "Not available for this answer: reply with what you already have."
EMPTY_RESULT = "(the tool returned nothing)"

Block = dict[str, Any]
Message = dict[str, Any]


def build_request(request: ModelRequest, config: BedrockConfig) -> dict[str, Any]:
    """The ``converse_stream`` keyword arguments for ``request``."""
    cache = config.prompt_cache and request.purpose != "title"
    kwargs: dict[str, Any] = {
        "modelId": config.model_id,
        "messages": _messages(request, cache),
        "inferenceConfig": _inference(request, config),
    }
    if request.system.strip():
        kwargs["system"] = [{"text": request.system}, *([CACHE_POINT] if cache else [])]
    tool_config = _tool_config(request.tools, request.rounds, cache)
    if tool_config is not None:
        kwargs["toolConfig"] = tool_config
    if config.thinking_budget_tokens and request.purpose != "title":
        budget = config.thinking_budget_tokens
        kwargs["additionalModelRequestFields"] = {
            "thinking": {"type": "enabled", "budget_tokens": budget}
        }
        # Thinking counts toward maxTokens, which must stay above the budget.
        inference = kwargs["inferenceConfig"]
        inference["maxTokens"] = max(inference["maxTokens"], config.max_output_tokens)
    return kwargs


def _inference(request: ModelRequest, config: BedrockConfig) -> dict[str, Any]:
    inference: dict[str, Any] = {"maxTokens": config.output_tokens(request.max_output_tokens)}
    if config.temperature is not None:
        inference["temperature"] = config.temperature
    return inference


def _messages(request: ModelRequest, cache: bool) -> list[Message]:
    turns: list[tuple[str, list[Block]]] = [
        (item.role, _text(item.content)) for item in request.history if _known_role(item)
    ]
    if cache and turns:
        turns[-1] = (turns[-1][0], [*turns[-1][1], CACHE_POINT])
    turns.append(("user", _text(request.prompt)))
    for index, round_ in enumerate(request.rounds):
        turns.extend(_round(round_))
        if cache and index == len(request.rounds) - 1:
            turns[-1] = (turns[-1][0], [*turns[-1][1], CACHE_POINT])
    messages = _alternating(turns)
    if not messages or not _has_content(messages[0]["content"]):
        raise ModelInvalidRequest(
            "Bedrock needs a user message with some text; the prompt is empty."
        )
    return messages


def _known_role(item: HistoryItem) -> bool:
    return item.role in ("user", "assistant")


def _text(text: str) -> list[Block]:
    return [{"text": text}] if text.strip() else []


def _round(round_: ToolRound) -> list[tuple[str, list[Block]]]:
    calls = [
        {"toolUse": {"toolUseId": call.call_id, "name": call.name, "input": call.arguments}}
        for call in round_.calls
    ]
    results = []
    for result in round_.results:
        block: Block = {
            "toolUseId": result.call_id,
            "content": [{"text": result.content or EMPTY_RESULT}],
        }
        if result.is_error:
            block["status"] = "error"
        results.append({"toolResult": block})
    thinking = [
        _reasoning(block) for block in round_.reasoning if block.signature or block.redacted
    ]
    return [("assistant", [*thinking, *_text(round_.text), *calls]), ("user", results)]


def _reasoning(block: ReasoningBlock) -> Block:
    if block.redacted is not None:
        return {"reasoningContent": {"redactedContent": block.redacted}}
    return {
        "reasoningContent": {"reasoningText": {"text": block.text, "signature": block.signature}}
    }


def _alternating(turns: Iterable[tuple[str, list[Block]]]) -> list[Message]:
    """Merges consecutive turns of one role, drops empty and leading assistant turns."""
    messages: list[Message] = []
    for role, blocks in turns:
        if not _has_content(blocks):
            # A lone cache point is no content; it stays with the previous message.
            if blocks and messages:
                messages[-1]["content"].extend(blocks)
            continue
        if not messages and role == "assistant":
            continue
        if messages and messages[-1]["role"] == role:
            messages[-1]["content"].extend(blocks)
        else:
            messages.append({"role": role, "content": list(blocks)})
    return messages


def _has_content(blocks: list[Block]) -> bool:
    return any("cachePoint" not in block for block in blocks)


def _tool_config(
    tools: tuple[ToolSpec, ...], rounds: tuple[ToolRound, ...], cache: bool
) -> dict[str, Any] | None:
    specs = [_spec(tool.name, tool.description, tool.parameters) for tool in tools]
    if not specs and rounds:
        used = dict.fromkeys(call.name for round_ in rounds for call in round_.calls)
        specs = [
            _spec(name, UNAVAILABLE_TOOL, {"type": "object", "properties": {}}) for name in used
        ]
    if not specs:
        return None
    return {"tools": [*specs, *([CACHE_POINT] if cache else [])]}


def _spec(name: str, description: str, parameters: dict[str, Any]) -> Block:
    spec: Block = {"name": name, "inputSchema": {"json": parameters}}
    if description.strip():
        spec["description"] = description
    return {"toolSpec": spec}
