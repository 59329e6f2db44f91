// What one idle WebSocket costs on the server's heap, object by object, and who keeps each object:
// V8 heap snapshots of a server (bench/ws-server.mjs, --expose-gc) before and after opening N idle
// sockets, diffed. Run with `npm run bench:ws-heap` (builds first). A diagnosis, not a race: no
// timing, no target; bench/ws-memory.mjs measures the totals.
//
// For each server (vela with bootstrap defaults, vela with sessions: false, raw ws on Koa): a fresh
// process, WARMUP sockets opened and closed, snapshot A (after gc), N sockets opened from this
// process, snapshot B (after gc). V8 keeps an object's snapshot id for its whole life, so the
// objects in B whose id is not in A are the ones the N connections brought. They are grouped by
// V8 type and constructor (or closure) name; per connection: how many, and their shallow size. Each
// group's main retainer is the most common chain of the first strong (non-weak) references up to
// three levels above an object, e.g. `Connection.request ← GatewayProcess.connection`.
//
// `--sockets N` (default 2 000), `--keep DIR` keeps the .heapsnapshot files (open them in Chrome
// DevTools → Memory, "Comparison" view) instead of deleting them.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { existsSync } from 'node:fs';
import { spawnChild, machine, sleep, openManyIdle, closeAll } from './harness.mjs';

const arg = (name) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : undefined;
};
const SOCKETS = Number(arg('sockets') ?? 2_000);
const WARMUP = 200;
const ADDRESSES = 4;
const BATCH = 250;
const TOP = 40; // groups shown per server
const serverScript = new URL('./ws-server.mjs', import.meta.url).pathname;

const SERVERS = [
  { label: 'vela (defaults)', kind: 'vela', env: {} },
  { label: 'vela (sessions: false)', kind: 'vela', env: { BENCH_VELA_OPTIONS: JSON.stringify({ sessions: false }) } },
  { label: 'raw ws', kind: 'raw', env: {} },
];

if (!existsSync(new URL('../dist/index.js', import.meta.url))) throw new Error('dist/ is missing: run `npm run build` first');
const dir = arg('keep') ?? mkdtempSync(join(tmpdir(), 'vela-heap-'));

/** Reads a .heapsnapshot into flat arrays and the few lookups the diff needs. */
function readSnapshot(file) {
  const snap = JSON.parse(readFileSync(file, 'utf8'));
  const { node_fields, node_types, edge_fields, edge_types } = snap.snapshot.meta;
  const nf = node_fields.length;
  const ef = edge_fields.length;
  const nodeTypes = node_types[0];
  const edgeTypes = edge_types[0];
  const f = (name) => node_fields.indexOf(name);
  const [iType, iName, iId, iSize, iEdges] = [f('type'), f('name'), f('id'), f('self_size'), f('edge_count')];
  const [eType, eName, eTo] = [edge_fields.indexOf('type'), edge_fields.indexOf('name_or_index'), edge_fields.indexOf('to_node')];
  const { nodes, edges, strings } = snap;
  const count = nodes.length / nf;
  return { nodes, edges, strings, nf, ef, nodeTypes, edgeTypes, iType, iName, iId, iSize, iEdges, eType, eName, eTo, count };
}

function ids(s) {
  const set = new Set();
  for (let i = 0; i < s.count; i++) set.add(s.nodes[i * s.nf + s.iId]);
  return set;
}

/**
 * Objects of `after` absent from `before`, grouped; with the retaining path of each group, as
 * DevTools shows it: from each object, the retainer closest to the GC roots (breadth-first
 * distance over strong edges), up to PATH_DEPTH levels. Objects with a generic name (Object,
 * Array, strings, closures, V8 internals) are told apart by the field that holds them.
 */
const PATH_DEPTH = 4;
const GENERIC = new Set(['Object', 'Array', '(object properties)', '(object elements)', 'system / PropertyArray', '(string)', '()', 'system / Context', '(heap number)', '', 'native_bind()', '(bound arguments)', 'Map', 'Set', '(code)']);

