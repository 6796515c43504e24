// Remote silos served over HTTP, with git as the oracle: real nginx on loopback for the normal path and
// Range accounting, and misbehaving node:http servers for corruption, stalls, drops and 5xx.
import test, { type ExecutionContext } from 'ava';
import { randomBytes } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MODE_TREE } from '../../../lib/git/tree.js';
import { walkTree } from '../../../lib/git/tree-walk.js';
import { MedoDir } from '../../../lib/medo/medo-dir.js';
import { writeTreeptr } from '../../../lib/medo/treeptr.js';
import { cacheStatus, openCache } from '../../../lib/remote/cache.js';
import { prefetch } from '../../../lib/remote/prefetch.js';
import { RemoteStore, type RemoteEvent, type RemoteStoreOptions } from '../../../lib/remote/remote-store.js';
import { writePackList } from '../../../lib/silo/pack-list.js';
import { Silo } from '../../../lib/silo/silo.js';
import { git, gitLines, gitObjects, packAll, removeDir, sharedTempDir, tempDir, verifyPack } from '../../helpers/git-fixture.js';
import { readLog, startNginx, startTestServer, type Nginx } from '../../helpers/silo-servers.js';
import { gitWriteTree, makeTree } from '../../helpers/tree-fixture.js';
import { buildPack, delta, insertOp, type Entry } from '../../helpers/pack-builder.js';
import { hashObject } from '../../../lib/oid.js';

const ROOT = fileURLToPath(new URL('../../..', import.meta.url));

interface Fixture {
  dir: string;
  silo: string;
  /** Packed tree: a 4 MiB incompressible file, small files, similar texts stored as deltas. */
  tree: string;
  /** Loose tree: its objects are loose .gz files in the silo. */
  looseTree: string;
  oracle: string;
  looseOracle: string;
  smallOid: string;
  deltaOid: string;
  nginx: Nginx;
  nginxTmp: string;
}

let fx: Fixture;

function text(seed: number, lines: number): string {
  let out = '';
  for (let i = 0; i < lines; i++) out += `line ${i} of a text that git will store as a delta ${i % 7 === seed ? 'changed' : ''}\n`;
  return out;
}

test.before(async () => {
  const dir = sharedTempDir('medo-remote-');
  const src = join(dir, 'src');
  const entries = [
    { path: 'big.bin', file: randomBytes(4 << 20) },
    ...Array.from({ length: 20 }, (_, i) => ({ path: `small/f${i}.txt`, file: `small file ${i}\n` })),
    { path: 'text/v1.txt', file: text(1, 4000) },
    { path: 'text/v2.txt', file: text(2, 4000) },
    { path: 'text/v3.txt', file: text(3, 4000) },
    { path: 'link', symlink: 'small/f1.txt' },
  ];
  makeTree(src, entries);
  const oracle = join(dir, 'oracle.git');
  const tree = gitWriteTree(src, oracle);
  const silo = join(dir, 'silo');
  Silo.init(silo).close();
  packAll(oracle, join(silo, 'pack'), ['--window=10', '--depth=10']);
  // A second tree kept as loose objects.
  const src2 = join(dir, 'src2');
  makeTree(src2, [{ path: 'a.txt', file: 'loose a\n' }, { path: 'd/b.txt', file: 'loose b\n' }]);
  const looseOracle = join(dir, 'loose.git');
  const looseTree = gitWriteTree(src2, looseOracle);
  const s = Silo.open(silo);
  for (const o of gitObjects(looseOracle)) s.writeLoose(o.type as 'blob' | 'tree', o.content, o.oid);
  s.close();
  writePackList(silo);
  const smallOid = git(oracle, ['rev-parse', `${tree}:small/f3.txt`]).toString().trim();
  const idxPath = join(silo, 'pack', readdirSync(join(silo, 'pack')).find((n) => n.endsWith('.idx'))!);
  const { entries: packed } = verifyPack(oracle, idxPath);
  const delta = [...packed].find(([, e]) => e.depth > 0 && e.type === 'blob');
  if (delta === undefined) throw new Error('fixture: git stored no blob as a delta');
  const nginxTmp = join(dir, 'nginx');
  mkdirSync(nginxTmp);
  const nginx = await startNginx(silo, nginxTmp);
  fx = { dir, silo, tree, looseTree, oracle, looseOracle, smallOid, deltaOid: delta[0], nginx, nginxTmp };
});

