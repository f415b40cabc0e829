"""Random sequences of appends, reads and response ids against every agent-memory adapter,
compared with a capped deque per session."""

from __future__ import annotations

from collections import deque

from hypothesis import strategies as st
from hypothesis.stateful import rule

from contract_tests.backends import AdapterUnderTest
from contract_tests.providers import new_id
from contract_tests.stateful import AdapterMachine, run_machine
from core.domain import HistoryItem

# (adapter name, test name) -> why that adapter is allowed to fail that test.
KNOWN_DIVERGENCES: dict[tuple[str, str], str] = {}

CAP = 5
SESSIONS = st.sampled_from([0, 1])
ITEMS = st.builds(
    HistoryItem,
    role=st.sampled_from(["user", "assistant"]),
    content=st.text(max_size=12),
)
RESPONSE_IDS = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789_-", min_size=1, max_size=16)


class AgentMemoryMachine(AdapterMachine):
    knobs = {"history_items": CAP}

    def __init__(self) -> None:
        super().__init__()
        self.sessions = [new_id(), new_id()]
        self.history: list[deque[HistoryItem]] = [deque(maxlen=CAP), deque(maxlen=CAP)]
        self.response_id: list[str | None] = [None, None]

    @rule(s=SESSIONS, items=st.lists(ITEMS, min_size=1, max_size=7))
    def append(self, s: int, items: list[HistoryItem]) -> None:
        self.run(self.adapter.append_history(self.sessions[s], items))
        self.history[s].extend(items)

    @rule(s=SESSIONS)
    def read(self, s: int) -> None:
        assert self.run(self.adapter.recent_history(self.sessions[s])) == list(self.history[s])

    @rule(s=SESSIONS, response_id=RESPONSE_IDS)
    def set_response_id(self, s: int, response_id: str) -> None:
        self.run(self.adapter.set_previous_response_id(self.sessions[s], response_id))
        self.response_id[s] = response_id

    @rule(s=SESSIONS)
    def get_response_id(self, s: int) -> None:
        got = self.run(self.adapter.get_previous_response_id(self.sessions[s]))
        assert got == self.response_id[s]


def test_agent_memory_behaves_like_a_capped_deque(agent_memory_adapter: AdapterUnderTest) -> None:
    run_machine(AgentMemoryMachine, agent_memory_adapter)