function diff(before, after, sockets) {
  const old = ids(before);
  const s = after;
  const typeOf = (n) => s.nodeTypes[s.nodes[n * s.nf + s.iType]];
  const nameOf = (n) => {
    const type = typeOf(n);
    if (type === 'string' || type === 'concatenated string' || type === 'sliced string') return '(string)';
    if (type === 'number') return '(heap number)';
    if (type === 'code') return '(code)';
    const name = s.strings[s.nodes[n * s.nf + s.iName]];
    return name.length > 60 ? `${name.slice(0, 57)}…` : name;
  };
  const label = (n) => `${nameOf(n)}${typeOf(n) === 'closure' ? '()' : ''}`;
  const strong = (edge) => {
    const type = s.edgeTypes[s.edges[edge + s.eType]];
    return type !== 'weak' && type !== 'shortcut';
  };
  // Edge ranges per node, then retainers per node (CSR), then BFS distance from the root (node 0).
  const firstEdge = new Uint32Array(s.count + 1);
  for (let n = 0, e = 0; n < s.count; n++) {
    firstEdge[n] = e;
    e += s.nodes[n * s.nf + s.iEdges] * s.ef;
    firstEdge[n + 1] = e;
  }
  const retainerCount = new Uint32Array(s.count + 1);
  for (let e = 0; e < s.edges.length; e += s.ef) if (strong(e)) retainerCount[s.edges[e + s.eTo] / s.nf] += 1;
  const retainerStart = new Uint32Array(s.count + 1);
  for (let n = 0; n < s.count; n++) retainerStart[n + 1] = retainerStart[n] + retainerCount[n];
  const fill = retainerStart.slice();
  const retainerNode = new Uint32Array(retainerStart[s.count]);
  const retainerEdgeAt = new Uint32Array(retainerStart[s.count]);
  for (let n = 0; n < s.count; n++) {
    for (let e = firstEdge[n]; e < firstEdge[n + 1]; e += s.ef) {
      if (!strong(e)) continue;
      const to = s.edges[e + s.eTo] / s.nf;
      retainerNode[fill[to]] = n;
      retainerEdgeAt[fill[to]] = e;
      fill[to] += 1;
    }
  }
  const distance = new Uint32Array(s.count).fill(0xffffffff);
  distance[0] = 0;
  const queue = new Uint32Array(s.count);
  let head = 0;
  let tail = 0;
  queue[tail++] = 0;
  while (head < tail) {
    const n = queue[head++];
    for (let e = firstEdge[n]; e < firstEdge[n + 1]; e += s.ef) {
      if (!strong(e)) continue;
      const to = s.edges[e + s.eTo] / s.nf;
      if (distance[to] === 0xffffffff) {
        distance[to] = distance[n] + 1;
        queue[tail++] = to;
      }
    }
  }
  const edgeLabel = (edge) => {
    const type = s.edgeTypes[s.edges[edge + s.eType]];
    const name = s.edges[edge + s.eName];
    if (type === 'element' || type === 'hidden') return `[${name}]`;
    const text = s.strings[name];
    return /^\d+$/.test(text) ? '[n]' : `.${text}`;
  };
  /** The retainer closest to the roots, and the edge from it. */
  const closest = (n) => {
    let best = -1;
    let bestEdge = -1;
    for (let r = retainerStart[n]; r < retainerStart[n + 1]; r++) {
      const parent = retainerNode[r];
      if (best === -1 || distance[parent] < distance[best]) {
        best = parent;
        bestEdge = retainerEdgeAt[r];
      }
    }
    return [best, bestEdge];
  };
  const path = (n) => {
    const parts = [];
    let at = n;
    for (let depth = 0; depth < PATH_DEPTH; depth++) {
      const [parent, edge] = closest(at);
      if (parent < 0) break;
      parts.push(`${label(parent)}${edgeLabel(edge)}`);
      at = parent;
      if (parent === 0) break;
    }
    return parts.join(' ← ') || '(root)';
  };
  // Where the bytes hang: each new object is charged to the nearest owner on its path to the
  // roots (an instance of OWNERS), as `Owner.field` (the field the path leaves the owner by), or
  // `Owner` for the owner object itself.
  // Vela's GatewaySocket (src/ws/gateway-process.ts) is ws's WebSocket with one more field: charged
  // as a WebSocket, so its rows line up with raw's.
  const ownerName = (n) => (label(n) === 'GatewaySocket' ? 'WebSocket' : label(n));
  const ownerOf = (n) => {
    if (OWNERS.has(ownerName(n))) return ownerName(n);
    let at = n;
    for (let depth = 0; depth < 12; depth++) {
      const [parent, edge] = closest(at);
      if (parent <= 0) break;
      if (OWNERS.has(ownerName(parent))) return `${ownerName(parent)}${edgeLabel(edge)}`;
      at = parent;
    }
    return '(no owner within 12 levels)';
  };
  const owners = new Map();
  const groups = new Map();
  for (let n = 0; n < s.count; n++) {
    if (old.has(s.nodes[n * s.nf + s.iId])) continue;
    const owner = ownerOf(n);
    owners.set(owner, (owners.get(owner) ?? 0) + s.nodes[n * s.nf + s.iSize]);
    let name = label(n);
    if (GENERIC.has(name)) {
      // Named by the fields that hold it, up to the first holder with a name of its own.
      const holders = [];
      let at = n;
      for (let depth = 0; depth < 3; depth++) {
        const [parent, edge] = closest(at);
        if (parent < 0) break;
        holders.push(`${label(parent)}${edgeLabel(edge)}`);
        if (!GENERIC.has(label(parent))) break;
        at = parent;
      }
      if (holders.length > 0) name = `${name || typeOf(n)} in ${holders.join(' ← ')}`;
    }
    const key = `${typeOf(n)}\u0000${name}`;
    let g = groups.get(key);
    if (!g) groups.set(key, (g = { type: typeOf(n), name, count: 0, bytes: 0, paths: new Map() }));
    g.count += 1;
    g.bytes += s.nodes[n * s.nf + s.iSize];
    if (g.count <= 200) {
      const p = path(n);
      g.paths.set(p, (g.paths.get(p) ?? 0) + 1);
    }
  }
  const list = [...groups.values()].map((g) => {
    const [topPath, times] = [...g.paths.entries()].sort((a, b) => b[1] - a[1])[0];
    const sampled = Math.min(g.count, 200);
    return {
      type: g.type,
      name: g.name,
      perConn: g.count / sockets,
      bytesPerConn: g.bytes / sockets,
      retainer: `${topPath}${times < sampled ? ` (${Math.round((100 * times) / sampled)}%)` : ''}`,
    };
  });
  list.sort((a, b) => b.bytesPerConn - a.bytesPerConn);
  const byOwner = new Map([...owners].map(([owner, bytes]) => [owner, bytes / sockets]));
  return { groups: list, byOwner };
}

