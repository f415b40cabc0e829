// Small dismissible notices at the top of the page (errors from the server, connection news).
// Text only, never HTML; details (codes, the server's own words) sit behind a disclosure.

import { t } from './i18n.js';

export class Notices {
  constructor(container) {
    this.container = container;
  }

  /**
   * @param {string} text  shown as text, never as HTML
   * @param {{kind?: 'info'|'warn'|'error', timeoutMs?: number, key?: string, details?: string}} options
   *   key: a notice with the same key replaces the previous one instead of stacking.
   */
  show(text, { kind = 'info', timeoutMs = kind === 'info' ? 8000 : 0, key, details } = {}) {
    if (key) this.dismiss(key);
    const notice = document.createElement('div');
    notice.className = 'notice';
    notice.dataset.kind = kind;
    if (key) notice.dataset.key = key;
    notice.setAttribute('role', kind === 'error' ? 'alert' : 'status');

    const body = document.createElement('div');
    body.className = 'notice-text';
    const sentence = document.createElement('span');
    sentence.textContent = text;
    body.append(sentence);
    if (details) body.append(disclosure(details));

    const close = document.createElement('button');
    close.type = 'button';
    close.className = 'notice-close';
    close.setAttribute('aria-label', t('button.dismiss'));
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

/** <details><summary>Details</summary>…</details>, closed: for codes and server text. */
export function disclosure(text) {
  const details = document.createElement('details');
  details.className = 'details';
  const summary = document.createElement('summary');
  summary.textContent = t('notice.details');
  const body = document.createElement('div');
  body.className = 'details-text';
  body.textContent = text;
  details.append(summary, body);
  return details;
}
