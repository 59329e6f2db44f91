// Interest routing on Redis: what each node of a 10-node chat cluster receives from Redis, with the
// single bus of before (`routing: 'all'`: every node gets every message) against interest routing
// (the default: a node gets the shards of the rooms it has members in), and what Redis spends.
// Run with `npm run bench:interest` (builds first); `--smoke` for a short run that only checks it works.
//
// Processes (all on 127.0.0.1, all killed when this one ends, normally or not):
//   driver   this script: starts a redis-server of its own on a free port (its CPU is the run's
//            alone, and nothing is left in a shared Redis), commands the nodes over IPC.
//   nodes    `interest.mjs node I <redis port> <prefix> <routing>` × NODES: bootstrap(InterestModule)
//            (bench/apps/interest.vela.ts) with redisPubSub({ url, keyPrefix, routing }). Each node
//            reaches Redis through a TCP relay in its own process, which counts what Redis sends the
//            node's subscriber connection: every pub/sub message frame, its bytes, and whether it
//            was needed (a message of a room with a member on this node, sent by another node).
//
// The cluster: ROOMS rooms of MEMBERS members, each member a `subscribe()` listener on a node (to
// Redis, a listener is a member like a socket). Two placements, each with its senders:
//   by room   all of a room's members on one node (rooms spread evenly, as behind a balancer that
//             routes by room), and each message sent from any node (an HTTP API behind round-robin,
//             a job): a node needs the messages of its tenth of the rooms.
//   random    each member on a node picked at random (a room spans ~5 of the 10 nodes), and each
//             message sent by one of the room's members, from that member's node.
// The load: RATE messages per second over the whole cluster in random rooms, 100 bytes of text each;
// WARMUP_S seconds first (not counted), then SECONDS counted. Every node then reports what it sent
// per room; a node needs every message of its rooms sent by the others (its own reach its members
// without Redis), and the run checks that its members heard all of them.
//
//   received / needed (messages)  what arrived on a node's subscriber connection / what its members needed
//   received / needed (bytes)     the same in bytes on the wire (RESP frames)
//   Redis CPU                     utime + stime of the redis-server over the counted seconds
// Goal: interest routing ≤ 1.5× what a node's members need; the single bus is ~NODES× for by-room.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer, connect } from 'node:net';
import { performance } from 'node:perf_hooks';
import { spawnChild, serveParent, sleep, machine, benchApp, listen, track, TICKS_PER_S } from './harness.mjs';

const smoke = process.argv.includes('--smoke');
const NODES = 10;
const ROOMS = 1_000;
const MEMBERS = 6;
const RATE = smoke ? 500 : 2_000; // messages per second, whole cluster
const WARMUP_S = smoke ? 1 : 3;
const SECONDS = smoke ? 2 : 20;
const TICK_MS = 10; // each node sends its share every TICK_MS
const TEXT = 'x'.repeat(100);
const PLACEMENTS = ['by room', 'random'];
const ROUTINGS = ['all', 'interest'];

const self = new URL(import.meta.url).pathname;

if (process.argv[2] === 'node') await node(Number(process.argv[3]), Number(process.argv[4]), process.argv[5], process.argv[6]);
else await main();

// ---------------------------------------------------------------------------------------------
// Driver

