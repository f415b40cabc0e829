"""Random sequences of acquire, release, extend and request_stop against every lock adapter,
compared with a dict of holders. The lease is long: expiry is the contract suite's job."""

from __future__ import annotations

from hypothesis import strategies as st
from hypothesis.stateful import rule

from contract_tests.backends import AdapterUnderTest
from contract_tests.providers import new_id
from contract_tests.stateful import AdapterMachine, run_machine
from core.ports import LeaseState

# (adapter name, test name) -> why that adapter is allowed to fail that test.
KNOWN_DIVERGENCES: dict[tuple[str, str], str] = {}

LEASE_MS = 60_000
SESSIONS = st.sampled_from([0, 1])
# Whose token a call uses: the holder's, an earlier holder's, the other session's holder's,
# or one nobody was ever given.
WHO = st.sampled_from(["owner", "former", "other_session", "stranger"])


class LockMachine(AdapterMachine):
    def __init__(self) -> None:
        super().__init__()
        self.sessions = [new_id(), new_id()]
        self.holder: list[str | None] = [None, None]
        self.stop = [False, False]
        self.former: list[list[str]] = [[], []]

    def token(self, s: int, who: str, pick: int) -> str:
        holder = self.holder[s]
        if who == "owner" and holder is not None:
            return holder
        if who == "former" and self.former[s]:
            return self.former[s][pick % len(self.former[s])]
        other = self.holder[1 - s]
        if who == "other_session" and other is not None:
            return other
        return "stranger-" + new_id()

    @rule(s=SESSIONS)
    def acquire(self, s: int) -> None:
        token = self.run(self.adapter.acquire(self.sessions[s], LEASE_MS))
        if self.holder[s] is not None:
            assert token is None
            return
        assert isinstance(token, str) and token
        assert token not in self.former[s] and token != self.holder[1 - s]
        self.holder[s], self.stop[s] = token, False

    @rule(s=SESSIONS, who=WHO, pick=st.integers(min_value=0, max_value=9))
    def release(self, s: int, who: str, pick: int) -> None:
        token = self.token(s, who, pick)
        released = self.run(self.adapter.release(self.sessions[s], token))
        assert released == (token == self.holder[s])
        if released:
            self.former[s].append(token)
            self.holder[s], self.stop[s] = None, False

    @rule(s=SESSIONS, who=WHO, pick=st.integers(min_value=0, max_value=9))
    def extend(self, s: int, who: str, pick: int) -> None:
        token = self.token(s, who, pick)
        state = self.run(self.adapter.extend(self.sessions[s], token, LEASE_MS))
        if token != self.holder[s]:
            assert state == LeaseState.LOST
        elif self.stop[s]:
            assert state == LeaseState.STOP_REQUESTED
        else:
            assert state == LeaseState.HELD

    @rule(s=SESSIONS)
    def request_stop(self, s: int) -> None:
        flagged = self.run(self.adapter.request_stop(self.sessions[s]))
        assert flagged == (self.holder[s] is not None)
        if flagged:
            self.stop[s] = True


def test_lock_behaves_like_a_dict_of_holders(lock_adapter: AdapterUnderTest) -> None:
    run_machine(LockMachine, lock_adapter)
