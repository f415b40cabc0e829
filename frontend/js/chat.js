// The chat controller: turns server frames into what the page shows, and the user's actions
// into frames. Protocol v1 (docs: DESIGN §5).

import { memory } from './config.js';
import { Conversation } from './store.js';

const MAX_MESSAGE_BYTES = 120 * 1024; // a frame may not pass 128 KB
const AWAIT_TIMEOUT_MS = 90000;
const STATUS_TEXT = { open: 'Connected', connecting: 'Connecting…', closed: 'Offline' };

export class Chat {
  /** ui: { title, stop, status } elements; socket is attached after construction. */
  constructor({ view, notices, ui }) {
    Object.assign(this, { view, notices, ui });
    this.store = new Conversation();
    this.socket = null;
    this.connected = false;
    this.awaiting = false; // the user sent something and no reply has started yet
    this.awaitTimer = null;
    this.stopTimer = null;
  }

  // ---- socket events -----------------------------------------------------------------------

  onState(state) {
    const { status } = this.ui;
    this.connected = state === 'open';
    this.updateBusy();
    status.dataset.state = state;
    status.title = STATUS_TEXT[state];
    status.querySelector('.status-text').textContent = STATUS_TEXT[state];
  }

  onOpen() {
    const request = { action: 'getMessages' };
    if (this.store.newest !== null) request.after = this.store.newest;
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
    this.notices.show('Your previous chat could not be resumed, so a new chat was started.', {
      kind: 'warn', timeoutMs: 12000, key: 'resume',
    });
  }

  onFrame(frame) {
    if (typeof frame.sessionId === 'string' && frame.sessionId && frame.sessionId !== this.store.sessionId) {
      this.learnSession(frame.sessionId);
    }
    switch (frame.type) {
      case 'session':
        if (typeof frame.title === 'string') this.setTitle(frame.title);
        break;
      case 'delta':
        this.onDelta(frame);
        break;
      case 'message':
        this.onMessage(frame);
        break;
      case 'history':
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
        // 'routes' and anything newer: nothing to show.
        break;
    }
  }

  learnSession(sessionId) {
    this.store.sessionId = sessionId;
    memory.sessionId = sessionId;
    if (!this.store.title) {
      const saved = memory.titleFor(sessionId);
      if (saved) this.setTitle(saved);
    }
  }

  onMessage(message) {
    if (!message || typeof message !== 'object') return;
    const added = this.store.addStored(message);
    if (!added) return;
    const replaces = [];
    if (added.pendingId) replaces.push(`p:${added.pendingId}`);
    if (added.streamKey) replaces.push(`s:${added.streamKey}`);
    this.view.showStored(message, { replaces, status: this.store.statusOf(message) });
    const type = message.messageType;
    if ((message.role === 'AGENT' && type !== 'PLAN' && type !== 'AGENT_LOG') || type === 'SYSTEM_LOG') {
      this.setAwaiting(false);
    }
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
    this.stopping(false);
    this.setAwaiting(false);
  }

  onError(frame) {
    this.notices.show(frame.message || 'Something went wrong.', { kind: 'error', key: frame.code });
    const pending = this.store.pendingForError(frame);
    if (pending) {
      pending.state = 'failed';
      this.view.showPending(pending);
    }
    this.stopping(false);
    this.setAwaiting(false);
  }

  // ---- user actions ------------------------------------------------------------------------

  /** Returns false when the text was not accepted (then the composer keeps it). */
  send(rawText) {
    const text = rawText.trim();
    if (!text) return false;
    if (new TextEncoder().encode(text).length > MAX_MESSAGE_BYTES) {
      this.notices.show('That message is too long to send. Please shorten it.', { kind: 'error', key: 'too-long' });
      return false;
    }
    const item = this.store.addPending(text);
    this.transmit(item);
    this.view.scrollToEnd();
    this.setAwaiting(true);
    return true;
  }

  transmit(item) {
    const frame = { action: 'putMessage', message: item.text, clientMessageId: item.clientMessageId };
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

  stop() {
    if (this.socket.send({ action: 'stopGeneration' })) this.stopping(true);
  }

  newChat() {
    this.store.reset();
    memory.sessionId = null;
    this.view.clear();
    this.setTitle(null);
    this.setAwaiting(false);
    this.stopping(false);
    this.notices.dismiss('resume');
    this.socket.restartFresh();
  }

  // ---- small pieces of state shown on the page ---------------------------------------------

  setTitle(title) {
    const clean = title && title.trim() ? title.trim() : null;
    this.store.title = clean;
    this.ui.title.textContent = clean || 'New chat';
    document.title = clean ? `${clean} · azuchi` : 'azuchi';
    if (clean && this.store.sessionId) memory.saveTitle(this.store.sessionId, clean);
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
  }
}
