// The syntax tree as DOM nodes. Every piece of text goes in through text nodes or
// textContent, every attribute through setAttribute on a fixed name: nothing here ever
// parses HTML, so no markdown can make an element or an attribute that is not listed below.

import { safeHref } from './links.js';

export const DEFAULT_LABELS = {
  copyCode: 'Copy code',
  copy: 'Copy',
  code: 'code',
  taskDone: 'Done',
  taskOpen: 'Not done',
  table: 'Table',
};

const SIMPLE = {
  emph: 'em',
  strong: 'strong',
  del: 'del',
  block_quote: 'blockquote',
};

function el(tag, className) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  return node;
}

function plainText(node) {
  if (node.type === 'text' || node.type === 'code') return node.literal;
  if (node.type === 'softbreak' || node.type === 'linebreak') return ' ';
  let out = '';
  for (const child of node.children()) out += plainText(child);
  return out;
}

function codeBlock(node, options) {
  const language = (node.info || '').split(/[ \t]/)[0];
  const pre = el('pre');
  const code = el('code', language ? `language-${language}` : '');
  code.textContent = node.literal;
  pre.append(code);
  if (!options.decorate) return pre;
  const box = el('div', 'code-block');
  const head = el('div', 'code-head');
  const label = el('span', 'code-lang');
  label.textContent = language || options.labels.code;
  const copy = el('button', 'copy-code');
  copy.type = 'button';
  copy.textContent = options.labels.copy;
  copy.setAttribute('aria-label', options.labels.copyCode);
  head.append(label, copy);
  pre.tabIndex = 0; // a long line scrolls sideways: keyboard users must reach it
  box.append(head, pre);
  return box;
}

function link(node, options) {
  const href = safeHref(node.destination, options.base);
  if (href === null) {
    const span = el('span', 'unsafe-link');
    appendChildren(span, node, options);
    return span;
  }
  const a = el('a', node.type === 'image' ? 'image-link' : '');
  a.setAttribute('href', href);
  a.setAttribute('target', '_blank');
  a.setAttribute('rel', 'noopener noreferrer');
  if (node.title) a.setAttribute('title', node.title);
  if (node.type === 'image') a.textContent = plainText(node) || node.destination;
  else appendChildren(a, node, options);
  return a;
}

function table(node, options) {
  const wrap = el('div', 'table-wrap');
  if (options.decorate) {
    wrap.tabIndex = 0;
    wrap.setAttribute('role', 'region');
    wrap.setAttribute('aria-label', options.labels.table);
  }
  const tableEl = el('table');
  const row = (cells, tag) => {
    const tr = el('tr');
    cells.forEach((cell, i) => {
      const td = el(tag, node.align[i] ? `align-${node.align[i]}` : '');
      appendChildren(td, cell, options);
      tr.append(td);
    });
    return tr;
  };
  const head = el('thead');
  head.append(row(node.headerCells, 'th'));
  tableEl.append(head);
  if (node.bodyRows.length) {
    const body = el('tbody');
    for (const cells of node.bodyRows) body.append(row(cells, 'td'));
    tableEl.append(body);
  }
  wrap.append(tableEl);
  return wrap;
}

function listItem(node, options) {
  const li = el('li');
  if (node.task !== undefined) {
    li.className = 'task';
    const box = el('input');
    box.type = 'checkbox';
    box.disabled = true;
    box.checked = node.task;
    box.setAttribute('aria-label', node.task ? options.labels.taskDone : options.labels.taskOpen);
    li.append(box);
  }
  appendChildren(li, node, options);
  return li;
}

/** One node of the tree as a DOM node (a text node for text). */
export function toDom(node, options) {
  switch (node.type) {
    case 'text':
      return document.createTextNode(node.literal);
    case 'softbreak':
      return document.createTextNode('\n');
    case 'linebreak':
      return el('br');
    case 'code': {
      const code = el('code');
      code.textContent = node.literal;
      return code;
    }
    case 'link':
    case 'image':
      return link(node, options);
    case 'paragraph': {
      const item = node.parent && node.parent.type === 'item' ? node.parent : null;
      if (item && item.parent.listData.tight) {
        const fragment = document.createDocumentFragment();
        appendChildren(fragment, node, options);
        return fragment;
      }
      return appendChildren(el('p'), node, options);
    }
    case 'heading':
      return appendChildren(el(`h${node.level}`), node, options);
    case 'thematic_break':
      return el('hr');
    case 'code_block':
      return codeBlock(node, options);
    case 'list': {
      const list = el(node.listData.type === 'bullet' ? 'ul' : 'ol');
      if (node.listData.type === 'ordered' && node.listData.start !== 1) {
        list.setAttribute('start', String(node.listData.start));
      }
      return appendChildren(list, node, options);
    }
    case 'item':
      return listItem(node, options);
    case 'table':
      return table(node, options);
    default: {
      const tag = SIMPLE[node.type];
      const target = tag ? el(tag) : document.createDocumentFragment();
      return appendChildren(target, node, options);
    }
  }
}

function appendChildren(target, node, options) {
  for (const child of node.children()) target.append(toDom(child, options));
  return target;
}

export function withDefaults(options = {}) {
  return {
    decorate: options.decorate !== false,
    labels: { ...DEFAULT_LABELS, ...(options.labels || {}) },
    base: options.base || (typeof document !== 'undefined' ? document.baseURI : undefined),
  };
}
