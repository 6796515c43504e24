// silo gc against git: the keep list and the unreachable set are computed from `git ls-tree -r -t` of the
// kept and dropped trees; after a prune every kept object reads back byte for byte as `git cat-file`
// gives it, every other object is gone, `silo verify` passes and `git verify-pack` accepts every pack.
import test, { type ExecutionContext } from 'ava';
import { existsSync, readdirSync, rmSync, statSync, utimesSync, writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { hashObject } from '../../../lib/oid.js';
import { DEFAULT_PRUNE_EXPIRE_MS, gc, parseKeepList } from '../../../lib/silo/gc.js';
import { Silo } from '../../../lib/silo/silo.js';
import { verifySilo } from '../../../lib/silo/verify-silo.js';
import { git, verifyPack, type GitObject } from '../../helpers/git-fixture.js';
import { throwsCode } from '../../helpers/medo-error.js';
import { buildPack, delta, copyOp, insertOp } from '../../helpers/pack-builder.js';
import { UpkeepFixture } from '../../helpers/upkeep-fixture.js';

interface Scene {
  f: UpkeepFixture;
  dir: string;
  keep: Set<string>;
  stored: GitObject[];
  dead: string[];
  trees: Record<'A' | 'B' | 'C' | 'D' | 'E' | 'F', string>;
  packs: { mixed: string; allDead: string; allKept: string };
}

/**
 * Loose: trees A (kept, with its meta) and B (dropped). Pack "mixed": C (kept) and D (dropped). Pack
 * "allDead": E (dropped). Pack "allKept": F (kept). Dropped trees share blobs with kept ones.
 */
function scene(t: ExecutionContext): Scene {
  const f = new UpkeepFixture(t);
  const common = { 'LICENSE': 'shared by everyone\n' };
  const A = f.tree({ ...common, 'a/1': 'a1\n', 'a/2': 'a2\n', 'keep/me': 'kept and in B\n' });
  const B = f.tree({ ...common, 'b/1': 'b1\n', 'keep/me': 'kept and in B\n', 'b/deep/x': 'bx\n' });
  const C = f.tree({ ...common, 'c/1': 'c1\n', 'c/2': 'c2\n' });
  const D = f.tree({ 'd/1': 'd1\n', 'c/1': 'c1\n', 'd/2': Buffer.alloc(5000, 7) });
  const E = f.tree({ 'e/1': 'e1\n', 'e/2': 'e2\n' });
  const F = f.tree({ 'f/1': 'f1\n' });
  const metaA = f.meta(A);
  const silo = f.silo('s.silo');
  const loose = f.objects([...f.reach(A), metaA.oid, ...f.reach(B)]);
  f.store(silo, loose, 'loose');
  const mixed = f.store(silo, f.objects([...f.reach(C), ...f.reach(D)]), 'pack')!;
  const allDead = f.store(silo, f.objects(f.reach(E)), 'pack')!;
  const allKept = f.store(silo, f.objects(f.reach(F)), 'pack')!;
  silo.close();
  const keep = new Set([...f.reach(A), metaA.oid, ...f.reach(C), ...f.reach(F)]);
  const stored = f.objects([...f.reach(A), metaA.oid, ...f.reach(B), ...f.reach(C), ...f.reach(D), ...f.reach(E), ...f.reach(F)]);
  const dead = stored.map((o) => o.oid).filter((o) => !keep.has(o)).sort();
  t.true(dead.length > 5 && keep.size > 10, 'the scene has both');
  return { f, dir: join(f.root, 's.silo'), keep, stored, dead, trees: { A, B, C, D, E, F }, packs: { mixed, allDead, allKept } };
}

function listing(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string): void => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else out.push(`${p.slice(dir.length)} ${statSync(p).size} ${statSync(p).mtimeMs}`);
    }
  };
  walk(dir);
  return out.sort();
}

function assertKeptAndGone(t: ExecutionContext, dir: string, keep: Iterable<string>, stored: readonly GitObject[], dead: readonly string[],
  clean = true): void {
  const silo = Silo.open(dir);
  try {
    const bad: string[] = [];
    for (const oid of keep) {
      const want = stored.find((o) => o.oid === oid);
      if (want === undefined) continue;
      const got = silo.read(oid);
      if (got === undefined) bad.push(`${oid} lost`);
      else if (!got.content.equals(want.content) || hashObject(got.type, got.content) !== oid) bad.push(`${oid} differs`);
    }
    t.deepEqual(bad, [], 'every kept object reads back as git has it');
    t.deepEqual(dead.filter((oid) => silo.has(oid)), [], 'every unreachable object is gone');
  } finally {
    silo.close();
  }
  if (!clean) return;
  const report = verifySilo(dir);
  t.deepEqual(report.problems, []);
  for (const name of readdirSync(join(dir, 'pack')).filter((n) => n.endsWith('.idx'))) {
    t.notThrows(() => verifyPack(dir, join(dir, 'pack', name)), `git verify-pack accepts ${name}`);
  }
}

