// Optional sign-in (docs/auth.md). The page holds a token, an OpenID Connect ID token (or
// a Cognito access token), and sends it as ?access_token= when it connects: browsers
// cannot set headers on a WebSocket. It gets one from the URL fragment an identity
// provider redirects back with (#id_token=…, or #access_token=…, as Cognito's hosted UI
// and any OIDC implicit flow do), keeps it in localStorage, and drops it once expired.
// #signout forgets it. No token: the page is anonymous, as it always was.

const KEY = 'azuchi.token';

function safeGet() {
  try {
    return localStorage.getItem(KEY);
  } catch {
    return null;
  }
}

function safeSet(token) {
  try {
    if (token) localStorage.setItem(KEY, token);
    else localStorage.removeItem(KEY);
  } catch {
    // Storage disabled: the token lasts until the page is closed.
  }
}

/** The JWT's claims, unverified (the server verifies); null when it is not a JWT. */
function claims(token) {
  try {
    const part = token.split('.')[1].replace(/-/g, '+').replace(/_/g, '/');
    return JSON.parse(atob(part + '='.repeat((4 - (part.length % 4)) % 4)));
  } catch {
    return null;
  }
}

/** Takes a token (or #signout) out of the URL fragment, so it never stays in history. */
export function takeTokenFromUrl() {
  const hash = location.hash.replace(/^#/, '');
  if (hash === 'signout') {
    safeSet(null);
    history.replaceState(null, '', location.pathname + location.search);
    return;
  }
  const params = new URLSearchParams(hash);
  const token = params.get('id_token') || params.get('access_token');
  if (!token) return;
  safeSet(token);
  history.replaceState(null, '', location.pathname + location.search);
}

/** The token to connect with, or null (anonymous); an expired one is forgotten. */
export function currentToken(nowMs = Date.now()) {
  const token = safeGet();
  if (!token) return null;
  const body = claims(token);
  if (!body || (typeof body.exp === 'number' && body.exp * 1000 <= nowMs)) {
    safeSet(null);
    return null;
  }
  return token;
}

/** Forgets the token (the page then reloads, anonymous). */
export function signOut() {
  safeSet(null);
}

/** Who the token names, for the page to show (the server decides). */
export function signedInName() {
  const token = currentToken();
  const body = token && claims(token);
  if (!body) return null;
  return body.email || body.preferred_username || body.username || body.sub || null;
}
