"""Registers the API Gateway transport (``AZUCHI_TRANSPORT=apigateway``).

The factory imports the adapter; its client is aioboto3's or the lite one
(``AZUCHI_AWS_CLIENT``), and aioboto3 loads only when an SDK client opens.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from adapters.registry import AdapterSpec, BuildContext, hookimpl

if TYPE_CHECKING:
    from adapters.apigateway.transport import ApiGatewayTransport


def _transport(ctx: BuildContext) -> ApiGatewayTransport:
    from adapters.apigateway.transport import ApiGatewayOptions, ApiGatewayTransport, lite_client
    from adapters.aws.clients import require_sdk

    options = ApiGatewayOptions.from_env(ctx.settings.env)
    require_sdk(ctx.settings.aws_client, "the apigateway transport")
    opener = lite_client(options) if ctx.settings.aws_client == "lite" else None
    transport = ApiGatewayTransport(options, open_client=opener)
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
