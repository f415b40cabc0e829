"""What Bedrock's ConverseStream refuses before it streams anything, with its own messages:
the stub must be as strict as the service, or a request shape that works against the stub
fails in production (roles must alternate, no blank text or empty content, tool blocks need
a ``toolConfig``, every ``toolUse`` is answered by a ``toolResult`` in the next message, at
most four cache points, ``maxTokens`` within the model's limit)."""

from __future__ import annotations

from typing import Any, NoReturn

MAX_OUTPUT_TOKENS = 64_000  # Claude Sonnet 4.6's output limit
MAX_CACHE_POINTS = 4


class Refused(Exception):
    """An error the service answers before the stream starts."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def offered_tools(body: dict[str, Any]) -> set[str]:
    """The tool names in ``toolConfig``: tool blocks are refused without any, and the stub's
    script only calls what is offered."""
    tools = body.get("toolConfig", {}).get("tools", [])
    return {tool["toolSpec"]["name"] for tool in tools if "toolSpec" in tool}


def validate(body: dict[str, Any]) -> None:
    """Refuses what Bedrock refuses, with its messages."""
    messages = body.get("messages") or []
    if not messages or messages[0].get("role") != "user":
        _invalid(
            "A conversation must start with a user message. "
            "Try again with a conversation that starts with a user message."
        )
    blocks = [b for m in messages for b in m.get("content", [])]
    blocks += body.get("system", []) + body.get("toolConfig", {}).get("tools", [])
    if sum("cachePoint" in block for block in blocks) > MAX_CACHE_POINTS:
        _invalid(f"The number of cache points exceeds the maximum of {MAX_CACHE_POINTS}.")
    uses_tools = any("toolUse" in b or "toolResult" in b for b in blocks)
    if uses_tools and not offered_tools(body):
        _invalid(
            "The toolConfig field must be defined when using toolUse and toolResult content blocks."
        )
    for index, block in enumerate(body.get("system", [])):
        if "text" in block and not block["text"].strip():
            _invalid(f"The text field in the SystemContentBlock object at system.{index} is blank.")
    for i, message in enumerate(messages):
        if i and message.get("role") == messages[i - 1].get("role"):
            _invalid(
                "A conversation must alternate between user and assistant roles. Make sure the "
                "conversation alternates between user and assistant roles and try again."
            )
        content = message.get("content") or []
        if not [b for b in content if "cachePoint" not in b]:
            _invalid(f"The content field in the Message object at messages.{i} is empty.")
        for j, block in enumerate(content):
            if "text" in block and not block["text"].strip():
                _invalid(
                    f"The text field in the ContentBlock object at messages.{i}.content.{j} is "
                    "blank. Add text to the text field, and try again."
                )
        _check_tool_results(messages, i)
    max_tokens = body.get("inferenceConfig", {}).get("maxTokens", 1)
    if max_tokens > MAX_OUTPUT_TOKENS:
        _invalid(
            f"The maximum tokens you requested exceeds the model limit of {MAX_OUTPUT_TOKENS}. "
            f"Try again with a maximum tokens value that is lower than {MAX_OUTPUT_TOKENS}."
        )


def _check_tool_results(messages: list[dict[str, Any]], i: int) -> None:
    uses = [b["toolUse"]["toolUseId"] for b in messages[i]["content"] if "toolUse" in b]
    if not uses:
        return
    following = messages[i + 1]["content"] if i + 1 < len(messages) else []
    answered = {b["toolResult"]["toolUseId"] for b in following if "toolResult" in b}
    if set(uses) != answered:
        _invalid(
            f"Expected toolResult blocks at messages.{i + 1}.content for the following Ids: "
            + ", ".join(sorted(set(uses) - answered) or sorted(answered - set(uses)))
        )


def _invalid(message: str) -> NoReturn:
    raise Refused(400, "ValidationException", message)


def thinking_on(body: dict[str, Any]) -> bool:
    thinking = (body.get("additionalModelRequestFields") or {}).get("thinking") or {}
    return thinking.get("type") == "enabled"


def validate_thinking(body: dict[str, Any]) -> None:
    """With extended thinking on, Claude refuses a tool follow-up whose assistant turn does
    not start with the thinking block that came before the calls (its message, as Bedrock
    passes it on), and a budget that is not below ``maxTokens``."""
    budget = body["additionalModelRequestFields"]["thinking"].get("budget_tokens", 0)
    if budget >= body.get("inferenceConfig", {}).get("maxTokens", 0):
        _invalid("`max_tokens` must be greater than `thinking.budget_tokens`.")
    messages = body.get("messages") or []
    for i, message in enumerate(messages):
        content = message.get("content") or []
        if message.get("role") != "assistant" or not any("toolUse" in b for b in content):
            continue
        first = content[0].get("reasoningContent") if content else None
        signed = first and (
            first.get("redactedContent") or first.get("reasoningText", {}).get("signature")
        )
        if not signed:
            _invalid(
                f"messages.{i}.content.0.type: Expected `thinking` or `redacted_thinking`, but "
                "found `text`. When `thinking` is enabled, a final `assistant` message must start "
                "with a thinking block (preceeding the lastmost set of `tool_use` and "
                "`tool_result` blocks). We recommend you include thinking blocks from previous "
                "turns. To avoid this requirement, disable `thinking`."
            )
