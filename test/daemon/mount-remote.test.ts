// Mounts of a medo directory whose SILO.json lists only an http silo, with an empty host cache: real FUSE,
// real nginx on loopback (and misbehaving node:http servers), git as the oracle. An object the cache lacks
// is fetched when an op misses it (lib/mount/fetch-on-miss.ts); what cannot be fetched is EIO for that
// request only, within --timeout, and the mount stays up. Mounts are `medo mount --foreground` children
// and medod, through the backend MEDO_FUSE_BACKEND names (mount-remote-highlevel.test.ts runs this file
// again through the libfuse 2 one).
import test, { type ExecutionContext } from 'ava';
import { mkdirSync, readFileSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { lstat, readFile, readdir, readlink, stat } from 'node:fs/promises';
import { request } from 'node:http';
import { createServer, type AddressInfo } from 'node:net';
import { dirname, join, relative } from 'node:path';
import { chooseBackend } from '../../daemon/mount.js';
import { writePackList } from '../../lib/silo/pack-list.js';
import { Silo } from '../../lib/silo/silo.js';
import { removeDir, sharedTempDir, tempDir, verifyPack } from '../helpers/git-fixture.js';
import { medoCli, startDaemon } from '../helpers/medod-process.js';
import { buildMedoFixture, expectedTree, listAll, writeSourceTree, type ExpectedEntry, type MedoFixture } from '../helpers/mount-fixture.js';
import { isMounted, removeMountpoint, startMount, type RunningMount } from '../helpers/mount-process.js';
import { readLog, startNginx, startTestServer, type Nginx } from '../helpers/silo-servers.js';

// The FUSE backend under test: MEDO_FUSE_BACKEND, else what a mount gets by default.
const { backend } = chooseBackend();

let root: string;
let src: string;
let fx: MedoFixture;
let nginx: Nginx;
let n = 0;
// git's view of the fixture's tree, read once: the tree never changes, and each read is two git runs that
// block this process's event loop (a loop over 300 names re-reading it blocked it for a minute under load,
// long enough for medod's 60 s request timer in another test to fire before its answer was read).
let expected: ExpectedEntry[];
let oidByPath: Map<string, string>;

test.before(async () => {
  root = sharedTempDir('medo-mount-remote-');
  src = join(root, 'src');
  writeSourceTree(src);
  fx = buildMedoFixture(root, src);
  expected = expectedTree(fx.repo, fx.tree);
  oidByPath = new Map(expected.map((e) => [e.path, e.oid]));
  writePackList(fx.siloDir);
  nginx = await startNginx(fx.siloDir, join(root, 'nginx'));
});

test.after.always(async () => {
  await nginx?.stop();
  if (root !== undefined) removeDir(root);
});

/** A medo directory like the fixture's (same .treeptrs) whose SILO.json lists only `url`. */
function remoteMedo(dir: string, url: string): string {
  const m = join(dir, 'remote.medo');
  for (const ptr of [fx.treeptr, fx.blobTreeptr]) {
    const to = join(m, relative(fx.medoDir, ptr));
    mkdirSync(dirname(to), { recursive: true });
    writeFileSync(to, readFileSync(ptr));
  }
  writeFileSync(join(m, 'SILO.json'), `${JSON.stringify({ silos: [url] })}\n`);
  return m;
}

interface Case {
  dir: string;
  cacheDir: string;
  medo: string;
}

function setup(t: ExecutionContext, url: string): Case {
  const dir = tempDir(t, 'medo-mount-remote-case-');
  return { dir, cacheDir: join(dir, 'cache'), medo: remoteMedo(dir, url) };
}

/** `medo mount --foreground` of the case's medo directory; stopped and removed in teardown. */
async function mount(t: ExecutionContext, c: Case, extra: readonly string[] = []): Promise<RunningMount> {
  const mnt = join(c.dir, `mnt-${n++}`);
  t.teardown(() => removeMountpoint(mnt));
  // A generous timeout: the misbehaving servers run in this test process, which the full parallel suite
  // can keep busy for seconds (at 2 s, a healthy fetch timed out in CI). Tests of timeouts pass their own.
  const m = await startMount(c.medo, mnt, ['--cache-dir', c.cacheDir, '--timeout', '20', ...extra], { MEDO_FUSE_BACKEND: backend });
  t.teardown(() => m.stop());
  return m;
}

const wedgeOf = (mnt: string): string => join(mnt, 'debian', 'bullseye', 'wedge');

/**
 * Walks the wedge as a reader would and compares it with git (types, sizes, bytes, symlink targets) and
 * the source directory (permission bits and mtimes, from the sidecar). Returns the differences and the
 * errors met, by path, so that one failing file does not hide the rest.
 */
async function compareWithGit(wedge: string): Promise<{ problems: string[]; errors: Map<string, string> }> {
  const problems: string[] = [];
  const errors = new Map<string, string>();
  const seen = new Set<string>();
  const walk = async (rel: string): Promise<void> => {
    let names: string[];
    try {
      names = await readdir(rel === '' ? wedge : join(wedge, rel));
    } catch (e) {
      errors.set(rel, (e as NodeJS.ErrnoException).code ?? String(e));
      return;
    }
    for (const name of names.sort()) {
      const p = rel === '' ? name : `${rel}/${name}`;
      seen.add(p);
      try {
        const st = await lstat(join(wedge, p), { bigint: true });
        const orig = await lstat(join(src, p), { bigint: true });
        const perm = (m: bigint): string => (m & 0o7777n).toString(8);
        if (perm(st.mode) !== perm(orig.mode)) problems.push(`${p}: mode ${perm(st.mode)}, source has ${perm(orig.mode)}`);
        // The libfuse 2 binding takes times in milliseconds.
        const mtime = backend === 'lowlevel' ? orig.mtimeNs : (orig.mtimeNs / 1_000_000n) * 1_000_000n;
        if (st.mtimeNs !== mtime) problems.push(`${p}: mtime ${st.mtimeNs}, source has ${orig.mtimeNs}`);
        if (st.isDirectory()) await walk(p);
        else if (st.isSymbolicLink()) seenContent.set(p, { type: 'symlink', size: Number(st.size), content: Buffer.from(await readlink(join(wedge, p))) });
        else seenContent.set(p, { type: 'file', size: Number(st.size), content: await readFile(join(wedge, p)) });
      } catch (e) {
        errors.set(p, (e as NodeJS.ErrnoException).code ?? String(e));
      }
    }
  };
  const seenContent = new Map<string, { type: string; size: number; content: Buffer }>();
  await walk('');
  const emptyDirs = listAll(src).filter((p) => p === 'empty' || p.startsWith('nested-empty'));
  const paths = [...expected.map((e) => e.path), ...emptyDirs].sort();
  if (JSON.stringify([...seen].sort()) !== JSON.stringify(paths)) problems.push(`paths differ: ${[...seen].filter((p) => !paths.includes(p))} / ${paths.filter((p) => !seen.has(p))}`);
  for (const e of expected) {
    if (e.type === 'dir' || errors.has(e.path)) continue;
    const s = seenContent.get(e.path);
    if (s === undefined || s.type !== e.type) problems.push(`${e.path}: not seen as a ${e.type}`);
    else if (s.size !== e.size) problems.push(`${e.path}: size ${s.size}, git says ${e.size}`);
    else if (!s.content.equals(e.content!)) problems.push(`${e.path}: content differs from git's`);
  }
  return { problems, errors };
}

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

/** The log lines of a mount process (or medod) that report a failed request, parsed. */
function errorLines(log: string): Record<string, unknown>[] {
  return log.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l.level === 50);
}

