// gc --prune beside running adds: the grace rule (git's gc.pruneExpire). No file written or freshened
// since the cutoff is removed; the cutoff is the grace period before now, or the start of the oldest add
// still announced in locks/ if that is earlier. Reusing an object freshens its file (freshen.ts).
import test, { type ExecutionContext } from 'ava';
import { existsSync, renameSync, utimesSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { holdsFresh } from '../../../lib/silo/freshen.js';
import { gc } from '../../../lib/silo/gc.js';
import { announceAdd } from '../../../lib/silo/lock.js';
import { retireFile } from '../../../lib/silo/retire.js';
import { Silo } from '../../../lib/silo/silo.js';
import { verifySilo } from '../../../lib/silo/verify-silo.js';
import { tempDir } from '../../helpers/git-fixture.js';
import { UpkeepFixture } from '../../helpers/upkeep-fixture.js';

const DAYS_2 = 2 * 86400;

function backdate(path: string): void {
  const then = Date.now() / 1000 - DAYS_2;
  utimesSync(path, then, then);
}

/** A kept tree (loose), and unreachable objects: one loose blob and a pack of two, all backdated or not. */
function scene(t: ExecutionContext, old: boolean) {
  const f = new UpkeepFixture(t);
  const kept = f.tree({ 'a/1': 'kept\n' });
  const silo = f.silo('s.silo');
  f.store(silo, f.objects(f.reach(kept)), 'loose');
  const deadLoose = f.blob('dead loose\n');
  f.store(silo, [deadLoose], 'loose');
  const deadPacked = [f.blob('dead packed 1\n'), f.blob('dead packed 2\n')];
  const pack = f.store(silo, deadPacked, 'pack')!;
  const loosePath = silo.loose.path(silo.path, deadLoose.oid);
  silo.close();
  const dir = join(f.root, 's.silo');
  if (old) for (const p of [loosePath, pack, pack.replace(/\.pack$/, '.idx')]) backdate(p);
  return { dir, keep: new Set(f.reach(kept)), deadLoose: deadLoose.oid, deadPacked: deadPacked.map((o) => o.oid), loosePath, pack };
}

test('files younger than the grace period stay, and their unreachable objects are reported as spared', (t) => {
  const s = scene(t, false);
  const r = gc(s.dir, s.keep, { prune: true });
  t.is(r.unreachable.count, 0);
  t.deepEqual(r.spared.oids, [s.deadLoose, ...s.deadPacked].sort());
  t.deepEqual(r.loose.map((f) => f.action), ['too-recent']);
  t.deepEqual(r.packs.map((p) => p.action), ['too-recent']);
  t.true(existsSync(s.loosePath) && existsSync(s.pack));
  t.true(Date.parse(r.sparedSince!) <= Date.now() - 3600_000 + 1000, 'the default grace is an hour');

  const now = gc(s.dir, s.keep, { prune: true, pruneExpireMs: 0 });
  t.deepEqual(now.unreachable.oids, [s.deadLoose, ...s.deadPacked].sort());
  t.is(now.spared.count, 0);
  t.false(existsSync(s.loosePath) || existsSync(s.pack));
  t.true(verifySilo(s.dir).ok);
});

test('old unreachable files go with the default grace; "never" removes nothing', (t) => {
  const s = scene(t, true);
  const never = gc(s.dir, s.keep, { prune: true, pruneExpireMs: Infinity });
  t.is(never.sparedSince, null);
  t.is(never.spared.count, 3);
  t.true(existsSync(s.loosePath) && existsSync(s.pack));
  const r = gc(s.dir, s.keep, { prune: true });
  t.is(r.unreachable.count, 3);
  t.false(existsSync(s.loosePath) || existsSync(s.pack));
});

test('a running add protects what it writes even from a prune with no grace period', (t) => {
  const s = scene(t, true);
  const add = announceAdd(s.dir, 'medo add (test)');
  const silo = Silo.open(s.dir);
  const written = silo.writeLoose('blob', Buffer.from('written by the add, not yet in a .treeptr\n'));
  silo.close();
  const during = gc(s.dir, s.keep, { prune: true, pruneExpireMs: 0 });
  t.deepEqual(during.spared.oids, [written.oid]);
  t.is(during.unreachable.count, 3, 'what is older than the add still goes');
  t.true(existsSync(join(s.dir, 'objects', written.oid.slice(0, 2), `${written.oid.slice(2)}.gz`)));
  add.release();
  const after = gc(s.dir, s.keep, { prune: true, pruneExpireMs: 0 });
  t.deepEqual(after.unreachable.oids, [written.oid]);
});

test('an add that reuses old unreachable objects freshens their files, and the prune spares them', (t) => {
  const s = scene(t, true);
  const add = announceAdd(s.dir, 'medo add (test)');
  const silo = Silo.open(s.dir);
  t.true(holdsFresh(silo, s.deadLoose));
  t.true(holdsFresh(silo, s.deadPacked[0]!));
  t.false(holdsFresh(silo, '0'.repeat(40)));
  silo.close();
  const r = gc(s.dir, s.keep, { prune: true, pruneExpireMs: 0 });
  t.deepEqual(r.spared.oids, [s.deadLoose, ...s.deadPacked].sort(), 'the whole pack stays, its other object too');
  t.true(existsSync(s.loosePath) && existsSync(s.pack));
  add.release();
});

test('retireFile puts back a file stamped since the cutoff, removes an older one, and tells a missing one', (t) => {
  const dir = tempDir(t);
  const silo = Silo.init(join(dir, 's'));
  const young = silo.loose.path(silo.path, silo.writeLoose('blob', Buffer.from('young\n')).oid);
  const old = silo.loose.path(silo.path, silo.writeLoose('blob', Buffer.from('old\n')).oid);
  silo.close();
  backdate(old);
  const cutoff = Date.now() - 3600_000;
  t.is(retireFile(young, cutoff), 'spared');
  t.true(existsSync(young));
  t.is(retireFile(old, cutoff), 'removed');
  t.false(existsSync(old));
  t.is(retireFile(old, cutoff), 'gone');
});

test('what a prune killed midway had set aside goes back if it was fresh, and is cleared as a stray if not', (t) => {
  const s = scene(t, false);
  const aside = (path: string): string => {
    const to = join(dirname(path), `.tmp-prune-${basename(path)}-4242-0badf00d`);
    renameSync(path, to);
    return to;
  };
  // A freshened loose object and a freshened pack, each caught set aside by a kill.
  const looseAside = aside(s.loosePath);
  const idx = s.pack.replace(/\.pack$/, '.idx');
  aside(idx);
  aside(s.pack);
  t.false(existsSync(s.loosePath) || existsSync(s.pack));
  // And an old one, which that prune was right to remove.
  const silo = Silo.open(s.dir);
  const oldPath = silo.loose.path(silo.path, silo.writeLoose('blob', Buffer.from('old and unreachable\n')).oid);
  silo.close();
  const oldAside = aside(oldPath);
  backdate(oldAside);

  const r = gc(s.dir, s.keep, { prune: true });
  t.true(existsSync(s.loosePath) && existsSync(s.pack) && existsSync(idx));
  t.false(existsSync(looseAside));
  t.regex(r.notes.join('\n'), /put back what an interrupted prune had set aside/);
  t.deepEqual(r.spared.oids, [s.deadLoose, ...s.deadPacked].sort(), 'back in place, and young: spared');
  t.deepEqual(r.strays.map((f) => [f.path, f.action]), [[oldAside, 'remove']]);
  t.false(existsSync(oldAside));
  t.false(existsSync(oldPath));
  t.true(verifySilo(s.dir).ok);
});
