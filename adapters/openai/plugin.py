"""Registers the two OpenAI model adapters. The SDK is imported only when one is built, so
``azuchi serve`` with another model never loads it."""

from __future__ import annotations

from typing import TYPE_CHECKING

from adapters.registry import AdapterSpec, BuildContext, hookimpl

if TYPE_CHECKING:
    from adapters.openai.chat import OpenAIChatModel
    from adapters.openai.responses import OpenAIResponsesModel


def build_responses(ctx: BuildContext) -> OpenAIResponsesModel:
    from adapters.openai.client import OpenAIOptions, make_client
    from adapters.openai.responses import DEFAULT_MODEL, OpenAIResponsesModel

    options = OpenAIOptions.from_env(ctx.settings.env, DEFAULT_MODEL)
    model = OpenAIResponsesModel(make_client(options, key_required=True), options)
    ctx.resources.on_close(model.aclose)
    return model


def build_chat(ctx: BuildContext) -> OpenAIChatModel:
    from adapters.openai.chat import DEFAULT_MODEL, OpenAIChatModel
    from adapters.openai.client import OpenAIOptions, make_client

    options = OpenAIOptions.from_env(ctx.settings.env, DEFAULT_MODEL)
    model = OpenAIChatModel(make_client(options, key_required=False), options)
    ctx.resources.on_close(model.aclose)
    return model


@hookimpl
def azuchi_adapters() -> list[AdapterSpec]:
    return [
        AdapterSpec(
            "model",
            "openai",
            build_responses,
            "OpenAI Responses API, chained by previous_response_id (OPENAI_API_KEY)",
        ),
        AdapterSpec(
            "model",
            "openai-chat",
            build_chat,
            "any chat-completions server: OpenAI, Ollama, vLLM, llama.cpp (OPENAI_BASE_URL)",
        ),
    ]