test('the report lists exactly the unreachable set, says what each file would become, and changes nothing', (t) => {
  const s = scene(t);
  const before = listing(s.dir);
  const r = gc(s.dir, s.keep, { pruneExpireMs: 0 });
  t.deepEqual(r.unreachable.oids, s.dead);
  t.is(r.unreachable.count, s.dead.length);
  t.is(r.objects, s.stored.length);
  t.is(r.live, s.stored.length - s.dead.length);
  t.false(r.pruned);
  const deadLoose = r.loose.map((l) => l.oid).sort();
  const looseExpected = [...new Set(s.f.reach(s.trees.B))].filter((o) => !s.keep.has(o)).sort();
  t.deepEqual(deadLoose, looseExpected);
  t.deepEqual(Object.fromEntries(r.packs.map((p) => [p.pack, p.action])), {
    [s.packs.mixed]: 'rewrite', [s.packs.allDead]: 'delete', [s.packs.allKept]: 'untouched',
  });
  t.true(r.unreachable.bytes > 0);
  t.deepEqual(listing(s.dir), before, 'a report changes nothing');
});

test('--prune keeps every kept object, removes the rest, rewrites the mixed pack and leaves the all-kept one', (t) => {
  const s = scene(t);
  const keptMtime = statSync(s.packs.allKept).mtimeMs;
  const r = gc(s.dir, s.keep, { prune: true, pruneExpireMs: 0 });
  t.true(r.pruned);
  t.deepEqual(r.unreachable.oids, s.dead);
  t.false(existsSync(s.packs.mixed));
  t.false(existsSync(s.packs.mixed.replace(/\.pack$/, '.idx')));
  t.false(existsSync(s.packs.allDead));
  t.true(existsSync(s.packs.allKept));
  t.is(statSync(s.packs.allKept).mtimeMs, keptMtime, 'the all-kept pack is not rewritten');
  t.truthy(r.newPack);
  t.true(existsSync(r.newPack!));
  assertKeptAndGone(t, s.dir, s.keep, s.stored, s.dead);
  // The new pack holds exactly the survivors of the mixed pack.
  const survivors = [...verifyPack(s.dir, r.newPack!.replace(/\.pack$/, '.idx')).entries.keys()].sort();
  const mixedKept = s.f.reach(s.trees.C).filter((o) => s.keep.has(o));
  t.deepEqual(survivors, [...new Set(mixedKept)].sort());

  const again = gc(s.dir, s.keep, { prune: true, pruneExpireMs: 0 });
  t.is(again.unreachable.count, 0);
  t.true(again.packs.every((p) => p.action === 'untouched'));
  t.is(again.newPack, undefined);
});

test('after a crash between writing the new pack and deleting the old ones, a re-run finishes the job', (t) => {
  const s = scene(t);
  // The state a crash leaves: the survivors already copied into a new pack, the old packs still there,
  // and one old pack half-deleted (its .idx gone first, as removePack does, its .pack still there).
  const silo = Silo.open(s.dir);
  s.f.store(silo, s.f.objects(s.f.reach(s.trees.C).filter((o) => s.keep.has(o))), 'pack');
  silo.close();
  rmSync(s.packs.allDead.replace(/\.pack$/, '.idx'));
  const old = Date.now() - 2 * DEFAULT_PRUNE_EXPIRE_MS;
  utimesSync(s.packs.allDead, old / 1000, old / 1000);
  // Readers see every kept object in that state (silo verify would flag the lone .pack until gc cleans it).
  assertKeptAndGone(t, s.dir, s.keep, s.stored, [], false);
  t.false(verifySilo(s.dir).ok);

  const r = gc(s.dir, s.keep, { prune: true, pruneExpireMs: 0 });
  t.deepEqual(r.strays.map((x) => [x.path, x.kind, x.action]), [[s.packs.allDead, 'pack-without-idx', 'remove']]);
  t.false(existsSync(s.packs.allDead));
  assertKeptAndGone(t, s.dir, s.keep, s.stored, s.dead);
});

test('strays too young to be a crash leftover are reported and left', (t) => {
  const s = scene(t);
  mkdirSync(join(s.dir, 'objects', 'ab'), { recursive: true });
  const young = join(s.dir, 'objects', 'ab', '.tmp-cdef.gz-1-00000000');
  writeFileSync(young, 'partial');
  const oldTemp = join(s.dir, 'pack', '.tmp-pack.pack-1-11111111');
  writeFileSync(oldTemp, 'partial');
  const old = Date.now() - 2 * DEFAULT_PRUNE_EXPIRE_MS;
  utimesSync(oldTemp, old / 1000, old / 1000);
  const r = gc(s.dir, s.keep, { prune: true });
  t.deepEqual(r.strays.map((x) => [x.path, x.action]).sort(), [[oldTemp, 'remove'], [young, 'too-recent']].sort());
  t.true(existsSync(young));
  t.false(existsSync(oldTemp));
  t.true(existsSync(join(s.dir, 'pack')), 'the pack directory itself stays');
});

