// Debian's nginx in front of an app under test, run from the configuration the docs ship
// (docs/deploy/nginx.conf), with only its ports, certificate paths and read timeout changed. Each
// nginx runs from a directory of its own (logs, pid, temp files), on a free port of 127.0.0.1, with
// a self-signed certificate for 127.0.0.1 made by openssl. On a machine without nginx or openssl
// the tests skip and say why; in CI (CI=true, where .ci/run installs them) that is a failure.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, watch } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort } from '../support/ports.js';

const run = promisify(execFile);
export const NGINX = '/usr/sbin/nginx';
const OPENSSL = '/usr/bin/openssl';
const SHIPPED = new URL('../../docs/deploy/nginx.conf', import.meta.url);

export const nginxMissing = [NGINX, OPENSSL].every((file) => existsSync(file))
  ? undefined
  : `nginx tests skipped: ${NGINX} or ${OPENSSL} not found (install Debian's nginx and openssl: apt-get install nginx openssl)`;

if (nginxMissing) {
  if (process.env.CI === 'true') throw new Error(`${nginxMissing}; CI must run them.`);
  console.warn(nginxMissing);
}

export interface Nginx {
  /** https://127.0.0.1:<port>, nginx's side. */
  readonly url: string;
  readonly port: number;
  /** The self-signed certificate nginx presents: trust it as a CA to connect. */
  readonly ca: string;
  /** Stops nginx (SIGTERM) and removes its directory. */
  stop(): Promise<void>;
}

export interface NginxOptions {
  /** The app's port, in place of the shipped 8080. */
  upstreamPort: number;
  /** In place of the shipped 90s, e.g. '1s'. */
  readTimeout?: string;
}

/** The shipped configuration with `from` replaced by `to`; throws when `from` is no longer in it, so the docs and the test cannot drift apart. */
function replaceOnce(config: string, from: string, to: string): string {
  if (!config.includes(from)) throw new Error(`docs/deploy/nginx.conf no longer contains "${from}": update test/deploy/nginx.ts`);
  return config.replace(from, to);
}

/** Resolves once `file` exists: nginx writes its pid file after it has opened its listening sockets. */
function fileAppears(dir: string, name: string, nginx: ChildProcess, errorLog: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const watcher = watch(dir, () => check());
    const done = (error?: Error) => {
      watcher.close();
      nginx.off('exit', exited);
      if (error) reject(error);
      else resolve();
    };
    const check = () => {
      if (existsSync(join(dir, name))) done();
    };
    const exited = async (code: number | null) => done(new Error(`nginx exited with ${code}: ${await readFile(errorLog, 'utf8').catch(() => '')}`));
    nginx.once('exit', exited);
    check();
  });
}

export async function startNginx({ upstreamPort, readTimeout }: NginxOptions): Promise<Nginx> {
  const dir = await mkdtemp(join(tmpdir(), 'vela-nginx-'));
  const [cert, key] = [join(dir, 'cert.pem'), join(dir, 'key.pem')];
  await run(OPENSSL, [
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1',
    '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', key, '-out', cert,
  ]);
  const port = await freePort();
  let site = await readFile(SHIPPED, 'utf8');
  site = replaceOnce(site, 'server 127.0.0.1:8080;', `server 127.0.0.1:${upstreamPort};`);
  site = replaceOnce(site, 'listen 443 ssl;', `listen 127.0.0.1:${port} ssl;`);
  site = replaceOnce(site, '/etc/ssl/certs/example.com.pem', cert);
  site = replaceOnce(site, '/etc/ssl/private/example.com.key', key);
  if (readTimeout) site = replaceOnce(site, 'proxy_read_timeout 90s;', `proxy_read_timeout ${readTimeout};`);
  await writeFile(join(dir, 'site.conf'), site);
  // What /etc/nginx/nginx.conf gives the site on Debian, with every path in this directory. Workers
  // run as root here (the tests' user): nginx would otherwise switch them to a user that cannot
  // read this directory.
  const errorLog = join(dir, 'error.log');
  await writeFile(
    join(dir, 'nginx.conf'),
    [
      ...(process.getuid?.() === 0 ? ['user root;'] : []),
      'worker_processes 1;',
      `error_log ${errorLog} warn;`,
      'events { worker_connections 1024; }',
      'http {',
      `  access_log ${join(dir, 'access.log')};`,
      ...['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map((temp) => `  ${temp}_temp_path ${join(dir, temp)};`),
      `  include ${join(dir, 'site.conf')};`,
      '}',
    ].join('\n'),
  );
  const nginx = spawn(NGINX, ['-p', dir, '-e', errorLog, '-c', join(dir, 'nginx.conf'), '-g', `daemon off; pid ${join(dir, 'nginx.pid')};`], {
    stdio: 'ignore',
  });
  const exited = new Promise<void>((resolve) => nginx.once('exit', () => resolve()));
  try {
    await fileAppears(dir, 'nginx.pid', nginx, errorLog);
  } catch (error) {
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
  return {
    url: `https://127.0.0.1:${port}`,
    port,
    ca: await readFile(cert, 'utf8'),
    async stop() {
      if (nginx.exitCode === null) nginx.kill('SIGTERM');
      await exited;
      await rm(dir, { recursive: true, force: true });
    },
  };
}
