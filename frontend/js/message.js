// One message as DOM: a bubble for conversation, a card for a PLAN, a line for AGENT_LOG and
// SYSTEM_LOG, a closed disclosure for REASONING. Text goes in as text nodes or textContent
// only; replies are markdown built as DOM nodes by js/markdown.js.

import { describeSystemLog } from './errors.js';
import { number, t } from './i18n.js';
import { MarkdownStream, renderMarkdown } from './markdown.js';
import { disclosure } from './notices.js';

export function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined && text !== null) node.textContent = text;
  return node;
}

/** The markdown renderer's labels (code block copy button, tables, tasks) in the page's language. */
export function markdownOptions() {
  return {
    labels: {
      copy: t('button.copy'), copyCode: t('button.copy'), code: 'code',
      taskDone: '✓', taskOpen: '☐', table: t('thread.label'),
    },
  };
}

function planSteps(text) {
  const lines = String(text).split('\n').map((line) => line.trim()).filter(Boolean);
  let title = t('plan.title');
  if (lines.length > 1 && /:$/.test(lines[0]) && !/^([-*•]|\d+[.)])\s/.test(lines[0])) {
    title = lines.shift().replace(/:$/, '');
  }
  const steps = lines.map((line) => {
    const m = /^(?:[-*•]\s+|\d+[.)]\s+)?(?:\[([ xX])\]\s*)?(.*)$/.exec(line);
    return { done: Boolean(m[1] && m[1] !== ' '), text: m[2] || line };
  });
  return { title, steps };
}

function planCard(body) {
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
  return card;
}

function systemLine(body, status) {
  const line = el('div', 'system');
  const said = describeSystemLog({ message: body, status });
  if (!said) {
    line.append(el('span', 'text', body));
    return line;
  }
  line.append(el('span', 'text', said.text), disclosure(said.details));
  return line;
}

/** An APPROVAL request: the tool, its arguments, when it expires, Approve / Deny. The
 *  buttons go once it is decided, superseded or expired (View.settleApprovals). */
function approvalCard(approval, createdAt) {
  const card = el('div', 'approval');
  card.setAttribute('role', 'group');
  const tool = approval && typeof approval.tool === 'string' ? approval.tool : '?';
  card.setAttribute('aria-label', t('approval.label', { tool }));
  const title = el('div', 'approval-title', t('approval.title'));
  const name = el('code', 'approval-tool', tool);
  let args = '';
  try {
    args = JSON.stringify(approval ? approval.arguments : {}, null, 2);
  } catch {
    args = '';
  }
  const pre = el('pre', 'approval-arguments');
  pre.append(el('code', null, args));
  card.append(title, name, pre);
  const expires = Number(approval && approval.expiresAt);
  if (Number.isFinite(expires)) {
    card.dataset.expiresAt = String(expires);
    card.append(el('div', 'approval-expiry', t('approval.expires', { time: new Date(expires).toLocaleTimeString() })));
  }
  const state = el('div', 'approval-state');
  state.setAttribute('aria-live', 'polite');
  const buttons = el('div', 'approval-buttons');
  const approve = el('button', 'approve-tool', t('button.approve'));
  const deny = el('button', 'deny-tool', t('button.deny'));
  approve.type = 'button';
  deny.type = 'button';
  approve.dataset.approvalId = String(createdAt);
  deny.dataset.approvalId = String(createdAt);
  buttons.append(approve, deny);
  card.append(buttons, state);
  return card;
}

/** Build one message element. streaming: a reply still arriving (its text grows). */
export function buildMessage({ role, type, text, createdAt, streaming, status, approval }) {
  const li = el('li', 'msg');
  li.dataset.role = role || 'SYSTEM';
  li.dataset.type = type || 'CONVERSATION';
  if (Number.isFinite(createdAt)) {
    li.dataset.createdAt = String(createdAt);
    li.title = new Date(createdAt).toLocaleString();
  }
  const meta = el('div', 'meta');
  const body = String(text ?? '');
  li.source = body;

  if (!streaming && type === 'PLAN') {
    li.append(planCard(body));
  } else if (!streaming && type === 'APPROVAL') {
    li.append(approvalCard(approval, createdAt));
  } else if (!streaming && type === 'APPROVAL_DECISION') {
    const line = el('div', 'log decision');
    line.append(el('span', 'text', t(body === 'approve' ? 'approval.approved' : 'approval.denied')));
    li.append(line);
  } else if (!streaming && type === 'AGENT_LOG') {
    const line = el('div', 'log');
    line.append(el('span', 'text', body));
    li.append(line);
  } else if (!streaming && type === 'SYSTEM_LOG') {
    li.append(systemLine(body, status));
  } else if (type === 'REASONING') {
    const box = el('details', 'reasoning');
    box.append(el('summary', null, t('reasoning.summary')));
    const textEl = el('div', 'text');
    li.textNode = document.createTextNode(body);
    textEl.append(li.textNode);
    box.append(textEl);
    li.append(box);
  } else {
    const bubble = el('div', 'bubble');
    const textEl = el('div', 'text');
    if (role === 'AGENT' && (type || 'CONVERSATION') === 'CONVERSATION') {
      textEl.classList.add('markdown');
      if (streaming) {
        li.markdown = new MarkdownStream(textEl, markdownOptions());
        li.markdown.update(body);
      } else {
        textEl.append(renderMarkdown(body, markdownOptions()));
      }
    } else {
      li.textNode = document.createTextNode(body);
      textEl.append(li.textNode);
    }
    if (role === 'AGENT') bubble.classList.add('with-avatar'); // the avatar is CSS, not text
    bubble.append(textEl);
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
    const cached = usage.cacheReadTokens ? t('usage.cached', { count: number(usage.cacheReadTokens) }) : '';
    parts.push(t('usage.tokens', { input: number(usage.inputTokens), cached, output: number(usage.outputTokens) }));
  }
  if (typeof costUsd === 'number') parts.push(`$${costUsd < 0.01 ? costUsd.toFixed(4) : costUsd.toFixed(2)}`);
  return parts.join(' · ');
}

/** Show a status under a message; actions: [{ label, run }] offered as small buttons. */
export function setStatus(li, status, actions = []) {
  const meta = li.querySelector(':scope > .meta');
  for (const old of meta.querySelectorAll('.status-label, .retry')) old.remove();
  if (!status || status === 'complete' || status === 'sent') {
    delete li.dataset.status;
    return;
  }
  li.dataset.status = status;
  meta.prepend(el('span', 'status-label', t(`status.${status}`) === `status.${status}` ? status : t(`status.${status}`)));
  for (const action of actions) {
    const button = el('button', 'retry', action.label);
    button.type = 'button';
    button.addEventListener('click', action.run);
    meta.append(button);
  }
}
