"""Registers the Bedrock model adapter (``AZUCHI_MODEL=bedrock``).

Importing this module imports no AWS SDK: the factory does, so ``azuchi serve`` with
another model never loads aioboto3 for Bedrock.
"""

from __future__ import annotations

from typing import Any

from adapters.registry import AdapterSpec, BuildContext, hookimpl


def _build(ctx: BuildContext) -> Any:
    try:
        from adapters.bedrock.client import LazyBedrockClient
        from adapters.bedrock.config import BedrockConfig
        from adapters.bedrock.model import BedrockChatModel
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise RuntimeError(
            f"the bedrock model needs aioboto3 ({exc}); install it: pip install 'aioboto3>=13'"
        ) from exc
    config = BedrockConfig.from_env(ctx.settings.env)
    client = LazyBedrockClient(config)  # the factory opened it, so the app closes it
    ctx.resources.on_close(client.aclose)
    ctx.resources.on_warm("model", client.client)
    return BedrockChatModel(config, client)


@hookimpl
def azuchi_adapters() -> list[AdapterSpec]:
    return [
        AdapterSpec("model", "bedrock", _build, "Amazon Bedrock ConverseStream (AZUCHI_MODEL_ID)")
    ]
