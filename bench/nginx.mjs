// nginx on loopback for the remote benchmarks: one process in the foreground (no daemon, no master),
// a generated config serving `root` as plain bytes, on a free port. With `accessLog`, every request is
// logged as "$request_uri $bytes_sent $body_bytes_sent $status", so that bytes on the wire are measured,
// not estimated. nginx must be installed (scripts/setup.sh).
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { get } from 'node:http';
import { connect, createServer } from 'node:net';
import { join } from 'node:path';

const NGINX = ['/usr/sbin/nginx', '/usr/bin/nginx'].find((p) => existsSync(p));

const freePort = () => new Promise((resolve, reject) => {
  const s = createServer();
  s.on('error', reject);
  s.listen(0, '127.0.0.1', () => {
    const { port } = s.address();
    s.close(() => resolve(port));
  });
});

const listening = (port) => new Promise((resolve) => {
  const s = connect(port, '127.0.0.1');
  s.on('connect', () => { s.destroy(); resolve(true); });
  s.on('error', () => resolve(false));
});

/**
 * Starts nginx serving `root` (files as bytes: no types, no gzip) with its config, logs and temp files in
 * `dir`. Resolves once it accepts connections, with { port, origin, pid, bytesSent, stop }.
 * The process is killed (by its pid) when this process exits, whichever way; stop() does it sooner.
 */
export async function startNginx({ root, dir, accessLog = false }) {
  if (NGINX === undefined) throw new Error('nginx is not installed (scripts/setup.sh)');
  mkdirSync(dir, { recursive: true });
  const port = await freePort();
  const logPath = join(dir, 'access.log');
  writeFileSync(logPath, '');
  // log_not_found off: the marks below are 404s and must not fill the error log.
  const logging = accessLog ? `log_format bench '$request_uri $bytes_sent $body_bytes_sent $status'; access_log ${logPath} bench;` : 'access_log off;';
  writeFileSync(join(dir, 'nginx.conf'), `daemon off; master_process off; pid ${dir}/pid; error_log ${dir}/error.log;
events { worker_connections 1024; }
http { ${logging} log_not_found off; types { } default_type application/octet-stream; gzip off;
  client_body_temp_path ${dir}/b; proxy_temp_path ${dir}/p; fastcgi_temp_path ${dir}/f; uwsgi_temp_path ${dir}/u; scgi_temp_path ${dir}/s;
  server { listen 127.0.0.1:${port}; root ${root}; } }
`);
  const child = spawn(NGINX, ['-c', join(dir, 'nginx.conf'), '-p', dir, '-e', join(dir, 'error.log')], { stdio: 'inherit' });
  const kill = () => { if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL'); };
  process.on('exit', kill);
  for (let tries = 0; !(await listening(port)); tries++) {
    if (tries > 400 || child.exitCode !== null) {
      kill();
      throw new Error(`nginx did not start (see ${dir}/error.log)`);
    }
    await new Promise((r) => setTimeout(r, 10));
  }
  const origin = `http://127.0.0.1:${port}`;

  let seen = 0;
  let marks = 0;
  /**
   * What nginx sent since the last call: requests, bytes (headers included), body bytes, and each line.
   * nginx writes a request's line after answering it, so a marked request of our own, waited for in the
   * log, makes sure every earlier line is there.
   */
  const bytesSent = async () => {
    if (!accessLog) throw new Error('bytesSent needs startNginx({ accessLog: true })');
    const mark = `/medo-bench-mark-${marks++}`;
    // A connection of its own: a kept-alive one nginx has closed meanwhile fails with an EPIPE that Node
    // 20 does not always hand to the request's error handler.
    await new Promise((r, j) => get(`${origin}${mark}`, { agent: false }, (res) => { res.resume(); res.on('end', r); }).on('error', j));
    for (;;) {
      const lines = readFileSync(logPath, 'utf8').split('\n').filter((l) => l !== '');
      const at = lines.findIndex((l, i) => i >= seen && l.startsWith(`${mark} `));
      if (at >= 0) {
        const entries = lines.slice(seen, at).map((l) => {
          const [uri, bytes, body, status] = l.split(' ');
          return { uri, bytes: Number(bytes), body: Number(body), status: Number(status) };
        });
        seen = at + 1;
        return {
          requests: entries.length,
          bytes: entries.reduce((n, e) => n + e.bytes, 0),
          body: entries.reduce((n, e) => n + e.body, 0),
          entries,
        };
      }
      await new Promise((r) => setTimeout(r, 5));
    }
  };

  const stop = async () => {
    process.off('exit', kill);
    if (child.exitCode !== null || child.signalCode !== null) return;
    const closed = new Promise((r) => child.once('close', r));
    child.kill('SIGTERM');
    await closed;
  };
  return { port, origin, pid: child.pid, bytesSent, stop };
}
