"""Random sequences of appends, reads and rewinds (a turn taken back) against every storage
adapter, compared with a plain list per session."""

from __future__ import annotations

from hypothesis import strategies as st
from hypothesis.stateful import rule

from contract_tests.backends import AdapterUnderTest
from contract_tests.providers import new_id
from contract_tests.stateful import AdapterMachine, run_machine
from core.domain import Message, MessageDraft, Rewind, Role

# (adapter name, test name) -> why that adapter is allowed to fail that test.
KNOWN_DIVERGENCES: dict[tuple[str, str], str] = {}

SESSIONS = st.sampled_from([0, 1])
CLIENT_IDS = st.one_of(st.none(), st.sampled_from(["c-1", "c-2", "c-3", "c-4"]))
LIMITS = st.integers(min_value=1, max_value=12)


class StorageMachine(AdapterMachine):
    def __init__(self) -> None:
        super().__init__()
        self.sessions = [new_id(), new_id()]
        self.messages: list[list[Message]] = [[], []]
        self.by_client_id: list[dict[str, Message]] = [{}, {}]
        self.newest_key = [0, 0]  # deleted keys included: new keys go above them

    @rule(
        s=SESSIONS,
        client_id=CLIENT_IDS,
        text=st.text(min_size=1, max_size=20),
        role=st.sampled_from(list(Role)),
    )
    def append(self, s: int, client_id: str | None, text: str, role: Role) -> None:
        draft = MessageDraft(
            self.sessions[s], role, "CONVERSATION", text, client_message_id=client_id
        )
        result = self.run(self.adapter.append_message(draft))
        earlier = self.by_client_id[s].get(client_id) if client_id is not None else None
        if earlier is not None:
            assert not result.created
            assert result.message == earlier
            return
        assert result.created
        assert result.message.message == text
        history = self.messages[s]
        assert result.message.created_at > self.newest_key[s]
        self.newest_key[s] = result.message.created_at
        history.append(result.message)
        if client_id is not None:
            self.by_client_id[s][client_id] = result.message

    @rule(s=SESSIONS, pick=st.integers(min_value=0, max_value=40), drop=st.booleans())
    def rewind(self, s: int, pick: int, drop: bool) -> None:
        history = self.messages[s]
        users = [m for m in history if m.role is Role.USER]
        if not users:
            return
        turn = Rewind(self.sessions[s], users[pick % len(users)].created_at, 1, drop_prompt=drop)
        removed = self.run(self.adapter.rewind(turn))
        gone = [m for m in history if turn.removes(m.created_at, m.role)]
        assert removed == [m.created_at for m in gone]
        self.messages[s] = [m for m in history if m not in gone]
        for message in gone:
            if message.client_message_id is not None:
                del self.by_client_id[s][message.client_message_id]

    @rule(s=SESSIONS, limit=LIMITS)
    def read_last(self, s: int, limit: int) -> None:
        got = self.run(self.adapter.last_messages(self.sessions[s], limit))
        assert got == self.messages[s][-limit:]

    @rule(s=SESSIONS, limit=LIMITS, pick=st.integers(min_value=-1, max_value=40), shift=LIMITS)
    def read_after(self, s: int, limit: int, pick: int, shift: int) -> None:
        history = self.messages[s]
        cursor: int | None = None
        if pick >= 0 and history:
            # An existing key, or a point between keys.
            cursor = history[pick % len(history)].created_at - (shift % 2)
        got = self.run(self.adapter.messages_after(self.sessions[s], cursor, limit))
        expected = [m for m in history if cursor is None or m.created_at > cursor][:limit]
        assert got == expected


def test_storage_behaves_like_a_list(storage_adapter: AdapterUnderTest) -> None:
    run_machine(StorageMachine, storage_adapter)
