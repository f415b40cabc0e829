"""Registers the API Gateway transport (``AZUCHI_TRANSPORT=apigateway``).

The factory imports the adapter (and with it aioboto3), so a process that never picks
this transport never loads the AWS SDK for it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from adapters.registry import AdapterSpec, BuildContext, hookimpl

if TYPE_CHECKING:
    from adapters.apigateway.transport import ApiGatewayTransport


def _transport(ctx: BuildContext) -> ApiGatewayTransport:
    from adapters.apigateway.transport import ApiGatewayOptions, ApiGatewayTransport

    transport = ApiGatewayTransport(ApiGatewayOptions.from_env(ctx.settings.env))
    ctx.resources.on_close(transport.aclose)
    ctx.resources.on_warm("transport", transport.warm)
    return transport


@hookimpl
def azuchi_adapters() -> list[AdapterSpec]:
    return [
        AdapterSpec(
            "transport",
            "apigateway",
            _transport,
            "API Gateway @connections (AZUCHI_APIGW_ENDPOINT, else from each event)",
        )
    ]
