// Page start-up: language, elements, the chat list and the URL, the composer and keys,
// then the socket.

import { Chat } from './chat.js';
import { loadWebsocketUrl, memory } from './config.js';
import { chooseLanguage, onLanguage, setLanguage, t } from './i18n.js';
import { Notices } from './notices.js';
import { View } from './render.js';
import { sessionFromUrl, showSession } from './router.js';
import { SessionList } from './sessions.js';
import { Sidebar } from './sidebar.js';
import { currentToken, signedInName, signOut, takeTokenFromUrl } from './signin.js';
import { ChatSocket } from './socket.js';

const $ = (id) => document.getElementById(id);

takeTokenFromUrl(); // first: the fragment may be a sign-in redirect, not a chat

setLanguage(chooseLanguage());

const composer = $('composer');
const sendButton = $('send');
const form = $('composer-form');
const editingNote = $('editing');
const sessions = new SessionList();
let chat = null;

function putInComposer(text) {
  composer.value = composer.value.trim() ? `${composer.value}\n${text}` : text;
  autosize();
  composer.focus();
}

const view = new View({
  thread: $('thread'),
  list: $('messages'),
  empty: $('empty'),
  typing: $('typing'),
  jump: $('jump'),
  announcer: $('announcer'),
  hooks: {
    onRetry: (clientMessageId) => chat.retry(clientMessageId),
    onEdit: (clientMessageId) => putInComposer(chat.edit(clientMessageId)),
    onRegenerate: (replyTo) => chat.regenerate(replyTo),
    onEditLast: (createdAt, text) => startEditing(createdAt, text),
    onDecide: (approvalId, approve) => chat.decide(approvalId, approve),
    canRegenerate: () => chat.routes.has('regenerate'),
    canEdit: () => chat.routes.has('editMessage'),
  },
});
const notices = new Notices($('notices'));
chat = new Chat({ view, notices, sessions, ui: { title: $('title'), stop: $('stop'), status: $('status') } });

const sidebar = new Sidebar(
  { root: $('sidebar'), list: $('chat-list'), search: $('chat-search'), toggle: $('menu'), backdrop: $('backdrop') },
  sessions,
  {
    onRename: (id, title) => chat.rename(id, title),
    onDelete: (id) => chat.remove(id),
    canRename: () => chat.routes.has('renameSession'),
    canDelete: () => chat.routes.has('deleteSession'),
  },
);
chat.onSession = (id) => sidebar.setCurrent(id);

function startEditing(createdAt, text) {
  chat.editing = createdAt;
  composer.value = text;
  editingNote.hidden = false;
  autosize();
  composer.focus();
}

function stopEditing() {
  chat.editing = null;
  editingNote.hidden = true;
}

function autosize() {
  composer.style.height = 'auto';
  composer.style.height = `${composer.scrollHeight}px`;
  sendButton.disabled = composer.value.trim() === '';
}

function submit() {
  if (chat.send(composer.value)) {
    composer.value = '';
    editingNote.hidden = true;
    autosize();
  }
}

composer.addEventListener('input', autosize);
composer.addEventListener('keydown', (event) => {
  // Enter sends; Shift+Enter is a newline; Enter that confirms an IME composition is neither.
  if (event.key === 'Enter' && !event.shiftKey && !event.isComposing && event.keyCode !== 229) {
    event.preventDefault();
    submit();
  }
});
form.addEventListener('submit', (event) => {
  event.preventDefault();
  submit();
});

// Escape: ends an IME composition first (the browser's), then stops a reply, then cancels
// an edit, then closes the drawer (sidebar.js).
document.addEventListener('keydown', (event) => {
  if (event.key !== 'Escape' || event.isComposing || event.defaultPrevented) return;
  if (chat.busy) {
    event.preventDefault();
    chat.stop();
  } else if (chat.editing !== null) {
    event.preventDefault();
    stopEditing();
    composer.value = '';
    autosize();
  }
});

$('stop').addEventListener('click', () => chat.stop());
for (const id of ['new-chat', 'new-chat-side']) {
  $(id).addEventListener('click', () => {
    stopEditing();
    chat.newChat();
    sidebar.setOpen(false);
    composer.focus();
  });
}
for (const suggestion of document.querySelectorAll('.suggestion')) {
  suggestion.addEventListener('click', () => {
    composer.value = suggestion.textContent;
    submit();
  });
}

const languageSelect = $('language');
languageSelect.value = document.documentElement.lang;
languageSelect.addEventListener('change', () => setLanguage(languageSelect.value, { remember: true }));
function showAccount() {
  const name = signedInName();
  $('account').hidden = !name;
  if (name) $('account-name').textContent = t('signin.as', { name });
}
$('sign-out').addEventListener('click', () => {
  signOut();
  location.reload(); // a new connection, anonymous
});
showAccount();

onLanguage(() => {
  showAccount();
  chat.setTitle(chat.store.title);
  chat.onState(chat.socket ? chat.socket.state : 'connecting');
  sidebar.render();
  chat.updateBusy();
});

// The URL names the chat; back/forward and edited URLs switch to the chat it names.
window.addEventListener('hashchange', () => {
  const id = sessionFromUrl();
  stopEditing();
  if (id) chat.open(id);
  else if (chat.store.sessionId) chat.newChat();
});

async function start() {
  const fromUrl = sessionFromUrl();
  const id = fromUrl || memory.sessionId;
  if (id) {
    chat.reset(id);
    showSession(id, { replace: true });
  }
  const baseUrl = await loadWebsocketUrl();
  const socket = new ChatSocket({
    baseUrl,
    sessionId: () => chat.store.sessionId,
    token: () => currentToken(),
    onOpen: (info) => chat.onOpen(info),
    onFrame: (frame) => chat.onFrame(frame),
    onState: (state) => chat.onState(state),
    onResumeRefused: (refused) => {
      sessions.forget(refused);
      chat.onResumeRefused(refused);
    },
  });
  chat.socket = socket;
  socket.start();
}

chat.setTitle(null);
sidebar.render();
autosize();
composer.focus();
start();
