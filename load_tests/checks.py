"""Lost and duplicated accounting: what a client saw against what the store holds.

Each session records what its client sent and saw (``SessionRecord``); at the end it reads
its whole history (getMessages, paged) and ``check_session`` compares the two:

- every USER message sent is stored exactly once (by ``clientMessageId``);
- every stored USER message has exactly one final AGENT CONVERSATION message
  (``replyTo`` its ``createdAt``); a failed reply with only a SYSTEM_LOG is an error;
- a reply watched to its ``done``: the deltas, joined by ``seq``, equal the stored text; seq
  numbers start at 0 without gaps (a gap is lost text) or repeats (duplicated text);
- a reply the client dropped mid-way: the deltas it saw are a prefix of the stored text,
  and the history it read after reconnecting holds the final reply exactly once;
- no message frame arrives twice live on one connection, no createdAt twice in history.

``lost`` counts expected items missing, ``duplicated`` extra copies, ``errors`` error
frames, failed replies, protocol violations and connection failures.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

Frame = dict[str, Any]


@dataclass(slots=True)
class ReplyView:
    """One reply as the client saw it."""

    reply_id: str
    client_message_id: str
    deltas: dict[int, str] = field(default_factory=dict)
    duplicate_seqs: int = 0
    duplicate_chars: int = 0
    live_final: str | None = None  # text of the final AGENT message frame, when seen live
    status: str | None = None  # from the done frame
    usage: dict[str, int] | None = None
    dropped: bool = False  # the client closed its socket mid-reply
    resumed_finals: int | None = None  # finals in the history read after reconnecting

    def add_delta(self, seq: int, text: str) -> bool:
        """Keeps a delta; False (and counted) when that seq was already received."""
        if seq in self.deltas:
            self.duplicate_seqs += 1
            self.duplicate_chars += len(text)
            return False
        self.deltas[seq] = text
        return True

    @property
    def text(self) -> str:
        return "".join(self.deltas[s] for s in sorted(self.deltas))

    @property
    def missing_seqs(self) -> list[int]:
        if not self.deltas:
            return []
        return [s for s in range(max(self.deltas) + 1) if s not in self.deltas]


@dataclass(slots=True)
class SessionRecord:
    """Everything one simulated user sent and saw."""

    session_id: str | None = None
    sent: list[tuple[str, str]] = field(default_factory=list)  # (clientMessageId, text)
    replies: list[ReplyView] = field(default_factory=list)
    live_duplicates: int = 0  # a message frame received twice on one connection
    errors: list[str] = field(default_factory=list)
    verified: bool = False


@dataclass(slots=True)
class Tally:
    lost: int = 0
    duplicated: int = 0
    errors: int = 0
    lost_chars: int = 0
    duplicated_chars: int = 0
    problems: list[str] = field(default_factory=list)

    def add(self, other: Tally) -> None:
        self.lost += other.lost
        self.duplicated += other.duplicated
        self.errors += other.errors
        self.lost_chars += other.lost_chars
        self.duplicated_chars += other.duplicated_chars
        self.problems.extend(other.problems)

    def to_json(self, sample: int = 20) -> dict[str, Any]:
        return {
            "lost": self.lost,
            "duplicated": self.duplicated,
            "errors": self.errors,
            "lost_chars": self.lost_chars,
            "duplicated_chars": self.duplicated_chars,
            "problems": self.problems[:sample],
        }


def check_session(record: SessionRecord, history: list[Frame] | None) -> Tally:
    """Compares the record with the session's stored history (None: it could not be read,
    so nothing the client sent can be shown stored — each sent message counts as lost)."""
    tally = check_live(record)
    if history is None:
        tally.lost += len(record.sent)
        tally.problems.append(f"session {record.session_id}: history unreadable")
        return tally
    _check_history(record, history, tally)
    return tally


def check_live(record: SessionRecord) -> Tally:
    """What the client alone can tell: errors, repeated frames, gaps in delta seqs (all a
    run without a store to compare with, such as the bare relay's, can check)."""
    tally = Tally(errors=len(record.errors), problems=list(record.errors))
    tally.duplicated += record.live_duplicates
    if record.live_duplicates:
        tally.problems.append(f"{record.live_duplicates} message frame(s) received twice live")
    for reply in record.replies:
        tally.duplicated += reply.duplicate_seqs
        tally.duplicated_chars += reply.duplicate_chars
        gaps = reply.missing_seqs
        if gaps:
            tally.lost += len(gaps)
            tally.problems.append(f"reply {reply.reply_id}: delta seqs {gaps[:5]} never arrived")
    return tally


def _check_history(record: SessionRecord, history: list[Frame], tally: Tally) -> None:
    by_created: dict[int, int] = {}
    for message in history:
        created = message.get("createdAt")
        if isinstance(created, int):
            by_created[created] = by_created.get(created, 0) + 1
    extra = sum(n - 1 for n in by_created.values())
    if extra:
        tally.duplicated += extra
        tally.problems.append(f"session {record.session_id}: {extra} createdAt repeated")

    users = [m for m in history if m.get("role") == "USER"]
    finals = [
        m for m in history if m.get("role") == "AGENT" and m.get("messageType") == "CONVERSATION"
    ]
    for cmid, _text in record.sent:
        stored = [m for m in users if m.get("clientMessageId") == cmid]
        if not stored:
            tally.lost += 1
            tally.problems.append(f"USER message {cmid} is not stored")
            continue
        tally.duplicated += len(stored) - 1
        created = stored[0].get("createdAt")
        answers = [m for m in finals if m.get("replyTo") == created]
        if len(answers) > 1:
            tally.duplicated += len(answers) - 1
            tally.problems.append(f"USER message {cmid} answered {len(answers)} times")
        elif not answers:
            failed = any(
                m.get("replyTo") == created and m.get("messageType") == "SYSTEM_LOG"
                for m in history
            )
            if failed:
                tally.errors += 1
                tally.problems.append(f"the reply to {cmid} failed (SYSTEM_LOG)")
            else:
                tally.lost += 1
                tally.problems.append(f"USER message {cmid} has no stored reply")

    stored_text = {m.get("replyId"): str(m.get("message", "")) for m in finals}
    for reply in record.replies:
        _check_text(reply, stored_text.get(reply.reply_id), tally)


def _check_text(reply: ReplyView, stored: str | None, tally: Tally) -> None:
    if reply.status == "error":
        tally.errors += 1
        tally.problems.append(f"reply {reply.reply_id} ended with status error")
    if stored is None:
        return  # the missing reply is counted against its USER message above
    seen = reply.text
    if reply.dropped:
        if not stored.startswith(seen):
            tally.lost += 1
            tally.problems.append(f"dropped reply {reply.reply_id}: deltas not a prefix")
        if reply.resumed_finals is None or reply.resumed_finals == 0:
            tally.lost += 1
            tally.problems.append(f"dropped reply {reply.reply_id}: not found after resuming")
        elif reply.resumed_finals > 1:
            tally.duplicated += reply.resumed_finals - 1
            tally.problems.append(f"dropped reply {reply.reply_id}: resumed history repeats it")
        return
    if reply.status is None:
        return  # never watched to the end (the run stopped); nothing to compare
    if seen != stored:
        tally.lost += 1
        tally.lost_chars += max(0, len(stored) - len(seen))
        tally.problems.append(
            f"reply {reply.reply_id}: deltas joined ({len(seen)} chars) differ from the "
            f"stored text ({len(stored)} chars)"
        )
    elif reply.live_final is not None and reply.live_final != stored:  # one count per reply
        tally.lost += 1
        tally.problems.append(f"reply {reply.reply_id}: live final differs from the stored text")
