"""Running hypothesis state machines against async adapters.

State machines are synchronous, so each test drives its adapter on a private event loop
(``run_until_complete`` per rule). The adapter is opened once per test, on that loop, and
shared by every example: each example uses fresh session ids, which is all the isolation a
shared real backend needs, and a client is not reconnected thirty times.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any, ClassVar, TypeVar

from hypothesis import settings
from hypothesis.stateful import RuleBasedStateMachine, run_state_machine_as_test

from contract_tests.backends import AdapterUnderTest

T = TypeVar("T")

MACHINE_SETTINGS = settings(max_examples=30, stateful_step_count=30, deadline=None)


class AdapterMachine(RuleBasedStateMachine):
    """Base of the contract state machines: ``self.adapter`` is a ready instance."""

    knobs: ClassVar[dict[str, object]] = {}  # test knobs the adapter is opened with
    loop: ClassVar[asyncio.AbstractEventLoop]
    shared_adapter: ClassVar[Any]

    def __init__(self) -> None:
        super().__init__()
        self.adapter: Any = self.shared_adapter

    def run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        return self.loop.run_until_complete(coroutine)


def run_machine(machine: type[AdapterMachine], under_test: AdapterUnderTest) -> None:
    """Runs ``machine`` against one adapter."""
    loop = asyncio.new_event_loop()
    opened = under_test.open(**machine.knobs)
    try:
        adapter = loop.run_until_complete(opened.__aenter__())
        try:
            bound = type(
                f"{machine.__name__}[{under_test.name}]",
                (machine,),
                {"loop": loop, "shared_adapter": adapter},
            )
            run_state_machine_as_test(bound, settings=MACHINE_SETTINGS)
        finally:
            loop.run_until_complete(opened.__aexit__(None, None, None))
        loop.run_until_complete(loop.shutdown_asyncgens())
    finally:
        loop.close()
