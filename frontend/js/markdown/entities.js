// Character references and backslash escapes. A full HTML5 entity table is 2,000 names; this
// one holds the names people and models actually write (and the spec's examples); an
// unknown name stays as literal text, which is what CommonMark asks for anyway.

const NAMED = {
  amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", nbsp: '\u00a0', copy: '©', reg: '®',
  trade: '™', hellip: '…', mdash: '—', ndash: '–', lsquo: '‘', rsquo: '’', ldquo: '“',
  rdquo: '”', laquo: '«', raquo: '»', bull: '•', middot: '·', deg: '°', plusmn: '±',
  times: '×', divide: '÷', frac12: '½', frac14: '¼', frac34: '¾', sup1: '¹', sup2: '²',
  sup3: '³', micro: 'µ', para: '¶', sect: '§', cent: '¢', pound: '£', yen: '¥', euro: '€',
  larr: '←', rarr: '→', uarr: '↑', darr: '↓', harr: '↔', lArr: '⇐', rArr: '⇒', hArr: '⇔',
  le: '≤', ge: '≥', ne: '≠', asymp: '≈', infin: '∞', sum: '∑', prod: '∏', radic: '√',
  minus: '−', prime: '′', Prime: '″', auml: 'ä', ouml: 'ö', uuml: 'ü', Auml: 'Ä', Ouml: 'Ö',
  Uuml: 'Ü', szlig: 'ß', eacute: 'é', egrave: 'è', ecirc: 'ê', agrave: 'à', aacute: 'á',
  acirc: 'â', ccedil: 'ç', ntilde: 'ñ', oacute: 'ó', uacute: 'ú', iacute: 'í', AElig: 'Æ',
  aelig: 'æ', oslash: 'ø', Oslash: 'Ø', aring: 'å', Aring: 'Å', iexcl: '¡', iquest: '¿',
  shy: '\u00ad', ensp: '\u2002', emsp: '\u2003', thinsp: '\u2009', zwnj: '\u200c',
  zwj: '\u200d', alpha: 'α', beta: 'β', gamma: 'γ', delta: 'δ', epsilon: 'ε', lambda: 'λ',
  mu: 'μ', pi: 'π', sigma: 'σ', tau: 'τ', phi: 'φ', omega: 'ω', theta: 'θ', Delta: 'Δ',
  Sigma: 'Σ', Omega: 'Ω', check: '✓', star: '☆', hearts: '♥', Dcaron: 'Ď', ngE: '≧̸',
  HilbertSpace: 'ℋ', DifferentialD: 'ⅆ', ClockwiseContourIntegral: '∲',
};

const ESCAPABLE = '[!"#$%&\'()*+,./:;<=>?@[\\\\\\]^_`{|}~-]';
export const reEscapable = new RegExp(`^${ESCAPABLE}`);
export const reEntityHere = /^&(?:#x[a-f0-9]{1,6}|#[0-9]{1,7}|[a-z][a-z0-9]{1,31});/i;
const reEntityOrEscaped = new RegExp(`\\\\${ESCAPABLE}|&(?:#x[a-f0-9]{1,6}|#[0-9]{1,7}|[a-z][a-z0-9]{1,31});`, 'gi');

/** The text `&...;` stands for, or the reference itself when the name is unknown. */
export function decodeEntity(entity) {
  const body = entity.slice(1, -1);
  if (body[0] === '#') {
    const code = body[1] === 'x' || body[1] === 'X' ? parseInt(body.slice(2), 16) : parseInt(body.slice(1), 10);
    if (code === 0 || code > 0x10ffff || (code >= 0xd800 && code <= 0xdfff)) return '\uFFFD';
    return String.fromCodePoint(code);
  }
  return Object.prototype.hasOwnProperty.call(NAMED, body) ? NAMED[body] : entity;
}

/** Backslash escapes and character references resolved (link destinations, titles, info strings). */
export function unescapeString(text) {
  if (!/[\\&]/.test(text)) return text;
  return text.replace(reEntityOrEscaped, (m) => (m[0] === '\\' ? m[1] : decodeEntity(m)));
}
