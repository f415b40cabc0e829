// The parts of links the block and inline parsers share: labels, destinations, titles,
// reference definitions, and the URL rules (CommonMark normalisation, then a safety check
// that only lets http, https and mailto through).

import { reEscapable, unescapeString } from './entities.js';

const ESCAPED = '\\\\[!"#$%&\'()*+,./:;<=>?@[\\\\\\]^_`{|}~-]';
const reLinkTitle = new RegExp(
  `^(?:"(${ESCAPED}|\\\\[^\\\\]|[^\\\\"\\x00])*"|'(${ESCAPED}|\\\\[^\\\\]|[^\\\\'\\x00])*'|\\((${ESCAPED}|\\\\[^\\\\]|[^\\\\()\\x00])*\\))`,
);
const reLinkDestinationBraces = /^(?:<(?:[^<>\n\\\x00]|\\.)*>)/;
const reLinkLabel = /^\[(?:[^\\[\]]|\\.){0,1000}\]/s;
const reSpnl = /^ *(?:\n *)?/;
const reSpaceAtEndOfLine = /^[ \t]*(?:\n|$)/;
const reWhitespaceChar = /^[ \t\n\x0b\x0c\x0d]/;
const reAsciiControl = /[\x00-\x1f\x7f]/;

/** A cursor over a string; `match` consumes what a regexp (anchored with ^) finds at it. */
export class Scanner {
  constructor(subject) {
    this.subject = subject;
    this.pos = 0;
  }

  peek() {
    return this.pos < this.subject.length ? this.subject[this.pos] : null;
  }

  match(re) {
    const m = re.exec(this.subject.slice(this.pos));
    if (m === null) return null;
    this.pos += m.index + m[0].length;
    return m[0];
  }

  spnl() {
    this.match(reSpnl);
    return true;
  }
}

// Characters a URL may keep as they are (mdurl's defaults, as commonmark.js uses).
const reUrlKeep = /[A-Za-z0-9;/?:@&=+$,\-_.!~*'()#]/;

/** Percent-encodes what a URL may not hold raw, keeping existing %XX escapes. */
export function normalizeURI(uri) {
  let out = '';
  for (let i = 0; i < uri.length; i += 1) {
    const c = uri[i];
    if (reUrlKeep.test(c)) {
      out += c;
    } else if (c === '%' && /^[0-9a-fA-F]{2}$/.test(uri.slice(i + 1, i + 3))) {
      out += c;
    } else {
      const code = uri.codePointAt(i);
      if (code > 0xffff) i += 1;
      try {
        out += encodeURIComponent(String.fromCodePoint(code));
      } catch {
        out += '%EF%BF%BD'; // a lone surrogate
      }
    }
  }
  return out;
}

/** Link labels match case-insensitively, with runs of whitespace as one space. */
export function normalizeReference(label) {
  return label.slice(1, -1).trim().replace(/[ \t\r\n]+/g, ' ').toLowerCase().toUpperCase();
}

export function parseLinkLabel(scanner) {
  const m = scanner.match(reLinkLabel);
  return m === null || m.length > 1001 ? 0 : m.length;
}

export function parseLinkTitle(scanner) {
  const title = scanner.match(reLinkTitle);
  return title === null ? null : unescapeString(title.slice(1, -1));
}

export function parseLinkDestination(scanner) {
  const braced = scanner.match(reLinkDestinationBraces);
  if (braced !== null) return normalizeURI(unescapeString(braced.slice(1, -1)));
  if (scanner.peek() === '<') return null;
  const start = scanner.pos;
  let depth = 0;
  let c;
  while ((c = scanner.peek()) !== null) {
    if (c === '\\' && reEscapable.test(scanner.subject[scanner.pos + 1] || '')) {
      scanner.pos += 2;
    } else if (c === '(') {
      scanner.pos += 1;
      depth += 1;
    } else if (c === ')') {
      if (depth < 1) break;
      scanner.pos += 1;
      depth -= 1;
    } else if (reWhitespaceChar.test(c) || reAsciiControl.test(c)) {
      break;
    } else {
      scanner.pos += 1;
    }
  }
  if ((scanner.pos === start && c !== ')') || depth !== 0) return null;
  return normalizeURI(unescapeString(scanner.subject.slice(start, scanner.pos)));
}

/**
 * Reads one link reference definition at the start of `text`; stores it in `refmap` (the
 * first definition of a label wins) and returns how many characters it used, else 0.
 */
export function parseReference(text, refmap) {
  const scanner = new Scanner(text);
  const labelLength = parseLinkLabel(scanner);
  if (labelLength === 0) return 0;
  const rawLabel = text.slice(0, labelLength);
  if (scanner.peek() !== ':') return 0;
  scanner.pos += 1;
  scanner.spnl();
  const destination = parseLinkDestination(scanner);
  if (destination === null) return 0;
  const beforeTitle = scanner.pos;
  scanner.spnl();
  let title = null;
  if (scanner.pos !== beforeTitle) title = parseLinkTitle(scanner);
  if (title === null) scanner.pos = beforeTitle;
  if (scanner.match(reSpaceAtEndOfLine) === null) {
    if (title === null) return 0;
    // The title is not at the end of its line: the definition may still stand without it.
    title = null;
    scanner.pos = beforeTitle;
    if (scanner.match(reSpaceAtEndOfLine) === null) return 0;
  }
  const label = normalizeReference(rawLabel);
  if (label === '') return 0;
  if (!Object.prototype.hasOwnProperty.call(refmap, label)) {
    refmap[label] = { destination, title: title || '' };
  }
  return scanner.pos;
}

const SAFE_PROTOCOLS = new Set(['http:', 'https:', 'mailto:']);

/**
 * The URL to put in an href, or null when it must not be a link: only http, https and
 * mailto, judged by the same URL parser the browser uses for the href (so tabs, newlines,
 * entities and case tricks in "javascript:" are seen through). Relative URLs resolve
 * against the page and so stay on http(s).
 */
export function safeHref(url, base) {
  if (typeof url !== 'string' || reAsciiControl.test(url.replace(/[\t\n\r]/g, ''))) return null;
  let parsed;
  try {
    parsed = new URL(url, base);
  } catch {
    return null;
  }
  return SAFE_PROTOCOLS.has(parsed.protocol) ? url : null;
}
