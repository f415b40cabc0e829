"""Which handler serves which API Gateway route (the template maps the same names)."""

from __future__ import annotations

from handlers import (
    connect,
    default,
    disconnect,
    generate_reply,
    get_messages,
    put_message,
    stop_generation,
)
from handlers.events import Handle

WEBSOCKET_ROUTES: dict[str, Handle] = {
    "$connect": connect.handle,
    "$disconnect": disconnect.handle,
    "$default": default.handle,
    "putMessage": put_message.handle,
    "getMessages": get_messages.handle,
    "stopGeneration": stop_generation.handle,
}

# REST route key, as API Gateway writes it for a proxy resource.
REST_ROUTES: dict[str, Handle] = {
    "POST /api/v1/chat/sessions/{sessionId}/reply/generate": generate_reply.handle,
}
