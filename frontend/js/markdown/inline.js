// Inline markdown: code spans, emphasis (CommonMark's delimiter-run algorithm), links and
// images, autolinks, entities, escapes and breaks; `~~strike~~` and bare URLs as in GFM.
// Raw HTML is not recognised: `<b>` stays text.

import { Node, textNode } from './node.js';
import { decodeEntity, reEntityHere, reEscapable } from './entities.js';
import { Scanner, normalizeReference, normalizeURI, parseLinkDestination, parseLinkLabel, parseLinkTitle } from './links.js';
import { linkBareUrls } from './autolink.js';

const reMain = /^[^\n`[\]\\!<&*_~]+/;
const reTicksHere = /^`+/;
const reTicks = /`+/;
const reFinalSpace = / *$/;
const reInitialSpace = /^ */;
const reWhitespace = /[ \t\n\f\r\u00a0\u1680\u2000-\u200a\u202f\u205f\u3000]/;
const rePunctuation = /[\p{P}\p{S}]/u;
const reEmailAutolink = /^<([a-zA-Z0-9.!#$%&'*+/=?^_`{|}~-]+@[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)*)>/;
const reTaskMarker = /^\[([ xX])\][ \t]+(?=\S)/;
const reAutolink = /^<[A-Za-z][A-Za-z0-9.+-]{1,31}:[^<>\x00-\x20]*>/;

function previousChar(text, pos) {
  if (pos === 0) return '\n';
  const code = text.charCodeAt(pos - 1);
  if (code >= 0xdc00 && code <= 0xdfff && pos > 1) return text.slice(pos - 2, pos);
  return text[pos - 1];
}

function nextChar(text, pos) {
  if (pos >= text.length) return '\n';
  return String.fromCodePoint(text.codePointAt(pos));
}

class InlineParser {
  constructor(refmap) {
    this.refmap = refmap;
  }

  parse(block, content) {
    this.s = new Scanner(content.trim());
    this.delimiters = null;
    this.brackets = null;
    while (this.parseInline(block));
    this.processEmphasis(null);
    linkBareUrls(block);
  }

  parseInline(block) {
    const c = this.s.peek();
    if (c === null) return false;
    let handled;
    switch (c) {
      case '\n': handled = this.newline(block); break;
      case '\\': handled = this.backslash(block); break;
      case '`': handled = this.backticks(block); break;
      case '*': case '_': case '~': handled = this.delim(c, block); break;
      case '[': handled = this.openBracket(block); break;
      case '!': handled = this.bang(block); break;
      case ']': handled = this.closeBracket(block); break;
      case '<': handled = this.autolink(block); break;
      case '&': handled = this.entity(block); break;
      default: handled = this.string(block);
    }
    if (!handled) {
      this.s.pos += 1;
      block.appendChild(textNode(c));
    }
    return true;
  }

  string(block) {
    const m = this.s.match(reMain);
    if (m === null) return false;
    block.appendChild(textNode(m));
    return true;
  }

  newline(block) {
    this.s.pos += 1;
    const last = block.lastChild;
    if (last && last.type === 'text' && last.literal.endsWith(' ')) {
      const hard = last.literal.endsWith('  ');
      last.literal = last.literal.replace(reFinalSpace, '');
      block.appendChild(new Node(hard ? 'linebreak' : 'softbreak'));
    } else {
      block.appendChild(new Node('softbreak'));
    }
    this.s.match(reInitialSpace);
    return true;
  }

  backslash(block) {
    const { subject } = this.s;
    this.s.pos += 1;
    const next = subject[this.s.pos];
    if (next === '\n') {
      this.s.pos += 1;
      block.appendChild(new Node('linebreak'));
    } else if (next !== undefined && reEscapable.test(next)) {
      this.s.pos += 1;
      block.appendChild(textNode(next));
    } else {
      block.appendChild(textNode('\\'));
    }
    return true;
  }

  backticks(block) {
    const ticks = this.s.match(reTicksHere);
    const after = this.s.pos;
    let found;
    while ((found = this.s.match(reTicks)) !== null) {
      if (found === ticks) {
        let code = this.s.subject.slice(after, this.s.pos - ticks.length).replace(/\n/g, ' ');
        if (code.length > 2 && /[^ ]/.test(code) && code[0] === ' ' && code[code.length - 1] === ' ') {
          code = code.slice(1, -1);
        }
        const node = new Node('code');
        node.literal = code;
        block.appendChild(node);
        return true;
      }
    }
    this.s.pos = after;
    block.appendChild(textNode(ticks));
    return true;
  }