async function main() {
  const { date, node: nodeVersion, nproc, commit } = machine();
  const redis = await startRedis();
  console.log(`interest: ${NODES} nodes on one Redis, ${ROOMS.toLocaleString('en-US')} rooms × ${MEMBERS} members, ${RATE} messages/s for ${SECONDS} s (after ${WARMUP_S} s warm-up)${smoke ? ' [smoke run]' : ''}`);
  console.log(`${date}; node ${nodeVersion}, nproc ${nproc}, commit ${commit}; redis-server ${redis.version} on port ${redis.port}\n`);
  const table = ['placement  routing     per node: received msgs/s  needed msgs/s  received/needed msgs  bytes/s received  received/needed bytes  subscriptions   Redis CPU  µs Redis CPU/message'];
  console.log(table[0]);
  const results = [];
  for (const placement of PLACEMENTS) {
    const rooms = place(placement);
    for (const routing of ROUTINGS) {
      const result = await run(redis, placement, rooms, routing);
      results.push({ placement, routing, ...result });
      const f = (x, d = 0) => x.toFixed(d);
      table.push(
        `${placement.padEnd(10)} ${routing.padEnd(10)}  ${f(result.received).padStart(24)}  ${f(result.needed).padStart(13)}  ${f(result.ratio, 2).padStart(20)}` +
          `  ${f(result.bytes).padStart(16)}  ${f(result.byteRatio, 2).padStart(21)}  ${f(result.subscriptions, 1).padStart(13)}  ${`${f(result.redisCores * 100, 1)}%`.padStart(10)}  ${f(result.redisUsPerMessage, 1).padStart(19)}`,
      );
      console.log(table.at(-1));
    }
  }
  // The block bench/run-all.mjs collects: the table again, with what it means.
  const summary = ['---- interest summary ----', `command: npm run bench:interest${smoke ? ' -- --smoke' : ''}`, `${date}; node ${nodeVersion}, nproc ${nproc}, commit ${commit}; redis-server ${redis.version}`, ...table];
  summary.push('per node: the mean over the nodes; received/needed: all nodes together (the worst node below); subscriptions: Redis channels a node subscribes to.');
  for (const placement of PLACEMENTS) {
    const [all, interest] = ROUTINGS.map((routing) => results.find((r) => r.placement === placement && r.routing === routing));
    summary.push(
      `${placement}: interest routing receives ${interest.ratio.toFixed(2)}× what the nodes need, worst node ${interest.worst.toFixed(2)}× ` +
        `(goal ≤ 1.5×; the single bus ${all.ratio.toFixed(2)}×, worst ${all.worst.toFixed(2)}×), ` +
        `Redis CPU ${(interest.redisCores * 100).toFixed(1)}% vs ${(all.redisCores * 100).toFixed(1)}%`,
    );
  }
  console.log(`\n${summary.join('\n')}`);
  redis.child.kill('SIGKILL');
}

/** A redis-server of this run's own on a free port, killed with the run. */
async function startRedis() {
  const probe = await listen(createServer());
  const { port } = probe.address();
  probe.close();
  const child = track(spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: ['ignore', 'pipe', 'inherit'] }));
  let out = '';
  child.stdout.on('data', (chunk) => (out += chunk));
  const deadline = Date.now() + 5_000;
  while (!out.includes('Ready to accept connections')) {
    if (child.exitCode !== null || Date.now() > deadline) throw new Error(`redis-server on ${port} did not start:\n${out}`);
    await sleep(20);
  }
  const version = /Redis version=([^,\s]+)/.exec(out)?.[1] ?? 'unknown';
  return { child, port, version };
}

/** utime + stime of a process, in seconds. */
function cpuSeconds(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_S;
}

/** Room name → the node of each of its members. Seeded, so every run places alike. */
function place(placement) {
  let seed = 42;
  const random = () => ((seed = (Math.imul(seed, 1_103_515_245) + 12_345) >>> 0) / 2 ** 32);
  const rooms = new Map();
  for (let r = 0; r < ROOMS; r += 1) {
    const home = r % NODES;
    rooms.set(`room-${r}`, Array.from({ length: MEMBERS }, () => (placement === 'by room' ? home : Math.floor(random() * NODES))));
  }
  return rooms;
}

