// Where to connect, and what this browser remembers between visits (session id, title).

const SESSION_KEY = 'azuchi.sessionId';
const TITLE_KEY = 'azuchi.title';

/** The WebSocket base URL: config.json's websocketUrl, else ws(s)://<this host>/local. */
export async function loadWebsocketUrl() {
  try {
    const response = await fetch('config.json', { cache: 'no-store' });
    if (response.ok) {
      const config = await response.json();
      if (config && typeof config.websocketUrl === 'string' && /^wss?:\/\//i.test(config.websocketUrl)) {
        return config.websocketUrl;
      }
    }
  } catch {
    // No config.json (or not JSON): fall through to the same-host default.
  }
  const scheme = location.protocol === 'https:' ? 'wss' : 'ws';
  return `${scheme}://${location.host}/local`;
}

/** The URL to open: base plus ?sessionId=<id> when resuming, ?access_token= when signed in. */
export function socketUrl(base, sessionId, token = null) {
  if (!sessionId && !token) return base;
  const url = new URL(base);
  if (sessionId) url.searchParams.set('sessionId', sessionId);
  if (token) url.searchParams.set('access_token', token);
  return url.toString();
}

function safeGet(key) {
  try {
    return localStorage.getItem(key);
  } catch {
    return null;
  }
}

function safeSet(key, value) {
  try {
    if (value === null) localStorage.removeItem(key);
    else localStorage.setItem(key, value);
  } catch {
    // Private mode or storage disabled: the session simply won't survive a reload.
  }
}

export const memory = {
  get sessionId() {
    return safeGet(SESSION_KEY);
  },
  set sessionId(id) {
    safeSet(SESSION_KEY, id || null);
    if (!id) safeSet(TITLE_KEY, null);
  },
  /** The last title seen for this session, so a reload shows it before the server says it. */
  titleFor(sessionId) {
    try {
      const saved = JSON.parse(safeGet(TITLE_KEY) || 'null');
      return saved && saved.sessionId === sessionId ? saved.title : null;
    } catch {
      return null;
    }
  },
  saveTitle(sessionId, title) {
    safeSet(TITLE_KEY, JSON.stringify({ sessionId, title }));
  },
};