/**
 * nginx writes a request's log line once the response is sent, which may be just after the client has it:
 * one more request, waited for in the log, means every earlier line is there.
 */
async function settledLog(server: Nginx): Promise<ReturnType<typeof readLog>> {
  const mark = `medo-test-mark-${n++}`;
  await new Promise<void>((resolve, reject) => {
    request(`${server.url}medo-silo.json?${mark}`, (res) => {
      res.resume();
      res.on('end', resolve);
    }).on('error', reject).end();
  });
  for (;;) {
    const lines = readLog(server.log);
    const at = lines.findIndex((l) => l.request.includes(mark));
    if (at >= 0) return lines.slice(0, at);
    await new Promise((r) => setTimeout(r, 5));
  }
}

function oidOf(path: string): string {
  const oid = oidByPath.get(path);
  if (oid === undefined) throw new Error(`${path} is not in the fixture's tree`);
  return oid;
}

test.serial('a cold mount fetches on demand: git\'s tree byte for byte; a second mount reads it offline after the server stops', async (t) => {
  const own = await startNginx(fx.siloDir, join(tempDir(t), 'nginx'));
  t.teardown(() => own.stop());
  const c = setup(t, own.url);
  const first = await mount(t, c);
  const cold = await compareWithGit(wedgeOf(first.mnt));
  t.deepEqual(cold.problems, []);
  t.deepEqual([...cold.errors], []);
  const big = join(first.mnt, 'tools', 'big.bin');
  t.true((await readFile(big)).equals(readFileSync(join(src, 'big.bin'))));
  t.true(Silo.open(c.cacheDir).has(fx.tree), 'what was read is in the cache');
  await first.stop();

  await own.stop();
  const second = await mount(t, c);
  const warm = await compareWithGit(wedgeOf(second.mnt));
  t.deepEqual(warm.problems, []);
  t.deepEqual([...warm.errors], []);
  t.true((await readFile(join(second.mnt, 'tools', 'big.bin'))).equals(readFileSync(join(src, 'big.bin'))));
  t.notRegex(second.log(), /"level":50/, 'no errors logged offline');
});