  scanDelims(c) {
    const { subject } = this.s;
    const start = this.s.pos;
    let count = 0;
    while (subject[start + count] === c) count += 1;
    const before = previousChar(subject, start);
    const after = nextChar(subject, start + count);
    const afterSpace = reWhitespace.test(after);
    const afterPunct = rePunctuation.test(after);
    const beforeSpace = reWhitespace.test(before);
    const beforePunct = rePunctuation.test(before);
    const left = !afterSpace && (!afterPunct || beforeSpace || beforePunct);
    const right = !beforeSpace && (!beforePunct || afterSpace || afterPunct);
    if (c === '_') {
      return { count, canOpen: left && (!right || beforePunct), canClose: right && (!left || afterPunct) };
    }
    if (c === '~') return { count, canOpen: left && count === 2, canClose: right && count === 2 };
    return { count, canOpen: left, canClose: right };
  }

  delim(c, block) {
    const { count, canOpen, canClose } = this.scanDelims(c);
    const node = textNode(this.s.subject.slice(this.s.pos, this.s.pos + count));
    this.s.pos += count;
    block.appendChild(node);
    if (canOpen || canClose) {
      this.delimiters = { c, count, orig: count, node, previous: this.delimiters, next: null, canOpen, canClose };
      if (this.delimiters.previous) this.delimiters.previous.next = this.delimiters;
    }
    return true;
  }

  removeDelimiter(d) {
    if (d.previous !== null) d.previous.next = d.next;
    if (d.next !== null) d.next.previous = d.previous;
    else this.delimiters = d.previous;
  }

  processEmphasis(stackBottom) {
    const openersBottom = {};
    let closer = this.delimiters;
    while (closer !== null && closer.previous !== stackBottom) closer = closer.previous;
    while (closer !== null) {
      if (!closer.canClose) {
        closer = closer.next;
        continue;
      }
      const key = `${closer.c}${closer.canOpen ? 1 : 0}${closer.orig % 3}`;
      const bottom = Object.prototype.hasOwnProperty.call(openersBottom, key) ? openersBottom[key] : stackBottom;
      let opener = closer.previous;
      let found = false;
      while (opener !== null && opener !== stackBottom && opener !== bottom) {
        const oddMatch = closer.c !== '~' && (closer.canOpen || opener.canClose)
          && closer.orig % 3 !== 0 && (opener.orig + closer.orig) % 3 === 0;
        if (opener.c === closer.c && opener.canOpen && !oddMatch && (closer.c !== '~' || opener.count === closer.count)) {
          found = true;
          break;
        }
        opener = opener.previous;
      }
      const oldCloser = closer;
      if (found) {
        const use = closer.c === '~' ? 2 : (closer.count >= 2 && opener.count >= 2 ? 2 : 1);
        const openerNode = opener.node;
        const closerNode = closer.node;
        opener.count -= use;
        closer.count -= use;
        openerNode.literal = openerNode.literal.slice(0, openerNode.literal.length - use);
        closerNode.literal = closerNode.literal.slice(0, closerNode.literal.length - use);
        const wrapper = new Node(closer.c === '~' ? 'del' : use === 1 ? 'emph' : 'strong');
        let node = openerNode.next;
        while (node && node !== closerNode) {
          const next = node.next;
          wrapper.appendChild(node);
          node = next;
        }
        openerNode.insertAfter(wrapper);
        // Delimiters between opener and closer can no longer match anything.
        if (opener.next !== closer) {
          opener.next = closer;
          closer.previous = opener;
        }
        if (opener.count === 0) {
          openerNode.unlink();
          this.removeDelimiter(opener);
        }
        if (closer.count === 0) {
          closerNode.unlink();
          const next = closer.next;
          this.removeDelimiter(closer);
          closer = next;
        }
      } else {
        closer = closer.next;
        openersBottom[key] = oldCloser.previous;
        if (!oldCloser.canOpen) this.removeDelimiter(oldCloser);
      }
    }
    while (this.delimiters !== null && this.delimiters !== stackBottom) this.removeDelimiter(this.delimiters);
  }

  addBracket(node, index, image) {
    if (this.brackets !== null) this.brackets.bracketAfter = true;
    this.brackets = { node, previous: this.brackets, previousDelimiter: this.delimiters, index, image, active: true, bracketAfter: false };
  }

