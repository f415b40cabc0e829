// The message list in the DOM. Stored messages sit in createdAt order; local bubbles (the
// user's unacknowledged messages, replies still streaming) sit after them. Streaming text is
// revealed a little per animation frame (js/reveal.js); what is stored is never changed.

import { copyText } from './clipboard.js';
import { t } from './i18n.js';
import { buildMessage, el, setStatus, usageText } from './message.js';
import { Reveal } from './reveal.js';

export class View {
  /** hooks: { onRetry, onEdit, onRegenerate, onEditLast, canRegenerate, canEdit } */
  constructor({ thread, list, empty, typing, jump, announcer, hooks }) {
    Object.assign(this, { thread, list, empty, typing, jump, announcer, hooks });
    this.byKey = new Map(); // 'c:<createdAt>' | 'p:<clientMessageId>' | 's:<streamKey>' -> li
    this.stick = true;
    this.reveal = new Reveal(() => this.changed());
    thread.addEventListener('scroll', () => {
      const gap = thread.scrollHeight - thread.scrollTop - thread.clientHeight;
      this.stick = gap < 80;
      this.jump.hidden = this.stick;
    }, { passive: true });
    thread.addEventListener('wheel', (event) => {
      if (event.deltaY < 0) this.stick = false;
    }, { passive: true });
    jump.addEventListener('click', () => this.scrollToEnd());
    list.addEventListener('click', (event) => this.onClick(event));
  }

  onClick(event) {
    const button = event.target.closest('button');
    if (!button) return;
    const li = button.closest('.msg');
    if (button.classList.contains('copy-code')) {
      this.copy(button, button.closest('.code-block').querySelector('code').textContent);
    } else if (button.classList.contains('copy-reply')) {
      this.copy(button, li.source);
    } else if (button.classList.contains('regenerate')) {
      this.hooks.onRegenerate(Number(li.dataset.replyTo));
    } else if (button.classList.contains('edit-last')) {
      this.hooks.onEditLast(Number(li.dataset.createdAt), li.source);
    }
  }

  async copy(button, text) {
    if (!(await copyText(text))) return;
    const label = button.querySelector('.label') || button;
    const before = label.textContent;
    label.textContent = t('button.copied');
    setTimeout(() => { label.textContent = before; }, 1500);
  }

  announce(key) {
    // One polite live region for the whole page: a reply's start and its end, never its tokens.
    this.announcer.textContent = '';
    requestAnimationFrame(() => { this.announcer.textContent = t(key); });
  }

  clear() {
    this.reveal.clear();
    this.list.replaceChildren();
    this.byKey.clear();
    this.typing.hidden = true;
    this.scrollToEnd();
  }

  take(key) {
    const li = this.byKey.get(key);
    if (li) {
      this.reveal.forget(li);
      li.remove();
      this.byKey.delete(key);
      this.changed();
    }
  }

  /** Show a stored message, replacing the local bubbles it stands for. */
  showStored(message, { replaces = [], status = null } = {}) {
    for (const key of replaces) this.take(key);
    const createdAt = Number(message.createdAt);
    const li = buildMessage({
      role: message.role, type: message.messageType, text: message.message, createdAt, status: message.status,
    });
    if (message.replyId) li.dataset.replyId = message.replyId;
    if (Number.isFinite(Number(message.replyTo))) li.dataset.replyTo = String(message.replyTo);
    const meta = li.querySelector(':scope > .meta');
    if (message.role === 'AGENT' && (message.messageType || 'CONVERSATION') === 'CONVERSATION') {
      meta.append(this.copyButton());
    }
    const spent = message.role === 'AGENT' ? usageText(message) : '';
    if (spent) meta.append(el('span', 'usage', spent));
    setStatus(li, status);
    if (Number.isFinite(createdAt)) this.byKey.set(`c:${createdAt}`, li);
    this.insertSorted(li, Number.isFinite(createdAt) ? createdAt : Infinity);
    this.changed();
  }

  /** Take stored messages off the page: the server took their turn back (regenerate, edit). */
  removeStored(createdAts) {
    for (const createdAt of createdAts) this.take(`c:${createdAt}`);
  }

  copyButton() {
    const button = el('button', 'copy-reply small-button');
    button.type = 'button';
    button.setAttribute('aria-label', t('button.copyReply'));
    button.append(el('span', 'label', t('button.copy')));
    return button;
  }

  /** Regenerate on the last reply and Edit on the last message of the user, when offered. */
  refreshActions(busy) {
    for (const old of this.list.querySelectorAll('.regenerate, .edit-last')) old.remove();
    if (busy) return;
    const shown = [...this.list.querySelectorAll('.msg[data-created-at]:not([hidden])')];
    const last = shown[shown.length - 1];
    const lastUser = shown.filter((li) => li.dataset.role === 'USER').pop();
    // The last reply, else the note of a reply that failed before writing anything (a model
    // that was down or busy): both can be written again.
    const answers = (li) => lastUser && Number(li.dataset.replyTo || 0) >= Number(lastUser.dataset.createdAt);
    const lastReply = shown.filter((li) => li.dataset.role === 'AGENT' && li.dataset.type === 'CONVERSATION' && answers(li)).pop()
      || shown.filter((li) => li.dataset.type === 'SYSTEM_LOG' && answers(li)).pop();
    if (this.hooks.canRegenerate() && lastReply) {
      const button = el('button', 'regenerate small-button', t('button.regenerate'));
      button.type = 'button';
      button.title = t('button.regenerate.hint');
      lastReply.querySelector(':scope > .meta').append(button);
    }
    if (this.hooks.canEdit() && lastUser && last) {
      const button = el('button', 'edit-last small-button', t('button.editLast'));
      button.type = 'button';
      lastUser.querySelector(':scope > .meta').append(button);
    }
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
      { label: t('button.retry'), run: () => this.hooks.onRetry(id) },
      { label: t('button.edit'), run: () => this.hooks.onEdit(id) },
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
    if ((messageType || 'CONVERSATION') === 'CONVERSATION') this.announce('live.replyStarted');
    this.changed();
  }

  streamAppend(key, text) {
    const li = this.byKey.get(`s:${key}`);
    if (li && typeof text === 'string') this.reveal.push(li, text);
  }

  streamEnd(key, status) {
    const li = this.byKey.get(`s:${key}`);
    if (!li) return;
    this.reveal.finish(li);
    li.classList.remove('streaming');
    setStatus(li, status);
    this.changed();
  }

  replyEnded(status) {
    const key = { stopped: 'live.replyStopped', error: 'live.replyFailed', interrupted: 'live.replyInterrupted' }[status];
    this.announce(key || 'live.replyDone');
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
