// Error codes in words for people: what happened and what to do, in the user's language.
// The server's own sentence and the code go behind a disclosure (they may name a backend
// URL or an exception); by default the user sees only the sentence from strings.js.

import { has, t } from './i18n.js';

/** The sentence for an error code, with a family fallback for codes this page predates. */
export function errorSentence(code) {
  const key = `error.${String(code || '')}`;
  if (code && has(key)) return t(key);
  if (/^MODEL_/.test(code || '')) return t('error.MODEL_ERROR');
  if (/THROTTL|RATE|LIMIT/.test(code || '')) return t('error.RATE_LIMITED');
  return t('error.generic');
}

/** { text, details } for an `error` frame: details is the code and the server's words. */
export function describeError(frame) {
  const code = typeof frame.code === 'string' ? frame.code : '';
  const said = typeof frame.message === 'string' ? frame.message : '';
  return { text: errorSentence(code), details: [code, said].filter(Boolean).join(' — ') };
}

// A SYSTEM_LOG a failed reply leaves reads "The reply failed (CODE): …" (core/services/reply.py).
const FAILED_REPLY = /\(([A-Z][A-Z0-9_]+)\)/;

/** For a SYSTEM_LOG message of a failed reply: the sentence to show and the stored text. */
export function describeSystemLog(message) {
  const text = String(message.message ?? '');
  if (message.status !== 'error' && message.status !== 'interrupted') return null;
  const match = FAILED_REPLY.exec(text);
  const sentence = match ? errorSentence(match[1]) : t('error.reply');
  return { text: sentence, details: text };
}

/** 16384 → "16 KB", in the units people read. */
export function formatBytes(bytes) {
  if (bytes < 1024) return `${bytes} B`;
  const kb = bytes / 1024;
  return `${kb < 10 ? kb.toFixed(1).replace(/\.0$/, '') : Math.round(kb)} KB`;
}
