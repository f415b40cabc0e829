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

Every write a reply makes carries its lease's fence; a store refuses it once a newer holder
has written (FenceRejected), and the reply then stops without writing anything more. The
final message and the answered marker are one atomic write (``finish_reply``). A reply that
a crash cut short is closed by the next holder before anything else (core/services/
interrupted.py); while it streams, its text is checkpointed (core/services/checkpoint.py).
"""

from __future__ import annotations

import dataclasses
import logging
import uuid
from collections.abc import Mapping
from dataclasses import dataclass

import anyio

from core.clock import SystemClock
from core.config import ChatConfig
from core.domain import (
    HistoryItem,
    Lease,
    Message,
    MessageDraft,
    MessageType,
    ModelRequest,
    ReplyCheckpoint,
    ReplyStatus,
    Role,
    Session,
    StopReason,
    ToolCall,
    ToolResult,
    Usage,
)
from core.errors import (
    AzuchiError,
    BackendUnavailable,
    FenceRejected,
    LimitExceeded,
    LockLost,
    ModelContextExceeded,
    ModelError,
)
from core.ports import (
    AgentMemory,
    ArgumentCheck,
    ChatModel,
    ChatStore,
    Clock,
    LeaseState,
    PriceList,
    SessionLock,
    Tool,
    Transport,
)
from core.protocol import approval_frame, done_frame, message_frame
from core.services.agent import Agent, AgentOutcome, Resume, describe_call
from core.services.approvals import (
    APPROVE,
    MAX_DETAIL_BYTES,
    SEARCHED,
    PausedTurn,
    find_request,
    paused_turn,
)
from core.services.checkpoint import Checkpointer
from core.services.coalesce import DeltaStream
from core.services.fanout import Fanout
from core.services.history import alternating, bound_history, drop_oldest, history_budget
from core.services.interrupted import close_interrupted
from core.services.lease import LeaseKeeper, acquire_retrying
from core.services.limits import Limits
from core.services.stops import Ending, ending
from core.services.title import propose_title, title_frame
from core.text import scrub

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
        fence: int,
        thoughts: DeltaStream | None = None,
    ) -> None:
        self._store = store
        self._fanout = fanout
        self._deltas = deltas
        self._thoughts = thoughts
        self._prompt = prompt
        self._reply_id = reply_id
        self._fence = fence
        self.checkpointer: Checkpointer | None = None

    @property
    def fanout(self) -> Fanout:
        return self._fanout

    def on_text(self, text: str) -> None:
        self._deltas.push(text)
        if self.checkpointer is not None:
            self.checkpointer.on_text(text)

    def on_reasoning(self, text: str) -> None:
        if self._thoughts is not None:
            self._thoughts.push(text)

    async def on_plan(self, steps: list[str]) -> None:
        await self.post(Role.AGENT, MessageType.PLAN, "\n".join(steps))

    async def on_tool_call(self, call: ToolCall) -> None:
        await self.post(Role.AGENT, MessageType.AGENT_LOG, f"→ {describe_call(call)}")

    async def on_tool_result(self, call: ToolCall, result: ToolResult) -> None:
        mark = "✗" if result.is_error else "←"
        await self.post(Role.AGENT, MessageType.AGENT_LOG, f"{mark} {call.name}: {result.content}")

    def draft(self, role: Role, message_type: str, text: str, **fields: object) -> MessageDraft:
        return MessageDraft(
            session_id=self._prompt.session_id,
            role=role,
            message_type=message_type,
            message=scrub(text),  # a model's tool arguments may hold lone surrogates
            reply_id=self._reply_id,
            reply_to=self._prompt.created_at,
            fence=self._fence,
            **fields,  # type: ignore[arg-type]
        )

    async def post(self, role: Role, message_type: str, text: str, **fields: object) -> Message:
        return await self.append(self.draft(role, message_type, text, **fields))

    async def append(self, draft: MessageDraft) -> Message:
        stored = await self._store.append_message(draft)
        await self._fanout.send(message_frame(stored.message))
        return stored.message

    async def finish(self, draft: MessageDraft) -> Message:
        """Stores the reply's final message and its answer marker, atomically."""
        stored = await self._store.finish_reply(draft)
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
        title_model: ChatModel | None = None,
        limits: Limits | None = None,
        clock: Clock | None = None,
        check_arguments: ArgumentCheck | None = None,
    ) -> None:
        self._clock = clock or SystemClock()
        self._limits = limits
        self._prices = prices
        self._title_model = title_model or model
        self._store = store
        self._lock = lock
        self._memory = memory
        self._model = model
        self._transport = transport
        self._config = config
        self._agent = Agent(
            model,
            tools,
            config.max_agent_steps,
            tool_timeout_s=config.tool_timeout_s,
            max_result_chars=config.max_tool_result_chars,
            approval=config.approval_tools,
            check_arguments=check_arguments,
        )

    @property
    def approval_tools(self) -> frozenset[str]:
        """The tools whose calls wait for the user's approval."""
        return self._config.approval_tools

    async def run_pending(self, session_id: str) -> int:
        """Answers every USER message of the session not yet answered; returns how many
        replies this call produced (0 when another replier holds the session). Waits for
        one of this process's reply slots first (``AZUCHI_LIMIT_CONCURRENT_REPLIES``)."""
        if self._limits is None:
            return await self._drain(session_id)
        session = await self._store.get_session(session_id)
        if session is None or not session.has_pending:
            return 0
        async with self._limits.slots.hold(session_id):
            return await self._drain(session_id)

    async def _drain(self, session_id: str) -> int:
        replies = 0
        while True:
            session = await self._store.get_session(session_id)
            if session is None or not session.has_pending:
                return replies
            token = await acquire_retrying(
                self._lock, session, self._config, self._report_unavailable
            )
            if token is None:
                return replies  # the holder re-reads the session before it lets go
            try:
                while session is not None and session.has_pending:
                    await self._answer(session, token)
                    replies += 1
                    session = await self._store.get_session(session_id)
            except LockLost:  # FenceRejected too: a newer holder has written
                return replies  # never release a lease that may be someone else's now
            try:
                await self._lock.release(session_id, token)
            except BackendUnavailable:
                # The replies are delivered; the lease just runs out on its own.
                log.warning("could not release the lock of %s; it expires by itself", session_id)

    async def _answer(self, session: Session, token: Lease) -> None:
        sid = session.session_id
        if session.has_unfinished_reply:  # its holder crashed or lost the lease
            await close_interrupted(self._store, await self._session_fanout(sid), session, token)
        pending = await self._store.messages_after(
            sid, session.answered_at or None, self._config.page_max
        )
        # One reply per message, oldest first: the next turn's history holds this one.
        prompt = next((m for m in pending if m.role is Role.USER), None)
        if prompt is None:
            await self._store.record_answered(sid, session.last_user_at, token.fence)
            return
        reply_id = uuid.uuid4().hex
        await self._store.start_reply(sid, reply_id, prompt.created_at, token.fence)
        fanout = Fanout(
            self._transport,
            self._store,
            [c.connection_id for c in await self._store.session_connections(sid)],
        )
        paused: PausedTurn | None = None
        if prompt.message_type == MessageType.APPROVAL_DECISION:  # go on from the pause
            paused = await self._paused_for(prompt)
            if paused is None:
                await self._unresumable(fanout, prompt, reply_id, token.fence)
                return
        turn_prompt = paused.prompt if paused else prompt.message
        budget = history_budget(
            self._config.history_token_budget,
            self._config.context_window_tokens,
            self._config.max_output_tokens,
            self._config.system_prompt,
            turn_prompt,
        )
        before = paused.prompt_at if paused else None
        history = bound_history(
            await self._history(session, before), self._config.history_items, budget
        )
        previous_id = await self._previous_response_id(sid)
        request = ModelRequest(
            system=self._config.system_prompt,
            history=tuple(history),
            prompt=turn_prompt,
            previous_response_id=previous_id,
        )
        resume = None
        if paused is not None:
            resume = Resume(paused.pause, prompt.message == APPROVE)
        outcome = AgentOutcome()
        lost_fence = False
        status = ReplyStatus.COMPLETE
        failure: AzuchiError | None = None
        # Each message type of the reply (its text, its REASONING) is numbered from 0 on its
        # own, as clients key streams by (replyId, messageType).
        frame_args = (self._config.coalesce_ms, self._config.delta_frame_bytes)
        async with (
            DeltaStream(fanout, sid, reply_id, MessageType.CONVERSATION, *frame_args) as deltas,
            DeltaStream(fanout, sid, reply_id, MessageType.REASONING, *frame_args) as thoughts,
        ):
            sink = ReplySink(self._store, fanout, deltas, prompt, reply_id, token.fence, thoughts)
            with anyio.CancelScope() as generation:
                checkpointer = self._checkpointer(prompt, reply_id, token, outcome, generation)
                sink.checkpointer = checkpointer
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
                    if checkpointer is not None:
                        tg.start_soon(checkpointer.run)
                    try:
                        await self._run_agent(
                            request, sink, ReplyContext(sid, self._store), outcome, resume
                        )
                    except FenceRejected:
                        lost_fence = True
                    except (ModelError, LimitExceeded) as exc:
                        status, failure = ReplyStatus.ERROR, exc
                    except Exception as exc:
                        log.exception("reply %s failed", reply_id)
                        status, failure = ReplyStatus.ERROR, AzuchiError(f"Internal error: {exc}")
                    tg.cancel_scope.cancel()
        cost = self._cost(outcome)
        await self._count(sid, outcome, cost)
        if keeper.state is LeaseState.LOST or lost_fence or (checkpointer and checkpointer.fenced):
            # Another replier may hold the session now: write nothing more (its writes
            # would be refused anyway); it closes this reply as interrupted and answers
            # the message again. The clients learn that this one will not go on.
            status = ReplyStatus.INTERRUPTED
            await fanout.send(done_frame(sid, reply_id, status.value, outcome.usage))
            raise LockLost("lease lost while replying")
        if keeper.state is LeaseState.STOP_REQUESTED:
            status = ReplyStatus.STOPPED

        # New tabs opened during the reply get its final messages too.
        fanout.add([c.connection_id for c in await self._store.session_connections(sid)])
        try:
            end = await self._finish(
                sink, prompt, outcome, status, failure, cost, token.fence, paused
            )
        except FenceRejected:
            await fanout.send(
                done_frame(sid, reply_id, ReplyStatus.INTERRUPTED.value, outcome.usage)
            )
            raise
        stop = end.stop_reason.value if end.stop_reason else None
        await fanout.send(done_frame(sid, reply_id, end.status.value, outcome.usage, cost, stop))
        if (
            session.title is None
            and self._config.make_titles
            and end.status is ReplyStatus.COMPLETE
        ):
            await self._title(session, fanout, turn_prompt, outcome.text)

    async def _run_agent(
        self,
        request: ModelRequest,
        sink: ReplySink,
        context: ReplyContext,
        outcome: AgentOutcome,
        resume: Resume | None = None,
    ) -> None:
        """The agent, run again once with the older half of the history left out when the
        model says the conversation does not fit its context before it said anything.
        The day's caps are checked first: a queued or recovered message is refused too."""
        if self._limits is not None:
            await self._limits.check_reply(context.session_id)
        try:
            await self._agent.run(request, sink, context, outcome, resume)
        except ModelContextExceeded:
            if outcome.text or outcome.steps or not request.history:
                raise
            shorter = drop_oldest(request.history)
            log.info(
                "context window exceeded; retrying with %d of %d history items",
                len(shorter),
                len(request.history),
            )
            retry = dataclasses.replace(request, history=tuple(shorter))
            await self._agent.run(retry, sink, context, outcome, resume)

    async def _finish(
        self,
        sink: ReplySink,
        prompt: Message,
        outcome: AgentOutcome,
        status: ReplyStatus,
        failure: AzuchiError | None,
        cost: float | None,
        fence: int,
        paused: PausedTurn | None = None,
    ) -> Ending:
        """Stores the reply's last messages; the reply itself (or, when it has no text, its
        note) goes with the answered marker in one write (``finish_reply``). A reply that
        paused for an approval ends with its APPROVAL request instead (``_pause``)."""
        text = self._cut(outcome.text)
        thought = bool(outcome.reasoning or outcome.redacted_reasoning)
        if outcome.pause is not None and status is ReplyStatus.COMPLETE:
            state = self._paused_state(prompt, outcome, text, paused)
            if state is not None:
                return await self._pause(sink, outcome, text, thought, cost, state)
            status = ReplyStatus.ERROR
            failure = AzuchiError(
                f"the reply paused for approval of {outcome.pause.call.name}, but what it "
                f"would keep is over {MAX_DETAIL_BYTES // 1024} KB; the tool was not run"
            )
        end = ending(status, failure, outcome.stop_reason, bool(text.strip()), thought)
        abnormal = None if end.stop_reason is None or end.stop_reason.is_normal else end.stop_reason
        if thought:
            await sink.post(
                Role.AGENT,
                MessageType.REASONING,
                outcome.reasoning or REDACTED_NOTE,
                status=end.status.value,
            )
        drafts: list[MessageDraft] = []
        if text:
            drafts.append(
                sink.draft(
                    Role.AGENT,
                    MessageType.CONVERSATION,
                    text,
                    status=end.status.value,
                    model=self._model.model_id,
                    usage=outcome.usage,
                    cost_usd=cost,
                    stop_reason=abnormal,
                )
            )
        if end.note is not None or not drafts:
            note = end.note or "The reply ended without any text."
            drafts.append(
                sink.draft(
                    Role.SYSTEM,
                    MessageType.SYSTEM_LOG,
                    note,
                    status=end.status.value,
                    stop_reason=abnormal,
                )
            )
        await sink.finish(drafts[0])
        for draft in drafts[1:]:
            await sink.append(draft)
        if paused is not None:  # the whole turn, as one exchange
            text = "\n\n".join(t for t in (paused.text, text) if t)
            prompt = dataclasses.replace(prompt, message=paused.prompt)
        await self._remember(prompt, text, outcome, end, fence)
        return end

    def _paused_state(
        self, prompt: Message, outcome: AgentOutcome, text: str, paused: PausedTurn | None
    ) -> PausedTurn | None:
        """What the APPROVAL request keeps (None when it would be too large to store)."""
        assert outcome.pause is not None
        expires = self._clock.now_ms() + int(self._config.approval_timeout_s * 1000)
        state = PausedTurn(
            outcome.pause,
            paused.prompt if paused else prompt.message,
            paused.prompt_at if paused else prompt.created_at,
            "\n\n".join(t for t in (paused.text if paused else "", text) if t),
            expires,
        )
        return state if state.fits() else None

    async def _pause(
        self,
        sink: ReplySink,
        outcome: AgentOutcome,
        text: str,
        thought: bool,
        cost: float | None,
        state: PausedTurn,
    ) -> Ending:
        """Ends the turn at a call that waits for approval: the text so far, then the
        APPROVAL request (the paused run in its detail) with the answered marker. Nothing
        is remembered yet: the turn goes into the agent's memory once it is complete."""
        status = ReplyStatus.AWAITING_APPROVAL.value
        if thought:
            await sink.post(
                Role.AGENT, MessageType.REASONING, outcome.reasoning or REDACTED_NOTE, status=status
            )
        call = state.pause.call
        request = sink.draft(
            Role.AGENT,
            MessageType.APPROVAL,
            describe_call(call),
            status=status,
            detail=state.to_json(),
        )
        if text:
            await sink.finish(
                sink.draft(
                    Role.AGENT,
                    MessageType.CONVERSATION,
                    text,
                    status=status,
                    model=self._model.model_id,
                    usage=outcome.usage,
                    cost_usd=cost,
                )
            )
            stored = await sink.append(request)
        else:
            stored = await sink.finish(request)
        await sink.fanout.send(approval_frame(stored))
        return Ending(ReplyStatus.AWAITING_APPROVAL, StopReason.TOOL_USE, None)

    async def _paused_for(self, decision: Message) -> PausedTurn | None:
        """The paused run a decision goes on from: its request's, while no other USER
        message came between the two (else the request was superseded)."""
        sid = decision.session_id
        request = await find_request(self._store, sid, decision.reply_to or 0)
        if request is None:
            return None
        between = await self._store.messages_after(sid, request.created_at, SEARCHED)
        for message in between:
            if message.created_at >= decision.created_at:
                break
            if message.role is Role.USER:
                return None
        return paused_turn(request)

    async def _unresumable(
        self, fanout: Fanout, decision: Message, reply_id: str, fence: int
    ) -> None:
        """A decision with nothing to go on from (its request was taken back, superseded,
        or unreadable): a note ends it, so the session is not left pending."""
        note = await self._store.finish_reply(
            MessageDraft(
                decision.session_id,
                Role.SYSTEM,
                MessageType.SYSTEM_LOG,
                "There is no paused reply for this decision to go on from; the tool was "
                "not run. Send a new message to ask again.",
                reply_id=reply_id,
                reply_to=decision.created_at,
                status=ReplyStatus.ERROR.value,
                fence=fence,
            )
        )
        await fanout.send(message_frame(note))
        await fanout.send(
            done_frame(decision.session_id, reply_id, ReplyStatus.ERROR.value, Usage())
        )

    def _cut(self, text: str) -> str:
        """The reply text as stored: at most ``max_reply_bytes`` of UTF-8."""
        if len(text) * 4 > self._config.max_reply_bytes:  # only then is it worth encoding
            cut = text.encode("utf-8")[: self._config.max_reply_bytes]
            text = cut.decode("utf-8", "ignore")
        return text

    def _checkpointer(
        self,
        prompt: Message,
        reply_id: str,
        lease: Lease,
        outcome: AgentOutcome,
        generation: anyio.CancelScope,
    ) -> Checkpointer | None:
        if not self._config.checkpointing:
            return None
        template = ReplyCheckpoint(prompt.session_id, reply_id, prompt.created_at, lease.fence)
        return Checkpointer(
            self._store,
            template,
            lambda: outcome.text,
            self._config.checkpoint_s,
            self._config.checkpoint_bytes,
            generation,
            self._cut,
        )

    async def _session_fanout(self, session_id: str) -> Fanout:
        connections = await self._store.session_connections(session_id)
        return Fanout(self._transport, self._store, [c.connection_id for c in connections])

    async def _count(self, session_id: str, outcome: AgentOutcome, cost: float | None) -> None:
        """What the reply used, counted against the session's tokens and the day's spend
        (a stopped, failed or interrupted reply's too: the model was paid for it)."""
        if self._limits is None:
            return
        u = outcome.usage
        tokens = u.input_tokens + u.output_tokens + u.cache_read_tokens + u.cache_write_tokens
        try:
            await self._limits.record(session_id, tokens, cost)
        except BackendUnavailable as exc:
            log.warning("could not count the usage of a reply of %s: %s", session_id, exc)

    def _cost(self, outcome: AgentOutcome, model: ChatModel | None = None) -> float | None:
        if self._prices is None:
            return None
        return self._prices.reply_cost((model or self._model).model_id, outcome.usage)

    async def _history(self, session: Session, before: int | None = None) -> list[HistoryItem]:
        """The conversation before this turn: the agent's memory, else rebuilt from the
        store. ``before``: the createdAt of a paused turn's prompt (a decision goes on
        from it): the store holds that turn answered already, and a memory may too (one
        derived from the store), so the history is rebuilt from the store, without it."""
        items: list[HistoryItem] = []
        if before is None:
            try:
                items = await self._memory.recent_history(session.session_id)
            except BackendUnavailable:
                items = []
        if items or not session.answered_at:
            return alternating(items)
        upto = session.answered_at if before is None else min(session.answered_at, before - 1)
        # Agent memory lost (evicted, flushed, or down): rebuild it from the durable store
        # (``bound_history`` keeps the newest ``history_items`` of these).
        stored = await self._store.last_messages(session.session_id, self._config.history_items * 3)
        too_long = {m.reply_to for m in stored if m.stop_reason == StopReason.CONTEXT_WINDOW}
        return alternating(
            [
                HistoryItem("user" if m.role is Role.USER else "assistant", m.message)
                for m in stored
                if m.message_type == MessageType.CONVERSATION
                and m.role in (Role.USER, Role.AGENT)
                and _turn_of(m) <= upto
                and _turn_of(m) not in too_long
                and m.message
            ]
        )

    async def _previous_response_id(self, session_id: str) -> str | None:
        try:
            return await self._memory.get_previous_response_id(session_id)
        except BackendUnavailable:
            return None

    async def _remember(
        self, prompt: Message, text: str, outcome: AgentOutcome, end: Ending, fence: int
    ) -> None:
        # A message that did not fit the model's context would make every later turn fail
        # too: the model's memory leaves it out (the store keeps it, marked).
        too_long = end.stop_reason is StopReason.CONTEXT_WINDOW and not text
        items = [] if too_long else [HistoryItem("user", prompt.message)]
        if text:
            items.append(HistoryItem("assistant", text))
        sid = prompt.session_id
        try:
            if items:
                await self._memory.append_history(sid, items, fence)
            if outcome.response_id and end.status is ReplyStatus.COMPLETE:
                await self._memory.set_previous_response_id(sid, outcome.response_id, fence)
        except BackendUnavailable:
            log.warning(
                "agent memory unavailable; history of %s rebuilt from storage next turn",
                prompt.session_id,
            )

    async def _title(self, session: Session, fanout: Fanout, user_text: str, reply: str) -> None:
        try:
            title, usage = await propose_title(self._title_model, user_text, reply)
            spent = AgentOutcome(usage=usage)
            await self._count(session.session_id, spent, self._cost(spent, self._title_model))
            if title:
                await self._store.set_session_title(session.session_id, title)
                await fanout.send(title_frame(session.session_id, title))
        except (ModelError, BackendUnavailable) as exc:
            log.info("no title for %s: %s", session.session_id, exc)

    async def _report_unavailable(self, session: Session, exc: BackendUnavailable) -> None:
        """Tells the session once that its reply waits for the lock backend."""
        await self._system_note(
            session.session_id,
            "The agent is unavailable right now (its lock service cannot be reached). "
            "Your message is saved; azuchi answers it by itself once the service is back.",
        )
        log.warning("lock backend unavailable, retrying: %s", exc)

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
        await (await self._session_fanout(session_id)).send(message_frame(stored.message))


REDACTED_NOTE = "(The model's reasoning was encrypted by the provider; there is nothing to show.)"


def _turn_of(message: Message) -> int:
    """The USER message a message belongs to: itself, or the one a reply answered."""
    if message.role is Role.USER or message.reply_to is None:
        return message.created_at
    return message.reply_to
