// A post page's live comments: the server rendered the post's comments; this script keeps them live
// over the post's socket (vela/client, served at /vela/client.js by bootstrap({ client: true })),
// shows who is reading, and posts the reader's comments.
// A comment is a request: it shows at once as "Sending…", and as posted once the server answered
// with the stored comment; unanswered when the link drops, it is sent again after the reconnect,
// and the server posts it once. Refused, it says why and offers to retry. The post's channel keeps
// a history: after a reconnect the server replays what the page missed, or says it cannot
// (`recovered: false`) and the page reloads its list.
import { connect, presence } from '/vela/client.js';

// Long enough to outlast a server restart; the server remembers answers for two minutes.
const POST_TIMEOUT = 60_000;

const live = document.getElementById('live');
const postId = live.dataset.post;
const list = document.getElementById('comment-list');
const noComments = document.getElementById('no-comments');
const status = document.getElementById('status');
const notice = document.getElementById('notice');
const viewer = document.getElementById('viewer-name')?.textContent;

const element = (tag, props = {}, ...children) => {
  const node = Object.assign(document.createElement(tag), props);
  node.append(...children);
  return node;
};

// Times: "3 min ago" in the page, the exact time in the tooltip; the server rendered the exact time.
const relative = new Intl.RelativeTimeFormat(undefined, { numeric: 'auto' });
const exact = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });
function describeTime(time) {
  const at = new Date(time.dateTime);
  const seconds = Math.round((at.getTime() - Date.now()) / 1000);
  const [value, unit] =
    Math.abs(seconds) < 45 ? [0, 'second'] : Math.abs(seconds) < 3600 ? [Math.round(seconds / 60), 'minute'] : Math.abs(seconds) < 86_400 ? [Math.round(seconds / 3600), 'hour'] : [Math.round(seconds / 86_400), 'day'];
  time.textContent = value === 0 ? 'just now' : relative.format(value, unit);
  time.title = exact.format(at);
}
const refreshTimes = () => document.querySelectorAll('#comment-list time').forEach(describeTime);
refreshTimes();
setInterval(refreshTimes, 30_000);

function commentItem({ author, text, at }) {
  const time = element('time', { dateTime: at });
  describeTime(time);
  const meta = element('div', { className: 'comment-meta' }, element('span', { className: 'avatar', ariaHidden: 'true', textContent: author.slice(0, 1) }), element('strong', { className: 'author', textContent: author }), ' ', time);
  return element('li', { className: 'comment' }, meta, element('p', { className: 'comment-text', textContent: text }));
}

/** The server's comments on the page, by id: a comment's broadcast and its own answer may both come, in either order. */
const shown = new Map([...list.querySelectorAll('li[data-id]')].map((item) => [item.dataset.id, item]));
/** While the list reloads: the ids shown meanwhile, which the snapshot may be too old to hold. */
let arrivedDuringReload;

/** Shows `item` as the server's comment `id`, before `next` (by default above the page's own pending and failed ones). */
const file = (id, item, next = list.querySelector('[data-local]')) => {
  item.dataset.id = id;
  shown.set(id, list.insertBefore(item, next));
  arrivedDuringReload?.add(id);
  noComments.hidden = true;
};

const showComment = (comment) => {
  if (!shown.has(comment.id)) file(comment.id, commentItem(comment));
};

/** Replaces the server's comments with the post's list, keeping the page's own and those that arrived meanwhile. */
async function reload() {
  const arrived = (arrivedDuringReload = new Set());
  const snapshot = await fetch(`/api/posts/${postId}/comments`, { headers: { accept: 'application/json' } })
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
  for (const comment of snapshot) if (!shown.has(comment.id)) file(comment.id, commentItem(comment), next);
  noComments.hidden = list.children.length > 0;
  list.dataset.loaded = 'true';
}

// The connection, as it is: connected, reconnecting (counting down to the next attempt, which
// vela/client schedules), or offline when the browser itself says it has no network.
let retryAt;
let countdown;
function showState(state, text) {
  status.dataset.state = state;
  status.textContent = text;
}
function showReconnecting() {
  clearInterval(countdown);
  if (!navigator.onLine) return showState('offline', 'Offline: waiting for the network');
  const tick = () => {
    const seconds = Math.ceil((retryAt - Date.now()) / 1000);
    if (seconds > 0) showState('reconnecting', `Reconnecting in ${seconds} s…`);
    else {
      showState('reconnecting', 'Reconnecting…');
      clearInterval(countdown);
    }
  };
  tick();
  countdown = setInterval(tick, 250);
}
let noticeTimer;
function showNotice(text) {
  notice.textContent = text;
  notice.hidden = false;
  clearTimeout(noticeTimer);
  noticeTimer = setTimeout(() => (notice.hidden = true), 6000);
}

