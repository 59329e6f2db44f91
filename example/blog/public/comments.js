// The live comments page's script: the list over HTTP, then comments, who is here and chat over WebSockets.
// vela/client (served at /vela/client.js by bootstrap({ client: true })) keeps both sockets up.
// A comment is a request: it shows at once as pending, and as posted once the server answered
// with its id; unanswered when the link drops, it is sent again after the reconnect, and the
// server posts it once. The `comments` channel keeps a history: after a reconnect the server
// replays what the page missed, or says it cannot (`recovered: false`) and the page reloads its list.
import { connect, presence } from '/vela/client.js';

// Long enough to outlast a server restart; the server remembers answers for two minutes.
const POST_TIMEOUT = 60_000;

const newItem = (text) => Object.assign(document.createElement('li'), { textContent: text });
const show = (list, text) => document.getElementById(list).append(newItem(text));

const list = document.getElementById('comments');
/** The server's comments on the page, by id: a comment's broadcast and its own answer may both come, in either order. */
const shown = new Map();
/** While the list reloads: the ids shown meanwhile, which the snapshot may be too old to hold. */
let arrivedDuringReload;

/** Shows `item` as the server's comment `id`, before `next` (by default above the page's own pending and failed ones). */
const file = (id, item, next = list.querySelector('[data-local]')) => {
  item.dataset.id = id;
  shown.set(id, list.insertBefore(item, next));
  arrivedDuringReload?.add(id);
};

const showComment = ({ id, text }) => {
  if (!shown.has(id)) file(id, newItem(text));
};

/** Replaces the server's comments with /api/comments, keeping the page's own and those that arrived meanwhile. */
async function reload() {
  const arrived = (arrivedDuringReload = new Set());
  const snapshot = await fetch('/api/comments')
    .then((res) => (res.ok ? res.json() : undefined))
    .catch(() => undefined);
  if (arrivedDuringReload !== arrived) return; // a later reload replaces this one
  arrivedDuringReload = undefined;
  if (!snapshot) return; // the server went away again: its next recovery report says whether to reload
  for (const [id, item] of shown) {
    if (!arrived.has(id)) {
      item.remove();
      shown.delete(id);
    }
  }
  // The snapshot goes above what arrived while it was on its way, which is newer.
  const next = [...list.children].find((item) => arrived.has(item.dataset.id) || item.dataset.local !== undefined) ?? null;
  for (const { id, text } of snapshot) if (!shown.has(id)) file(id, newItem(text), next);
  list.dataset.loaded = 'true';
}

/** The visitor's name, on the chat's lines and in the "here now" list. */
const name = new URLSearchParams(location.search).get('name') ?? 'guest';
const live = document.getElementById('live');
const status = document.getElementById('status');
const comments = connect('/comments?name=' + encodeURIComponent(name));
let firstOpen = true;
comments.on('open', () => {
  live.dataset.connected = 'true';
  status.textContent = '';
  // Once the socket is in the channel, so nothing said between the snapshot and the join is missed.
  if (firstOpen) reload();
  firstOpen = false;
});
comments.on('close', ({ reconnectIn }) => {
  live.dataset.connected = 'false';
  status.textContent = reconnectIn === undefined ? 'offline' : `reconnecting in ${Math.ceil(reconnectIn / 1000)} s…`;
});
// vela/client keeps the position of the last comment it got, and presents it on a reconnect: the
// server replays what was missed, or reports `recovered: false` and the page reloads its list.
let hasPosition = false;
comments.onEvent('new_comment', (comment) => {
  hasPosition = true;
  showComment(comment);
});
comments.on('recover', ({ recovered }) => {
  if (!recovered) reload();
});
// With no comment received yet there is no position to present, so no replay and no report.
comments.on('reconnect', () => {
  if (!hasPosition) reload();
});

// Who is on the page: the gateway tracks each tab under its visitor's name, so a name shows once
// however many tabs it has open. presence() keeps the list across reconnects (the gateway sends it again).
const here = document.getElementById('here');
const hereCount = document.getElementById('here-count');
presence(comments, 'comments').onSync((list) => {
  const visitors = Object.values(list).sort((a, b) => a.metas[0].name.localeCompare(b.metas[0].name));
  here.replaceChildren(
    ...visitors.map(({ metas }) => {
      const item = newItem(metas[0].name);
      item.dataset.tabs = String(metas.length);
      item.title = metas.length === 1 ? 'here in one tab' : `here in ${metas.length} tabs`;
      return item;
    }),
  );
  hereCount.textContent = String(visitors.length);
});

async function post(text) {
  const item = newItem(text);
  item.className = 'pending';
  item.dataset.local = '';
  item.dataset.pending = '';
  const marker = item.appendChild(Object.assign(document.createElement('span'), { className: 'marker', textContent: ' (sending…)' }));
  list.append(item);
  try {
    const { id } = await comments.request('post', { text }, { timeout: POST_TIMEOUT });
    if (shown.has(id)) return item.remove(); // its broadcast came first and shows it
    marker.remove();
    item.className = '';
    delete item.dataset.local;
    delete item.dataset.pending;
    file(id, item);
  } catch (error) {
    // Stays on the page (a local item, kept across reloads) with the reason it was not posted.
    item.className = 'failed';
    delete item.dataset.pending;
    marker.className = 'error';
    // An answer `invalid` carries the issues of the server's schema: their messages say what to fix.
    const reason = error.issues?.length ? error.issues.map((issue) => issue.message).join('; ') : error.message;
    marker.textContent = ` (not posted: ${reason})`;
  }
}

document.getElementById('comment-form').addEventListener('submit', (event) => {
  event.preventDefault();
  const input = document.getElementById('comment');
  if (input.value.trim()) post(input.value.trim());
  input.value = '';
});

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