for (const [title, server] of [
  ['a dead server (connection refused)', async (): Promise<{ url: string; close(): Promise<void> }> => ({ url: `http://127.0.0.1:${await freePort()}/silo/`, close: async () => {} })],
  ['a server that never answers', () => startTestServer(fx.siloDir, () => true)],
] as const) {
  test(`${title} and an empty cache: EIO within the timeout, and the mount stays up`, async (t) => {
    const s = await server();
    t.teardown(() => s.close());
    const c = setup(t, s.url);
    const m = await mount(t, c, ['--timeout', '1']);
    // The folders of the medo directory need no object.
    t.deepEqual((await readdir(m.mnt)).sort(), ['debian', 'tools']);
    await t.throwsAsync(stat(wedgeOf(m.mnt)), { code: 'EIO' });
    await t.throwsAsync(readFile(join(m.mnt, 'tools', 'big.bin')), { code: 'EIO' });
    // Again: still EIO (nothing remembered as there), and the mount still answers.
    await t.throwsAsync(readdir(wedgeOf(m.mnt)), { code: 'EIO' });
    t.deepEqual(await readdir(join(m.mnt, 'debian')), ['bullseye']);
    t.true(isMounted(m.mnt));
    t.is(m.child.exitCode, null);
    // Logged with the object and the URL that failed.
    t.true(errorLines(m.log()).some((l) => l.oid === fx.meta && typeof l.url === 'string' && l.url.startsWith(s.url)
      && /fetching it failed/.test(String(l.err))), m.log());
  });
}

