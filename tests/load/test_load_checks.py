"""The checker counts what it must: it cannot pass a run that lost or repeated something."""

from __future__ import annotations

from load_tests.checks import ReplyView, SessionRecord, check_session
from load_tests.stats import compare, percentile

SID = "7d3c2b9e-1f4a-4c6b-9a8e-2d5f6e7a8b9c"


def user(cmid: str, created: int) -> dict:
    return {"role": "USER", "messageType": "CONVERSATION", "clientMessageId": cmid,
            "createdAt": created, "message": "hi"}  # fmt: skip


def final(reply_id: str, reply_to: int, created: int, text: str) -> dict:
    return {"role": "AGENT", "messageType": "CONVERSATION", "replyId": reply_id,
            "replyTo": reply_to, "createdAt": created, "message": text}  # fmt: skip


def watched(reply_id: str, cmid: str, parts: list[str]) -> ReplyView:
    reply = ReplyView(reply_id, cmid, status="complete")
    for seq, text in enumerate(parts):
        reply.add_delta(seq, text)
    reply.live_final = "".join(parts)
    return reply


def test_a_run_where_everything_arrived_once_is_clean():
    record = SessionRecord(SID, sent=[("a", "hi")], replies=[watched("r1", "a", ["Hel", "lo"])])
    tally = check_session(record, [user("a", 10), final("r1", 10, 11, "Hello")])
    assert (tally.lost, tally.duplicated, tally.errors) == (0, 0, 0)


def test_a_user_message_missing_from_the_store_is_lost():
    record = SessionRecord(SID, sent=[("a", "hi"), ("b", "hi again")])
    tally = check_session(record, [user("a", 10), final("r1", 10, 11, "Hello")])
    assert tally.lost == 1
    assert any("b is not stored" in p for p in tally.problems)


def test_a_message_without_a_reply_is_lost_and_one_answered_twice_is_duplicated():
    record = SessionRecord(SID, sent=[("a", "hi"), ("b", "more")])
    history = [
        user("a", 10),
        user("b", 20),
        final("r1", 20, 21, "one"),
        final("r2", 20, 22, "two"),
    ]
    tally = check_session(record, history)
    assert (tally.lost, tally.duplicated) == (1, 1)


def test_a_repeated_delta_is_duplicated_and_a_missing_seq_is_lost():
    reply = ReplyView("r1", "a", status="complete")
    for seq, text in [(0, "He"), (1, "ll"), (1, "ll"), (3, "!")]:
        reply.add_delta(seq, text)
    record = SessionRecord(SID, sent=[("a", "hi")], replies=[reply])
    tally = check_session(record, [user("a", 10), final("r1", 10, 11, "Hello!")])
    assert tally.duplicated == 1  # seq 1 twice
    assert tally.duplicated_chars == 2
    # seq 2 never came, so the joined text differs from the stored one too
    assert tally.lost == 2
    assert tally.lost_chars == 1


def test_text_that_differs_from_the_store_is_lost():
    record = SessionRecord(SID, sent=[("a", "hi")], replies=[watched("r1", "a", ["Hello"])])
    tally = check_session(record, [user("a", 10), final("r1", 10, 11, "Hello world")])
    assert tally.lost == 1
    assert tally.lost_chars == len(" world")


def test_a_dropped_reply_must_be_found_once_after_resuming():
    def dropped(finals: int | None) -> ReplyView:
        reply = ReplyView("r1", "a", dropped=True, resumed_finals=finals)
        reply.add_delta(0, "Hel")
        return reply

    history = [user("a", 10), final("r1", 10, 11, "Hello")]
    found = check_session(SessionRecord(SID, sent=[("a", "hi")], replies=[dropped(1)]), history)
    missing = check_session(SessionRecord(SID, sent=[("a", "hi")], replies=[dropped(0)]), history)
    twice = check_session(SessionRecord(SID, sent=[("a", "hi")], replies=[dropped(2)]), history)
    assert (found.lost, found.duplicated) == (0, 0)
    assert missing.lost == 1
    assert twice.duplicated == 1


def test_an_unreadable_history_loses_everything_sent_and_errors_count():
    record = SessionRecord(SID, sent=[("a", "hi"), ("b", "x")], errors=["error frame X: y"])
    tally = check_session(record, None)
    assert tally.lost == 2
    assert tally.errors == 1


def test_a_repeated_created_at_in_history_is_duplicated():
    record = SessionRecord(SID, sent=[("a", "hi")])
    history = [user("a", 10), final("r1", 10, 11, "x"), final("r1", 10, 11, "x")]
    assert check_session(record, history).duplicated == 2  # the page repeat and the 2nd answer


def test_percentiles_and_the_relay_comparison():
    values = [float(v) for v in range(1, 101)]
    assert percentile(values, 50) == 50.5
    assert percentile(values, 99) == 99.01
    assert percentile([], 50) is None
    a = {m: {"p50": 30.0, "p95": 40.0, "p99": 50.0} for m in ("ttfd_ms", "gap_ms", "reply_ms")}
    b = {m: {"p50": 20.0, "p95": 30.0, "p99": 40.0} for m in ("ttfd_ms", "gap_ms", "reply_ms")}
    row = compare(a, b)["gap_ms.p99"]
    assert row == {"azuchi": 50.0, "relay": 40.0, "ratio": 1.25, "added_ms": 10.0}
