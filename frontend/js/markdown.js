// Markdown for replies, built from DOM nodes only (see markdown/dom.js): CommonMark blocks and
// inlines, GFM tables, task lists, strikethrough and bare-URL autolinks; raw HTML is text.
//
// While a reply streams, MarkdownStream re-parses only the last top-level block: a block
// followed by another can no longer change (CommonMark closes it when the next one starts),
// so it is rendered once and kept. The final stored text is rendered whole once more, which
// also resolves links whose reference definition came later.

import { parseBlocks } from './markdown/blocks.js';
import { parseInlines } from './markdown/inline.js';
import { toDom, withDefaults } from './markdown/dom.js';

/** The syntax tree of `text` (no DOM needed). */
export function parseMarkdown(text, refmap = {}) {
  const doc = parseBlocks(normalize(text), refmap);
  parseInlines(doc, refmap);
  return doc;
}

/** `text` rendered as a DocumentFragment. options: { decorate, labels, base }. */
export function renderMarkdown(text, options) {
  const opts = withDefaults(options);
  const fragment = document.createDocumentFragment();
  for (const block of parseMarkdown(text).children()) fragment.append(toDom(block, opts));
  return fragment;
}

function normalize(text) {
  return String(text ?? '').replace(/\r\n?/g, '\n');
}

function lineOffset(text, line) {
  let offset = 0;
  for (let n = 1; n < line; n += 1) {
    const next = text.indexOf('\n', offset);
    if (next < 0) return text.length;
    offset = next + 1;
  }
  return offset;
}

function nodesOf(domNode) {
  return domNode.nodeType === 11 ? [...domNode.childNodes] : [domNode];
}

/** Renders a growing text into `container`, re-parsing only its last top-level block. */
export class MarkdownStream {
  constructor(container, options) {
    this.container = container;
    this.options = withDefaults(options);
    this.reset();
  }

  reset() {
    this.container.replaceChildren();
    this.text = '';
    this.tailStart = 0; // where the last (still changeable) top-level block begins
    this.tailNodes = [];
    this.refmap = {};
    this.stats = { parses: 0, parsedChars: 0, kept: 0 };
  }

  /** Show `text`, which normally extends what was shown before. */
  update(rawText) {
    const text = normalize(rawText);
    if (text === this.text) return;
    if (!text.startsWith(this.text.slice(0, this.tailStart))) this.reset();
    this.text = text;
    const tail = text.slice(this.tailStart);
    const refmap = { ...this.refmap };
    const doc = parseBlocks(tail, refmap);
    parseInlines(doc, refmap);
    this.stats.parses += 1;
    this.stats.parsedChars += tail.length;

    for (const node of this.tailNodes) node.remove();
    this.tailNodes = [];
    const blocks = [...doc.children()];
    const last = blocks.pop();
    for (const block of blocks) {
      this.container.append(toDom(block, this.options));
      this.stats.kept += 1;
    }
    if (last) {
      this.tailStart += lineOffset(tail, last.startLine);
      this.tailNodes = nodesOf(toDom(last, this.options));
      this.container.append(...this.tailNodes);
    } else {
      this.tailStart += tail.lastIndexOf('\n') + 1; // only blank lines: keep a partial last line
    }
    this.refmap = refmap;
  }

  /** The final text, rendered whole. */
  finish(rawText) {
    this.reset();
    this.text = normalize(rawText);
    this.container.append(renderMarkdown(this.text, this.options));
    this.tailStart = this.text.length;
  }
}
