"""The local API Gateway: one aiohttp process that plays API Gateway's WebSocket API, its
@connections management API and the REST proxy routes, and serves the frontend, so the
Lambda handlers run unchanged on a laptop (DESIGN §6). Start it with ``azuchi serve``."""

from adapters.local_gateway.server import RunningGateway, build_web_apps, serving

__all__ = ["RunningGateway", "build_web_apps", "serving"]
