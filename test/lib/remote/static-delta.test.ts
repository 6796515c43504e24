// Static deltas end to end: `silo delta FROM TO` on the server's silo, real nginx serving it, and `medo
// expand` / `medo prefetch` of TO on a client whose cache holds FROM: the delta is fetched instead of the
// changed objects, every file comes out as the source has it, and wrong, truncated or foreign deltas
// fall back to per-object reads without a wrong byte entering the cache.
import test, { type ExecutionContext } from 'ava';
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { openUnindexedPack } from '../../../lib/git/unindexed-pack.js';
import { medoAdd } from '../../../lib/medo/ingest/add.js';
import { readTreeptr } from '../../../lib/medo/treeptr.js';
import { native } from '../../../lib/native.js';
import { hashObject } from '../../../lib/oid.js';
import { parseDeltaIndex, parseDeltasTo, readDeltaIndex, writeStaticDelta } from '../../../lib/silo/static-delta.js';
import { Silo } from '../../../lib/silo/silo.js';
import { verifySilo } from '../../../lib/silo/verify-silo.js';
import { git, initRepo, sharedTempDir, tempDir } from '../../helpers/git-fixture.js';
import { makeMedoLayout } from '../../helpers/medo-fixture.js';
import { readLog, startNginx, type Nginx } from '../../helpers/silo-servers.js';

const ROOT = fileURLToPath(new URL('../../..', import.meta.url));
const MEDO = join(ROOT, 'bin', 'medo.js');
const SILO = join(ROOT, 'bin', 'silo.js');

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

/** Real text (TypeScript's declaration files), a few lines changed per version, one file new in each. */
function writeVersion(dir: string, n: number): void {
  const lib = join(ROOT, 'node_modules', 'typescript', 'lib');
  const random = rng(7 + n);
  mkdirSync(join(dir, 'lib'), { recursive: true });
  for (const name of readdirSync(lib).filter((f) => f.endsWith('.d.ts')).sort().slice(0, 60)) {
    const lines = readFileSync(join(lib, name), 'latin1').split('\n');
    for (let k = 0; k < n; k++) if (random() < 0.5) lines.splice(Math.floor(random() * lines.length), 1, `// v${n}.${k}`);
    writeFileSync(join(dir, 'lib', name), lines.join('\n'), 'latin1');
  }
  writeFileSync(join(dir, `NEW-${n}`), `only in version ${n}\n`.repeat(50));
  // The same link in every version, its own mtime moved (as a package's are): an upgrade in place keeps
  // it and fixes the time without the blob, which it never fetches.
  symlinkSync('lib', join(dir, 'link-to-lib'));
  execFileSync('touch', ['-h', '-d', `@${1_700_000_000 + n}`, join(dir, 'link-to-lib')]);
}

