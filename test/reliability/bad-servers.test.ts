// HTTP servers that misbehave (issue 15, part 3), each against `medo expand` and a live mount of a
// remote silo whose objects are packed: the pack requests (Range reads of .pack) are answered wrongly
// in one way per case, while the pack list and .idx are served right. Every case ends -- the command
// within its --timeout, never a hang -- with exit 3 and a message naming the server, or EIO on the
// mount for the files it could not fetch; nothing wrong is cached (the cache verifies), the mount
// stays up, and once the server behaves, the same mount serves every file.
import test from 'ava';
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import type { ServerResponse } from 'node:http';
import { join } from 'node:path';
import { removeDir, sharedTempDir } from '../helpers/git-fixture.js';
import { random, randomBytes } from '../helpers/history.js';
import { REPO_ROOT, startMount } from '../helpers/mount-process.js';
import { startTestServer, type TestServer } from '../helpers/silo-servers.js';

type Misbehave = (res: ServerResponse, body: Buffer, headers: Record<string, string>) => void;

const CASES: Record<string, Misbehave> = {
  // Accepts the request and never answers.
  'stall before the headers': () => {},
  // Headers and a few bytes, then nothing.
  'stall mid-body': (res, body, h) => {
    res.writeHead(206, { ...h, 'content-length': String(body.length) });
    res.write(body.subarray(0, Math.min(5, body.length)));
  },
  'reset at once': (res) => res.socket?.destroy(),
  'short body, then close': (res, body, h) => {
    res.writeHead(206, { ...h, 'content-length': String(body.length) });
    res.write(body.subarray(0, body.length >> 1), () => res.socket?.destroy());
  },
  // A 206 whose Content-Range names other bytes than asked for (shifted by 7), with those bytes.
  'Content-Range that lies': (res, body, h) => {
    const m = /^bytes (\d+)-(\d+)\/(\d+)$/.exec(h['content-range'] ?? '');
    const [start, end, total] = m === null ? [0, body.length - 1, body.length] : [Number(m[1]) + 7, Number(m[2]) + 7, Number(m[3])];
    res.writeHead(206, { 'content-range': `bytes ${start}-${end}/${total}`, 'content-length': String(body.length) }).end(body);
  },
  // The right range, but a total that says the pack is another size: the bytes are right (each object is
  // checked against its id), and the total is not used, so this one is served (TOLERATED).
  'Content-Range with another total': (res, body, h) => {
    const range = (h['content-range'] ?? '').replace(/\/\d+$/, '/999999999');
    res.writeHead(206, { 'content-range': range, 'content-length': String(body.length) }).end(body);
  },
  // A length far beyond the range, with the real bytes: a reader must not trust it for an allocation.
  'Content-Length of 10 GB': (res, body, h) => {
    res.writeHead(206, { ...h, 'content-length': String(10 * 1024 ** 3) });
    res.write(body, () => res.socket?.destroy());
  },
  // The right length, with other bytes.
  'wrong bytes': (res, body, h) => {
    res.writeHead(206, { ...h, 'content-length': String(body.length) }).end(Buffer.alloc(body.length, 0x5a));
  },
  'a 500': (res) => res.writeHead(500).end('oops'),
};

/** Cases whose bytes are right after all: the command succeeds, and the mount serves the files. */
const TOLERATED = new Set(['Content-Range with another total']);

let root: string;
let siloDir: string;
let ptrText: string;
const files = new Map<string, Buffer>();

test.before(async () => {
  root = sharedTempDir('medo-bad-servers-');
  siloDir = join(root, 'deps.silo');
  const src = join(root, 'src');
  mkdirSync(src);
  const r = random(0x5e7);
  for (let i = 0; i < 3; i++) files.set(`big-${i}.bin`, randomBytes(r, 200_000));
  for (let i = 0; i < 10; i++) files.set(`small-${i}.txt`, Buffer.from(`small ${i}\n`.repeat(30)));
  for (const [name, bytes] of files) writeFileSync(join(src, name), bytes);
  const local = join(root, 'local.medo');
  mkdirSync(local);
  writeFileSync(join(local, 'SILO.json'), `${JSON.stringify({ silos: ['../deps.silo'] })}\n`);
  await run(['silo', 'init', siloDir]);
  await run(['medo', 'add', src, join(local, 'w.treeptr')]);
  ptrText = readFileSync(join(local, 'w.treeptr'), 'utf8');
});

test.after.always(() => {
  if (root !== undefined) removeDir(root);
});

/** Runs a CLI to its end (killed after 120 s, which only a hang reaches: the commands get --timeout 2). */
function run(args: string[]): Promise<{ status: number | null; err: string }> {
  const [program, ...rest] = args;
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [join(REPO_ROOT, 'bin', `${program}.js`), ...rest], { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const killer = setTimeout(() => child.kill('SIGKILL'), 120_000);
    child.on('close', (status, signal) => {
      clearTimeout(killer);
      resolve({ status, err: signal === 'SIGKILL' ? `${err}\n(hung: killed after 120 s)` : err });
    });
  });
}

/** A medo directory naming `server` as its only silo. */
function remoteMedo(name: string, server: TestServer): string {
  const dir = join(root, `${name}.medo`);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'SILO.json'), `${JSON.stringify({ silos: [server.url] })}\n`);
  writeFileSync(join(dir, 'w.treeptr'), ptrText);
  return dir;
}

const slug = (s: string): string => s.replace(/[^a-z0-9]+/gi, '-').toLowerCase();

for (const [name, misbehave] of Object.entries(CASES)) {
  test(`${name}: expand fails in bounded time naming the server; a mount answers EIO, stays up, and heals`, async (t) => {
    let bad = true;
    const server = await startTestServer(siloDir, (_req, res, body, path, headers) => {
      if (!bad || !path.endsWith('.pack') || body === undefined) return false;
      misbehave(res, body, headers);
      return true;
    });
    try {
      const medo = remoteMedo(slug(name), server);
      const cache = join(root, `cache-${slug(name)}`);
      const out = join(root, `out-${slug(name)}`);
      const r = await run(['medo', 'expand', '--timeout', '2', '--cache-dir', cache, join(medo, 'w.treeptr'), out]);
      if (TOLERATED.has(name)) {
        t.is(r.status, 0, r.err);
        for (const [file, bytes] of files) t.true(readFileSync(join(out, file)).equals(bytes), file);
        return;
      }
      t.is(r.status, 3, r.err);
      t.true(r.err.includes(server.url.replace(/\/$/, '')), `the message names the server: ${r.err}`);
      t.notRegex(r.err, /\n\s+at /, 'a message, not a stack trace');
      const v = await run(['silo', 'verify', cache]);
      t.is(v.status, 0, `nothing wrong cached: ${v.err}`);

      const m = await startMount(medo, join(root, `mnt-${slug(name)}`), ['--cache-dir', `${cache}-mount`, '--timeout', '2']);
      try {
        const got = await readFile(join(m.mnt, 'w', 'big-1.bin')).catch((e: NodeJS.ErrnoException) => e.code);
        t.is(got, 'EIO');
        t.is(m.child.exitCode, null, 'the mount is still up');
        bad = false;
        for (const [file, bytes] of files) t.true((await readFile(join(m.mnt, 'w', file))).equals(bytes), `${file} once the server behaves`);
      } finally {
        await m.stop();
      }
      t.is((await run(['silo', 'verify', `${cache}-mount`])).status, 0);
    } finally {
      await server.close();
    }
  });
}