test('a pack whose REF_DELTA base lives in another pack keeps that base, even if the list does not name it', (t) => {
  const f = new UpkeepFixture(t);
  const baseContent = Buffer.from('the base content of a thin delta, long enough to copy from\n');
  const resultContent = Buffer.concat([baseContent, Buffer.from('and more\n')]);
  const base = f.blob(baseContent);
  const result = f.blob(resultContent);
  const other = f.blob('dead weight next to the base\n');
  const silo = f.silo('s.silo');
  const basePack = f.store(silo, [base, other], 'pack')!;
  silo.close();
  const thin = buildPack([{ oid: result.oid, refDelta: base.oid, delta: delta(baseContent.length, resultContent.length, copyOp(0, baseContent.length), insertOp('and more\n')) }]);
  const name = `pack-${thin.pack.subarray(-20).toString('hex')}`;
  writeFileSync(join(f.root, 's.silo', 'pack', `${name}.pack`), thin.pack);
  writeFileSync(join(f.root, 's.silo', 'pack', `${name}.idx`), thin.idx);

  const r = gc(join(f.root, 's.silo'), new Set([result.oid]), { prune: true, pruneExpireMs: 0 });
  t.deepEqual(r.deltaBases, [base.oid]);
  t.deepEqual(r.unreachable.oids, [other.oid]);
  t.is(r.packs.find((p) => p.pack === basePack)!.action, 'rewrite');
  const after = Silo.open(join(f.root, 's.silo'));
  t.true(after.read(result.oid)!.content.equals(resultContent));
  t.false(after.has(other.oid));
  after.close();
});

test('deltas from a git pack survive a rewrite that drops their base: they are stored whole', (t) => {
  const f = new UpkeepFixture(t);
  const text = Array.from({ length: 300 }, (_, i) => `line ${i} of a text that deltas well\n`).join('');
  const v1 = f.tree({ 'big.txt': text });
  const v2 = f.tree({ 'big.txt': `${text}one more line\n` });
  const oids = [...new Set([...f.reach(v1), ...f.reach(v2)])];
  const dir = join(f.root, 's.silo');
  f.silo('s.silo').close();
  const hash = git(f.oracle, ['pack-objects', '-q', '--delta-base-offset', join(dir, 'pack', 'pack')], oids.map((o) => `${o}\n`).join('')).toString().trim();
  const { entries } = verifyPack(dir, join(dir, 'pack', `pack-${hash}.idx`));
  const [deltaOid, d] = [...entries].find(([, e]) => e.base !== undefined)!;
  const keepTree = f.reach(v1).includes(deltaOid) ? v1 : v2;
  const keep = new Set(f.reach(keepTree));
  t.false(keep.has(d.base!), 'the base is dropped');
  const stored = f.objects(oids);
  gc(dir, keep, { prune: true, pruneExpireMs: 0 });
  assertKeptAndGone(t, dir, keep, stored, oids.filter((o) => !keep.has(o)));
});

test('parseKeepList: one id per line, blank lines and CRLF fine, anything else names its line', (t) => {
  const a = 'a'.repeat(40);
  const b = 'b'.repeat(40);
  t.deepEqual([...parseKeepList(`${a}\n\n  ${b}\r\n${a}\n`, 'k')].sort(), [a, b]);
  const err = throwsCode(t, () => parseKeepList(`${a}\nnot-an-id\n`, 'keep.txt'), 'ERR_USAGE');
  t.regex(err.message, /keep\.txt: line 2 .*not-an-id/);
  throwsCode(t, () => parseKeepList(`${a.toUpperCase()}\n`, 'k'), 'ERR_USAGE');
  throwsCode(t, () => parseKeepList(`${a} extra\n`, 'k'), 'ERR_USAGE');
});

test('a prune that would remove every object is refused unless allowEmpty', (t) => {
  const s = scene(t);
  const before = listing(s.dir);
  throwsCode(t, () => gc(s.dir, new Set(), { prune: true, pruneExpireMs: 0 }), 'ERR_USAGE');
  throwsCode(t, () => gc(s.dir, new Set(['0'.repeat(40)]), { prune: true, pruneExpireMs: 0 }), 'ERR_USAGE');
  t.deepEqual(listing(s.dir), before);
  const r = gc(s.dir, new Set(), { prune: true, pruneExpireMs: 0, allowEmpty: true });
  t.is(r.unreachable.count, s.stored.length);
  t.deepEqual(readdirSync(join(s.dir, 'pack')), []);
  t.deepEqual(readdirSync(join(s.dir, 'objects')), []);
  t.true(verifySilo(s.dir).ok);
});

test('a pack with a .keep file is left alone, and its objects are not counted as removable', (t) => {
  const s = scene(t);
  writeFileSync(s.packs.mixed.replace(/\.pack$/, '.keep'), '');
  const r = gc(s.dir, s.keep, { prune: true, pruneExpireMs: 0 });
  t.is(r.packs.find((p) => p.pack === s.packs.mixed)!.action, 'kept-by-keep-file');
  t.true(existsSync(s.packs.mixed));
  const inMixed = new Set([...s.f.reach(s.trees.C), ...s.f.reach(s.trees.D)]);
  t.deepEqual(r.unreachable.oids, s.dead.filter((o) => !inMixed.has(o)));
});