const OWNERS = new Set(['Connection', 'GatewayProcess', 'WebSocket', 'Receiver', 'Sender', 'Socket', 'Hub', 'MemoryStore', 'GatewayServer', 'UpgradeHandler', 'WebSocketServer', 'Server']);

async function measure({ label, kind, env }) {
  const server = spawnChild(serverScript, [kind], { nodeArgs: ['--expose-gc'], env });
  let sockets = [];
  try {
    const port = await server.ready;
    const warm = await openManyIdle(port, WARMUP, { addresses: ADDRESSES, batch: BATCH });
    await closeAll(warm);
    await sleep(300);
    const slug = label.replace(/\W+/g, '-').replace(/-$/, '');
    const a = (await server.request({ cmd: 'snapshot', file: join(dir, `${slug}-before.heapsnapshot`) }, 120_000)).file;
    const memA = await server.request({ cmd: 'mem' });
    sockets = await openManyIdle(port, SOCKETS, { addresses: ADDRESSES, batch: BATCH });
    await sleep(500);
    const memB = await server.request({ cmd: 'mem' });
    const b = (await server.request({ cmd: 'snapshot', file: join(dir, `${slug}-after.heapsnapshot`) }, 120_000)).file;
    const { groups, byOwner } = diff(readSnapshot(a), readSnapshot(b), SOCKETS);
    if (!arg('keep')) {
      rmSync(a);
      rmSync(b);
    }
    return { label, groups, byOwner, heapPerConn: (memB.heapUsed - memA.heapUsed) / SOCKETS };
  } finally {
    await server.stop();
    for (const ws of sockets) ws.terminate();
  }
}