async function run(redis, placement, rooms, routing) {
  const prefix = `vela-bench-interest-${routing}-${Date.now().toString(36)}`;
  // 120 s: ten nodes start at once on the machine's cores (~50 s at a load average of 25 on 2 cores).
  const nodes = Array.from({ length: NODES }, (_, i) => spawnChild(self, ['node', String(i), String(redis.port), prefix, routing], { waitFor: 'ready', timeoutMs: 120_000 }));
  await Promise.all(nodes.map((n) => n.ready));
  // Each node's members (room → how many), and the rooms it sends in, weighted by its members there.
  const members = nodes.map(() => new Map());
  for (const [room, homes] of rooms) for (const home of homes) members[home].set(room, (members[home].get(room) ?? 0) + 1);
  await Promise.all(nodes.map((n, i) => n.request({ cmd: 'join', rooms: [...members[i]] }, 60_000)));
  // Who sends where. By room: every node, a share of the rate, in any room. Random: the room's
  // members, so node i sends RATE × its share of all members, in its rooms, weighted by its members there.
  const everyRoom = [...rooms.keys()].map((room) => [room, 1]);
  await Promise.all(
    nodes.map((n, i) => {
      const mine = [...members[i]];
      const share = mine.reduce((total, [, count]) => total + count, 0) / (ROOMS * MEMBERS);
      return n.request(placement === 'by room' ? { cmd: 'start', rate: RATE / NODES, rooms: everyRoom, tickMs: TICK_MS } : { cmd: 'start', rate: RATE * share, rooms: mine, tickMs: TICK_MS });
    }),
  );
  await sleep(WARMUP_S * 1_000);
  await Promise.all(nodes.map((n) => n.request({ cmd: 'reset' })));
  const cpu0 = cpuSeconds(redis.child.pid);
  const t0 = performance.now();
  await sleep(SECONDS * 1_000);
  const seconds = (performance.now() - t0) / 1_000;
  const redisCpu = cpuSeconds(redis.child.pid) - cpu0;
  const reports = await Promise.all(nodes.map((n) => n.request({ cmd: 'stop' })));
  // What each node needed: every message sent by another node in a room where it has members.
  const sent = new Map(); // room → [count by sender]
  for (const [i, report] of reports.entries()) for (const [room, count] of report.sent) (sent.get(room) ?? sent.set(room, new Array(NODES).fill(0)).get(room))[i] += count;
  const published = reports.reduce((total, report) => total + report.sent.reduce((n, [, count]) => n + count, 0), 0);
  let needed = 0;
  for (const [i, report] of reports.entries()) {
    let mine = 0;
    for (const room of members[i].keys()) mine += (sent.get(room) ?? []).reduce((n, count, sender) => (sender === i ? n : n + count), 0);
    // Heard by its listeners: the same, unless a message was still on its way when the node stopped counting.
    if (Math.abs(report.heard - mine) > mine * 0.02 + 20) throw new Error(`node ${i} heard ${report.heard} messages of its rooms from other nodes, expected ${mine}`);
    // The relay and the listeners start counting at slightly different moments (reset over IPC): the same slack as above.
    if (report.wire.neededMessages + mine * 0.02 + 20 < report.heard) throw new Error(`node ${i}: its relay counted ${report.wire.neededMessages} needed messages but its members heard ${report.heard}`);
    needed += mine;
  }
  await Promise.all(nodes.map((n) => n.stop()));
  const sum = (key) => reports.reduce((total, report) => total + report.wire[key], 0);
  return {
    worst: Math.max(...reports.map((report) => report.wire.messages / report.wire.neededMessages)),
    received: sum('messages') / NODES / seconds,
    needed: needed / NODES / seconds,
    ratio: sum('messages') / sum('neededMessages'),
    bytes: sum('bytes') / NODES / seconds,
    byteRatio: sum('bytes') / sum('neededBytes'),
    subscriptions: reports.reduce((total, report) => total + report.subscriptions, 0) / NODES,
    redisCores: redisCpu / seconds,
    redisUsPerMessage: (redisCpu * 1e6) / published,
  };
}

// ---------------------------------------------------------------------------------------------
// A node

async function node(index, redisPort, prefix, routing) {
  const relay = await countingRelay(redisPort);
  const { bootstrap, redisPubSub } = await import('vela');
  const { InterestModule, Chat } = await benchApp('interest.vela');
  const app = await bootstrap(InterestModule, {
    port: 0,
    host: '127.0.0.1',
    sessions: false,
    pubsub: redisPubSub({ url: `redis://127.0.0.1:${relay.port}`, keyPrefix: prefix, routing }),
  });
  const chat = app.get(Chat);
  let heard = 0;
  const sent = new Map();
  let timer;
  serveParent({
    join: async ({ rooms: mine }) => {
      relay.rooms = new Set(mine.map(([room]) => room));
      const listening = [];
      for (const [room, count] of mine) {
        // One listener per member; the room's first counts what the members heard from other nodes.
        for (let m = 0; m < count; m += 1) listening.push(chat.listen(room, m === 0 ? (from) => void (from !== index && (heard += 1)) : () => {}));
      }
      await Promise.all(listening);
      return {};
    },
    start: ({ rate, rooms: where, tickMs }) => {
      const rooms = where.map(([room]) => room);
      const weights = where.map(([, weight]) => weight);
      const total = weights.reduce((a, b) => a + b, 0);
      let owed = 0;
      timer = setInterval(() => {
        owed += (rate * tickMs) / 1_000;
        for (; owed >= 1; owed -= 1) {
          let pick = Math.random() * total;
          let r = 0;
          while (pick >= weights[r]) pick -= weights[r++];
          const room = rooms[r];
          sent.set(room, (sent.get(room) ?? 0) + 1);
          void chat.say(room, index, TEXT);
        }
      }, tickMs);
      return {};
    },
    reset: () => {
      heard = 0;
      sent.clear();
      relay.reset();
      return {};
    },
    stop: async () => {
      clearInterval(timer);
      await sleep(500); // what is on its way arrives (it is counted: it was sent within the window)
      const subscriptions = Number((await relay.subscriptions()) ?? 0);
      return { sent: [...sent], heard, wire: relay.counts, subscriptions };
    },
  });
}

