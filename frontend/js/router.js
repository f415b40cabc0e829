// The URL names the chat: #/s/<sessionId>. Reload, back/forward and bookmarks follow it.

const PATTERN = /^#\/s\/([0-9a-fA-F-]{36})$/;

export function sessionHash(sessionId) {
  return `#/s/${sessionId}`;
}

/** The session id the URL names, or null (a new chat). */
export function sessionFromUrl(hash = location.hash) {
  const match = PATTERN.exec(hash);
  return match ? match[1].toLowerCase() : null;
}

/** Name the session in the URL. replace: a new chat learning its id is not a new history entry. */
export function showSession(sessionId, { replace = false } = {}) {
  const target = sessionId ? sessionHash(sessionId) : location.pathname + location.search;
  if (sessionId && location.hash === target) return;
  if (!sessionId && !location.hash) return;
  if (replace) history.replaceState(null, '', target);
  else history.pushState(null, '', target);
}
