// The message list in the DOM. Message text only ever goes in as text (textContent or text
// nodes), never as HTML. Stored messages sit in createdAt order; local bubbles (the user's
// unacknowledged messages, replies still streaming) sit after them. Replies are markdown,
// built as DOM nodes by js/markdown.js.

import { copyText } from './clipboard.js';
import { MarkdownStream, renderMarkdown } from './markdown.js';

const STATUS_TEXT = {
  stopped: 'Stopped',
  error: 'The reply did not finish',
  queued: 'Waiting for connection…',
  failed: 'Not sent',
};

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined && text !== null) node.textContent = text;
  return node;
}

function planSteps(text) {
  const lines = String(text).split('\n').map((line) => line.trim()).filter(Boolean);
  let title = 'Plan';
  if (lines.length > 1 && /:$/.test(lines[0]) && !/^([-*•]|\d+[.)])\s/.test(lines[0])) {
    title = lines.shift().replace(/:$/, '');
  }
  const steps = lines.map((line) => {
    const m = /^(?:[-*•]\s+|\d+[.)]\s+)?(?:\[([ xX])\]\s*)?(.*)$/.exec(line);
    return { done: Boolean(m[1] && m[1] !== ' '), text: m[2] || line };
  });
  return { title, steps };
}

/** Build one message element. kind: 'stored' | 'pending' | 'streaming'. */
function buildMessage({ role, type, text, createdAt, streaming }) {
  const li = el('li', 'msg');
  li.dataset.role = role || 'SYSTEM';
  li.dataset.type = type || 'CONVERSATION';
  if (Number.isFinite(createdAt)) {
    li.dataset.createdAt = String(createdAt);
    li.title = new Date(createdAt).toLocaleString();
  }
  const meta = el('div', 'meta');
  const body = String(text ?? '');

  if (!streaming && type === 'PLAN') {
    const { title, steps } = planSteps(body);
    const card = el('div', 'plan');
    card.append(el('div', 'plan-title', title));
    const list = el('ol', 'plan-steps');
    for (const step of steps) {
      const item = el('li', step.done ? 'done' : '');
      item.append(el('span', 'box'), el('span', 'step text', step.text));
      list.append(item);
    }
    card.append(list);
    li.append(card);
  } else if (!streaming && type === 'AGENT_LOG') {
    const line = el('div', 'log');
    line.append(el('span', 'text', body));
    li.append(line);
  } else if (!streaming && type === 'SYSTEM_LOG') {
    const line = el('div', 'system');
    line.append(el('span', 'text', body));
    li.append(line);
  } else {
    const bubble = el('div', 'bubble');
    const textEl = el('div', 'text');
    if (role === 'AGENT' && (type || 'CONVERSATION') === 'CONVERSATION') {
      textEl.classList.add('markdown');
      if (streaming) {
        li.markdown = new MarkdownStream(textEl);
        li.streamText = body;
        li.markdown.update(body);
      } else {
        textEl.append(renderMarkdown(body));
      }
    } else {
      li.textNode = document.createTextNode(body);
      textEl.append(li.textNode);
    }
    if (role === 'AGENT') {
      bubble.classList.add('with-avatar'); // the avatar is drawn by CSS, so it is not part of the text
      bubble.append(textEl);
    } else {
      bubble.append(textEl);
    }
    li.append(bubble);
    if (type && type !== 'CONVERSATION') meta.append(el('span', 'type-label', type));
  }
  li.append(meta);
  return li;
}

/** "model · 1,234 → 300 tokens · $0.0045": what a stored reply used and cost. */
export function usageText({ model, usage, costUsd }) {
  const parts = [];
  if (model) parts.push(model);
  if (usage && (usage.inputTokens || usage.outputTokens)) {
    const cached = usage.cacheReadTokens ? ` (${usage.cacheReadTokens.toLocaleString('en-US')} cached)` : '';
    parts.push(`${usage.inputTokens.toLocaleString('en-US')}${cached} → ${usage.outputTokens.toLocaleString('en-US')} tokens`);
  }
  if (typeof costUsd === 'number') parts.push(`$${costUsd < 0.01 ? costUsd.toFixed(4) : costUsd.toFixed(2)}`);
  return parts.join(' · ');
}

/** Show a status under a message; actions: [{ label, run }] offered as small buttons. */
function setStatus(li, status, actions = []) {
  const meta = li.querySelector(':scope > .meta');
  for (const old of meta.querySelectorAll('.status-label, .retry')) old.remove();
  if (!status || status === 'complete' || status === 'sent') {
    delete li.dataset.status;
    return;
  }
  li.dataset.status = status;
  meta.append(el('span', 'status-label', STATUS_TEXT[status] || status));
  for (const action of actions) {
    const button = el('button', 'retry', action.label);
    button.type = 'button';
    button.addEventListener('click', action.run);
    meta.append(button);
  }
}

