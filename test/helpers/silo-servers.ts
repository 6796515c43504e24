// Web servers for remote-silo tests: the real nginx (Debian's package, installed by scripts/setup.sh)
// serving a silo on loopback with an access log we can count requests and bytes in, and a small
// node:http server with hooks for misbehaving (corrupt, stall, drop, 500).
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import { join, normalize } from 'node:path';

export interface Nginx {
  url: string;
  log: string;
  stop(): Promise<void>;
}

export interface LogLine {
  request: string;
  status: number;
  bytes: number;
  range: string;
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as AddressInfo).port;
      s.close(() => resolve(port));
    });
    s.on('error', reject);
  });
}

export function waitForPort(port: number, child: ChildProcess, stderr: () => string): Promise<void> {
  return new Promise((resolve, reject) => {
    let tries = 0;
    const attempt = (): void => {
      if (child.exitCode !== null) return reject(new Error(`nginx exited with ${child.exitCode}: ${stderr()}`));
      const sock = connect(port, '127.0.0.1');
      sock.on('connect', () => {
        sock.destroy();
        resolve();
      });
      sock.on('error', () => {
        sock.destroy();
        if (++tries > 200) reject(new Error(`nginx never listened on ${port}: ${stderr()}`));
        else setTimeout(attempt, 25);
      });
    };
    attempt();
  });
}

export const NGINX = ['/usr/sbin/nginx', '/usr/bin/nginx'].find((p) => existsSync(p));

/** Starts nginx in the foreground serving `root` (the silo) at http://127.0.0.1:<port>/silo/. */
export async function startNginx(root: string, tmp: string): Promise<Nginx> {
  if (NGINX === undefined) throw new Error('nginx is not installed: run scripts/setup.sh');
  mkdirSync(tmp, { recursive: true });
  const port = await freePort();
  const log = join(tmp, 'access.log');
  const conf = join(tmp, 'nginx.conf');
  writeFileSync(conf, `daemon off;
master_process off;
pid ${join(tmp, 'nginx.pid')};
error_log ${join(tmp, 'error.log')} info;
events { worker_connections 256; }
http {
  log_format medo '$request $status $bytes_sent "$http_range"';
  access_log ${log} medo;
  client_body_temp_path ${tmp}/body; proxy_temp_path ${tmp}/proxy; fastcgi_temp_path ${tmp}/fcgi;
  uwsgi_temp_path ${tmp}/uwsgi; scgi_temp_path ${tmp}/scgi;
  # The silo's own files are bytes; the silo browser's page (browse/) needs its types for the browser.
  types { text/html html; text/javascript js; application/json json; }
  default_type application/octet-stream;
  gzip off;
  gzip_static off;
  server {
    listen 127.0.0.1:${port};
    location /silo/ { alias ${root}/; }
  }
}
`);
  writeFileSync(log, '');
  let err = '';
  const child = spawn(NGINX, ['-c', conf, '-p', tmp, '-e', join(tmp, 'error.log')], { stdio: ['ignore', 'ignore', 'pipe'] });
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  await waitForPort(port, child, () => err + (existsSync(join(tmp, 'error.log')) ? readFileSync(join(tmp, 'error.log'), 'utf8') : ''));
  return {
    url: `http://127.0.0.1:${port}/silo/`,
    log,
    stop: () => new Promise((resolve) => {
      if (child.exitCode !== null) return resolve();
      child.once('exit', () => resolve());
      child.kill('SIGTERM');
    }),
  };
}

/** nginx's access log in the format above. nginx writes a line after the response is sent. */
export function readLog(log: string): LogLine[] {
  return readFileSync(log, 'utf8').split('\n').filter((l) => l !== '').map((l) => {
    const m = /^(.*) (\d{3}) (\d+) "(.*)"$/.exec(l);
    if (m === null) throw new Error(`unexpected log line ${l}`);
    return { request: m[1]!, status: Number(m[2]), bytes: Number(m[3]), range: m[4] === '-' ? '' : m[4]! };
  });
}

/** What a hook sees; returning true means it answered the request itself. */
export type Hook = (req: IncomingMessage, res: ServerResponse, body: Buffer | undefined, path: string, headers: Record<string, string>) => boolean | void;

export interface TestServer {
  url: string;
  requests: { url: string; range?: string; cacheControl?: string }[];
  close(): Promise<void>;
}

/**
 * Serves the files under `root` with Range support, like a static server would; `hook` may answer a
 * request itself (after the body it would have sent is known), to misbehave.
 */
export async function startTestServer(root: string, hook?: Hook): Promise<TestServer> {
  const requests: TestServer['requests'] = [];
  const sockets = new Set<import('node:net').Socket>();
  const server: Server = createServer((req, res) => {
    const u = new URL(req.url ?? '/', 'http://x');
    requests.push({ url: req.url ?? '', range: req.headers.range, cacheControl: req.headers['cache-control'] });
    const rel = normalize(decodeURIComponent(u.pathname)).replace(/^\/+/, '');
    const file = join(root, rel);
    let body: Buffer | undefined;
    try {
      if (!rel.startsWith('..') && statSync(file).isFile()) body = readFileSync(file);
    } catch {
      body = undefined;
    }
    let status = 200;
    const headers: Record<string, string> = {};
    if (body !== undefined && req.headers.range !== undefined) {
      const m = /^bytes=(\d+)-(\d*)$/.exec(req.headers.range);
      if (m !== null) {
        const start = Number(m[1]);
        const end = m[2] === '' ? body.length - 1 : Math.min(Number(m[2]), body.length - 1);
        headers['content-range'] = `bytes ${start}-${end}/${body.length}`;
        body = body.subarray(start, end + 1);
        status = 206;
      }
    }
    if (hook?.(req, res, body, rel, headers) === true) return;
    if (body === undefined) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(status, { ...headers, 'content-length': String(body.length) }).end(body);
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/`,
    requests,
    close: () => new Promise((resolve) => {
      for (const s of sockets) s.destroy();
      server.close(() => resolve());
    }),
  };
}
