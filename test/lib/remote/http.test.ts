// HttpClient's bound on requests in flight against servers that stall: requests queued behind stalled ones
// fail with them, unsent, instead of each waiting for a slot and then a timeout of its own; requests
// queued behind slow ones that keep sending bytes wait their turn and succeed.
import test from 'ava';
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { HttpClient } from '../../../lib/remote/http.js';

interface Served {
  url: string;
  /** Request paths in arrival order. */
  seen: string[];
  close(): Promise<void>;
}

async function serve(handler: (path: string, res: ServerResponse) => void): Promise<Served> {
  const seen: string[] = [];
  const sockets = new Set<Socket>();
  const server: Server = createServer((req, res) => {
    seen.push(req.url ?? '');
    handler(req.url ?? '', res);
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`,
    seen,
    close: () => new Promise((resolve) => {
      for (const s of sockets) s.destroy();
      server.close(() => resolve());
    }),
  };
}

test('requests queued behind a stalled one fail with it, without being sent', async (t) => {
  const s = await serve(() => {
    // never answers
  });
  t.teardown(() => s.close());
  const http = new HttpClient({ parallel: 1, timeoutMs: 300, retries: 0 });
  t.teardown(() => http.close());
  const results = await Promise.allSettled(['a', 'b', 'c'].map((p) => http.get(`${s.url}${p}`)));
  t.deepEqual(results.map((r) => r.status), ['rejected', 'rejected', 'rejected']);
  const [first, ...queued] = results.map((r) => (r as PromiseRejectedResult).reason as Error & { code: string; data: Record<string, unknown> });
  t.regex(first!.message, /no response for 300 ms/);
  for (const e of queued) {
    t.is(e.code, 'ERR_REMOTE');
    t.is(e.data.timeout, true);
    t.regex(e.message, /not sent: a request ahead of it got no answer for 300 ms/);
  }
  t.deepEqual(s.seen, ['/a']);
});

test('requests queued behind a slow one that keeps sending wait their turn and succeed', async (t) => {
  const s = await serve((path, res) => {
    if (path !== '/slow') return void res.end(`fast ${path}`);
    // Five chunks 100 ms apart: longer than the timeout in all, never that long without a byte.
    res.writeHead(200, { 'content-length': '5' });
    let sent = 0;
    const tick = setInterval(() => {
      res.write('x');
      if (++sent === 5) {
        clearInterval(tick);
        res.end();
      }
    }, 100);
  });
  t.teardown(() => s.close());
  const http = new HttpClient({ parallel: 1, timeoutMs: 300, retries: 0 });
  t.teardown(() => http.close());
  const [slow, a, b] = await Promise.all([http.get(`${s.url}slow`), http.get(`${s.url}a`), http.get(`${s.url}b`)]);
  t.is(slow?.toString(), 'xxxxx');
  t.is(a?.toString(), 'fast /a');
  t.is(b?.toString(), 'fast /b');
  t.deepEqual(s.seen, ['/slow', '/a', '/b']);
});