test('reading one small file from a cold mount transfers kilobytes in Range requests, not the pack', async (t) => {
  const own = await startNginx(fx.siloDir, join(tempDir(t), 'nginx'));
  t.teardown(() => own.stop());
  const c = setup(t, own.url);
  const m = await mount(t, c);
  t.true((await readFile(join(wedgeOf(m.mnt), 'many', 'f123.txt'))).equals(readFileSync(join(src, 'many', 'f123.txt'))));
  const lines = await settledLog(own);
  t.log(lines.map((l) => `${l.request} ${l.status} ${l.bytes} ${l.range}`).join('\n'));
  const total = lines.reduce((sum, l) => sum + l.bytes, 0);
  t.true(statSync(fx.packPath).size > 4 << 20);
  t.true(total < 64 << 10, `transferred ${total} bytes`);
  // The pack only in ranges, one per object: the wedge's root tree, many/'s tree, the file.
  const packReads = lines.filter((l) => l.request.includes('.pack '));
  t.is(packReads.length, 3);
  for (const l of packReads) {
    t.is(l.status, 206);
    t.regex(l.range, /^bytes=\d+-\d+$/);
  }
  // Nothing else of many/ was fetched ahead: one file read by name is not a walk of its directory.
  t.false(Silo.open(c.cacheDir).has(oidOf('many/f124.txt')));
});

test('a reader going through a listed directory gets its small files fetched ahead, a few requests for all', async (t) => {
  const own = await startNginx(fx.siloDir, join(tempDir(t), 'nginx'));
  t.teardown(() => own.stop());
  const c = setup(t, own.url);
  const m = await mount(t, c);
  const many = join(wedgeOf(m.mnt), 'many');
  const names = (await readdir(many)).sort();
  t.is(names.length, 300);
  // A listing alone fetches the directory's tree, none of its files.
  t.true(Silo.open(c.cacheDir).has(oidOf('many')));
  const cached = (name: string): boolean => {
    const cache = Silo.open(c.cacheDir);
    try {
      return cache.has(oidOf(`many/${name}`));
    } finally {
      cache.close();
    }
  };
  t.false(names.some(cached));
  // `ls -l`, one lstat at a time: the first two miss on their own, the second starts the read-ahead.
  for (const name of names) t.is((await lstat(join(many, name))).size, readFileSync(join(src, 'many', name)).length);
  for (const name of names) t.true((await readFile(join(many, name))).equals(readFileSync(join(src, 'many', name))), name);
  const packReads = (await settledLog(own)).filter((l) => l.request.includes('.pack '));
  t.true(packReads.length < 20, `${packReads.length} Range requests for 300 files`);
  t.true(names.every(cached));
});

test('the server stops: an uncached file is EIO, logged with its id and URL; cached files still read, in this mount and the next', async (t) => {
  const own = await startNginx(fx.siloDir, join(tempDir(t), 'nginx'));
  t.teardown(() => own.stop());
  const c = setup(t, own.url);
  const first = await mount(t, c);
  const same = async (mnt: string, p: string): Promise<boolean> => (await readFile(join(wedgeOf(mnt), p))).equals(readFileSync(join(src, p)));
  t.true(await same(first.mnt, 'README.md'));
  t.true(await same(first.mnt, 'text/lines.txt'));
  t.true(Silo.open(c.cacheDir).has(oidOf('README.md')));
  t.false(Silo.open(c.cacheDir).has(oidOf('private.txt')), 'not read, so not cached');
  await own.stop();

  await t.throwsAsync(readFile(join(wedgeOf(first.mnt), 'private.txt')), { code: 'EIO' });
  t.true(await same(first.mnt, 'README.md'));
  t.true(isMounted(first.mnt));
  t.true(errorLines(first.log()).some((l) => l.oid === oidOf('private.txt') && typeof l.url === 'string' && l.url.startsWith(own.url)), first.log());
  await first.stop();

  // A new mount has nothing in the kernel's caches: what it reads comes from the host cache.
  const second = await mount(t, c);
  t.true(await same(second.mnt, 'README.md'));
  t.true(await same(second.mnt, 'text/lines.txt'));
  await t.throwsAsync(readFile(join(wedgeOf(second.mnt), 'private.txt')), { code: 'EIO' });
  t.true(await same(second.mnt, 'README.md'));
  t.true(isMounted(second.mnt));
});

