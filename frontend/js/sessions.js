// The chats this browser knows (localStorage), merged with the signed-in user's chats from
// `listSessions` when the server offers it. No DOM here.

const KEY = 'azuchi.sessions';
const MAX_KEPT = 200;

function load() {
  try {
    const list = JSON.parse(localStorage.getItem(KEY) || '[]');
    return Array.isArray(list) ? list.filter((s) => s && typeof s.sessionId === 'string') : [];
  } catch {
    return [];
  }
}

function save(list) {
  try {
    localStorage.setItem(KEY, JSON.stringify(list.slice(0, MAX_KEPT)));
  } catch {
    // Storage full or disabled: the list lasts until the page is closed.
  }
}

function cleanTitle(title) {
  return typeof title === 'string' && title.trim() ? title.trim() : null;
}

export class SessionList {
  constructor() {
    this.local = load();
    this.remote = []; // from listSessions (signed in)
    this.listeners = new Set();
  }

  onChange(listener) {
    this.listeners.add(listener);
  }

  changed() {
    for (const listener of this.listeners) listener();
  }

  /** Remember a session (or update it): title when known, updatedAt = now when touched. */
  remember(sessionId, { title, touched = false } = {}) {
    if (!sessionId) return;
    const now = Date.now();
    let entry = this.local.find((s) => s.sessionId === sessionId);
    if (!entry) {
      entry = { sessionId, title: null, updatedAt: now };
      this.local.unshift(entry);
    }
    if (cleanTitle(title)) entry.title = cleanTitle(title);
    if (touched) entry.updatedAt = now;
    save(this.local);
    this.changed();
  }

  titleOf(sessionId) {
    const entry = this.all().find((s) => s.sessionId === sessionId);
    return entry ? entry.title : null;
  }

  forget(sessionId) {
    this.local = this.local.filter((s) => s.sessionId !== sessionId);
    this.remote = this.remote.filter((s) => s.sessionId !== sessionId);
    save(this.local);
    this.changed();
  }

  /** A page of listSessions' answer: [{sessionId, title, createdAt}]; `append` adds it
   * to the pages before (the first page replaces them). */
  setRemote(sessions, { append = false } = {}) {
    const page = (Array.isArray(sessions) ? sessions : [])
      .filter((s) => s && typeof s.sessionId === 'string')
      .map((s) => ({
        sessionId: s.sessionId,
        title: cleanTitle(s.title),
        updatedAt: Number(s.updatedAt ?? s.lastMessageAt ?? s.createdAt) || 0,
      }));
    this.remote = append ? [...this.remote, ...page] : page;
    this.changed();
  }

  /** Every known session, newest first; `query` filters by title (case-insensitive). */
  all(query = '') {
    const byId = new Map();
    for (const entry of [...this.remote, ...this.local]) {
      const known = byId.get(entry.sessionId);
      if (!known) byId.set(entry.sessionId, { ...entry });
      else {
        known.title = known.title || entry.title;
        known.updatedAt = Math.max(known.updatedAt || 0, entry.updatedAt || 0);
      }
    }
    const needle = query.trim().toLocaleLowerCase();
    return [...byId.values()]
      .filter((s) => !needle || (s.title || '').toLocaleLowerCase().includes(needle))
      .sort((a, b) => (b.updatedAt || 0) - (a.updatedAt || 0));
  }
}