const socket = connect(`/posts/${postId}/live`);
let firstOpen = true;
socket.on('open', () => {
  clearInterval(countdown);
  live.dataset.connected = 'true';
  showState('connected', 'Live');
  // Once the socket is in the channel, so nothing said between the render and the join is missed.
  if (firstOpen) reload();
  firstOpen = false;
});
socket.on('close', ({ reconnectIn }) => {
  live.dataset.connected = 'false';
  if (reconnectIn === undefined) return showState('offline', 'Disconnected: reload the page');
  retryAt = Date.now() + reconnectIn;
  showReconnecting();
});
addEventListener('offline', () => live.dataset.connected === 'false' && showReconnecting());
addEventListener('online', () => live.dataset.connected === 'false' && showReconnecting());

// vela/client keeps the position of the last comment it got, and presents it on a reconnect: the
// server replays what was missed, or reports `recovered: false` and the page reloads its list.
let hasPosition = false;
socket.onEvent('new_comment', (comment) => {
  hasPosition = true;
  showComment(comment);
});
socket.on('recover', ({ recovered, missed }) => {
  if (!recovered) {
    reload();
    return showNotice('Reconnected. The comments were reloaded.');
  }
  showNotice(missed === 0 ? 'Reconnected. Nothing was missed.' : `Reconnected. ${missed === 1 ? '1 comment' : `${missed} comments`} you missed ${missed === 1 ? 'is' : 'are'} shown.`);
});
// With no comment received yet there is no position to present, so no replay and no report.
socket.on('reconnect', () => {
  if (hasPosition) return;
  reload();
  showNotice('Reconnected. The comments were reloaded.');
});

// Who is reading: a signed-in user shows once however many tabs they have open; visitors are counted.
const here = document.getElementById('here');
const hereCount = document.getElementById('here-count');
const guests = document.getElementById('guests');
presence(socket, `post:${postId}`).onSync((readers) => {
  const entries = Object.values(readers);
  const people = entries.filter(({ metas }) => !metas[0].guest).sort((a, b) => a.metas[0].name.localeCompare(b.metas[0].name));
  here.replaceChildren(
    ...people.map(({ metas }) => {
      const { name } = metas[0];
      const item = element('li', { title: metas.length === 1 ? 'here in one tab' : `here in ${metas.length} tabs` }, element('span', { className: 'avatar', ariaHidden: 'true', textContent: name.slice(0, 1) }), element('span', { className: 'name', textContent: name }));
      item.dataset.name = name;
      item.dataset.tabs = String(metas.length);
      if (name === viewer) item.classList.add('me');
      return item;
    }),
  );
  const guestCount = entries.length - people.length;
  guests.hidden = guestCount === 0;
  guests.textContent = guestCount === 1 ? '1 visitor reading' : `${guestCount} visitors reading`;
  hereCount.textContent = String(entries.length);
});

// Posting: the item shows at once, marked until the server answers.
function markSending(item) {
  item.classList.remove('failed');
  item.classList.add('pending');
  item.dataset.pending = '';
  item.querySelector('.state')?.remove();
  item.append(element('p', { className: 'state', textContent: 'Sending…' }));
}

async function send(item, text) {
  markSending(item);
  try {
    const comment = await socket.request('post', { text }, { timeout: POST_TIMEOUT });
    if (shown.has(comment.id)) return item.remove(); // its broadcast came first and shows it
    const posted = commentItem(comment);
    item.replaceWith(posted);
    file(comment.id, posted);
  } catch (error) {
    // Stays on the page (a local item, kept across reloads) with the reason it was not posted.
    item.classList.replace('pending', 'failed');
    delete item.dataset.pending;
    // An answer `invalid` carries the issues of the server's schema: their messages say what to fix.
    const reason = error.issues?.length ? error.issues.map((issue) => issue.message).join('; ') : error.message;
    const retry = element('button', { type: 'button', className: 'link-button', textContent: 'Retry' });
    retry.addEventListener('click', () => send(item, text));
    item.querySelector('.state').replaceChildren(`Not posted: ${reason}. `, retry);
  }
}

const form = document.getElementById('comment-form');
form?.addEventListener('submit', (event) => {
  event.preventDefault();
  const input = document.getElementById('comment');
  const text = input.value.trim();
  input.value = '';
  if (!text) return;
  const item = commentItem({ author: viewer ?? 'you', text, at: new Date().toISOString() });
  item.dataset.local = '';
  list.append(item);
  noComments.hidden = true;
  send(item, text);
});
// Ctrl+Enter (⌘+Enter) in the text area posts, as in most comment boxes.
document.getElementById('comment')?.addEventListener('keydown', (event) => {
  if (event.key === 'Enter' && (event.ctrlKey || event.metaKey)) form.requestSubmit();
});
