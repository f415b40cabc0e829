// The chat controller: turns server frames into what the page shows, and the user's actions
// into frames. Protocol v1 (docs/protocol.md).

import { memory } from './config.js';
import { describeError, formatBytes } from './errors.js';
import { t } from './i18n.js';
import { showSession } from './router.js';
import { Conversation } from './store.js';

// Until the server says its limits: a frame may not pass 128 KB.
const FALLBACK_LIMITS = { maxMessageBytes: 120 * 1024 };
const AWAIT_TIMEOUT_MS = 90000;
const MAX_LISTED_PAGES = 10; // listSessions pages of 100: the newest 1,000 chats

export class Chat {
  /** ui: { title, stop, status } elements; socket is attached after construction. */
  constructor({ view, notices, sessions, ui }) {
    Object.assign(this, { view, notices, sessions, ui });
    this.store = new Conversation();
    this.socket = null;
    this.connected = false;
    this.awaiting = false; // the user sent something and no reply has started yet
    this.awaitTimer = null;
    this.stopTimer = null;
    this.routes = new Set();
    this.limits = { ...FALLBACK_LIMITS };
    this.tat = 0; // the server's message bucket, mirrored (core/gcra.py): when it is full again
    this.blockedUntil = 0; // a refusal's retryAfter: nothing is sent before this time
    this.editing = null; // createdAt of the message being edited and resent
    this.resuming = false; // a getMessages with `after` is out (a reconnect)
  }

  // ---- socket events -----------------------------------------------------------------------

  onState(state) {
    const { status } = this.ui;
    this.connected = state === 'open';
    this.updateBusy();
    status.dataset.state = state;
    status.title = t(`status.${state}`);
    status.querySelector('.status-text').textContent = t(`status.${state}`);
  }

  onOpen() {
    // `hello` is no route: $default answers it with the routes and the server's limits.
    this.socket.send({ action: 'hello' });
    const request = { action: 'getMessages' };
    if (this.store.newest !== null) request.after = this.store.newest;
    this.resuming = request.after !== undefined; // its answer may say a turn was taken back
    this.socket.send(request);
    this.flush();
  }

  onResumeRefused() {
    const keep = this.store.unsent();
    this.store.reset();
    memory.sessionId = null;
    this.view.clear();
    this.setTitle(null);
    for (const item of keep) {
      item.state = 'queued';
      this.store.pending.set(item.clientMessageId, item);
      this.view.showPending(item);
    }
    this.setAwaiting(false);
    this.notices.show(t('notice.resume'), { kind: 'warn', timeoutMs: 12000, key: 'resume' });
  }

  onFrame(frame) {
    if (typeof frame.sessionId === 'string' && frame.sessionId && frame.type !== 'deleted'
        && frame.type !== 'sessions' && frame.sessionId !== this.store.sessionId) {
      this.learnSession(frame.sessionId);
    }
    switch (frame.type) {
      case 'routes':
        this.onRoutes(frame);
        break;
      case 'session':
        if (typeof frame.title === 'string') this.setTitle(frame.title);
        break;
      case 'sessions':
        this.onSessions(frame);
        break;
      case 'deleted':
        this.onDeleted(frame.sessionId);
        break;
      case 'removed':
        if (Array.isArray(frame.createdAt)) this.view.removeStored(this.store.removeStored(frame.createdAt));
        this.updateBusy();
        break;
      case 'delta':
        this.onDelta(frame);
        break;
      case 'message':
        this.onMessage(frame);
        break;
      case 'history':
        if (frame.rewound && this.resuming) {
          this.resuming = false;
          this.reload();
          break;
        }
        this.resuming = false;
        for (const message of Array.isArray(frame.messages) ? frame.messages : []) this.onMessage(message);
        if (frame.next !== null && frame.next !== undefined) {
          this.socket.send({ action: 'getMessages', after: frame.next });
        }
        break;
      case 'done':
        this.onDone(frame);
        break;
      case 'error':
        this.onError(frame);
        break;
      default:
        break; // anything newer: nothing to show
    }
  }

  onRoutes(frame) {
    if (Array.isArray(frame.routes)) this.routes = new Set(frame.routes);
    if (frame.limits && typeof frame.limits === 'object') this.limits = { ...FALLBACK_LIMITS, ...frame.limits };
    if (this.routes.has('listSessions')) this.listSessions();
    this.sessions.changed(); // rename/delete buttons follow the routes offered
    this.updateBusy();
  }

  /** Signed in: the user's chats from every device, a page at a time (newest first). */
  listSessions(cursor = null) {
    if (!cursor) this.listedPages = 0;
    this.socket.send(cursor ? { action: 'listSessions', limit: 100, cursor } : { action: 'listSessions', limit: 100 });
  }