// Serial: the corrupting server runs in this test process, and the other tests of this file block its
// event loop with synchronous git calls; in CI that stalled a healthy response past the mount's timeout,
// and files other than the victim (once the whole root listing) came back EIO.
test.serial('a server that corrupts one object: EIO for that file only, never cached; every other file is git\'s', async (t) => {
  const { entries } = verifyPack(fx.repo, fx.packPath.replace(/\.pack$/, '.idx'));
  const bases = new Set([...entries.values()].flatMap((e) => (e.base === undefined ? [] : [e.base])));
  // A small file stored whole, that no delta needs as its base.
  const victim = expected.find((e) => e.type === 'file' && e.size > 0 && e.size < 100 && entries.get(e.oid)?.depth === 0 && !bases.has(e.oid)
    && expected.filter((x) => x.oid === e.oid).length === 1)!;
  const entry = entries.get(victim.oid)!;
  const [start, end] = [entry.offset, entry.offset + entry.sizeInPack];
  const bad = await startTestServer(fx.siloDir, (_req, res, body, path, headers) => {
    const range = /^bytes (\d+)-(\d+)\//.exec(headers['content-range'] ?? '');
    if (!path.endsWith('.pack') || body === undefined || range === null) return false;
    const [from, to] = [Number(range[1]), Number(range[2])];
    if (from > start || to < end - 1) return false;
    const wrong = Buffer.from(body);
    wrong[end - 1 - from] = wrong[end - 1 - from]! ^ 0x5a; // the entry's adler32
    res.writeHead(206, { 'content-range': headers['content-range']!, 'content-length': String(wrong.length) }).end(wrong);
    return true;
  });
  t.teardown(() => bad.close());
  const c = setup(t, bad.url);
  const m = await mount(t, c);
  const { problems, errors } = await compareWithGit(wedgeOf(m.mnt));
  t.deepEqual(problems, []);
  // The mount's log says why any other file failed (seen under load in CI: the entry after the victim).
  t.deepEqual([...errors], [[victim.path, 'EIO']], `victim ${victim.path} ${victim.oid}\n${m.log()}`);
  await t.throwsAsync(readFile(join(wedgeOf(m.mnt), victim.path)), { code: 'EIO' });
  t.false(Silo.open(c.cacheDir).has(victim.oid), 'wrong bytes are never cached');
  t.true(bad.requests.some((r) => r.url.includes('medo-nocache=')), 'asked again bypassing caches');
  t.regex(m.log(), /do not hash|bad zlib|fetching it failed/);
  t.true(isMounted(m.mnt));
});

test('a torn cache file (zeros, or empty: no fsync) is dropped and fetched again', async (t) => {
  const c = setup(t, nginx.url);
  const first = await mount(t, c);
  const wedge = wedgeOf(first.mnt);
  const readme = readFileSync(join(src, 'README.md'));
  t.true((await readFile(join(wedge, 'README.md'))).equals(readme));
  t.true((await readFile(join(wedge, 'many', 'f001.txt'))).equals(readFileSync(join(src, 'many', 'f001.txt'))));
  await first.stop();

  const cache = Silo.open(c.cacheDir);
  const oid = oidOf;
  const file = (o: string): string => cache.loose.path(c.cacheDir, o);
  // What a crash leaves of a file written without fsync: its length of zeros (XFS), or nothing at all (ext4).
  writeFileSync(file(oid('README.md')), Buffer.alloc(readFileSync(file(oid('README.md'))).length));
  truncateSync(file(oid('many/f001.txt')), 0);
  truncateSync(file(fx.tree), 0);

  const second = await mount(t, c);
  const again = wedgeOf(second.mnt);
  t.true((await readdir(again)).includes('README.md'));
  t.true((await readFile(join(again, 'README.md'))).equals(readme));
  t.true((await readFile(join(again, 'many', 'f001.txt'))).equals(readFileSync(join(src, 'many', 'f001.txt'))));
  for (const o of [oid('README.md'), oid('many/f001.txt'), fx.tree]) t.notThrows(() => cache.readLoose(o), `${o} is whole again`);
});

