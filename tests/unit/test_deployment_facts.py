"""handlers/functions.py: a wrong fact is refused where it is written, and the route table
is the facts' (the template's side is tests/infra/test_template_consistency.py)."""

from __future__ import annotations

import pytest

from handlers import connect, generate_reply, stop_generation
from handlers.functions import BY_ROUTE, FUNCTIONS, REPLY_WORKER, LambdaFunction
from handlers.routes import REST_ROUTES, WEBSOCKET_ROUTES


@pytest.mark.parametrize(
    ("args", "refused"),
    [
        (("websocket", ("$default",), 64, 3, {"storage"}), "memory 64 MB"),
        (("websocket", ("$default",), 128, 901, {"storage"}), "timeout 901 s"),
        (("websocket", (), 128, 3, {"storage"}), "no routes"),
        (("launcher", ("$default",), 128, 3, {"storage"}), "no routes"),
        (("rest", ("generate",), 128, 3, {"storage"}), "METHOD /path"),
        (("websocket", ("$default",), 128, 3, {"cache"}), "unknown ports ['cache']"),
    ],
)
def test_a_fact_lambda_would_refuse_is_refused_here(args: tuple, refused: str) -> None:
    trigger, routes, memory, timeout, ports = args
    with pytest.raises(ValueError, match=refused.replace("[", r"\[").replace("]", r"\]")):
        LambdaFunction("f", trigger, routes, memory, timeout, frozenset(ports))


def test_the_route_table_serves_each_route_with_its_functions_handler() -> None:
    assert WEBSOCKET_ROUTES["$connect"] is connect.handle
    assert WEBSOCKET_ROUTES["stopGeneration"] is stop_generation.handle
    (rest,) = REST_ROUTES.values()
    assert rest is generate_reply.handle
    assert set(WEBSOCKET_ROUTES) | set(REST_ROUTES) == set(BY_ROUTE)


def test_only_the_worker_talks_to_a_model_and_it_serves_no_route() -> None:
    assert [f.name for f in FUNCTIONS if f.talks_to_model] == [REPLY_WORKER.name]
    assert REPLY_WORKER.routes == () and REPLY_WORKER.trigger == "launcher"
