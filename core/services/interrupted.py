"""Closing a reply that a crash or a lost lease cut short (docs/recovery.md).

Run by the next holder of the session lock before it answers anything, when the session
says a reply was started and never recorded its answer (``Session.has_unfinished_reply``):

    crashed holder A (fence 7)          next holder B (fence 9)
    start_reply R1 for U ────────┐
    checkpoint "Hel" … "Hello"   │      acquire ✓ (A's lease ran out)
    ✗ killed                     │      session: reply R1 for U unfinished
                                 └────► take_checkpoint(9) → "Hello" (A's checkpoints
                                        are refused from here on)
                                        store AGENT "Hello" (R1, interrupted), a note
                                        done R1 interrupted ──► clients stop streaming R1
                                        answer U again: R2 … done R2 complete

The USER message stays pending (its marker is not moved), so B answers it as usual.
"""

from __future__ import annotations

from core.domain import (
    Lease,
    Message,
    MessageDraft,
    MessageType,
    ReplyStatus,
    Role,
    Session,
    Usage,
)
from core.ports import ChatStore
from core.protocol import done_frame, message_frame
from core.services.fanout import Fanout

NOTE = (
    "The reply to this message was interrupted (the server stopped or lost the session)"
    "{kept}. azuchi is answering it again."
)


async def close_interrupted(
    store: ChatStore, fanout: Fanout, session: Session, lease: Lease
) -> list[Message]:
    """Keeps the interrupted reply's stored text as an ``interrupted`` AGENT message, adds
    a note, and sends ``done`` (status interrupted) for it; returns what it stored."""
    reply_id = session.reply_id or ""
    checkpoint = await store.take_checkpoint(session.session_id, lease.fence)
    text = ""
    message_type: str = MessageType.CONVERSATION
    if checkpoint is not None and checkpoint.reply_id == reply_id:
        text, message_type = checkpoint.text, checkpoint.message_type
    stored: list[Message] = []
    drafts = []
    status = ReplyStatus.INTERRUPTED.value
    if text:
        drafts.append((Role.AGENT, message_type, text))
    kept = "; what it had streamed is kept above" if text else ""
    drafts.append((Role.SYSTEM, MessageType.SYSTEM_LOG, NOTE.format(kept=kept)))
    for role, kind, body in drafts:
        draft = MessageDraft(
            session.session_id,
            role,
            kind,
            body,
            reply_id=reply_id,
            reply_to=session.reply_to,
            status=status,
            fence=lease.fence,
        )
        stored.append((await store.append_message(draft)).message)
    # A tab that connected after the fanout was made, and read the messages before these
    # were stored, would never learn the reply ended: ask for the connections again now
    # (any later one reads these with its getMessages).
    fanout.add([c.connection_id for c in await store.session_connections(session.session_id)])
    for message in stored:
        await fanout.send(message_frame(message))
    await fanout.send(done_frame(session.session_id, reply_id, status, Usage()))
    return stored
