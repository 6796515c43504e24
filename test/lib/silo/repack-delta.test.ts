// silo repack writes deltas: git's own tools (verify-pack, index-pack, fsck, cat-file) accept the pack
// and read every object as git has it; the versions of a path become deltas of one another; --depth
// bounds the chains; one thread and two give packs of the same objects, written in the trees' walk order.
import test, { type ExecutionContext } from 'ava';
import { copyFileSync, mkdirSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { nameHash } from '../../../lib/silo/delta-plan.js';
import { repack, type RepackReport } from '../../../lib/silo/repack.js';
import { DEFAULT_DELTA_PARAMS } from '../../../lib/silo/delta-search.js';
import { Silo } from '../../../lib/silo/silo.js';
import { verifySilo } from '../../../lib/silo/verify-silo.js';
import { git, initRepo, packAll, verifyPack, type GitObject } from '../../helpers/git-fixture.js';
import { UpkeepFixture, type FileSpec } from '../../helpers/upkeep-fixture.js';

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

/** Real text to edit: TypeScript's own declaration files, as npm ci installed them. */
function realFiles(limitBytes: number): Record<string, Buffer> {
  const dir = join(process.cwd(), 'node_modules', 'typescript', 'lib');
  const out: Record<string, Buffer> = {};
  let bytes = 0;
  for (const name of readdirSync(dir).sort()) {
    if (!name.endsWith('.d.ts')) continue;
    const b = readFileSync(join(dir, name));
    out[`lib/${name}`] = b;
    bytes += b.length;
    if (bytes > limitBytes) break;
  }
  return out;
}

/** The next version: a few lines changed in some files, one file added, one dropped. */
function nextVersion(files: Record<string, Buffer>, random: () => number, n: number): Record<string, Buffer> {
  const out: Record<string, Buffer> = {};
  const names = Object.keys(files);
  for (const name of names) {
    if (random() < 0.02) continue;
    let b = files[name]!;
    if (random() < 0.5) {
      const lines = b.toString('latin1').split('\n');
      for (let k = 0; k < 3; k++) lines.splice(Math.floor(random() * lines.length), 1, `// edited in version ${n} (${k})`);
      b = Buffer.from(lines.join('\n'), 'latin1');
    }
    out[name] = b;
  }
  out[`lib/new-in-${n}.txt`] = Buffer.from(`version ${n}\n`.repeat(20));
  return out;
}

interface Versions {
  f: UpkeepFixture;
  dir: string;
  all: GitObject[];
  wholeBytes: number;
  /** Each version's tree. */
  trees: string[];
}

/** `count` versions of a tree, each stored whole in a pack of its own. */
function versions(t: ExecutionContext, count: number, bytes: number): Versions {
  const f = new UpkeepFixture(t);
  const silo = f.silo('s.silo');
  const random = rng(11);
  let files = realFiles(bytes);
  const oids: string[] = [];
  const trees: string[] = [];
  for (let n = 0; n < count; n++) {
    const tree = f.tree(files as FileSpec);
    trees.push(tree);
    const reach = f.reach(tree);
    oids.push(...reach);
    f.store(silo, f.objects(reach), 'pack');
    files = nextVersion(files, random, n + 1);
  }
  silo.close();
  const dir = join(f.root, 's.silo');
  return { f, dir, all: f.objects(oids), wholeBytes: packBytes(dir), trees };
}

/**
 * The pack is in the order a reader of the trees wants it, as git sees it (verify-pack's offsets and
 * bases, ls-tree's walk): every tree before every blob, each type in the order a walk of the versions meets
 * it (a tree, then its entries in order, depth first), except that a delta's base not yet written comes
 * just before it. The versions are walked in the order their root trees sit in the pack.
 */
function inWalkOrder(t: ExecutionContext, f: UpkeepFixture, r: RepackReport, trees: readonly string[]): void {
  const entries = verifyPack(f.root, r.newPack!.replace(/\.pack$/, '.idx')).entries;
  const byOffset = [...entries.keys()].sort((a, b) => entries.get(a)!.offset - entries.get(b)!.offset);
  const roots = [...trees].sort((a, b) => entries.get(a)!.offset - entries.get(b)!.offset);
  const walk = [...new Set(roots.flatMap((tree) => f.reach(tree)))];
  const expected: string[] = [];
  const written = new Set<string>();
  for (const type of ['tree', 'blob']) {
    for (const first of walk.filter((oid) => entries.get(oid)!.type === type)) {
      const chain: string[] = [];
      for (let oid: string | undefined = first; oid !== undefined && !written.has(oid); oid = entries.get(oid)!.base) chain.push(oid);
      for (const oid of chain.reverse()) {
        written.add(oid);
        expected.push(oid);
      }
    }
  }
  t.deepEqual(byOffset, expected, 'written in walk order, trees first, each base before its deltas');
}

function packBytes(dir: string): number {
  return readdirSync(join(dir, 'pack')).filter((n) => n.endsWith('.pack')).reduce((s, n) => s + statSync(join(dir, 'pack', n)).size, 0);
}

/** git as the judge: verify-pack, index-pack of a copy, fsck of a repository holding the pack, cat-file of everything. */
function gitAccepts(t: ExecutionContext, f: UpkeepFixture, r: RepackReport, all: readonly GitObject[]): void {
  const idx = r.newPack!.replace(/\.pack$/, '.idx');
  const vp = verifyPack(f.root, idx);
  t.is(vp.entries.size, new Set(all.map((o) => o.oid)).size, 'verify-pack: every object once');

  const copy = join(f.root, 'copy.pack');
  copyFileSync(r.newPack!, copy);
  git(f.root, ['index-pack', '--strict', copy]);
  t.true(readFileSync(join(f.root, 'copy.idx')).equals(readFileSync(idx)), 'index-pack rebuilds our .idx byte for byte');

  const repo = initRepo(join(f.root, 'judge.git'), { bare: true });
  mkdirSync(join(repo, 'objects', 'pack'), { recursive: true });
  copyFileSync(r.newPack!, join(repo, 'objects', 'pack', 'p.pack'));
  copyFileSync(idx, join(repo, 'objects', 'pack', 'p.idx'));
  git(repo, ['fsck', '--strict', '--no-dangling', '--full']);
  const batch = git(repo, ['cat-file', '--batch'], all.map((o) => `${o.oid}\n`).join(''));
  let at = 0;
  const bad: string[] = [];
  for (const o of all) {
    const nl = batch.indexOf(10, at);
    const [oid, type, size] = batch.subarray(at, nl).toString().split(' ');
    const content = batch.subarray(nl + 1, nl + 1 + Number(size));
    if (oid !== o.oid || type !== o.type || !content.equals(o.content)) bad.push(o.oid);
    at = nl + 1 + Number(size) + 1;
  }
  t.deepEqual(bad, [], 'git cat-file gives every object as the oracle has it');
  t.deepEqual(verifySilo(r.silo).problems, []);
}

test('a repack of five versions deltifies them, and git accepts the pack', async (t) => {
  const { f, dir, all, wholeBytes, trees } = versions(t, 5, 1 << 20);
  const r = await repack(dir, { threads: 0 });
  t.true(r.changed);
  t.true(r.deltas > 0);
  gitAccepts(t, f, r, all);
  inWalkOrder(t, f, r, trees);
  const after = packBytes(dir);
  t.true(after < wholeBytes / 2.5, `five versions: ${after} bytes after repack, ${wholeBytes} whole`);
  const entries = verifyPack(f.root, r.newPack!.replace(/\.pack$/, '.idx')).entries;
  t.true([...entries.values()].filter((e) => e.base !== undefined).every((e) => e.type === entries.get(e.base!)!.type),
    'bases are of their delta\'s type');
  // Idempotent, and -f rewrites to a pack with the same objects.
  t.false((await repack(dir)).changed);
  const again = await repack(dir, { force: true, threads: 0 });
  t.true(again.changed);
  gitAccepts(t, f, again, all);
});

test('two threads: the same objects, deltas across the slice boundary not needed', async (t) => {
  // Over the size where repack uses worker threads (delta-pool.ts), so the fragment splice is exercised.
  const { f, dir, all, wholeBytes, trees } = versions(t, 3, 3 << 20);
  const r = await repack(dir, { threads: 2 });
  t.is(r.slices, 2, 'searched on two worker threads');
  gitAccepts(t, f, r, all);
  inWalkOrder(t, f, r, trees);
  t.true(packBytes(dir) < wholeBytes / 2);
});

test('--depth bounds every chain; --window 0 stores everything whole', async (t) => {
  const f = new UpkeepFixture(t);
  const silo = f.silo('s.silo');
  const oids: string[] = [];
  // Each version drops lines and rewrites a twentieth of the rest, so it is closest to the one before it
  // (and smaller, which is the order delta search takes): the deltas form chains.
  const random = rng(5);
  const line = (): string => `${Math.floor(random() * 1e12).toString(36)} some text of a line\n`;
  let lines = Array.from({ length: 600 }, line);
  for (let n = 0; n < 12; n++) {
    const reach = f.reach(f.tree({ 'a.txt': lines.join('') }));
    oids.push(...reach);
    f.store(silo, f.objects(reach), 'pack');
    lines = lines.slice(10).map((l) => (random() < 0.05 ? line() : l));
  }
  silo.close();
  const dir = join(f.root, 's.silo');
  const all = f.objects(oids);
  const r = await repack(dir, { delta: { depth: 3, window: 2 }, threads: 0 });
  t.is(r.maxDepth, 3);
  t.true(r.deltas >= 8, `${r.deltas} deltas`);
  const vp = verifyPack(f.root, r.newPack!.replace(/\.pack$/, '.idx'));
  t.true([...vp.chains.keys()].every((d) => d <= 3), `git's chain lengths: ${[...vp.chains.keys()]}`);
  gitAccepts(t, f, r, all);

  const whole = await repack(dir, { force: true, delta: { window: 0 } });
  t.is(whole.deltas, 0);
  t.true([...verifyPack(f.root, whole.newPack!.replace(/\.pack$/, '.idx')).entries.values()].every((e) => e.base === undefined));
  gitAccepts(t, f, whole, all);
  const s = Silo.open(dir);
  try {
    t.true(all.every((o) => s.read(o.oid)?.content.equals(o.content)));
  } finally {
    s.close();
  }
});

test('bad delta settings are usage errors', async (t) => {
  const f = new UpkeepFixture(t);
  f.silo('s.silo').close();
  const dir = join(f.root, 's.silo');
  for (const delta of [{ depth: 0 }, { depth: 5000 }, { window: -1 }, { window: 1.5 }]) {
    const e = await t.throwsAsync(repack(dir, { delta }));
    t.is((e as { code?: string }).code, 'ERR_USAGE', JSON.stringify(delta));
  }
});

for (const how of ['pack', 'loose'] as const) test(`a delta no smaller in the pack than its object whole is not kept, though git would keep it (objects ${how})`, async (t) => {
  // A register table whose every value moved: the delta is a third of the file (git's rule wants under
  // half) but, a copy and a few new digits per line, compresses worse than the regular text whole.
  const table = (step: number): string => Array.from({ length: 600 }, (_, i) =>
    `#define mmDCP${i % 6}_GRPH_CONTROL_${Math.floor(i / 6)}   0x${(0x1a00 + i * step).toString(16).padStart(6, '0')}\n`).join('');
  const f = new UpkeepFixture(t);
  const silo = f.silo('s.silo');
  const notes = realFiles(64 << 10);
  const oids: string[] = [];
  const trees: string[] = [];
  for (const [step, edit] of [[7, ''], [11, '// one more line\n']] as const) {
    const files: FileSpec = { 'regs.h': table(step) };
    for (const [name, b] of Object.entries(notes)) files[name] = Buffer.concat([b, Buffer.from(edit)]);
    trees.push(f.tree(files));
    oids.push(...f.reach(trees.at(-1)!));
    f.store(silo, f.objects(f.reach(trees.at(-1)!)), how);
  }
  silo.close();
  const dir = join(f.root, 's.silo');
  const r = await repack(dir, { threads: 0 });
  gitAccepts(t, f, r, f.objects(oids));
  const entries = verifyPack(f.root, r.newPack!.replace(/\.pack$/, '.idx')).entries;
  const regs = f.objects([table(7), table(11)].map((c) => f.blob(c).oid));
  t.true(regs.every((o) => entries.get(o.oid)!.base === undefined), 'both tables whole');
  t.true(Object.keys(notes).length > 0 && r.deltas >= Object.keys(notes).length, `the edited files are deltas (${r.deltas})`);

  // git keeps the table as a delta, larger in its pack than the table whole is in ours.
  const gitPack = packAll(f.oracle, join(f.root, 'git-packs'), ['--window=10', '--depth=50', '--delta-base-offset', '--no-reuse-delta']);
  const theirs = verifyPack(f.root, `${gitPack}.idx`).entries;
  const deltified = regs.filter((o) => theirs.get(o.oid)!.base !== undefined);
  t.is(deltified.length, 1, 'git stores one table as a delta of the other');
  t.true(theirs.get(deltified[0]!.oid)!.sizeInPack > entries.get(deltified[0]!.oid)!.sizeInPack,
    `git's delta ${theirs.get(deltified[0]!.oid)!.sizeInPack} bytes, medo's whole entry ${entries.get(deltified[0]!.oid)!.sizeInPack}`);
});

test('a large file left whole gets a delta against kin of another name (a file split out of another)', async (t) => {
  // Version 2 edits lib/compiler.js and adds lib/_split.js, most of it the compiler again: no version of
  // its own path to delta against, and a name far from lib/compiler.js in delta search's order.
  const f = new UpkeepFixture(t);
  const silo = f.silo('s.silo');
  const text = Buffer.concat(Object.values(realFiles(400 << 10)));
  const compiler = text.subarray(0, 300 << 10);
  // Small .js files whose names spread over the order; too small for the second chance themselves.
  const others: Record<string, Buffer> = {};
  for (let i = 0; i < 60; i++) others[`lib/m${i}.js`] = text.subarray(300_000 + i * 1500, 300_000 + i * 1500 + 1400);
  const v2compiler = Buffer.concat([compiler.subarray(0, 1000), Buffer.from('// 2\n'), compiler.subarray(1000)]);
  const split = Buffer.concat([Buffer.from('// split out\n'), compiler.subarray(0, 200 << 10)]);
  // A name that delta search's order (git's name hash) puts at least three other files away from
  // lib/compiler.js, so that a window of 2 cannot see the one from the other.
  const between = (name: string): number => {
    const [lo, hi] = [nameHash(name), nameHash('lib/compiler.js')].sort((a, b) => a - b);
    return Object.keys(others).filter((n) => nameHash(n) > lo! && nameHash(n) < hi!).length;
  };
  const splitName = ['lib/_split.js', 'lib/split-0.js', 'lib/_tsc-0.js', 'lib/split_.js', 'lib/split-A.js'].find((n) => between(n) >= 3);
  if (splitName === undefined) return t.fail('no name far enough from lib/compiler.js');
  const oids: string[] = [];
  for (const files of [{ 'lib/compiler.js': compiler }, { 'lib/compiler.js': v2compiler, [splitName]: split }]) {
    const reach = f.reach(f.tree({ ...others, ...files } as FileSpec));
    oids.push(...reach);
    f.store(silo, f.objects(reach), 'pack');
  }
  silo.close();
  const dir = join(f.root, 's.silo');
  const r = await repack(dir, { threads: 0, delta: { window: 2 } });
  gitAccepts(t, f, r, f.objects(oids));
  const entries = verifyPack(f.root, r.newPack!.replace(/\.pack$/, '.idx')).entries;
  const [splitOid, ...compilers] = [split, compiler, v2compiler].map((c) => f.blob(c).oid);
  t.true(compilers.includes(entries.get(splitOid!)!.base!), `${splitName} is a delta of a lib/compiler.js`);
  t.true(entries.get(splitOid!)!.sizeInPack < 2048, `${splitName}: ${entries.get(splitOid!)!.sizeInPack} bytes in the pack`);
  t.true([...entries.values()].every((e) => e.depth <= DEFAULT_DELTA_PARAMS.depth), 'no chain past the depth limit');
});

test('a file left whole gets a delta against kin of another name many times its size, though no path has two versions', async (t) => {
  // gcc-11 and gcc-12's cpp: every path carries its version (bin/cpp-11, lib/11/cc1), and the new driver
  // shares code with the new cc1, 25 times its size; git's thin pack makes the one a delta of the other.
  const f = new UpkeepFixture(t);
  const silo = f.silo('s.silo');
  const text = Buffer.concat(Object.values(realFiles(1200 << 10)));
  const oids: string[] = [];
  let driver: Buffer | undefined;
  let cc1: Buffer | undefined;
  // Small files whose names spread over delta search's order, between the drivers and the cc1s.
  const fillers: Record<string, Buffer> = {};
  for (let i = 0; i < 40; i++) fillers[`share/doc/f${i}`] = text.subarray(1_100_000 + i * 2000, 1_100_000 + i * 2000 + 1500);
  const cc1Of = (v: number): Buffer => text.subarray(v === 11 ? 0 : 40_000, (v === 11 ? 0 : 40_000) + (1 << 20));
  for (const v of [11, 12]) {
    cc1 = cc1Of(v);
    // Each driver shares nothing with the other, only with the cc1s.
    driver = Buffer.concat([Buffer.from(`driver ${v}\n`), text.subarray(v === 11 ? 100_000 : 840_000, (v === 11 ? 100_000 : 840_000) + 80_000)]);
    const reach = f.reach(f.tree({ ...fillers, [`lib/${v}/cc1`]: cc1, [`bin/cpp-${v}`]: driver } as FileSpec));
    oids.push(...reach);
    f.store(silo, f.objects(reach), 'pack');
  }
  silo.close();
  // A window of one: delta search tries each file against its neighbour in name order only.
  const r = await repack(join(f.root, 's.silo'), { threads: 0, delta: { window: 1 } });
  gitAccepts(t, f, r, f.objects(oids));
  const entries = verifyPack(f.root, r.newPack!.replace(/\.pack$/, '.idx')).entries;
  const base = entries.get(f.blob(driver!).oid)!.base;
  t.true(base !== undefined && [cc1Of(11), cc1Of(12)].map((c) => f.blob(c).oid).includes(base), `bin/cpp-12 is a delta of a cc1 (of ${base ?? 'nothing'})`);
  t.true(entries.get(f.blob(driver!).oid)!.sizeInPack < 4096, `bin/cpp-12: ${entries.get(f.blob(driver!).oid)!.sizeInPack} bytes in the pack`);
});
