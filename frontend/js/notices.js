// Small dismissible notices at the top of the page (errors from the server, connection news).

export class Notices {
  constructor(container) {
    this.container = container;
  }

  /**
   * @param {string} text  shown as text, never as HTML
   * @param {{kind?: 'info'|'warn'|'error', timeoutMs?: number, key?: string}} options
   *   key: a notice with the same key replaces the previous one instead of stacking.
   */
  show(text, { kind = 'info', timeoutMs = kind === 'info' ? 8000 : 0, key } = {}) {
    if (key) this.dismiss(key);
    const notice = document.createElement('div');
    notice.className = 'notice';
    notice.dataset.kind = kind;
    if (key) notice.dataset.key = key;
    notice.setAttribute('role', kind === 'error' ? 'alert' : 'status');

    const body = document.createElement('span');
    body.className = 'notice-text';
    body.textContent = text;

    const close = document.createElement('button');
    close.type = 'button';
    close.className = 'notice-close';
    close.setAttribute('aria-label', 'Dismiss');
    close.textContent = '×';
    close.addEventListener('click', () => notice.remove());

    notice.append(body, close);
    this.container.append(notice);
    while (this.container.childElementCount > 4) this.container.firstElementChild.remove();
    if (timeoutMs > 0) setTimeout(() => notice.remove(), timeoutMs);
    return notice;
  }

  dismiss(key) {
    for (const notice of this.container.querySelectorAll('.notice')) {
      if (notice.dataset.key === key) notice.remove();
    }
  }
}