export class View {
  constructor({ thread, list, empty, typing, jump, onRetry, onEdit }) {
    Object.assign(this, { thread, list, empty, typing, jump, onRetry, onEdit });
    this.byKey = new Map(); // 'c:<createdAt>' | 'p:<clientMessageId>' | 's:<streamKey>' -> li
    this.stick = true;
    thread.addEventListener('scroll', () => {
      const gap = thread.scrollHeight - thread.scrollTop - thread.clientHeight;
      this.stick = gap < 80;
      this.jump.hidden = this.stick;
    }, { passive: true });
    thread.addEventListener('wheel', (event) => {
      if (event.deltaY < 0) this.stick = false;
    }, { passive: true });
    jump.addEventListener('click', () => this.scrollToEnd());
    list.addEventListener('click', (event) => {
      const button = event.target.closest('.copy-code');
      if (button) this.copyCode(button);
    });
    this.dirty = new Set(); // streaming bubbles whose text grew since the last frame
  }

  async copyCode(button) {
    const code = button.closest('.code-block').querySelector('code');
    if (await copyText(code.textContent)) {
      button.textContent = 'Copied';
      setTimeout(() => { button.textContent = 'Copy'; }, 1500);
    }
  }

  clear() {
    this.list.replaceChildren();
    this.byKey.clear();
    this.typing.hidden = true;
    this.scrollToEnd();
  }

  take(key) {
    const li = this.byKey.get(key);
    if (li) {
      li.remove();
      this.byKey.delete(key);
      this.changed();
    }
  }

  /** Show a stored message, replacing the local bubbles it stands for. */
  showStored(message, { replaces = [], status = null } = {}) {
    for (const key of replaces) this.take(key);
    const createdAt = Number(message.createdAt);
    const li = buildMessage({ role: message.role, type: message.messageType, text: message.message, createdAt });
    if (message.replyId) li.dataset.replyId = message.replyId;
    const spent = message.role === 'AGENT' ? usageText(message) : '';
    if (spent) li.querySelector(':scope > .meta').append(el('span', 'usage', spent));
    setStatus(li, status);
    if (Number.isFinite(createdAt)) this.byKey.set(`c:${createdAt}`, li);
    this.insertSorted(li, Number.isFinite(createdAt) ? createdAt : Infinity);
    this.changed();
  }

  insertSorted(li, createdAt) {
    let before = null;
    for (let child = this.list.lastElementChild; child; child = child.previousElementSibling) {
      const at = child.dataset.createdAt;
      if (at !== undefined && Number(at) <= createdAt) break;
      before = child;
    }
    this.list.insertBefore(li, before);
  }

  /** Show (or update) one of the user's messages that the server has not acknowledged yet. */
  showPending(item) {
    const key = `p:${item.clientMessageId}`;
    let li = this.byKey.get(key);
    if (!li) {
      li = buildMessage({ role: 'USER', type: 'CONVERSATION', text: item.text });
      li.dataset.clientMessageId = item.clientMessageId;
      this.byKey.set(key, li);
      this.list.append(li);
    }
    li.classList.toggle('pending', item.state !== 'failed');
    li.classList.toggle('failed', item.state === 'failed');
    const id = item.clientMessageId;
    const actions = item.state !== 'failed' ? [] : [
      { label: 'Retry', run: () => this.onRetry(id) },
      { label: 'Edit', run: () => this.onEdit(id) },
    ];
    setStatus(li, item.state, actions);
    this.changed();
  }

  streamStart(key, { replyId, messageType, gap }) {
    const li = buildMessage({ role: 'AGENT', type: messageType, text: gap ? '…' : '', streaming: true });
    li.classList.add('streaming');
    li.dataset.replyId = replyId;
    this.byKey.set(`s:${key}`, li);
    this.list.append(li);
    this.changed();
  }

  streamAppend(key, text) {
    const li = this.byKey.get(`s:${key}`);
    if (!li || typeof text !== 'string') return;
    if (li.markdown) {
      li.streamText += text;
      this.dirty.add(li);
      if (this.dirty.size === 1) requestAnimationFrame(() => this.paint());
    } else {
      li.textNode.appendData(text);
    }
    this.changed();
  }

  /** Once per animation frame: re-render the bubbles whose text grew (the last block of each). */
  paint() {
    for (const li of this.dirty) li.markdown.update(li.streamText);
    this.dirty.clear();
    this.changed();
  }

  streamEnd(key, status) {
    const li = this.byKey.get(`s:${key}`);
    if (!li) return;
    li.classList.remove('streaming');
    setStatus(li, status);
    this.changed();
  }

  markStored(createdAt, status) {
    const li = this.byKey.get(`c:${createdAt}`);
    if (li) setStatus(li, status);
  }

  setTyping(on) {
    if (this.typing.hidden === !on) return;
    this.typing.hidden = !on;
    this.changed();
  }

  changed() {
    this.empty.hidden = this.list.childElementCount > 0;
    if (this.stick) this.thread.scrollTop = this.thread.scrollHeight;
    else this.jump.hidden = false;
  }

  scrollToEnd() {
    this.stick = true;
    this.jump.hidden = true;
    this.thread.scrollTop = this.thread.scrollHeight;
  }
}
