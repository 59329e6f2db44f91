// The live comments page's script: history over HTTP, then comments and chat over WebSockets.
// vela/client (served at /vela/client.js by bootstrap({ client: true })) keeps both sockets up:
// what is sent while the server is away is queued, and goes out once it is back.
import { connect } from '/vela/client.js';

const show = (list, text) => {
  const item = document.createElement('li');
  item.textContent = text;
  document.getElementById(list).append(item);
};

for (const comment of await (await fetch('/api/comments')).json()) show('comments', comment.text);

const live = document.getElementById('live');
const status = document.getElementById('status');
const comments = connect('/comments');
comments.on('open', () => {
  live.dataset.connected = 'true';
  status.textContent = '';
});
comments.on('close', ({ reconnectIn }) => {
  live.dataset.connected = 'false';
  status.textContent = reconnectIn === undefined ? 'offline' : `reconnecting in ${Math.ceil(reconnectIn / 1000)} s…`;
});
comments.on('message', (text) => show('comments', text));
document.getElementById('comment-form').addEventListener('submit', (event) => {
  event.preventDefault();
  const input = document.getElementById('comment');
  if (input.value.trim()) comments.send(input.value);
  input.value = '';
});

const name = new URLSearchParams(location.search).get('name') ?? 'guest';
const chat = connect('/chat?name=' + encodeURIComponent(name));
chat.on('message', (text) => {
  const line = JSON.parse(text);
  show('chat', line.from + ': ' + line.text);
});
document.getElementById('chat-form').addEventListener('submit', (event) => {
  event.preventDefault();
  const input = document.getElementById('chat-line');
  if (!input.value.trim()) return;
  chat.send(input.value);
  show('chat', 'me: ' + input.value);
  input.value = '';
});
