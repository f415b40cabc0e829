// Every string the page shows, in English and Japanese, in one table (strings.js), and the
// choice between them: the saved choice, else the browser's language. Text only: a string is
// put in the page with textContent or as an attribute, never parsed as HTML.

import { STRINGS } from './strings.js';

const LANGUAGE_KEY = 'azuchi.language';
export const LANGUAGES = Object.keys(STRINGS);
const listeners = new Set();
let current = 'en';

function saved() {
  try {
    return localStorage.getItem(LANGUAGE_KEY);
  } catch {
    return null;
  }
}

/** The language to start in: the user's choice, else the first browser language we have. */
export function chooseLanguage(preferred = navigator.languages || [navigator.language]) {
  const choice = saved();
  if (choice && LANGUAGES.includes(choice)) return choice;
  for (const tag of preferred) {
    const base = String(tag || '').toLowerCase().split('-')[0];
    if (LANGUAGES.includes(base)) return base;
  }
  return 'en';
}

export function language() {
  return current;
}

/** Switch language: sets <html lang>, re-labels the static page, tells the listeners. */
export function setLanguage(lang, { remember = false } = {}) {
  current = LANGUAGES.includes(lang) ? lang : 'en';
  document.documentElement.lang = current;
  if (remember) {
    try {
      localStorage.setItem(LANGUAGE_KEY, current);
    } catch {
      // Storage disabled: the choice lasts until the page is closed.
    }
  }
  translatePage(document);
  for (const listener of listeners) listener(current);
}

export function onLanguage(listener) {
  listeners.add(listener);
}

/** The string for `key`, with {name} filled from `vars`; the English one if ja lacks it. */
export function t(key, vars = {}) {
  const text = STRINGS[current][key] ?? STRINGS.en[key] ?? key;
  return text.replace(/\{(\w+)\}/g, (whole, name) => (name in vars ? String(vars[name]) : whole));
}

export function has(key) {
  return key in STRINGS.en;
}

/** Numbers in the user's language (1,234 in both). */
export function number(value) {
  return Number(value).toLocaleString(current === 'ja' ? 'ja-JP' : 'en-US');
}

/**
 * Label the static page: data-i18n="key" sets the text, data-i18n-attr="attr:key attr:key"
 * sets attributes (aria-label, title, placeholder).
 */
export function translatePage(root) {
  for (const node of root.querySelectorAll('[data-i18n]')) node.textContent = t(node.dataset.i18n);
  for (const node of root.querySelectorAll('[data-i18n-attr]')) {
    for (const pair of node.dataset.i18nAttr.split(/\s+/).filter(Boolean)) {
      const [attr, key] = pair.split(':');
      node.setAttribute(attr, t(key));
    }
  }
}