  onSessions(frame) {
    this.listedPages = (this.listedPages || 0) + 1;
    this.sessions.setRemote(frame.sessions, { append: this.listedPages > 1 });
    const more = typeof frame.next === 'string' && frame.next;
    if (more && this.listedPages < MAX_LISTED_PAGES) this.listSessions(frame.next);
  }

  learnSession(sessionId) {
    this.store.sessionId = sessionId;
    memory.sessionId = sessionId;
    showSession(sessionId, { replace: true }); // listed once it has a message (onMessage)
    if (!this.store.title) {
      const saved = this.sessions.titleOf(sessionId) || memory.titleFor(sessionId);
      if (saved) this.setTitle(saved);
    }
    this.onSession(sessionId);
  }

  onSession() {} // set by the page: the sidebar marks the open chat

  onMessage(message) {
    if (!message || typeof message !== 'object') return;
    const added = this.store.addStored(message);
    if (!added) return;
    const replaces = [];
    if (added.pendingId) replaces.push(`p:${added.pendingId}`);
    if (added.streamKey) replaces.push(`s:${added.streamKey}`);
    this.view.showStored(message, { replaces, status: this.store.statusOf(message) });
    const type = message.messageType;
    if ((message.role === 'AGENT' && type === 'CONVERSATION') || type === 'SYSTEM_LOG') this.setAwaiting(false);
    if (message.role === 'USER') this.sessions.remember(this.store.sessionId, { touched: true });
    this.updateBusy();
  }

  onDelta(frame) {
    if (!frame.replyId) return;
    const added = this.store.addDelta(frame);
    if (!added) return;
    if (added.created) {
      this.view.streamStart(added.key, { replyId: frame.replyId, messageType: frame.messageType, gap: added.gap });
    }
    this.view.streamAppend(added.key, frame.text);
    this.setAwaiting(false);
  }

  onDone(frame) {
    if (!frame.replyId) return;
    const status = frame.status || 'complete';
    const { streamKeys, storedAt } = this.store.endReply(frame.replyId, status);
    for (const key of streamKeys) this.view.streamEnd(key, status);
    if (storedAt !== null && status !== 'complete') this.view.markStored(storedAt, status);
    this.view.replyEnded(status);
    this.stopping(false);
    this.setAwaiting(false);
  }

  onError(frame) {
    if (typeof frame.code === 'string' && frame.code.startsWith('APPROVAL_')) this.reload();
    const { text, details } = describeError(frame);
    const wait = this.holdOff(frame);
    this.notices.show(text + wait, { kind: 'error', key: frame.code, details });
    const pending = this.store.pendingForError(frame);
    if (pending) {
      pending.state = 'failed';
      this.view.showPending(pending);
    }
    this.stopping(false);
    this.setAwaiting(false);
  }

  /** A turn was taken back while this tab was away: load the conversation anew, keeping
   *  what the user has not sent yet. */
  reload() {
    const keep = this.store.unsent();
    const { sessionId, title } = this.store;
    this.store.reset();
    Object.assign(this.store, { sessionId, title });
    this.view.clear();
    for (const item of keep) {
      this.store.pending.set(item.clientMessageId, item);
      this.view.showPending(item);
    }
    this.socket.send({ action: 'getMessages' });
    this.updateBusy();
  }

  onDeleted(sessionId) {
    this.sessions.forget(sessionId);
    this.notices.show(t('sidebar.deleted'), { key: 'deleted' });
    if (sessionId === this.store.sessionId) this.newChat();
  }

  // ---- user actions ------------------------------------------------------------------------

  /** Refuses what the server would refuse (its limits); returns the sentence, or null. */
  refusal(text) {
    const size = new TextEncoder().encode(text).length;
    const limit = Number(this.limits.maxMessageBytes);
    if (limit > 0 && size > limit) return t('notice.tooLong', { size: formatBytes(size), limit: formatBytes(limit) });
    const now = Date.now();
    if (now < this.blockedUntil) {
      return t('notice.retryAfter', { seconds: Math.ceil((this.blockedUntil - now) / 1000) });
    }
    const bucket = this.bucket();
    if (bucket && Math.max(this.tat, now) - bucket.tolerance - now > 0) return t('error.RATE_LIMITED');
    return null;
  }

  /** The connection's message bucket from the routes frame's limits, or null when none. */
  bucket() {
    const perMinute = Number(this.limits.messagesPerMinute);
    if (!(perMinute > 0)) return null;
    const interval = 60000 / perMinute;
    const capacity = Math.max(1, Number(this.limits.messageBurst) || perMinute);
    return { interval, tolerance: (capacity - 1) * interval };
  }

  /** A refusal with retryAfter (seconds): no message goes out before then. */
  holdOff(frame) {
    const seconds = Number(frame.retryAfter);
    if (!(seconds > 0)) return '';
    this.blockedUntil = Math.max(this.blockedUntil, Date.now() + seconds * 1000);
    return ' ' + t('notice.retryAfter', { seconds: Math.ceil(seconds) });
  }

