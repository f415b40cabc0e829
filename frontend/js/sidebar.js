// The chat list: a sidebar on wide screens, a drawer on phones. Each chat is a link to its
// URL (#/s/<id>), so it opens with Enter, in a new tab, or from a bookmark; rename and delete
// are buttons beside it. Titles go in as text only.

import { t } from './i18n.js';
import { sessionHash } from './router.js';

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined && text !== null) node.textContent = text;
  return node;
}

export class Sidebar {
  /** parts: { root, list, search, toggle, backdrop }; actions: { onRename, onDelete, canRename, canDelete } */
  constructor(parts, sessions, actions) {
    Object.assign(this, parts, { sessions, actions });
    this.current = null;
    this.editing = null;
    sessions.onChange(() => this.render());
    this.search.addEventListener('input', () => this.render());
    this.toggle.addEventListener('click', () => this.setOpen(!this.isOpen));
    this.backdrop.addEventListener('click', () => this.setOpen(false));
    this.root.addEventListener('keydown', (event) => {
      if (event.key === 'Escape' && this.isOpen && !this.editing) {
        event.stopPropagation();
        this.setOpen(false);
        this.toggle.focus();
      }
    });
    this.list.addEventListener('click', (event) => {
      if (event.target.closest('a.chat-link')) this.setOpen(false);
    });
  }

  get isOpen() {
    return this.root.classList.contains('open');
  }

  /** The drawer (phones): open moves focus into it; closed it is out of the tab order. */
  setOpen(open) {
    this.root.classList.toggle('open', open);
    this.backdrop.hidden = !open;
    this.toggle.setAttribute('aria-expanded', String(open));
    if (open) this.search.focus();
  }

  setCurrent(sessionId) {
    this.current = sessionId;
    this.render();
  }

  render() {
    const query = this.search.value;
    const items = this.sessions.all(query);
    const rows = items.map((s) => this.row(s));
    if (!rows.length) {
      const text = query.trim() ? t('sidebar.noMatch', { query: query.trim() }) : t('sidebar.empty');
      rows.push(el('li', 'chat-none', text));
    }
    this.list.replaceChildren(...rows);
  }

  row(session) {
    const title = session.title || t('sidebar.untitled');
    const li = el('li', 'chat-item');
    li.dataset.sessionId = session.sessionId;
    if (this.editing === session.sessionId) {
      li.append(this.renameForm(session, title));
      return li;
    }
    const link = el('a', 'chat-link', title);
    link.href = sessionHash(session.sessionId);
    if (session.sessionId === this.current) link.setAttribute('aria-current', 'page');
    li.append(link);
    const tools = el('span', 'chat-tools');
    if (this.actions.canRename()) {
      tools.append(this.iconButton('rename', t('button.rename'), title, () => {
        this.editing = session.sessionId;
        this.render();
        this.list.querySelector('.rename-input')?.focus();
      }));
    }
    if (this.actions.canDelete()) {
      tools.append(this.iconButton('delete', t('button.delete'), title, () => {
        if (window.confirm(t('sidebar.confirmDelete', { title }))) this.actions.onDelete(session.sessionId);
      }));
    }
    li.append(tools);
    return li;
  }

  iconButton(kind, label, title, run) {
    const button = el('button', `chat-${kind} icon-button`);
    button.type = 'button';
    button.setAttribute('aria-label', `${label}: ${title}`);
    button.title = label;
    const svg = document.createElementNS('http://www.w3.org/2000/svg', 'svg');
    svg.setAttribute('viewBox', '0 0 24 24');
    svg.setAttribute('width', '16');
    svg.setAttribute('height', '16');
    svg.setAttribute('aria-hidden', 'true');
    const path = document.createElementNS('http://www.w3.org/2000/svg', 'path');
    path.setAttribute('d', kind === 'rename' ? 'M4 20h4L19 9l-4-4L4 16v4zM14 6l4 4' : 'M5 7h14M10 7V5h4v2M7 7l1 12h8l1-12');
    svg.append(path);
    button.append(svg);
    button.addEventListener('click', run);
    return button;
  }

  renameForm(session, title) {
    const form = el('form', 'rename-form');
    const input = el('input', 'rename-input');
    input.type = 'text';
    input.value = session.title || '';
    input.maxLength = 200;
    input.setAttribute('aria-label', t('sidebar.renameLabel'));
    const done = () => {
      this.editing = null;
      this.render();
      this.list.querySelector(`[data-session-id="${CSS.escape(session.sessionId)}"] .chat-rename`)?.focus();
    };
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      const next = input.value.trim();
      if (next && next !== title) this.actions.onRename(session.sessionId, next);
      done();
    });
    input.addEventListener('keydown', (event) => {
      if (event.key === 'Escape') {
        event.preventDefault();
        event.stopPropagation();
        done();
      }
    });
    const save = el('button', 'small-button', t('button.save'));
    save.type = 'submit';
    form.append(input, save);
    return form;
  }
}