test.after.always(async () => {
  await fx?.nginx.stop();
  if (fx !== undefined) removeDir(fx.dir);
});

function remoteMedo(t: ExecutionContext, urls: string[], trees: Record<string, string> = {}): string {
  const dir = tempDir(t);
  const m = join(dir, 'w.medo');
  mkdirSync(m);
  writeFileSync(join(m, 'SILO.json'), `${JSON.stringify({ silos: urls })}\n`);
  for (const [name, tree] of Object.entries(trees)) writeTreeptr(join(m, `${name}.treeptr`), { tree, size: 0, files: 0 });
  return m;
}

function newStore(t: ExecutionContext, urls: string[], options: RemoteStoreOptions = {}): { store: RemoteStore; cacheDir: string; events: RemoteEvent[] } {
  const cacheDir = join(tempDir(t), 'cache');
  const events: RemoteEvent[] = [];
  const store = new RemoteStore(urls, openCache(cacheDir), { retries: 2, backoffMs: 10, ...options, onEvent: (e) => events.push(e) });
  t.teardown(() => store.close());
  return { store, cacheDir, events };
}

/** Every object below `tree`, as git has them. */
function gitTreeObjects(repo: string, tree: string): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  const ids = [tree, ...gitLines(repo, ['ls-tree', '-r', '-t', '--format=%(objectname)', tree])];
  for (const o of gitObjects(repo)) if (ids.includes(o.oid)) out.set(o.oid, o.content);
  return out;
}

