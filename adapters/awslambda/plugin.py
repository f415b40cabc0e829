"""Registers the reply launcher of the AWS deployment (``AZUCHI_REPLY_LAUNCHER=lambda``):
an asynchronous invocation of the reply worker, through aioboto3 or the lite client
(``AZUCHI_AWS_CLIENT``); aioboto3 loads only when an SDK client opens."""

from __future__ import annotations

from typing import TYPE_CHECKING

from adapters.registry import AdapterSpec, BuildContext, hookimpl
from adapters.settings import SettingsError

if TYPE_CHECKING:
    from adapters.awslambda.launcher import LambdaInvokeLauncher


def _launcher(ctx: BuildContext) -> LambdaInvokeLauncher:
    function = (ctx.settings.env.get("AZUCHI_REPLY_FUNCTION") or "").strip()
    if not function:
        raise SettingsError(
            "AZUCHI_REPLY_LAUNCHER=lambda needs AZUCHI_REPLY_FUNCTION: the name or ARN "
            "of the reply worker function (handlers.reply_worker.handler)"
        )
    from adapters.aws.clients import require_sdk
    from adapters.awslambda.launcher import LambdaInvokeLauncher

    require_sdk(ctx.settings.aws_client, "the lambda launcher")
    launcher = LambdaInvokeLauncher.from_env(function, ctx.settings.env, ctx.settings.aws_client)
    ctx.resources.on_close(launcher.aclose)
    ctx.resources.on_warm("launcher", launcher.warm)
    return launcher


@hookimpl
def azuchi_adapters() -> list[AdapterSpec]:
    return [
        AdapterSpec(
            "launcher",
            "lambda",
            _launcher,
            "an asynchronous Invoke of the reply worker (AZUCHI_REPLY_FUNCTION)",
        )
    ]