const { date, node, nproc, commit } = machine();
const results = [];
for (const spec of SERVERS) results.push(await measure(spec));
if (!arg('keep')) rmSync(dir, { recursive: true, force: true });

const fmt = (x, d = 1) => x.toFixed(d).padStart(7);
const lines = [
  '---- ws-heap summary ----',
  `command: npm run bench:ws-heap${SOCKETS === 2_000 ? '' : ` -- --sockets ${SOCKETS}`}`,
  `date: ${date}   node: ${node}   nproc: ${nproc}`,
  `commit: ${commit}`,
  `setup: per server a fresh process, ${WARMUP} sockets opened and closed, heap snapshot, ${SOCKETS.toLocaleString('en-US')} idle sockets opened, heap snapshot;`,
  `       objects of the second snapshot whose id is not in the first, per connection (count and shallow bytes), grouped by V8 type and`,
  `       constructor (generic objects by the field that holds them); the retaining path is DevTools': from the object, each time the`,
  `       retainer closest to the GC roots; its share of the group when < 100%. Shallow sizes: a group's bytes are its own objects only`,
];
const raw = results.find((r) => r.label === 'raw ws');
for (const r of results) {
  const total = r.groups.reduce((sum, g) => sum + g.bytesPerConn, 0);
  lines.push(
    '',
    `${r.label}: ${Math.round(total).toLocaleString('en-US')} B of new objects per connection (heapUsed grew ${Math.round(r.heapPerConn).toLocaleString('en-US')} B per connection)`,
    `  by owner (each object charged to the nearest ${[...OWNERS].join('/')} on its path to the roots)${r === raw ? '' : ', and the difference to raw ws'}:`,
  );
  const owners = [...r.byOwner].sort((a, b) => b[1] - a[1]);
  for (const [owner, bytes] of owners) {
    if (bytes < 16) continue;
    const delta = r === raw ? '' : `   ${(bytes - (raw.byOwner.get(owner) ?? 0) >= 0 ? '+' : '') + Math.round(bytes - (raw.byOwner.get(owner) ?? 0))} B vs raw`;
    lines.push(`  ${fmt(bytes, 0)} B  ${owner}${delta}`);
  }
  lines.push(`   B/conn  objs/conn  type     constructor (generic ones: in holder.field)                   retaining path, closest to the roots first`);
  for (const g of r.groups.slice(0, TOP)) {
    if (g.bytesPerConn < 8) break;
    lines.push(`  ${fmt(g.bytesPerConn, 0)}  ${fmt(g.perConn, 2)}    ${g.type.slice(0, 7).padEnd(7)}  ${g.name.slice(0, 90).padEnd(90)}  ${g.retainer}`);
  }
  const rest = r.groups.slice(TOP).reduce((sum, g) => sum + g.bytesPerConn, 0);
  if (rest >= 1) lines.push(`  ${fmt(rest, 0)}             (the other ${r.groups.length - TOP} groups)`);
}
console.log(lines.join('\n'));