  openBracket(block) {
    const start = this.s.pos;
    this.s.pos += 1;
    const node = textNode('[');
    block.appendChild(node);
    this.addBracket(node, start, false);
    return true;
  }

  bang(block) {
    const start = this.s.pos;
    this.s.pos += 1;
    if (this.s.peek() === '[') {
      this.s.pos += 1;
      const node = textNode('![');
      block.appendChild(node);
      this.addBracket(node, start + 1, true);
    } else {
      block.appendChild(textNode('!'));
    }
    return true;
  }

  closeBracket(block) {
    const s = this.s;
    s.pos += 1;
    const start = s.pos;
    const opener = this.brackets;
    if (opener === null) {
      block.appendChild(textNode(']'));
      return true;
    }
    if (!opener.active) {
      block.appendChild(textNode(']'));
      this.brackets = opener.previous;
      return true;
    }
    let destination = null;
    let title = null;
    let matched = false;
    if (s.peek() === '(') {
      s.pos += 1;
      s.spnl();
      destination = parseLinkDestination(s);
      if (destination !== null) {
        s.spnl();
        if (/[ \t\n]/.test(s.subject[s.pos - 1] || '')) title = parseLinkTitle(s);
        s.spnl();
        if (s.peek() === ')') {
          s.pos += 1;
          matched = true;
        }
      }
      if (!matched) s.pos = start;
    }
    if (!matched) {
      const beforeLabel = s.pos;
      const n = parseLinkLabel(s);
      let label = null;
      if (n > 2) label = s.subject.slice(beforeLabel, beforeLabel + n);
      else if (!opener.bracketAfter) label = s.subject.slice(opener.index, start);
      if (n === 0) s.pos = start;
      const ref = label && this.refmap[normalizeReference(label)];
      if (ref) {
        destination = ref.destination;
        title = ref.title;
        matched = true;
      }
    }
    if (!matched) {
      this.brackets = opener.previous;
      s.pos = start;
      block.appendChild(textNode(']'));
      return true;
    }
    const link = new Node(opener.image ? 'image' : 'link');
    link.destination = destination;
    link.title = title || '';
    let node = opener.node.next;
    while (node) {
      const next = node.next;
      link.appendChild(node);
      node = next;
    }
    block.appendChild(link);
    this.processEmphasis(opener.previousDelimiter);
    this.brackets = opener.previous;
    opener.node.unlink();
    if (!opener.image) {
      for (let earlier = this.brackets; earlier !== null; earlier = earlier.previous) {
        if (!earlier.image) earlier.active = false; // no links inside links
      }
    }
    return true;
  }

  autolink(block) {
    let m = this.s.match(reEmailAutolink);
    let destination;
    if (m) {
      destination = `mailto:${normalizeURI(m.slice(1, -1))}`;
    } else if ((m = this.s.match(reAutolink))) {
      destination = normalizeURI(m.slice(1, -1));
    } else {
      return false;
    }
    const link = new Node('link');
    link.destination = destination;
    link.title = '';
    link.appendChild(textNode(m.slice(1, -1)));
    block.appendChild(link);
    return true;
  }

  entity(block) {
    const m = this.s.match(reEntityHere);
    if (m === null) return false;
    block.appendChild(textNode(decodeEntity(m)));
    return true;
  }
}

/** Parses the inline content of every paragraph, heading and table cell under `doc`. */
export function parseInlines(doc, refmap) {
  const parser = new InlineParser(refmap);
  const visit = (block) => {
    if (block.type === 'paragraph' || block.type === 'heading') {
      let content = block.literal;
      const task = block.type === 'paragraph' && block.parent.type === 'item' && block.parent.firstChild === block
        && reTaskMarker.exec(content);
      if (task) {
        block.parent.task = task[1] !== ' ';
        content = content.slice(task[0].length);
      }
      block.literal = '';
      parser.parse(block, content);
      return;
    }
    if (block.type === 'table') {
      const cell = (text) => {
        const node = new Node('table_cell');
        parser.parse(node, text);
        return node;
      };
      block.headerCells = block.header.map(cell);
      block.bodyRows = block.rows.map((row) => block.align.map((_, i) => cell(row[i] || '')));
      return;
    }
    for (let child = block.firstChild; child; child = child.next) visit(child);
  };
  visit(doc);
}
