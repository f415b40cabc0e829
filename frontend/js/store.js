// The conversation as this browser knows it: stored messages (keyed by createdAt), the user's
// messages not yet acknowledged, and replies still streaming. No DOM here.

const LOG_TYPES = new Set(['PLAN', 'AGENT_LOG', 'SYSTEM_LOG']);

export function newClientMessageId() {
  if (globalThis.crypto && typeof crypto.randomUUID === 'function') return crypto.randomUUID();
  // Insecure contexts (plain http on a LAN address) have no randomUUID.
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  bytes[6] = (bytes[6] & 0x0f) | 0x40;
  bytes[8] = (bytes[8] & 0x3f) | 0x80;
  const hex = [...bytes].map((b) => b.toString(16).padStart(2, '0')).join('');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** A streaming reply is keyed by replyId and messageType (a reply may stream more than one kind). */
export function streamKey(replyId, messageType) {
  return `${replyId}|${messageType || 'CONVERSATION'}`;
}

export class Conversation {
  constructor() {
    this.reset();
  }

  reset() {
    this.sessionId = null;
    this.title = null;
    this.stored = new Map(); // createdAt -> message
    this.newest = null; // largest createdAt seen
    this.pending = new Map(); // clientMessageId -> { clientMessageId, text, state: queued|sent|failed }
    this.streams = new Map(); // streamKey -> { replyId, messageType, seqs: Set, ended: bool, status }
    this.finished = new Set(); // streamKeys whose final message is stored
    this.replyStatus = new Map(); // replyId -> status from its `done` frame
    this.replyMessage = new Map(); // replyId -> createdAt of its stored final message
  }

  // ---- the user's own messages ------------------------------------------------------------

  addPending(text) {
    const item = { clientMessageId: newClientMessageId(), text, state: 'queued' };
    this.pending.set(item.clientMessageId, item);
    return item;
  }

  /** Messages to (re)send after (re)connecting: everything not acknowledged and not failed. */
  unsent() {
    return [...this.pending.values()].filter((p) => p.state !== 'failed');
  }

  /** Forget a message the user takes back (to edit it). */
  dropPending(clientMessageId) {
    const item = this.pending.get(clientMessageId);
    this.pending.delete(clientMessageId);
    return item || null;
  }

  /** The pending message an error frame is about, if any. */
  pendingForError(frame) {
    if (frame.clientMessageId && this.pending.has(frame.clientMessageId)) {
      return this.pending.get(frame.clientMessageId);
    }
    // Error frames name no clientMessageId today: judge by the code (MESSAGE_TOO_LARGE, ...).
    const aboutSending = frame.action === 'putMessage' || /MESSAGE|PAYLOAD|TOO_LARGE|THROTTL|RATE_LIMIT/i.test(String(frame.code || ''));
    if (!aboutSending) return null;
    return [...this.pending.values()].find((p) => p.state === 'sent') || null;
  }

  // ---- stored messages ---------------------------------------------------------------------

  /**
   * Take in a stored message. Returns null when it is a duplicate, else what it replaces:
   * { message, pendingId (a local bubble of the user's), streamKey (a streaming bubble) }.
   */
  addStored(message) {
    const createdAt = Number(message.createdAt);
    const hasKey = Number.isFinite(createdAt);
    if (hasKey) {
      if (this.stored.has(createdAt)) return null;
      this.stored.set(createdAt, message);
      if (this.newest === null || createdAt > this.newest) this.newest = createdAt;
    }

    let pendingId = null;
    if (message.role === 'USER') {
      const byId = message.clientMessageId && this.pending.get(message.clientMessageId);
      // Fallback for servers that do not echo clientMessageId: the oldest sent message with the same text.
      const byText = !byId && !message.clientMessageId && [...this.pending.values()].find((p) => p.state !== 'queued' && p.text === message.message);
      const match = byId || byText;
      if (match) {
        pendingId = match.clientMessageId;
        this.pending.delete(pendingId);
      }
    }

    let replacedStream = null;
    if (message.role === 'AGENT' && message.replyId) {
      const key = streamKey(message.replyId, message.messageType);
      if (!LOG_TYPES.has(message.messageType) || this.streams.has(key)) {
        this.finished.add(key);
        if (hasKey) this.replyMessage.set(message.replyId, createdAt);
        if (this.streams.has(key)) {
          this.streams.delete(key);
          replacedStream = key;
        }
      }
    }
    return { message, pendingId, streamKey: replacedStream };
  }

  /** Forget stored messages the server deleted (a turn taken back); returns those known. */
  removeStored(createdAts) {
    const known = [];
    for (const value of createdAts) {
      const createdAt = Number(value);
      const message = this.stored.get(createdAt);
      if (!message) continue;
      this.stored.delete(createdAt);
      if (message.replyId && this.replyMessage.get(message.replyId) === createdAt) this.replyMessage.delete(message.replyId);
      known.push(createdAt);
    }
    return known;
  }

  /** The status a stored reply should show: its own, else what its `done` frame said. */
  statusOf(message) {
    if (LOG_TYPES.has(message.messageType)) return null; // a log line says what happened itself
    const status = message.status || (message.replyId && this.replyStatus.get(message.replyId));
    return status && status !== 'complete' ? status : null;
  }

  // ---- streaming replies -------------------------------------------------------------------

  /**
   * Take in a delta. Returns null for a repeat or a reply already finished, else
   * { key, created (first delta we saw for it), gap (we joined mid-reply) }.
   */
  addDelta(frame) {
    const key = streamKey(frame.replyId, frame.messageType);
    if (this.finished.has(key)) return null;
    let stream = this.streams.get(key);
    const created = !stream;
    if (!stream) {
      stream = { replyId: frame.replyId, messageType: frame.messageType || 'CONVERSATION', seqs: new Set(), ended: false, status: null };
      this.streams.set(key, stream);
    }
    if (stream.ended) return null;
    const seq = Number(frame.seq);
    if (Number.isFinite(seq)) {
      if (stream.seqs.has(seq)) return null;
      stream.seqs.add(seq);
    }
    return { key, created, gap: created && Number.isFinite(seq) && seq > 0 };
  }

  /**
   * A reply ended. Returns { streamKeys (bubbles still shown as streaming), storedAt
   * (createdAt of its already stored final message, if any) }.
   */
  endReply(replyId, status) {
    this.replyStatus.set(replyId, status);
    const streamKeys = [];
    for (const [key, stream] of this.streams) {
      if (stream.replyId === replyId && !stream.ended) {
        stream.ended = true;
        stream.status = status;
        streamKeys.push(key);
      }
    }
    return { streamKeys, storedAt: this.replyMessage.get(replyId) ?? null };
  }

  get streaming() {
    for (const stream of this.streams.values()) if (!stream.ended) return true;
    return false;
  }
}