  /** Returns false when the text was not accepted (then the composer keeps it). */
  send(rawText) {
    const text = rawText.trim();
    if (!text) return false;
    const refused = this.refusal(text);
    if (refused) {
      this.notices.show(refused, { kind: 'error', key: 'too-long' });
      return false;
    }
    const bucket = this.bucket();
    if (bucket) this.tat = Math.max(this.tat, Date.now()) + bucket.interval;
    const item = this.store.addPending(text);
    if (this.editing !== null) item.replaces = this.editing;
    this.editing = null;
    this.transmit(item);
    this.view.scrollToEnd();
    this.setAwaiting(true);
    return true;
  }

  transmit(item) {
    // An edit of the last message goes to editMessage, which replaces it and its reply.
    const action = item.replaces !== undefined ? 'editMessage' : 'putMessage';
    const frame = { action, message: item.text, clientMessageId: item.clientMessageId };
    if (item.replaces !== undefined) frame.replaces = item.replaces;
    item.state = this.socket && this.socket.send(frame) ? 'sent' : 'queued';
    this.view.showPending(item);
  }

  /** After (re)connecting: send everything not yet acknowledged (same clientMessageId). */
  flush() {
    for (const item of this.store.unsent()) this.transmit(item);
  }

  retry(clientMessageId) {
    const item = this.store.pending.get(clientMessageId);
    if (!item) return;
    this.transmit(item);
    this.setAwaiting(true);
  }

  /** Take a failed message back: returns its text for the composer. */
  edit(clientMessageId) {
    const item = this.store.dropPending(clientMessageId);
    this.view.take(`p:${clientMessageId}`);
    return item ? item.text : '';
  }

  /** Write the last reply again (replyTo: the createdAt of the message it answers). */
  regenerate(replyTo) {
    const frame = { action: 'regenerate' };
    if (Number.isFinite(replyTo) && replyTo > 0) frame.replyTo = replyTo;
    if (this.socket.send(frame)) this.setAwaiting(true);
  }

  /** Approve or deny a tool call the reply paused at (approvalId: its request's createdAt). */
  decide(approvalId, approve) {
    const frame = { action: approve ? 'approveTool' : 'denyTool', approvalId };
    if (this.socket.send(frame)) this.setAwaiting(true);
    else this.view.reopenApproval(approvalId);
  }

  rename(sessionId, title) {
    this.socket.send({ action: 'renameSession', sessionId, title });
  }

  remove(sessionId) {
    this.socket.send({ action: 'deleteSession', sessionId });
  }

  stop() {
    if (this.socket.send({ action: 'stopGeneration' })) this.stopping(true);
  }

  get busy() {
    return this.store.streaming || this.awaiting;
  }

  /** A new chat: the old one stays in the list and in the browser's history. */
  newChat() {
    this.reset(null);
    showSession(null);
    this.socket.restartFresh();
  }

  /** Open a chat the URL names (sidebar link, back/forward, bookmark). */
  open(sessionId) {
    if (sessionId === this.store.sessionId) return;
    this.reset(sessionId);
    this.socket.restart();
  }

  reset(sessionId) {
    this.store.reset();
    this.store.sessionId = sessionId;
    memory.sessionId = sessionId;
    if (sessionId) this.sessions.remember(sessionId);
    this.view.clear();
    this.setTitle(sessionId ? this.sessions.titleOf(sessionId) : null);
    this.setAwaiting(false);
    this.stopping(false);
    this.editing = null;
    this.notices.dismiss('resume');
    this.onSession(sessionId);
  }

  // ---- small pieces of state shown on the page ---------------------------------------------

  setTitle(title) {
    const clean = title && title.trim() ? title.trim() : null;
    this.store.title = clean;
    this.ui.title.textContent = clean || t('title.new');
    document.title = clean ? `${clean} · azuchi` : 'azuchi';
    if (clean && this.store.sessionId) {
      memory.saveTitle(this.store.sessionId, clean);
      this.sessions.remember(this.store.sessionId, { title: clean });
    }
  }

  setAwaiting(on) {
    this.awaiting = on;
    clearTimeout(this.awaitTimer);
    if (on) this.awaitTimer = setTimeout(() => this.setAwaiting(false), AWAIT_TIMEOUT_MS);
    this.updateBusy();
  }

  stopping(on) {
    this.ui.stop.disabled = on;
    clearTimeout(this.stopTimer);
    if (on) this.stopTimer = setTimeout(() => this.stopping(false), 5000);
  }

  updateBusy() {
    const streaming = this.store.streaming;
    this.view.setTyping(this.awaiting && !streaming && this.connected);
    this.ui.stop.hidden = !(streaming || this.awaiting);
    this.view.refreshActions(streaming || this.awaiting);
  }
}
