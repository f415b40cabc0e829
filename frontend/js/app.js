// Page start-up: find the elements, wire the composer and buttons, open the socket.

import { Chat } from './chat.js';
import { loadWebsocketUrl, memory } from './config.js';
import { Notices } from './notices.js';
import { View } from './render.js';
import { ChatSocket } from './socket.js';

const $ = (id) => document.getElementById(id);

const composer = $('composer');
const sendButton = $('send');
const form = $('composer-form');

let chat = null;

const view = new View({
  thread: $('thread'),
  list: $('messages'),
  empty: $('empty'),
  typing: $('typing'),
  jump: $('jump'),
  onRetry: (clientMessageId) => chat.retry(clientMessageId),
  onEdit: (clientMessageId) => {
    const text = chat.edit(clientMessageId);
    composer.value = composer.value.trim() ? `${composer.value}\n${text}` : text;
    autosize();
    composer.focus();
  },
});
const notices = new Notices($('notices'));
chat = new Chat({ view, notices, ui: { title: $('title'), stop: $('stop'), status: $('status') } });

function autosize() {
  composer.style.height = 'auto';
  composer.style.height = `${composer.scrollHeight}px`;
  sendButton.disabled = composer.value.trim() === '';
}

function submit() {
  if (chat.send(composer.value)) {
    composer.value = '';
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

$('stop').addEventListener('click', () => chat.stop());
$('new-chat').addEventListener('click', () => {
  chat.newChat();
  composer.focus();
});
for (const suggestion of document.querySelectorAll('.suggestion')) {
  suggestion.addEventListener('click', () => {
    composer.value = suggestion.textContent;
    submit();
  });
}

async function start() {
  const storedId = memory.sessionId;
  if (storedId) chat.setTitle(memory.titleFor(storedId));
  const baseUrl = await loadWebsocketUrl();
  const socket = new ChatSocket({
    baseUrl,
    sessionId: () => memory.sessionId,
    onOpen: (info) => chat.onOpen(info),
    onFrame: (frame) => chat.onFrame(frame),
    onState: (state) => chat.onState(state),
    onResumeRefused: (id) => chat.onResumeRefused(id),
  });
  chat.socket = socket;
  socket.start();
}

autosize();
composer.focus();
start();
