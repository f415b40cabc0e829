// The message list in the DOM. Stored messages sit in createdAt order; local bubbles (the
// user's unacknowledged messages, replies still streaming) sit after them. Streaming text is
// revealed a little per animation frame (js/reveal.js); what is stored is never changed.

import { copyText } from './clipboard.js';
import { t } from './i18n.js';
import { buildMessage, el, setStatus, usageText } from './message.js';
import { Reveal } from './reveal.js';

export class View {
  /** hooks: { onRetry, onEdit, onRegenerate, onEditLast, onDecide, canRegenerate, canEdit } */
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
    } else if (button.classList.contains('approve-tool') || button.classList.contains('deny-tool')) {
      const approve = button.classList.contains('approve-tool');
      for (const other of li.querySelectorAll('.approval-buttons button')) other.disabled = true;
      this.hooks.onDecide(Number(button.dataset.approvalId), approve);
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
      approval: message.approval,
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
    this.settleApprovals();
    this.changed();
  }

  /** An APPROVAL request can be decided while it is the chat's last turn and not expired:
   *  a decision names it (replyTo), a later message of the user supersedes it, an expiry
   *  note names it, or its time runs out. Then its buttons go and it says which. */
  settleApprovals() {
    clearTimeout(this.expiryTimer);
    let next = Infinity;
    for (const card of this.list.querySelectorAll('.msg[data-type="APPROVAL"] .approval')) {
      const li = card.closest('.msg');
      if (li.dataset.settled) continue;
      const at = Number(li.dataset.createdAt);
      const later = [...this.list.querySelectorAll('.msg[data-created-at]')]
        .filter((other) => Number(other.dataset.createdAt) > at);
      const decision = later.find((other) => other.dataset.type === 'APPROVAL_DECISION' && Number(other.dataset.replyTo) === at);
      const expiredNote = later.find((other) => other.dataset.type === 'SYSTEM_LOG' && Number(other.dataset.replyTo) === at);
      const expires = Number(card.dataset.expiresAt);
      let state = null;
      if (decision) state = decision.source === 'approve' ? 'approval.approved' : 'approval.denied';
      else if (expiredNote || (Number.isFinite(expires) && Date.now() > expires)) state = 'approval.expired';
      else if (later.some((other) => other.dataset.role === 'USER')) state = 'approval.superseded';
      if (state) {
        li.dataset.settled = state;
        card.querySelector('.approval-buttons').remove();
        const expiry = card.querySelector('.approval-expiry');
        if (expiry) expiry.remove();
        card.querySelector('.approval-state').textContent = t(state);
        // The request and the text before it no longer wait for anything.
        for (const paused of this.list.querySelectorAll('.msg[data-status="awaiting_approval"]')) {
          if (paused === li || (li.dataset.replyId && paused.dataset.replyId === li.dataset.replyId)) setStatus(paused, null);
        }
      } else if (Number.isFinite(expires)) {
        next = Math.min(next, expires);
      }
    }
    if (next < Infinity) {
      this.expiryTimer = setTimeout(() => this.settleApprovals(), Math.max(0, next - Date.now()) + 50);
    }
  }

  /** A decision the server refused (another tab decided, it expired): buttons back. */
  reopenApproval(approvalId) {
    const li = this.byKey.get(`c:${approvalId}`);
    if (!li) return;
    for (const button of li.querySelectorAll('.approval-buttons button')) button.disabled = false;
    this.settleApprovals();
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
    // Only a message the user wrote can be edited (not a decision on a tool call).
    const lastWritten = lastUser && lastUser.dataset.type === 'CONVERSATION' ? lastUser : null;
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
    if (this.hooks.canEdit() && lastWritten && last) {
      const button = el('button', 'edit-last small-button', t('button.editLast'));
      button.type = 'button';
      lastWritten.querySelector(':scope > .meta').append(button);
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