/**
 * A TCP relay to Redis that counts, on the connections that subscribe, every pub/sub message frame
 * Redis sends: how many, how many bytes, and which were needed (a room in `rooms`, from another node).
 */
async function countingRelay(redisPort) {
  const relay = {
    rooms: new Set(),
    counts: { messages: 0, bytes: 0, neededMessages: 0, neededBytes: 0 },
    /** The number of Redis channels the node's subscriber connection holds (its last reply says). */
    subscriptions: async () => lastCount,
    reset() {
      relay.counts = { messages: 0, bytes: 0, neededMessages: 0, neededBytes: 0 };
    },
  };
  let lastCount = 0;
  const server = createServer((client) => {
    const upstream = connect(redisPort, '127.0.0.1');
    let parser;
    client.on('data', (chunk) => {
      if (!parser && /subscribe/i.test(chunk.toString('latin1'))) parser = frames(onFrame);
      upstream.write(chunk);
    });
    upstream.on('data', (chunk) => {
      parser?.(chunk);
      client.write(chunk);
    });
    const end = () => {
      client.destroy();
      upstream.destroy();
    };
    for (const socket of [client, upstream]) {
      socket.on('error', end);
      socket.on('close', end);
    }
  });
  const onFrame = (items, size) => {
    const kind = items[0];
    if (kind === 'subscribe' || kind === 'unsubscribe' || kind === 'ssubscribe' || kind === 'sunsubscribe') lastCount = Number(items[2]);
    if (kind !== 'message' && kind !== 'smessage') return;
    relay.counts.messages += 1;
    relay.counts.bytes += size;
    const payload = items[2];
    const room = /"channel":"([^"]*)"/.exec(payload)?.[1];
    const from = Number(/"from":(\d+)/.exec(payload)?.[1]);
    if (relay.rooms.has(room) && from !== nodeIndex()) {
      relay.counts.neededMessages += 1;
      relay.counts.neededBytes += size;
    }
  };
  await listen(server);
  relay.port = server.address().port;
  return relay;
}

const nodeIndex = () => Number(process.argv[3]);

/**
 * An incremental reader of what Redis sends a subscriber: RESP arrays of bulk strings and integers.
 * Calls onFrame(items, bytes) for each whole frame.
 */
function frames(onFrame) {
  let buffer = Buffer.alloc(0);
  return (chunk) => {
    buffer = buffer.length === 0 ? chunk : Buffer.concat([buffer, chunk]);
    let at = 0;
    for (;;) {
      const frame = readFrame(buffer, at);
      if (!frame) break;
      onFrame(frame.items, frame.end - at);
      at = frame.end;
    }
    buffer = buffer.subarray(at);
  };
}

function readFrame(buffer, at) {
  const line = (from) => {
    const end = buffer.indexOf('\r\n', from, 'latin1');
    return end === -1 ? undefined : { text: buffer.toString('latin1', from + 1, end), type: buffer[from], next: end + 2 };
  };
  const head = at < buffer.length ? line(at) : undefined;
  if (!head) return undefined;
  if (head.type !== 0x2a /* '*' */) return { items: [head.text], end: head.next }; // a simple reply
  const items = [];
  let next = head.next;
  for (let i = 0; i < Number(head.text); i += 1) {
    const item = next < buffer.length ? line(next) : undefined;
    if (!item) return undefined;
    if (item.type === 0x24 /* '$' */) {
      const length = Number(item.text);
      if (item.next + length + 2 > buffer.length) return undefined;
      items.push(buffer.toString('utf8', item.next, item.next + length));
      next = item.next + length + 2;
    } else {
      items.push(item.text);
      next = item.next;
    }
  }
  return { items, end: next };
}

