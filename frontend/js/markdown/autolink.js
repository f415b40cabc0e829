// GFM's extended autolinks: bare http(s):// and www. URLs and e-mail addresses in text
// become links. Trailing punctuation stays text, as do unbalanced closing parentheses and
// the Japanese punctuation that often follows a URL without a space.

import { Node, textNode } from './node.js';

const reCandidate = /(?:https?:\/\/|www\.)[^\s<\u3000-\u303f\uff01-\uff0f\uff1a-\uff20]+|[A-Za-z0-9._+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+/g;
const reDomain = /^(?:https?:\/\/|www\.)[A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]+)*/;
const reTrailing = /[?!.,:*_~'"]$/;
const reEntityTail = /&[A-Za-z0-9]+;$/;
const reOpensAfter = /[\s*_~(]/;

function trimUrl(url) {
  let out = url;
  for (;;) {
    if (reTrailing.test(out)) {
      out = out.slice(0, -1);
    } else if (out.endsWith(')')) {
      const opens = (out.match(/\(/g) || []).length;
      const closes = (out.match(/\)/g) || []).length;
      if (closes <= opens) break;
      out = out.slice(0, -1);
    } else if (out.endsWith(';') && reEntityTail.test(out)) {
      out = out.replace(reEntityTail, '');
    } else {
      break;
    }
  }
  return out;
}

function linkFor(text) {
  if (text.includes('@') && !/^(?:https?:\/\/|www\.)/.test(text)) {
    if (/[-_]$/.test(text)) return null;
    return { href: `mailto:${text}`, text };
  }
  const domain = reDomain.exec(text);
  if (!domain || domain[0] === 'www.') return null;
  return { href: text.startsWith('www.') ? `http://${text}` : text, text };
}

function splitText(node) {
  const text = node.literal;
  let last = 0;
  const parts = [];
  reCandidate.lastIndex = 0;
  let m;
  while ((m = reCandidate.exec(text)) !== null) {
    if (m.index > 0 && !reOpensAfter.test(text[m.index - 1])) continue;
    const candidate = trimUrl(m[0]);
    const link = candidate && linkFor(candidate);
    if (!link) continue;
    if (m.index > last) parts.push(textNode(text.slice(last, m.index)));
    const a = new Node('link');
    a.destination = link.href;
    a.title = '';
    a.appendChild(textNode(link.text));
    parts.push(a);
    last = m.index + candidate.length;
    reCandidate.lastIndex = last;
  }
  if (parts.length === 0) return;
  if (last < text.length) parts.push(textNode(text.slice(last)));
  let at = node;
  for (const part of parts) {
    at.insertAfter(part);
    at = part;
  }
  node.unlink();
}

/** Merges neighbouring text nodes under `parent`, then turns bare URLs in them into links. */
export function linkBareUrls(parent) {
  for (let child = parent.firstChild; child;) {
    const next = child.next;
    if (child.type === 'text') {
      while (child.next && child.next.type === 'text') {
        child.literal += child.next.literal;
        child.next.unlink();
      }
      const after = child.next;
      if (/[@.]/.test(child.literal)) splitText(child);
      child = after;
      continue;
    }
    if (child.type !== 'link' && child.type !== 'image' && child.firstChild) linkBareUrls(child);
    child = next;
  }
}
