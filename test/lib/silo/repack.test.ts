// silo repack: loose objects and small packs fold into one pack that git accepts, every object reads back
// as git has it, and a second run changes nothing.
import test, { type ExecutionContext } from 'ava';
import { existsSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { looseFiles } from '../../../lib/silo/inventory.js';
import { parseSize, repack } from '../../../lib/silo/repack.js';
import { Silo } from '../../../lib/silo/silo.js';
import { verifySilo } from '../../../lib/silo/verify-silo.js';
import { git, verifyPack, type GitObject } from '../../helpers/git-fixture.js';
import { random, randomBytes } from '../../helpers/history.js';
import { throwsCode } from '../../helpers/medo-error.js';
import { UpkeepFixture } from '../../helpers/upkeep-fixture.js';

function packsOf(dir: string): string[] {
  return readdirSync(join(dir, 'pack')).filter((n) => n.endsWith('.pack')).sort();
}

function assertHolds(t: ExecutionContext, dir: string, objects: readonly GitObject[]): void {
  const silo = Silo.open(dir);
  try {
    const bad = objects.filter((o) => !silo.read(o.oid)?.content.equals(o.content)).map((o) => o.oid);
    t.deepEqual(bad, [], 'every object reads back as git has it');
  } finally {
    silo.close();
  }
  t.deepEqual(verifySilo(dir).problems, []);
  for (const p of packsOf(dir)) t.notThrows(() => verifyPack(dir, join(dir, 'pack', p.replace(/\.pack$/, '.idx'))));
}

function setup(t: ExecutionContext): { f: UpkeepFixture; dir: string; all: GitObject[]; big: string } {
  const f = new UpkeepFixture(t);
  const silo = f.silo('s.silo');
  const trees = [0, 1, 2, 3].map((n) => f.tree({ [`n${n}`]: `file ${n}\n`, shared: 'shared\n', [`d${n}/x`]: Buffer.alloc(200 * (n + 1), n) }));
  const loose = f.objects(f.reach(trees[0]!));
  f.store(silo, loose, 'loose');
  f.store(silo, f.objects(f.reach(trees[1]!)), 'pack');
  f.store(silo, f.objects([...f.reach(trees[2]!), ...f.reach(trees[0]!).slice(0, 2)]), 'pack'); // overlaps the loose ones
  const bigBlob = f.blob(randomBytes(random(7), 256 * 1024)); // does not deflate: a "big" pack
  const big = f.store(silo, [bigBlob, ...f.objects(f.reach(trees[3]!))], 'pack')!;
  silo.close();
  const all = f.objects([...trees.flatMap((x) => f.reach(x)), bigBlob.oid]);
  return { f, dir: join(f.root, 's.silo'), all, big };
}

test('everything folds into one pack; a second run changes nothing', async (t) => {
  const { dir, all } = setup(t);
  t.is(packsOf(dir).length, 3);
  t.true(looseFiles(dir).length > 0);
  const r = await repack(dir);
  t.true(r.changed);
  t.is(r.foldedPacks.length, 3);
  t.is(r.objects, all.length, 'each object once');
  t.deepEqual(packsOf(dir), [r.newPack!.split('/').pop()!]);
  t.deepEqual(looseFiles(dir), []);
  t.deepEqual(readdirSync(join(dir, 'objects')), [], 'emptied fan-out directories are removed');
  t.is(verifyPack(dir, r.newPack!.replace(/\.pack$/, '.idx')).entries.size, all.length);
  assertHolds(t, dir, all);

  const mtime = statSync(r.newPack!).mtimeMs;
  const again = await repack(dir);
  t.false(again.changed);
  t.is(again.newPack, undefined);
  t.is(statSync(r.newPack!).mtimeMs, mtime);
});

test('--small folds only the packs under the size, with the loose objects', async (t) => {
  const { dir, all, big } = setup(t);
  const r = await repack(dir, { smallerThan: parseSize('64k', '--small') });
  t.true(r.changed);
  t.is(r.foldedPacks.length, 2);
  t.deepEqual(r.keptPacks, [big]);
  t.true(existsSync(big));
  t.is(packsOf(dir).length, 2);
  assertHolds(t, dir, all);
  t.false((await repack(dir, { smallerThan: 64 * 1024 })).changed, 'one small pack and a big one: nothing to fold');
});

test('loose objects alone become a pack; a .keep pack is left as it is', async (t) => {
  const f = new UpkeepFixture(t);
  const silo = f.silo('s.silo');
  const objs = f.objects(f.reach(f.tree({ a: 'a\n', 'b/c': 'c\n' })));
  f.store(silo, objs, 'loose');
  const kept = f.store(silo, f.objects(f.reach(f.tree({ k: 'k\n' }))), 'pack')!;
  silo.close();
  writeFileSync(kept.replace(/\.pack$/, '.keep'), '');
  const dir = join(f.root, 's.silo');
  const r = await repack(dir);
  t.true(r.changed);
  t.deepEqual(r.foldedPacks, []);
  t.deepEqual(r.keptPacks, [kept]);
  t.is(r.objects, objs.length);
  t.true(existsSync(kept));
  assertHolds(t, dir, objs);
});

test('deltified packs from git are folded, their objects searched for deltas anew', async (t) => {
  const f = new UpkeepFixture(t);
  const text = Array.from({ length: 300 }, (_, i) => `line ${i} of a text that deltas well\n`).join('');
  const trees = [0, 1, 2].map((n) => f.tree({ 'big.txt': `${text}${'more\n'.repeat(n)}` }));
  const oids = [...new Set(trees.flatMap((x) => f.reach(x)))];
  const dir = join(f.root, 's.silo');
  f.silo('s.silo').close();
  const hash = git(f.oracle, ['pack-objects', '-q', '--delta-base-offset', join(dir, 'pack', 'pack')], oids.map((o) => `${o}\n`).join('')).toString().trim();
  t.true([...verifyPack(dir, join(dir, 'pack', `pack-${hash}.idx`)).entries.values()].some((e) => e.base !== undefined), 'git made deltas');
  const extra = f.objects(f.reach(f.tree({ loose: 'one\n' })));
  const silo = Silo.open(dir);
  f.store(silo, extra, 'loose');
  silo.close();
  const r = await repack(dir);
  t.true(r.changed);
  t.true([...verifyPack(dir, r.newPack!.replace(/\.pack$/, '.idx')).entries.values()].some((e) => e.base !== undefined), 'the versions of big.txt are deltas again');
  t.true(r.deltas >= 2);
  assertHolds(t, dir, [...f.objects(oids), ...extra]);
});

test('an empty silo, or one pack alone, is left alone', async (t) => {
  const f = new UpkeepFixture(t);
  const silo = f.silo('s.silo');
  const dir = join(f.root, 's.silo');
  t.false((await repack(dir)).changed);
  f.store(silo, f.objects(f.reach(f.tree({ a: 'a\n' }))), 'pack');
  silo.close();
  const before = packsOf(dir);
  t.false((await repack(dir)).changed);
  t.deepEqual(packsOf(dir), before);
});

test('parseSize', (t) => {
  t.is(parseSize('16M', 'x'), 16 * 2 ** 20);
  t.is(parseSize('512k', 'x'), 512 * 1024);
  t.is(parseSize('1GiB', 'x'), 2 ** 30);
  t.is(parseSize('4096', 'x'), 4096);
  for (const bad of ['', '0', '-1', '1.5M', 'big', '16X']) throwsCode(t, () => parseSize(bad, '--small'), 'ERR_USAGE');
});