function medoCli(args: string[], env: NodeJS.ProcessEnv = {}): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [join(ROOT, 'bin', 'medo.js'), ...args], { encoding: 'utf8', env: { ...process.env, CI: '1', ...env }, timeout: 60_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

test.serial('medo prefetch from nginx, then the cache reads every object as git does; offline after the server stops', async (t) => {
  if (!existsSync(join(ROOT, 'dist', 'cli', 'medo', 'prefetch.js'))) t.fail("dist/ is not built: run 'npx tsc -p .'");
  const m = remoteMedo(t, [fx.nginx.url], { packed: fx.tree, loose: fx.looseTree });
  const cacheDir = join(tempDir(t), 'cache');
  const r = medoCli(['prefetch', '--cache-dir', cacheDir, m]);
  t.is(r.status, 0, r.stderr);
  t.regex(r.stdout, /^2 treeptr\(s\): \d+ objects/);
  const store = MedoDir.open(m).openStore({ cacheDir });
  try {
    for (const [repo, tree] of [[fx.oracle, fx.tree], [fx.looseOracle, fx.looseTree]] as const) {
      const expected = gitTreeObjects(repo, tree);
      let n = 0;
      for (const e of walkTree(store, tree)) {
        const o = store.read(e.oid)!;
        t.true(o.content.equals(expected.get(e.oid)!), e.path);
        t.is(o.type, e.mode === MODE_TREE ? 'tree' : 'blob');
        n++;
      }
      t.is(n, expected.size - 1);
    }
  } finally {
    store.close();
  }
  // The server goes away: everything is still readable, by the chain and by a RemoteStore.
  const status = medoCli(['cache', 'status', '--json', '--cache-dir', cacheDir]);
  t.is(status.status, 0, status.stderr);
  t.true((JSON.parse(status.stdout) as { objects: number }).objects > 20);
  await fx.nginx.stop();
  try {
    const again = medoCli(['prefetch', '--cache-dir', cacheDir, m]);
    t.is(again.status, 0, again.stderr);
    t.regex(again.stdout, /fetched 0 objects .* in 0 requests/);
  } finally {
    fx.nginx = await startNginx(fx.silo, join(fx.dir, 'nginx2'));
  }
});

test.serial('medo expand of a remote wedge from nginx matches the source tree byte for byte', (t) => {
  const m = remoteMedo(t, [fx.nginx.url], { packed: fx.tree });
  const dir = tempDir(t);
  const cacheDir = join(dir, 'cache');
  const dest = join(dir, 'dest');
  const r = medoCli(['expand', join(m, 'packed.treeptr'), dest], { MEDO_CACHE_DIR: cacheDir });
  t.is(r.status, 0, r.stderr);
  const diff = spawnSync('diff', ['-r', '--no-dereference', join(fx.dir, 'src'), dest], { encoding: 'utf8' });
  t.is(diff.status, 0, diff.stdout + diff.stderr);
  t.true(cacheStatus(cacheDir).objects > 20);
  // medo verify of the remote wedge (from the cache now, and with a fresh one: it fetches what it needs).
  for (const env of [{ MEDO_CACHE_DIR: cacheDir }, { MEDO_CACHE_DIR: join(dir, 'cache2') }]) {
    const v = medoCli(['verify', join(m, 'packed.treeptr'), dest], env);
    t.is(v.status, 0, v.stdout + v.stderr);
  }
});

test.serial('medo expand --cache-dir: the file workers read that cache too, not MEDO_CACHE_DIR', (t) => {
  // Found by bench/deltas.mjs: the workers opened the store with the default cache, so an expand big
  // enough for them failed ("the cache of its remote silos ... does not exist yet") or read another cache.
  const m = remoteMedo(t, [fx.nginx.url], { packed: fx.tree });
  const dir = tempDir(t);
  const cacheDir = join(dir, 'cache');
  const dest = join(dir, 'dest');
  const r = medoCli(['expand', '--threads', '2', '--cache-dir', cacheDir, join(m, 'packed.treeptr'), dest], { MEDO_CACHE_DIR: join(dir, 'not-this-one') });
  t.is(r.status, 0, r.stderr);
  const diff = spawnSync('diff', ['-r', '--no-dereference', join(fx.dir, 'src'), dest], { encoding: 'utf8' });
  t.is(diff.status, 0, diff.stdout + diff.stderr);
  t.false(existsSync(join(dir, 'not-this-one')));
});

test.serial('one small file out of a large pack costs kilobytes of Range requests, not the pack', async (t) => {
  const before = readLog(fx.nginx.log).length;
  const { store, cacheDir } = newStore(t, [fx.nginx.url]);
  const o = await store.ensure(fx.smallOid);
  t.is(o.content.toString(), 'small file 3\n');
  t.true(Silo.open(cacheDir).has(fx.smallOid));
  await new Promise((r) => setTimeout(r, 100)); // nginx logs after sending
  const lines = readLog(fx.nginx.log).slice(before);
  const total = lines.reduce((n, l) => n + l.bytes, 0);
  t.log(lines.map((l) => `${l.request} ${l.status} ${l.bytes} ${l.range}`).join('\n'));
  t.true(total < 16 << 10, `transferred ${total} bytes`);
  const packReads = lines.filter((l) => l.request.includes('.pack '));
  t.true(packReads.length >= 1);
  for (const l of packReads) {
    t.is(l.status, 206);
    t.regex(l.range, /^bytes=\d+-\d+$/);
  }
});

test.serial('a delta and its base chain come out of Range reads intact, and the bases are cached too', async (t) => {
  const { store, cacheDir } = newStore(t, [fx.nginx.url]);
  const o = await store.ensure(fx.deltaOid);
  t.true(o.content.equals(git(fx.oracle, ['cat-file', 'blob', fx.deltaOid])));
  t.true(cacheStatus(cacheDir).objects >= 2);
});

test('silos are tried in order: a 404 falls through to the next', async (t) => {
  const empty = join(tempDir(t), 'empty');
  Silo.init(empty).close();
  const a = await startTestServer(empty);
  t.teardown(() => a.close());
  const b = await startTestServer(fx.silo);
  t.teardown(() => b.close());
  const { store } = newStore(t, [a.url, b.url]);
  const o = await store.ensure(fx.smallOid);
  t.is(o.content.toString(), 'small file 3\n');
  t.true(a.requests.some((r) => r.url.startsWith('/objects/')));
});

test('a server that corrupts one object: detected, retried bypassing caches, never served or cached', async (t) => {
  const loose = gitTreeObjects(fx.looseOracle, fx.looseTree);
  const victim = [...loose.keys()].find((o) => loose.get(o)!.toString() === 'loose a\n')!;
  const bad = await startTestServer(fx.silo, (_req, res, body, path) => {
    if (path !== `objects/${victim.slice(0, 2)}/${victim.slice(2)}.gz` || body === undefined) return false;
    const wrong = gzipSync(Buffer.from('loose A\n'));
    res.writeHead(200, { 'content-length': String(wrong.length) }).end(wrong);
    return true;
  });
  t.teardown(() => bad.close());
  const { store, cacheDir, events } = newStore(t, [bad.url]);
  const err = await t.throwsAsync(store.ensure(victim));
  t.is((err as { code?: string }).code, 'ERR_OBJECT_CORRUPT');
  t.regex(err!.message, new RegExp(`${bad.url}objects/`));
  const mismatches = events.filter((e) => e.kind === 'mismatch');
  t.is(mismatches.length, 2);
  const asked = bad.requests.filter((r) => r.url.includes(victim.slice(2)));
  t.is(asked.length, 2);
  t.is(asked[0]!.cacheControl, undefined);
  t.is(asked[1]!.cacheControl, 'no-cache');
  t.regex(asked[1]!.url, /\?medo-nocache=/);
  t.false(Silo.open(cacheDir).has(victim));
  // The other objects of that server are fine; a good silo listed next answers for the bad one.
  const good = await startTestServer(fx.silo);
  t.teardown(() => good.close());
  const second = newStore(t, [bad.url, good.url]);
  t.is((await second.store.ensure(victim)).content.toString(), 'loose a\n');
  t.true(second.events.some((e) => e.kind === 'fallthrough'));
});

test('corrupted bytes in pack ranges: detected, retried bypassing caches, never cached', async (t) => {
  for (const where of ['zlib', 'header'] as const) {
    const bad = await startTestServer(fx.silo, (req, res, body, path, headers) => {
      if (!path.endsWith('.pack') || body === undefined || req.headers.range === undefined) return false;
      const wrong = Buffer.from(body);
      // The zlib stream's last bytes (its adler32), or the entry header's type bits.
      const i = where === 'zlib' ? wrong.length - 3 : 0;
      wrong[i] = wrong[i]! ^ (where === 'zlib' ? 0x01 : 0x70);
      res.writeHead(206, { 'content-range': headers['content-range']!, 'content-length': String(wrong.length) }).end(wrong);
      return true;
    });
    t.teardown(() => bad.close());
    const { store, cacheDir, events } = newStore(t, [bad.url]);
    const err = await t.throwsAsync(store.ensure(fx.smallOid));
    t.true(['ERR_OBJECT_CORRUPT', 'ERR_PACK_CORRUPT'].includes((err as { code?: string }).code!), err!.message);
    t.true(events.some((e) => e.kind === 'mismatch'), where);
    const ranged = bad.requests.filter((q) => q.range !== undefined);
    t.is(ranged.length, 2, where);
    t.regex(ranged[1]!.url, /\?medo-nocache=/);
    t.false(Silo.open(cacheDir).has(fx.smallOid));
    // Batched (prefetch): the same, and no object of the batch that came out wrong is in the cache.
    const batch = newStore(t, [bad.url]);
    await t.throwsAsync(prefetch(batch.store, [fx.tree]));
    const cached = Silo.open(batch.cacheDir);
    for (const [oid, content] of gitTreeObjects(fx.oracle, fx.tree)) {
      if (cached.has(oid)) t.true(cached.read(oid)!.content.equals(content), oid);
    }
  }
});

test('a server that stalls: a timeout error, not a hang', async (t) => {
  const stall = await startTestServer(fx.silo, () => true); // never answers
  t.teardown(() => stall.close());
  const { store, cacheDir } = newStore(t, [stall.url], { timeoutMs: 300 });
  const err = await t.throwsAsync(store.ensure(fx.smallOid));
  t.is((err as { code?: string }).code, 'ERR_REMOTE');
  t.regex(err!.message, /no response for 300 ms/);
  t.false(Silo.open(cacheDir).has(fx.smallOid));
});

test('a body that stalls halfway: a timeout error', async (t) => {
  const stall = await startTestServer(fx.silo, (_req, res, body, path) => {
    if (!path.startsWith('objects/') || body === undefined) return false;
    res.writeHead(200, { 'content-length': String(body.length) });
    res.write(body.subarray(0, 5));
    return true;
  });
  t.teardown(() => stall.close());
  const victim = [...gitTreeObjects(fx.looseOracle, fx.looseTree).keys()][0]!;
  const { store, cacheDir } = newStore(t, [stall.url], { timeoutMs: 300 });
  const err = await t.throwsAsync(store.ensure(victim));
  t.is((err as { code?: string }).code, 'ERR_REMOTE');
  t.false(Silo.open(cacheDir).has(victim));
});

test('a connection dropped mid-body is retried; if it keeps dropping, an error and nothing cached', async (t) => {
  let drops = 1;
  const server = await startTestServer(fx.silo, (_req, res, body, path) => {
    if (!path.startsWith('objects/') || body === undefined || drops === 0) return false;
    drops--;
    res.writeHead(200, { 'content-length': String(body.length) });
    res.write(body.subarray(0, 5), () => res.socket?.destroy());
    return true;
  });
  t.teardown(() => server.close());
  const victims = [...gitTreeObjects(fx.looseOracle, fx.looseTree).keys()];
  const { store, cacheDir } = newStore(t, [server.url]);
  const o = await store.ensure(victims[0]!);
  t.is(o.content.length > 0, true);
  t.is(server.requests.filter((r) => r.url.includes(victims[0]!.slice(2))).length, 2);
  drops = 100;
  const err = await t.throwsAsync(store.ensure(victims[1]!));
  t.is((err as { code?: string }).code, 'ERR_REMOTE');
  t.regex(err!.message, /dropped|aborted|socket hang up|ECONNRESET/);
  t.false(Silo.open(cacheDir).has(victims[1]!));
});

test('500 then recovery: retried with backoff and served', async (t) => {
  let fails = 2;
  const server = await startTestServer(fx.silo, (_req, res) => {
    if (fails === 0) return false;
    fails--;
    res.writeHead(500).end('oops');
    return true;
  });
  t.teardown(() => server.close());
  const { store } = newStore(t, [server.url]);
  t.is((await store.ensure(fx.smallOid)).content.toString(), 'small file 3\n');
  t.is(server.requests[0]!.url, '/pack/packs');
  t.is(server.requests[2]!.url, '/pack/packs');
});

test('a dead server: medo prefetch fails with a clear error and exit 3', (t) => {
  const m = remoteMedo(t, ['http://127.0.0.1:9/silo/'], { packed: fx.tree });
  const r = medoCli(['prefetch', '--cache-dir', join(tempDir(t), 'cache'), '--timeout', '2', m]);
  t.is(r.status, 3);
  t.regex(r.stderr, /^medo: http:\/\/127\.0\.0\.1:9\/silo\/pack\/packs: .*ECONNREFUSED/m);
});

test('the cache limit holds while reading a tree larger than it; what is pinned stays', async (t) => {
  const server = await startTestServer(fx.silo);
  t.teardown(() => server.close());
  const limit = 64 << 10; // the 4 MiB file alone is larger (and incompressible)
  const { store, cacheDir, events } = newStore(t, [server.url], { maxCacheBytes: limit });
  const blobs = [...gitTreeObjects(fx.oracle, fx.tree).keys()];
  for (const oid of blobs) {
    store.pinned.add(oid);
    await store.ensure(oid);
    store.pinned.delete(oid);
    store.trim();
    t.true(cacheStatus(cacheDir).objectBytes <= limit || Silo.open(cacheDir).has(oid), 'over the limit only by the object just read');
  }
  store.trim();
  t.true(cacheStatus(cacheDir).objectBytes <= limit);
  t.true(events.some((e) => e.kind === 'evicted'));
  const clean = medoCli(['cache', 'clean', '--cache-dir', cacheDir, '--max-size', '0']);
  t.is(clean.status, 0, clean.stderr);
  t.is(cacheStatus(cacheDir).objects, 0);
});

test('prefetch of a whole wedge through the library: parallel, every object once', async (t) => {
  const server = await startTestServer(fx.silo);
  t.teardown(() => server.close());
  const { store } = newStore(t, [server.url]);
  const r = await prefetch(store, [fx.tree, fx.looseTree]);
  const expected = gitTreeObjects(fx.oracle, fx.tree).size + gitTreeObjects(fx.looseOracle, fx.looseTree).size;
  t.is(r.objects, expected);
  t.is(new Set(server.requests.filter((q) => q.url.includes('.idx')).map((q) => q.url)).size,
    server.requests.filter((q) => q.url.includes('.idx')).length, 'each .idx fetched once');
  // The blobs of one tree share Range requests: far fewer requests than packed objects.
  const ranged = server.requests.filter((q) => q.range !== undefined).length;
  t.true(ranged < gitTreeObjects(fx.oracle, fx.tree).size / 2, `${ranged} range requests`);
  t.log(`${ranged} range requests for ${gitTreeObjects(fx.oracle, fx.tree).size} packed objects`);
});


test('hostile packs: REF_DELTAs naming each other across packs, or themselves, fail instead of hanging', async (t) => {
  const silo = join(tempDir(t), 'hostile');
  Silo.init(silo).close();
  const x = hashObject('blob', Buffer.from('x\n'));
  const y = hashObject('blob', Buffer.from('y\n'));
  const z = hashObject('blob', Buffer.from('z\n'));
  const d = delta(2, 2, insertOp('q\n'));
  const put = (entries: Entry[]): void => {
    const p = buildPack(entries);
    const name = `pack-${p.pack.subarray(p.pack.length - 20).toString('hex')}`;
    writeFileSync(join(silo, 'pack', `${name}.pack`), p.pack);
    writeFileSync(join(silo, 'pack', `${name}.idx`), p.idx);
  };
  put([{ oid: x, refDelta: y, delta: d }]);
  put([{ oid: y, refDelta: x, delta: d }]);
  put([{ oid: z, refDelta: z, delta: d }]);
  writePackList(silo);
  const server = await startTestServer(silo);
  t.teardown(() => server.close());
  const { store, cacheDir } = newStore(t, [server.url]);
  for (const oid of [x, z]) {
    const err = await t.throwsAsync(store.ensure(oid));
    t.is((err as { code?: string }).code, 'ERR_PACK_CORRUPT', err!.message);
    t.false(Silo.open(cacheDir).has(oid));
  }
  // Both ends of the cycle asked at once must not wait on each other.
  const fresh = newStore(t, [server.url]);
  const both = await Promise.allSettled([fresh.store.ensure(x), fresh.store.ensure(y)]);
  t.deepEqual(both.map((r) => r.status), ['rejected', 'rejected']);
});

test('a dead first silo: the next one answers, and the dead one is not asked again for every object', async (t) => {
  const good = await startTestServer(fx.silo);
  t.teardown(() => good.close());
  const down = await startTestServer(fx.silo, (_req, res) => {
    res.writeHead(503).end();
    return true;
  });
  t.teardown(() => down.close());
  const { store, events } = newStore(t, [down.url, good.url]);
  const r = await prefetch(store, [fx.tree]);
  t.is(r.objects, gitTreeObjects(fx.oracle, fx.tree).size);
  t.true(events.filter((e) => e.kind === 'fallthrough').length >= 1);
  t.is(down.requests.length, 3, 'the pack list, retried twice, then the silo counts as down');
  t.is(good.requests.filter((q) => q.url === '/pack/packs').length, 1);
});

test('--whole-packs: one download, every object checked, installed in the cache; a corrupt pack falls back to ranges', async (t) => {
  const server = await startTestServer(fx.silo);
  t.teardown(() => server.close());
  const { store, cacheDir, events } = newStore(t, [server.url], { wholePacks: true });
  await prefetch(store, [fx.tree]);
  const status = cacheStatus(cacheDir);
  t.is(status.packs, 1);
  t.is(status.objects, 0);
  t.is(server.requests.filter((r) => r.url.endsWith('.pack')).length, 1);
  t.is(server.requests.filter((r) => r.range !== undefined).length, 0);
  t.true(events.some((e) => e.kind === 'pack'));
  const chain = MedoDir.open(remoteMedo(t, [server.url])).openStore({ cacheDir });
  for (const [oid, content] of gitTreeObjects(fx.oracle, fx.tree)) t.true(chain.read(oid)!.content.equals(content), oid);
  chain.close();

  // A server that corrupts whole-pack downloads but serves ranges right.
  const bad = await startTestServer(fx.silo, (req, res, body, path) => {
    if (!path.endsWith('.pack') || body === undefined || req.headers.range !== undefined) return false;
    const wrong = Buffer.from(body);
    const mid = wrong.length >> 1;
    wrong[mid] = wrong[mid]! ^ 0xff;
    res.writeHead(200, { 'content-length': String(wrong.length) }).end(wrong);
    return true;
  });
  t.teardown(() => bad.close());
  const second = newStore(t, [bad.url], { wholePacks: true });
  const r = await prefetch(second.store, [fx.tree]);
  t.is(r.objects, gitTreeObjects(fx.oracle, fx.tree).size);
  t.is(cacheStatus(second.cacheDir).packs, 0);
  t.true(second.events.some((e) => e.kind === 'pack-failed'));
  t.true(bad.requests.some((q) => q.range !== undefined));
});

test('a cached object damaged since it was written is dropped and fetched again', async (t) => {
  const server = await startTestServer(fx.silo);
  t.teardown(() => server.close());
  const { store, cacheDir } = newStore(t, [server.url]);
  await store.ensure(fx.smallOid);
  const file = Silo.open(cacheDir).loose.path(cacheDir, fx.smallOid);
  writeFileSync(file, gzipSync(Buffer.from('damaged\n')));
  // A new store (a later command) over the same cache.
  const fresh = new RemoteStore([server.url], openCache(cacheDir), { retries: 0 });
  t.teardown(() => fresh.close());
  t.is((await fresh.ensure(fx.smallOid)).content.toString(), 'small file 3\n');
  t.true(Silo.open(cacheDir).readLoose(fx.smallOid)!.content.equals(Buffer.from('small file 3\n')));
});

test('a server that ignores Range still works (it only costs the bytes up to the entry)', async (t) => {
  const server = await startTestServer(fx.silo, (req, res, body, path) => {
    if (body === undefined || req.headers.range === undefined) return false;
    const whole = readFileSync(join(fx.silo, path));
    res.writeHead(200, { 'content-length': String(whole.length) }).end(whole);
    return true;
  });
  t.teardown(() => server.close());
  const { store } = newStore(t, [server.url]);
  t.is((await store.ensure(fx.smallOid)).content.toString(), 'small file 3\n');
  t.true((await store.ensure(fx.deltaOid)).content.equals(git(fx.oracle, ['cat-file', 'blob', fx.deltaOid])));
});