function run(bin: string, args: string[]): { status: number | null; stdout: string; stderr: string } {
  // The cache through MEDO_CACHE_DIR: expand's --cache-dir is not yet passed to its local read.
  const at = args.indexOf('--cache-dir');
  const env = { ...process.env, CI: '1', ...(at >= 0 ? { MEDO_CACHE_DIR: args[at + 1] } : {}) };
  if (at >= 0) args = [...args.slice(0, at), ...args.slice(at + 2)];
  const r = spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', env, maxBuffer: 1 << 26 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

interface Fx {
  dir: string;
  silo: string;
  /** Server-side treeptrs. */
  ptr: string[];
  src: string[];
  nginx: Nginx;
  deltaPack: string;
}

let fx: Fx;

test.before(async () => {
  const dir = sharedTempDir('medo-static-delta-');
  const layout = makeMedoLayout(dir);
  const src: string[] = [];
  const ptr: string[] = [];
  for (const n of [1, 2]) {
    const s = join(dir, `v${n}`);
    writeVersion(s, n);
    src.push(s);
    const p = join(layout.medoDir, 'ts', `${n}.0.treeptr`);
    await medoAdd({ src: s, out: p, threads: 0, deltaBase: false });
    ptr.push(p);
  }
  const r = run(SILO, ['delta', ptr[0]!, ptr[1]!, '--json']);
  if (r.status !== 0) throw new Error(r.stderr);
  const deltaPack = (JSON.parse(r.stdout) as { entry: { pack: string } }).entry.pack;
  const nginx = await startNginx(layout.siloDir, join(dir, 'nginx'));
  fx = { dir, silo: layout.siloDir, ptr, src, nginx, deltaPack };
});

test.after.always(async () => {
  await fx?.nginx.stop();
  if (fx !== undefined) rmSync(fx.dir, { recursive: true, force: true });
});

/** A client medo directory naming `url`, with the server's treeptrs, in a temp directory of its own. */
function clientDir(t: ExecutionContext, url: string): { root: string; medo: string; ptr: string[] } {
  const root = tempDir(t);
  const medo = join(root, 'c.medo');
  mkdirSync(join(medo, 'ts'), { recursive: true });
  writeFileSync(join(medo, 'SILO.json'), `${JSON.stringify({ silos: [url] })}\n`);
  const ptr = fx.ptr.map((p, i) => {
    const to = join(medo, 'ts', `${i + 1}.0.treeptr`);
    cpSync(p, to);
    return to;
  });
  return { root, medo, ptr };
}

/** A client medo directory naming `url`, with the server's treeptrs, and a cache holding version 1. */
function client(t: ExecutionContext, url: string): { medo: string; cache: string; ptr: string[] } {
  const { root, medo, ptr } = clientDir(t, url);
  const cache = join(root, 'cache');
  const warm = run(MEDO, ['prefetch', '--no-static-delta', '--cache-dir', cache, ptr[0]!]);
  t.is(warm.status, 0, warm.stderr);
  return { medo, cache, ptr };
}

function sameTree(t: ExecutionContext, got: string, want: string): void {
  const repo = initRepo(join(got, '..', `judge-${Math.random().toString(36).slice(2)}.git`), { bare: true });
  const tree = (d: string): string => {
    git(d, ['--git-dir', repo, '--work-tree', d, 'add', '-A']);
    return git(d, ['--git-dir', repo, '--work-tree', d, 'write-tree']).toString().trim();
  };
  t.is(tree(got), tree(want), `${got} holds what ${want} holds`);
}

const bytesFor = (log: ReturnType<typeof readLog>, re: RegExp): number => log.filter((l) => re.test(l.request)).reduce((n, l) => n + l.bytes, 0);

test('silo delta writes a thin pack of what TO lacks and lists it; git completes it from FROM', (t) => {
  const index = readDeltaIndex(fx.silo);
  t.is(index.deltas.length, 1);
  const e = index.deltas[0]!;
  t.is(e.from, readTreeptr(fx.ptr[0]!).tree);
  t.is(e.to, readTreeptr(fx.ptr[1]!).tree);
  t.is(e.toMeta, readTreeptr(fx.ptr[1]!).meta);
  t.deepEqual(parseDeltaIndex(JSON.stringify(index), 'x'), index);
  // git index-pack --fix-thin in a repository holding FROM resolves every entry.
  const repo = initRepo(join(tempDir(t), 'judge.git'), { bare: true });
  for (const n of readdirSync(join(fx.silo, 'pack')).filter((f) => /\.(pack|idx)$/.test(f))) cpSync(join(fx.silo, 'pack', n), join(repo, 'objects', 'pack', n));
  const out = git(repo, ['index-pack', '--stdin', '--fix-thin', '-v'], readFileSync(join(fx.silo, 'derived', 'deltas', `${e.pack}.pack`)));
  t.truthy(out);
  git(repo, ['fsck', '--full', '--no-dangling']);
  t.is(git(repo, ['cat-file', '-t', e.to]).toString().trim(), 'tree');
  // The verify of the silo is not disturbed by derived/.
  t.deepEqual(verifySilo(fx.silo).problems, []);
});

test('expand of TO on a host holding FROM fetches the static delta, not the objects', async (t) => {
  const c = client(t, fx.nginx.url);
  const before = readLog(fx.nginx.log).length;
  const out = join(c.medo, '..', 'out2');
  const r = run(MEDO, ['expand', '--cache-dir', c.cache, c.ptr[1]!, out]);
  t.is(r.status, 0, r.stderr);
  sameTree(t, out, fx.src[1]!);
  const log = readLog(fx.nginx.log).slice(before);
  t.true(log.some((l) => l.request.includes(`derived/deltas/${fx.deltaPack}.pack`) && l.status === 200), 'the delta pack was fetched');
  t.false(log.some((l) => /\/pack\/pack-.*\.pack/.test(l.request)), `no per-object Range reads of the silo's packs: ${log.map((l) => l.request).join(', ')}`);
  // The listing of deltas into TO and the pack, nothing else of derived/: the client indexes the pack itself.
  t.deepEqual(log.filter((l) => l.request.includes('derived/')).map((l) => l.request.replace(/^.*derived\/deltas\//, '').replace(/ .*$/, '')).sort(),
    [`${fx.deltaPack}.pack`, `${readTreeptr(fx.ptr[1]!).tree}.list`]);
  const moved = log.reduce((n, l) => n + l.bytes, 0);
  const deltaBytes = bytesFor(log, /derived\/deltas\//);
  t.true(moved - deltaBytes < 4096, `beyond the delta: ${moved - deltaBytes} bytes`);
  t.deepEqual(verifySilo(c.cache).problems, []);
  // Whole entries went into the cache as their zlib streams rewrapped: gzip itself checks each file's
  // CRC and length.
  const cached = readdirSync(join(c.cache, 'objects'), { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.gz')).map((f) => join(c.cache, 'objects', f));
  t.true(cached.length >= 10, `${cached.length} objects cached`);
  t.is(spawnSync('gzip', ['-t', ...cached], { encoding: 'utf8' }).status, 0, 'gzip -t of every cached object');
});

test('prefetch says what the static delta delivered; --no-static-delta fetches object by object', async (t) => {
  const c = client(t, fx.nginx.url);
  const r = run(MEDO, ['prefetch', '--cache-dir', c.cache, c.ptr[1]!]);
  t.is(r.status, 0, r.stderr);
  t.regex(r.stdout, /from 1 static delta/);
  const c2 = client(t, fx.nginx.url);
  const before = readLog(fx.nginx.log).length;
  const r2 = run(MEDO, ['prefetch', '--no-static-delta', '--cache-dir', c2.cache, c2.ptr[1]!]);
  t.is(r2.status, 0, r2.stderr);
  // No static delta; derived/forms/ may be asked for a tarball (a 404 here), which is not one.
  t.false(readLog(fx.nginx.log).slice(before).some((l) => l.request.includes('derived/deltas/')));
});

test('a host without FROM fetches object by object; --have naming a version it lacks falls back too', async (t) => {
  const root = tempDir(t);
  const medo = join(root, 'c.medo');
  mkdirSync(medo);
  writeFileSync(join(medo, 'SILO.json'), `${JSON.stringify({ silos: [fx.nginx.url] })}\n`);
  const p2 = join(medo, '2.0.treeptr');
  cpSync(fx.ptr[1]!, p2);
  const before = readLog(fx.nginx.log).length;
  const out = join(root, 'out');
  const r = run(MEDO, ['expand', '--cache-dir', join(root, 'cache'), p2, out]);
  t.is(r.status, 0, r.stderr);
  sameTree(t, out, fx.src[1]!);
  t.false(readLog(fx.nginx.log).slice(before).some((l) => /derived\/deltas\/.*\.pack/.test(l.request)), 'no delta for a host without FROM');

  const out2 = join(root, 'out2');
  const r2 = run(MEDO, ['expand', '--cache-dir', join(root, 'cache2'), '--have', readTreeptr(fx.ptr[0]!).tree!, p2, out2]);
  t.is(r2.status, 0, r2.stderr);
  t.regex(r2.stderr, /static delta .*: \d+ objects taken from it; [1-9]\d* could not be .*fetched on their own/);
  sameTree(t, out2, fx.src[1]!);
  t.deepEqual(verifySilo(join(root, 'cache2')).problems, []);
});

for (const [name, spoil] of [
  ['flipped bytes', (b: Buffer): Buffer => { const c = Buffer.from(b); for (let i = 40; i < c.length - 30; i += 97) c[i] ^= 0x55; return c; }],
  ['truncated', (b: Buffer): Buffer => b.subarray(0, Math.floor(b.length / 2))],
] as const) {
  test(`a static delta with ${name} is refused; the objects come one by one, intact`, async (t) => {
    const root = tempDir(t);
    const copy = join(root, 'silo');
    cpSync(fx.silo, copy, { recursive: true });
    const file = join(copy, 'derived', 'deltas', `${fx.deltaPack}.pack`);
    const bad = spoil(readFileSync(file));
    rmSync(file, { force: true });
    writeFileSync(file, bad);
    const server = await startNginx(copy, join(root, 'nginx'));
    try {
      const c = client(t, server.url);
      const out = join(c.medo, '..', 'out');
      const r = run(MEDO, ['expand', '--cache-dir', c.cache, c.ptr[1]!, out]);
      t.is(r.status, 0, r.stderr);
      t.regex(r.stderr, /static delta .*fetching object by object/);
      sameTree(t, out, fx.src[1]!);
      t.deepEqual(verifySilo(c.cache).problems, []);
    } finally {
      await server.stop();
    }
  });
}

test('a static delta built against another FROM: bases are missing, nothing wrong is cached, the expand is exact', async (t) => {
  // A server whose index claims the delta 1 -> 2 starts from a version the client holds, but the pack
  // was made from an unrelated version 0.
  const dir = tempDir(t);
  const layout = makeMedoLayout(dir);
  const v0 = join(dir, 'v0');
  writeVersion(v0, 5);
  const p0 = join(layout.medoDir, '0.treeptr');
  await medoAdd({ src: v0, out: p0, threads: 0 });
  for (const n of readdirSync(join(fx.silo, 'pack'))) if (/\.(pack|idx)$/.test(n)) cpSync(join(fx.silo, 'pack', n), join(layout.siloDir, 'pack', n));
  spawnSync(process.execPath, [SILO, 'publish', layout.siloDir]);
  const s = Silo.open(layout.siloDir);
  const fake = writeStaticDelta(s, { tree: readTreeptr(p0).tree! }, { tree: readTreeptr(fx.ptr[1]!).tree! });
  s.close();
  // The listing and the pack's name say FROM is version 1.
  const [from0, from1, to] = [readTreeptr(p0).tree!, readTreeptr(fx.ptr[0]!).tree!, readTreeptr(fx.ptr[1]!).tree!];
  const deltas = join(layout.siloDir, 'derived', 'deltas');
  renameSync(join(deltas, `${from0}-${to}.pack`), join(deltas, `${from1}-${to}.pack`));
  const listing = join(deltas, `${to}.list`);
  writeFileSync(listing, readFileSync(listing, 'utf8').replace(from0, from1));
  const nginx = await startNginx(layout.siloDir, join(dir, 'nginx'));
  try {
    const c = client(t, nginx.url);
    const out = join(c.medo, '..', 'out');
    const r = run(MEDO, ['expand', '--cache-dir', c.cache, c.ptr[1]!, out]);
    t.is(r.status, 0, r.stderr);
    t.true(fake.deltas > 0, 'the fake delta does use bases of version 0');
    // Its whole entries are still right, and are taken; the deltas are fetched on their own.
    t.regex(r.stderr, /static delta .*: \d+ objects taken from it; [1-9]\d* could not be \(the first: .*\), fetched on their own/);
    sameTree(t, out, fx.src[1]!);
    t.deepEqual(verifySilo(c.cache).problems, []);
  } finally {
    await nginx.stop();
  }
});

test('bad delta indexes are typed errors naming the field', (t) => {
  for (const [text, re] of [
    ['nope', /not valid JSON/],
    ['{"format": "x", "version": 1, "deltas": []}', /"format"/],
    ['{"format": "medo-static-deltas", "version": 2, "deltas": []}', /version 2/],
    ['{"format": "medo-static-deltas", "version": 1, "deltas": [{"from": "x"}]}', /deltas\[0\]\.from/],
    [`{"format": "medo-static-deltas", "version": 1, "deltas": [{"from": "${'a'.repeat(40)}", "to": "${'b'.repeat(40)}", "pack": "${'b'.repeat(40)}-${'a'.repeat(40)}", "packBytes": 1, "idxBytes": 1, "objects": 1}]}`, /deltas\[0\]\.pack/],
    [`{"format": "medo-static-deltas", "version": 1, "deltas": [{"from": "${'a'.repeat(40)}", "to": "${'b'.repeat(40)}", "pack": "../../etc/passwd", "packBytes": 1, "idxBytes": 1, "objects": 1}]}`, /deltas\[0\]\.pack/],
  ] as const) {
    const e = t.throws(() => parseDeltaIndex(text, 'idx.json'));
    t.is((e as { code?: string }).code, 'ERR_SILO_CORRUPT');
    t.regex(e!.message, re);
  }
  const id = 'c'.repeat(40);
  t.deepEqual(parseDeltasTo(`# medo deltas v1\nD ${id} 500\n`, 'to.list'), new Map([[id, 500]]));
  for (const [text, re] of [
    ['', /not a medo delta listing/],
    ['{"from":{}}', /not a medo delta listing/],
    [`# medo deltas v1\nD ../x 500`, /line 2/],
    [`# medo deltas v1\nD ${id} -1`, /line 2/],
    [`# medo deltas v1\nD ${id} 5`, /line 2/],
    [`# medo deltas v1\n\nD ${id} 500 extra`, /line 3/],
  ] as const) {
    const e = t.throws(() => parseDeltasTo(text, 'to.list'));
    t.is((e as { code?: string }).code, 'ERR_SILO_CORRUPT');
    t.regex(e!.message, re);
  }
});

/** A client with an empty cache and DEST holding version 1, expanded object by object from the server. */
async function upgradeCase(t: ExecutionContext): Promise<{ medo: string; ptr: string[]; out: string; cache: string }> {
  const { root, medo, ptr } = clientDir(t, fx.nginx.url);
  const out = join(root, 'wedge');
  const first = run(MEDO, ['expand', '--no-static-delta', '--cache-dir', join(root, 'cache1'), ptr[0]!, out]);
  t.is(first.status, 0, first.stderr);
  return { medo, ptr, out, cache: join(root, 'cache2') };
}

/** Files of `dir` by path: inode and content, to tell a file left alone from one rewritten. */
function inodes(dir: string): Map<string, { ino: number; content: Buffer }> {
  const m = new Map<string, { ino: number; content: Buffer }>();
  for (const e of readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (!e.isFile()) continue;
    const p = join(e.parentPath, e.name);
    m.set(p.slice(dir.length + 1), { ino: statSync(p).ino, content: readFileSync(p) });
  }
  return m;
}

test('an expanded FROM upgraded in place with an empty cache: FROM is known by its id, only the static delta moves, only changed files are written', async (t) => {
  const c = await upgradeCase(t);
  const before = inodes(c.out);
  const mark = readLog(fx.nginx.log).length;
  const r = run(MEDO, ['expand', '--delete', '--cache-dir', c.cache, c.ptr[1]!, c.out]);
  t.is(r.status, 0, r.stderr);
  t.regex(r.stderr, new RegExp(`already holds .* \\(tree ${readTreeptr(fx.ptr[0]!).tree}\\)`));
  sameTree(t, c.out, fx.src[1]!);
  const log = readLog(fx.nginx.log).slice(mark);
  t.true(log.some((l) => l.request.includes(`derived/deltas/${fx.deltaPack}.pack`) && l.status === 200), 'the delta pack was fetched');
  // Nothing comes on its own, the new sidecar neither: its delta base is FROM's sidecar, which this host
  // never had, but the scan of the directory makes it byte for byte (its times were set to the
  // nanosecond). Without the native helper, times are kept to the microsecond and that one object
  // is fetched alone.
  const ranges = log.filter((l) => /\/pack\/pack-.*\.pack|\/objects\//.test(l.request));
  if (native?.setTimes !== undefined) {
    t.notRegex(r.stderr, /warning/);
    t.deepEqual(ranges.map((l) => l.request), [], 'nothing beyond the delta');
  } else {
    t.regex(r.stderr, new RegExp(`needs base ${readTreeptr(fx.ptr[0]!).meta}`));
    t.true(ranges.length <= 1, `one Range read at most: ${log.map((l) => l.request).join(', ')}`);
    t.true(bytesFor(ranges, /./) < 4096, `objects read beyond the delta: ${bytesFor(ranges, /./)} bytes`);
  }
  // Same content in both versions: the very same file, never rewritten; changed ones are new files.
  const after = inodes(c.out);
  let same = 0;
  let changed = 0;
  for (const [p, was] of before) {
    const now = after.get(p);
    if (now === undefined) continue;
    if (now.content.equals(was.content)) {
      t.is(now.ino, was.ino, `${p} was left alone`);
      same++;
    } else changed++;
  }
  t.true(same > 0 && changed > 0, `${same} files the same, ${changed} changed`);
  // Left alone, or only their mtime set (the two versions' sources were written at different times);
  // and the link, whose time moved.
  const [, fixed, alone] = /(\d+) metadata fixed, (\d+) left alone/.exec(r.stdout) ?? [];
  t.is(Number(fixed) + Number(alone), same + 1, r.stdout);
  t.regex(r.stdout, new RegExp(`${changed} replaced`));
  t.deepEqual(verifySilo(c.cache).problems, []);
});

test('an old copy that is not FROM any more (a file moved, one edited): what it holds is taken from it, never fetched; the expand is exact', async (t) => {
  const c = await upgradeCase(t);
  const v2 = inodes(fx.src[1]!);
  const v1 = inodes(c.out);
  // A file both versions hold alike goes elsewhere; its content must still come out at its own path.
  const kept = [...v1.keys()].find((p) => p.startsWith('lib/') && v2.get(p)?.content.equals(v1.get(p)!.content))!;
  t.truthy(kept);
  renameSync(join(c.out, kept), join(c.out, 'moved-away'));
  writeFileSync(join(c.out, 'lib', 'edited-here'), 'not in any version\n');
  const mark = readLog(fx.nginx.log).length;
  const r = run(MEDO, ['expand', '--delete', '--cache-dir', c.cache, c.ptr[1]!, c.out]);
  t.is(r.status, 0, r.stderr);
  t.regex(r.stderr, /taken from .* itself, not fetched: \d+ tree\(s\), 1 file\(s\) it holds elsewhere/);
  sameTree(t, c.out, fx.src[1]!);
  // No static delta starts from this tree: the changed objects come one by one, and only those.
  const log = readLog(fx.nginx.log).slice(mark);
  t.false(log.some((l) => l.request.includes(`derived/deltas/${fx.deltaPack}.pack`)));
  const fresh = run(MEDO, ['expand', '--no-static-delta', '--cache-dir', join(c.cache, '..', 'cache3'), c.ptr[1]!, join(c.out, '..', 'fresh')]);
  t.is(fresh.status, 0, fresh.stderr);
  const freshLog = readLog(fx.nginx.log).slice(mark + log.length);
  const bytes = (l: typeof log): number => bytesFor(l, /\/pack\/pack-|\/objects\//);
  t.true(bytes(log) < bytes(freshLog), `upgrade moved ${bytes(log)} object bytes, a fresh expand ${bytes(freshLog)}`);
  t.deepEqual(verifySilo(c.cache).problems, []);
});

test('--have DIR: a new directory from a version expanded elsewhere, with an empty cache, takes the static delta and the old files', async (t) => {
  const c = await upgradeCase(t);
  const mark = readLog(fx.nginx.log).length;
  const out = join(c.out, '..', 'next');
  const r = run(MEDO, ['expand', '--have', c.out, '--cache-dir', c.cache, c.ptr[1]!, out]);
  t.is(r.status, 0, r.stderr);
  t.regex(r.stderr, new RegExp(`already holds .* \\(tree ${readTreeptr(fx.ptr[0]!).tree}\\)`));
  t.regex(r.stderr, /taken from .* itself, not fetched: \d+ tree\(s\), [1-9]\d* file\(s\)/);
  sameTree(t, out, fx.src[1]!);
  sameTree(t, c.out, fx.src[0]!);
  const log = readLog(fx.nginx.log).slice(mark);
  t.true(log.some((l) => l.request.includes(`derived/deltas/${fx.deltaPack}.pack`) && l.status === 200), 'the delta pack was fetched');
  const ranges = log.filter((l) => /\/pack\/pack-.*\.pack/.test(l.request));
  t.true(ranges.length <= 1 && bytesFor(ranges, /./) < 4096, `beyond the delta: ${log.map((l) => l.request).join(', ')}`);
  t.deepEqual(verifySilo(c.cache).problems, []);
  const two = run(MEDO, ['expand', '--have', c.out, '--have', out, c.ptr[1]!, join(out, '..', 'x')]);
  t.is(two.status, 2, two.stderr);
  t.regex(two.stderr, /at most one directory/);
});

test('silo delta: a file new in TO, split out of a FROM file of another name, is a delta of that file', async (t) => {
  const dir = tempDir(t);
  const layout = makeMedoLayout(dir);
  const lib = join(ROOT, 'node_modules', 'typescript', 'lib');
  const names = readdirSync(lib).filter((f) => f.endsWith('.d.ts')).sort().slice(0, 20);
  const kin = names.map((n) => readFileSync(join(lib, n))).reduce((a, b) => (b.length > a.length && b.length < 1 << 20 ? b : a));
  const ptr: string[] = [];
  for (const n of [1, 2]) {
    const s = join(dir, `v${n}`);
    mkdirSync(join(s, 'lib'), { recursive: true });
    for (const name of names) cpSync(join(lib, name), join(s, 'lib', name));
    writeFileSync(join(s, 'lib', 'compiler.d.ts'), kin);
    if (n === 2) writeFileSync(join(s, 'lib', 'split-out.d.ts'), Buffer.concat([Buffer.from('// split out of the compiler\n'), kin.subarray(0, Math.floor(kin.length * 0.8))]));
    ptr.push(join(layout.medoDir, `${n}.treeptr`));
    await medoAdd({ src: s, out: ptr.at(-1)!, threads: 0, deltaBase: false });
  }
  const pack = deltaOfPair(layout.siloDir, ptr);
  const bases = gitDeltaBases(dir, layout.siloDir, pack);
  const splitOid = git(dir, ['hash-object', join(dir, 'v2', 'lib', 'split-out.d.ts')]).toString().trim();
  const kinOid = git(dir, ['hash-object', join(dir, 'v1', 'lib', 'compiler.d.ts')]).toString().trim();
  t.is(bases.get(splitOid), kinOid, 'the new file is a delta of the file it was split out of');
});

/** `silo delta` of the first treeptr to the second, in `siloDir`; then `also(silo, pack)` if given. Returns the pack's name. */
function deltaOfPair(siloDir: string, ptr: readonly string[], also?: (s: Silo, pack: string) => void): string {
  const s = Silo.open(siloDir);
  try {
    const pack = writeStaticDelta(s, { tree: readTreeptr(ptr[0]!).tree! }, { tree: readTreeptr(ptr[1]!).tree! }).entry.pack;
    also?.(s, pack);
    return pack;
  } finally {
    s.close();
  }
}

/** git completes the thin pack from the silo's packs and says what each entry is a delta of (oid -> base). */
function gitDeltaBases(dir: string, siloDir: string, pack: string): Map<string, string> {
  const repo = initRepo(join(dir, 'judge.git'), { bare: true });
  for (const n of readdirSync(join(siloDir, 'pack')).filter((f) => /\.(pack|idx)$/.test(f))) cpSync(join(siloDir, 'pack', n), join(repo, 'objects', 'pack', n));
  git(repo, ['index-pack', '--stdin', '--fix-thin'], readFileSync(join(siloDir, 'derived', 'deltas', `${pack}.pack`)));
  const silos = new Set(readdirSync(join(siloDir, 'pack')));
  const fixed = readdirSync(join(repo, 'objects', 'pack')).filter((f) => f.endsWith('.idx') && !silos.has(f));
  if (fixed.length !== 1) throw new Error(`index-pack wrote ${fixed.length} packs`);
  const bases = new Map<string, string>();
  for (const l of git(repo, ['verify-pack', '-v', join(repo, 'objects', 'pack', fixed[0]!)]).toString().split('\n')) {
    const f = l.trim().split(/\s+/);
    if (f.length === 7 && /^[0-9a-f]{40}$/.test(f[0]!)) bases.set(f[0]!, f[6]!);
  }
  return bases;
}

test('silo delta: a new file whose kin is a far larger file new beside it is a delta of that file, inside the pack', async (t) => {
  // gcc-12's cpp: the driver (1.3 MB, a new name) shares code with cc1 (33 MB), also new; git's thin pack
  // makes the one a delta of the other, and so must a static delta, though cc1 is 25 times its size.
  const dir = tempDir(t);
  const layout = makeMedoLayout(dir);
  const random = rng(11);
  const noise = (n: number): Buffer => Buffer.from(Array.from({ length: n }, () => Math.floor(random() * 256)));
  const big = noise(1 << 20);
  const ptr: string[] = [];
  for (const n of [1, 2]) {
    const s = join(dir, `v${n}`);
    mkdirSync(s, { recursive: true });
    writeFileSync(join(s, `tool-${n}`), noise(60 << 10));
    if (n === 2) {
      writeFileSync(join(s, 'big-2'), big);
      writeFileSync(join(s, 'driver-2'), Buffer.concat([noise(2000), big.subarray(300_000, 340_000), noise(1000), big.subarray(700_000, 720_000)]));
    }
    ptr.push(join(layout.medoDir, `${n}.treeptr`));
    await medoAdd({ src: s, out: ptr.at(-1)!, threads: 0, deltaBase: false });
  }
  const pack = deltaOfPair(layout.siloDir, ptr, (s, pack) => {
    // What a client does with it (lib/remote/static-delta.ts): every entry resolves, by the pack and FROM.
    const { file, offsets } = openUnindexedPack(readFileSync(join(layout.siloDir, 'derived', 'deltas', `${pack}.pack`)), pack);
    try {
      const got = new Set(offsets.map((at) => {
        const o = file.readAt(at, (oid) => s.read(oid));
        return hashObject(o.type, o.content);
      }));
      for (const f of ['big-2', 'driver-2', 'tool-2']) t.true(got.has(git(dir, ['hash-object', join(dir, 'v2', f)]).toString().trim()), f);
    } finally {
      file.close();
    }
  });
  const bases = gitDeltaBases(dir, layout.siloDir, pack);
  const oid = (f: string): string => git(dir, ['hash-object', join(dir, 'v2', f)]).toString().trim();
  t.is(bases.get(oid('driver-2')), oid('big-2'), 'the driver is a delta of the large file');
  t.false(bases.has(oid('big-2')), 'the large file is whole');
});