test('a local silo\'s damaged object is EIO, never replaced from the remote silo', async (t) => {
  const c = setup(t, nginx.url);
  // A local silo listed first, holding the one object README.md, damaged.
  const local = join(c.dir, 'local');
  const silo = Silo.init(local);
  const readmeOid = oidOf('README.md');
  const path = silo.loose.path(local, readmeOid);
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, Buffer.alloc(64));
  silo.close();
  writeFileSync(join(c.medo, 'SILO.json'), `${JSON.stringify({ silos: [local, nginx.url] })}\n`);
  const m = await mount(t, c);
  await t.throwsAsync(readFile(join(wedgeOf(m.mnt), 'README.md')), { code: 'EIO' });
  t.deepEqual(readFileSync(path), Buffer.alloc(64), 'the local silo is left as it was');
  t.false(Silo.open(c.cacheDir).has(readmeOid), 'not fetched into the cache either');
  t.true((await readFile(join(wedgeOf(m.mnt), 'many', 'f002.txt'))).equals(readFileSync(join(src, 'many', 'f002.txt'))));
});

test('through medod: a cold mount reads git\'s tree (cache from MEDO_CACHE_DIR); a dead server is EIO, logged and counted by medo status', async (t) => {
  const c = setup(t, nginx.url);
  const deadUrl = `http://127.0.0.1:${await freePort()}/silo/`;
  const dead = setup(t, deadUrl);
  const [mnt, deadMnt] = [join(c.dir, 'mnt'), join(dead.dir, 'mnt')];
  mkdirSync(mnt);
  mkdirSync(deadMnt);
  // startDaemon passes this process's environment to medod (no other test here changes it).
  const saved = { ...process.env };
  Object.assign(process.env, { MEDO_CACHE_DIR: c.cacheDir, MEDO_FUSE_BACKEND: backend, MEDO_HTTP_TIMEOUT: '20' });
  const d = await startDaemon(join(c.dir, 'medod')).finally(() => {
    process.env = saved;
  });
  t.teardown(async () => {
    await d.stop([mnt, deadMnt]);
    removeMountpoint(mnt);
    removeMountpoint(deadMnt);
  });
  await d.request({ op: 'mount', source: c.medo, mountpoint: mnt });
  await d.request({ op: 'mount', source: dead.medo, mountpoint: deadMnt });
  // Nothing cached yet: the wedge's sidecar cannot be had.
  await t.throwsAsync(stat(wedgeOf(deadMnt)), { code: 'EIO' });
  const { problems, errors } = await compareWithGit(wedgeOf(mnt));
  t.deepEqual(problems, []);
  t.deepEqual([...errors], []);
  t.true(Silo.open(c.cacheDir).has(fx.tree));
  // The other mount filled the host cache they share: now served without the server.
  t.true((await readFile(join(wedgeOf(deadMnt), 'README.md'))).equals(readFileSync(join(src, 'README.md'))));
  const status = medoCli(['status'], d.socket);
  t.is(status.status, 0, status.stderr);
  // Its own block: the mountpoint's line, then indented lines down to "served ...; N errors".
  const lines = status.stdout.split('\n');
  const served = lines.slice(lines.indexOf(deadMnt)).find((l) => l.startsWith('  served'));
  t.regex(served ?? '', /; [1-9]\d* errors$/, status.stdout);
  t.true(errorLines(d.log()).some((l) => l.oid === fx.meta && typeof l.url === 'string' && l.url.startsWith(deadUrl)), d.log());
  for (const m of [mnt, deadMnt]) await d.request({ op: 'unmount', mountpoint: m });
  t.false(isMounted(mnt));
  t.false(isMounted(deadMnt));
});
