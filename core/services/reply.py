"""Generating replies: lock → history → model stream → deltas → persist → memory → release.

Timeline of the drain loop (why no message is left unanswered and no two replies overlap):

    putMessage A stores A, marks last_user_at=A, launches ───► run_pending: lock ✓, answers A
    putMessage B stores B, marks last_user_at=B, launches ───► run_pending: lock ✗ → returns
                                                   answerer: answered_at=A, sees B pending,
                                                   answers B (history holds A and its reply);
                                                   several pending are answered oldest first
                                                   releases, re-reads the session: nothing left

If B's launcher tried the lock after the release instead, it won the lock and answered B
itself; the first answerer's re-read after its release then finds nothing pending. Either way
B is answered once, and replies of one session never run at the same time.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping
from dataclasses import dataclass

import anyio

from core.config import ChatConfig
from core.domain import (
    HistoryItem,
    Message,
    MessageDraft,
    MessageType,
    ModelRequest,
    ReplyStatus,
    Role,
    Session,
    ToolCall,
    ToolResult,
)
from core.errors import AzuchiError, BackendUnavailable, LockLost, ModelError
from core.ports import (
    AgentMemory,
    ChatModel,
    ChatStore,
    LeaseState,
    PriceList,
    SessionLock,
    Tool,
    Transport,
)
from core.protocol import done_frame, message_frame
from core.services.agent import Agent, AgentOutcome, describe_call
from core.services.coalesce import DeltaStream
from core.services.fanout import Fanout
from core.services.history import bound_history
from core.services.lease import LeaseKeeper
from core.services.title import propose_title, title_frame

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class ReplyContext:
    """What a tool may know about the reply it serves (core.ports.ToolContext)."""

    session_id: str
    store: ChatStore


class ReplySink:
    """Persists and broadcasts what the agent does during one reply."""

    def __init__(
        self,
        store: ChatStore,
        fanout: Fanout,
        deltas: DeltaStream,
        prompt: Message,
        reply_id: str,
    ) -> None:
        self._store = store
        self._fanout = fanout
        self._deltas = deltas
        self._prompt = prompt
        self._reply_id = reply_id

    def on_text(self, text: str) -> None:
        self._deltas.push(text)

    async def on_plan(self, steps: list[str]) -> None:
        await self.post(Role.AGENT, MessageType.PLAN, "\n".join(steps))

    async def on_tool_call(self, call: ToolCall) -> None:
        await self.post(Role.AGENT, MessageType.AGENT_LOG, f"→ {describe_call(call)}")

    async def on_tool_result(self, call: ToolCall, result: ToolResult) -> None:
        mark = "✗" if result.is_error else "←"
        await self.post(Role.AGENT, MessageType.AGENT_LOG, f"{mark} {call.name}: {result.content}")

    async def post(self, role: Role, message_type: str, text: str, **fields: object) -> Message:
        draft = MessageDraft(
            session_id=self._prompt.session_id,
            role=role,
            message_type=message_type,
            message=text,
            reply_id=self._reply_id,
            reply_to=self._prompt.created_at,
            **fields,  # type: ignore[arg-type]
        )
        stored = (await self._store.append_message(draft)).message
        await self._fanout.send(message_frame(stored))
        return stored


class ReplyService:
    def __init__(
        self,
        store: ChatStore,
        lock: SessionLock,
        memory: AgentMemory,
        model: ChatModel,
        transport: Transport,
        tools: Mapping[str, Tool],
        config: ChatConfig,
        prices: PriceList | None = None,
    ) -> None:
        self._prices = prices
        self._store = store
        self._lock = lock
        self._memory = memory
        self._model = model
        self._transport = transport
        self._config = config
        self._agent = Agent(model, tools, config.max_agent_steps)

    async def run_pending(self, session_id: str) -> int:
        """Answers every USER message of the session not yet answered; returns how many
        replies this call produced (0 when another replier holds the session)."""
        replies = 0
        while True:
            session = await self._store.get_session(session_id)
            if session is None or not session.has_pending:
                return replies
            try:
                token = await self._lock.acquire(session_id, self._config.lock_lease_ms)
            except BackendUnavailable as exc:
                await self._report_unavailable(session, exc)
                return replies
            if token is None:
                return replies  # the holder re-reads the session before it lets go
            try:
                while session is not None and session.has_pending:
                    await self._answer(session, token)
                    replies += 1
                    session = await self._store.get_session(session_id)
            except LockLost:
                return replies  # never release a lease that may be someone else's now
            try:
                await self._lock.release(session_id, token)
            except BackendUnavailable:
                # The replies are delivered; the lease just runs out on its own.
                log.warning("could not release the lock of %s; it expires by itself", session_id)

    async def _answer(self, session: Session, token: str) -> None:
        sid = session.session_id
        pending = await self._store.messages_after(
            sid, session.answered_at or None, self._config.page_max
        )
        # One reply per message, oldest first: the next turn's history holds this one.
        prompt = next((m for m in pending if m.role is Role.USER), None)
        if prompt is None:
            await self._store.record_answered(sid, session.last_user_at)
            return
        reply_id = uuid.uuid4().hex
        history = bound_history(
            await self._history(session),
            self._config.history_items,
            self._config.history_token_budget,
        )
        previous_id = await self._previous_response_id(sid)
        fanout = Fanout(
            self._transport,
            self._store,
            [c.connection_id for c in await self._store.session_connections(sid)],
        )
        request = ModelRequest(
            system=self._config.system_prompt,
            history=tuple(history),
            prompt=prompt.message,
            previous_response_id=previous_id,
        )
        outcome = AgentOutcome()
        status = ReplyStatus.COMPLETE
        failure: AzuchiError | None = None
        async with DeltaStream(
            fanout,
            sid,
            reply_id,
            MessageType.CONVERSATION,
            self._config.coalesce_ms,
            self._config.delta_frame_bytes,
        ) as deltas:
            sink = ReplySink(self._store, fanout, deltas, prompt, reply_id)
            with anyio.CancelScope() as generation:
                keeper = LeaseKeeper(
                    self._lock,
                    sid,
                    token,
                    self._config.lock_lease_ms,
                    self._config.heartbeat_ms,
                    generation,
                )
                async with anyio.create_task_group() as tg:
                    tg.start_soon(keeper.run)
                    try:
                        await self._agent.run(
                            request, sink, ReplyContext(sid, self._store), outcome
                        )
                    except ModelError as exc:
                        status, failure = ReplyStatus.ERROR, exc
                    except Exception as exc:
                        log.exception("reply %s failed", reply_id)
                        status, failure = ReplyStatus.ERROR, AzuchiError(f"Internal error: {exc}")
                    tg.cancel_scope.cancel()
        lost = keeper.state is LeaseState.LOST
        if keeper.state is LeaseState.STOP_REQUESTED:
            status = ReplyStatus.STOPPED
        elif lost:
            status, failure = ReplyStatus.ERROR, LockLost("Another worker took over this session.")

        # New tabs opened during the reply get its final messages too.
        fanout.add([c.connection_id for c in await self._store.session_connections(sid)])
        cost = self._cost(outcome)
        await self._finish(sink, prompt, outcome, status, failure, cost)
        await fanout.send(done_frame(sid, reply_id, status.value, outcome.usage, cost))
        if lost:
            raise LockLost("lease lost while replying")
        if session.title is None and self._config.make_titles and status is ReplyStatus.COMPLETE:
            await self._title(session, fanout, prompt.message, outcome.text)

    async def _finish(
        self,
        sink: ReplySink,
        prompt: Message,
        outcome: AgentOutcome,
        status: ReplyStatus,
        failure: AzuchiError | None,
        cost: float | None,
    ) -> None:
        text = outcome.text
        if len(text) * 4 > self._config.max_reply_bytes:  # only then is it worth encoding
            cut = text.encode("utf-8")[: self._config.max_reply_bytes]
            text = cut.decode("utf-8", "ignore")
        if text or status is ReplyStatus.COMPLETE:
            await sink.post(
                Role.AGENT,
                MessageType.CONVERSATION,
                text,
                status=status.value,
                model=self._model.model_id,
                usage=outcome.usage,
                cost_usd=cost,
            )
        if failure is not None:
            kept = " The partial reply above is kept." if text else ""
            await sink.post(
                Role.SYSTEM,
                MessageType.SYSTEM_LOG,
                f"The reply failed ({failure.code}): {failure.message}.{kept} "
                "Your message is saved; send another message to try again.",
                status=status.value,
            )
        elif status is ReplyStatus.STOPPED and not text:
            await sink.post(
                Role.SYSTEM,
                MessageType.SYSTEM_LOG,
                "Stopped before the reply began.",
                status=status.value,
            )
        await self._store.record_answered(prompt.session_id, prompt.created_at)
        await self._remember(prompt, text, outcome, status)

    def _cost(self, outcome: AgentOutcome) -> float | None:
        if self._prices is None:
            return None
        return self._prices.reply_cost(self._model.model_id, outcome.usage)

    async def _history(self, session: Session) -> list[HistoryItem]:
        try:
            items = await self._memory.recent_history(session.session_id)
        except BackendUnavailable:
            items = []
        if items or not session.answered_at:
            return items
        # Agent memory lost (evicted, flushed, or down): rebuild it from the durable store
        # (``bound_history`` keeps the newest ``history_items`` of these).
        stored = await self._store.last_messages(session.session_id, self._config.history_items * 3)
        return [
            HistoryItem("user" if m.role is Role.USER else "assistant", m.message)
            for m in stored
            if m.message_type == MessageType.CONVERSATION
            and m.role in (Role.USER, Role.AGENT)
            and _turn_of(m) <= session.answered_at
            and m.message
        ]

    async def _previous_response_id(self, session_id: str) -> str | None:
        try:
            return await self._memory.get_previous_response_id(session_id)
        except BackendUnavailable:
            return None

    async def _remember(
        self, prompt: Message, text: str, outcome: AgentOutcome, status: ReplyStatus
    ) -> None:
        items = [HistoryItem("user", prompt.message)]
        if text:
            items.append(HistoryItem("assistant", text))
        try:
            await self._memory.append_history(prompt.session_id, items)
            if outcome.response_id and status is ReplyStatus.COMPLETE:
                await self._memory.set_previous_response_id(prompt.session_id, outcome.response_id)
        except BackendUnavailable:
            log.warning(
                "agent memory unavailable; history of %s rebuilt from storage next turn",
                prompt.session_id,
            )

    async def _title(self, session: Session, fanout: Fanout, user_text: str, reply: str) -> None:
        try:
            title = await propose_title(self._model, user_text, reply)
            if title:
                await self._store.set_session_title(session.session_id, title)
                await fanout.send(title_frame(session.session_id, title))
        except (ModelError, BackendUnavailable) as exc:
            log.info("no title for %s: %s", session.session_id, exc)

    async def _report_unavailable(self, session: Session, exc: BackendUnavailable) -> None:
        await self._system_note(
            session.session_id,
            "The agent is unavailable right now (its lock service cannot be reached). "
            "Your message is saved; send another message to try again.",
        )
        log.warning("lock backend unavailable: %s", exc)

    async def report_lost_reply(self, session_id: str, why: str) -> bool:
        """A reply that will not come (on AWS: the worker's asynchronous invocation failed
        past its retries and landed in the failure queue). When the session still has a
        message pending, every connection of it gets a SYSTEM_LOG saying so (the USER
        message stays saved); returns whether it did. A session answered since (a later
        message drained it) gets nothing."""
        session = await self._store.get_session(session_id)
        if session is None or not session.has_pending:
            return False
        await self._system_note(
            session_id,
            f"The reply to your message could not be produced ({why}). "
            "Your message is saved; send another message to try again.",
        )
        return True

    async def _system_note(self, session_id: str, text: str) -> None:
        stored = await self._store.append_message(
            MessageDraft(
                session_id,
                Role.SYSTEM,
                MessageType.SYSTEM_LOG,
                text,
                status=ReplyStatus.ERROR.value,
            )
        )
        connections = await self._store.session_connections(session_id)
        fanout = Fanout(self._transport, self._store, [c.connection_id for c in connections])
        await fanout.send(message_frame(stored.message))


def _turn_of(message: Message) -> int:
    """The USER message a message belongs to: itself, or the one a reply answered."""
    if message.role is Role.USER or message.reply_to is None:
        return message.created_at
    return message.reply_to
