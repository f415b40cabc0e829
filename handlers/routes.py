"""Which handler serves which API Gateway route, as the deployment facts say.

The route keys and the function serving each come from ``handlers.functions`` (the template
is checked against the same list); here they become the ``handle`` coroutines the local
gateway calls. A function's module is imported by its name, as Lambda resolves the
template's ``Handler``, so that the list of functions is written once.
"""

from __future__ import annotations

import importlib

from handlers.events import Handle
from handlers.functions import FUNCTIONS, LambdaFunction, Trigger


def _routes(trigger: Trigger) -> dict[str, Handle]:
    def handle(function: LambdaFunction) -> Handle:
        found: Handle = importlib.import_module(function.module).handle
        return found

    return {
        route: handle(function)
        for function in FUNCTIONS
        if function.trigger == trigger
        for route in function.routes
    }


WEBSOCKET_ROUTES: dict[str, Handle] = _routes("websocket")
# REST route keys, as API Gateway writes them for a proxy resource ("POST /api/...").
REST_ROUTES: dict[str, Handle] = _routes("rest")
