// Many writers on one silo, as build hosts run them (issue 14, "Prove it"): each round starts 16 `medo add`s
// of different trees and 16 of the same tree at once, with `silo repack` and `medo reachable | silo gc
// --prune` looping beside them until the adds are done. Between rounds the silo is aged by two days and
// some .treeptrs of the previous round are dropped, so the next round's adds reuse objects that are old and
// unreachable: exactly what a prune running beside them would take if adds did not freshen what they
// reuse. Afterwards `silo verify` passes (the pack list included), no lock is left, every .treeptr's tree
// is git's tree of its source, and `medo expand` gives back every source byte for byte, before and after a
// final prune and repack, which leaves each object stored once.
// MEDO_CONCURRENT_ROUNDS=N runs more rounds.
import test, { type ExecutionContext } from 'ava';
import { mkdirSync, readFileSync, readdirSync, rmSync, statSync, utimesSync } from 'node:fs';
import { join } from 'node:path';
import { packEntries, takeInventory } from '../../../lib/silo/inventory.js';
import { listLocks } from '../../../lib/silo/lock.js';
import { Silo } from '../../../lib/silo/silo.js';
import { assertBuilt, describeRun, runCli, type Ran } from '../../helpers/cli-process.js';
import { tempDir } from '../../helpers/git-fixture.js';
import { random, randomBytes } from '../../helpers/history.js';
import { makeMedoLayout, snapshot } from '../../helpers/medo-fixture.js';
import { gitWriteTree, makeTree, type FixtureEntry } from '../../helpers/tree-fixture.js';

const ROUNDS = Number(process.env.MEDO_CONCURRENT_ROUNDS ?? 3);
const WRITERS = 16;
const DAY_S = 24 * 60 * 60;

test.before(() => assertBuilt('cli/medo/add.js', 'cli/silo/gc.js', 'cli/silo/repack.js', 'cli/silo/verify.js'));

/** Tree `i` of a round: content shared by all trees, by some, and its own; only round.txt changes between rounds. */
function treeEntries(i: number, round: number): FixtureEntry[] {
  const entries: FixtureEntry[] = [
    { path: 'LICENSE', file: 'shared by every tree\n' },
    { path: `lib/common-${i % 4}.py`, file: `common ${i % 4}\n`.repeat(40) },
    { path: 'data/blob.bin', file: randomBytes(random(1000 + i), 20_000 + 3_000 * i) },
    { path: 'bin/tool', file: `#!/bin/sh\necho ${i}\n`, perm: 0o755 },
    { path: 'link', symlink: 'lib' },
    { path: 'docs/empty', dir: true },
    { path: 'round.txt', file: `round ${round} tree ${i}\n` },
  ];
  for (let n = 0; n < 8; n++) entries.push({ path: `many/f${n}`, file: `parity ${i % 2} file ${n}\n` });
  return entries;
}

const SAME_TREE: FixtureEntry[] = [
  { path: 'README', file: 'the tree every host builds\n' },
  { path: 'big.bin', file: randomBytes(random(4242), 300_000) },
  { path: 'sub/deeper/x', file: 'x\n', perm: 0o600 },
  { path: 'sub/y', symlink: '../README' },
];

/** Makes every file of the silo's objects/ and pack/ two days older: time passing, with nothing running. */
function age(siloDir: string): void {
  const then = Date.now() / 1000 - 2 * DAY_S;
  const walk = (dir: string): void => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else utimesSync(p, then, then);
    }
  };
  walk(join(siloDir, 'objects'));
  walk(join(siloDir, 'pack'));
}

/** Unreachable objects no add will ever need, loose and in a pack of their own; returns their files. */
function injectGarbage(siloDir: string, round: number): string[] {
  const silo = Silo.open(siloDir);
  try {
    const r = random(7000 + round);
    const files: string[] = [];
    for (let n = 0; n < 5; n++) files.push(silo.loose.path(siloDir, silo.writeLoose('blob', randomBytes(r, 500 + n)).oid));
    const w = silo.packWriter();
    for (let n = 0; n < 5; n++) w.add('blob', randomBytes(r, 700 + n));
    files.push(w.finish()!.idxPath);
    return files;
  } finally {
    silo.close();
  }
}

/** Runs `step` again and again until `done()` holds, at least `min` times. */
async function loop(min: number, done: () => boolean, step: () => Promise<Ran[]>): Promise<Ran[]> {
  const runs: Ran[] = [];
  for (let n = 0; n < min || !done(); n++) runs.push(...(await step()));
  return runs;
}

test('16 adds of different trees and 16 of one tree at once, beside repack and gc --prune, round after round', async (t) => {
  t.timeout(20 * 60_000);
  const root = tempDir(t, 'medo-concurrent-');
  const { siloDir, medoDir } = makeMedoLayout(root);
  const sources = new Map<string, string>(); // .treeptr path below the medo dir, without .treeptr -> source
  const source = (rel: string, entries: readonly FixtureEntry[]): string => {
    const dir = join(root, 'src', rel);
    makeTree(dir, entries);
    sources.set(rel, dir);
    return dir;
  };
  const add = (src: string, rel: string): Promise<Ran> => runCli('medo', ['add', '--threads', '1', src, join(medoDir, `${rel}.treeptr`)]);
  const repack = (): Promise<Ran[]> => runCli('silo', ['repack', '--lock-wait', '10m', siloDir]).then((r) => [r]);
  const prune = async (): Promise<Ran[]> => {
    const reach = await runCli('medo', ['reachable', medoDir]);
    if (reach.code !== 0) return [reach];
    return [reach, await runCli('silo', ['gc', '--prune', '--prune-expire', '1h', '--lock-wait', '10m', siloDir, '--keep', '-'], reach.stdout)];
  };

  // A base the whole run keeps, and garbage: a tree added, then dropped, and aged past the grace period.
  const first = await add(source('base', treeEntries(99, 0)), 'base');
  t.is(first.code, 0, describeRun(first));
  const garbage = await add(join(root, 'src', 'base', 'lib'), 'garbage');
  t.is(garbage.code, 0, describeRun(garbage));
  rmSync(join(medoDir, 'garbage.treeptr'));

  const same = source('same-source', SAME_TREE);
  sources.delete('same-source');
  let reused = 0;
  for (let round = 1; round <= ROUNDS; round++) {
    const garbageFiles = injectGarbage(siloDir, round);
    if (round > 1) {
      // The previous round's odd trees and every copy of the same tree are dropped: their objects are
      // unreachable and, once aged, old enough to prune, while this round's adds reuse them.
      for (let i = 1; i < WRITERS; i += 2) rmSync(join(medoDir, `r${round - 1}`, `tree-${i}.treeptr`));
      for (let j = 0; j < WRITERS; j++) rmSync(join(medoDir, `r${round - 1}`, `same-${j}.treeptr`));
      for (const rel of [...sources.keys()]) if (!statExists(join(medoDir, `${rel}.treeptr`))) sources.delete(rel);
    }
    age(siloDir);
    const srcs = Array.from({ length: WRITERS }, (_, i) => source(`r${round}/tree-${i}`, treeEntries(i, round)));
    for (let j = 0; j < WRITERS; j++) sources.set(`r${round}/same-${j}`, same);
    mkdirSync(join(medoDir, `r${round}`), { recursive: true });
    let addsDone = false;
    const adds = Promise.all([
      ...srcs.map((s, i) => add(s, `r${round}/tree-${i}`)),
      ...Array.from({ length: WRITERS }, (_, j) => add(same, `r${round}/same-${j}`)),
    ]).finally(() => {
      addsDone = true;
    });
    // The first prune of a round meets the aged silo (a repack would make what it folds young again), so
    // the repacks start once it is done; from then on both loops run, waiting for each other's lock.
    const firstPrune = prune();
    const prunes = firstPrune.then(async (head) => [...head, ...(await loop(1, () => addsDone, prune))]);
    const repacks = firstPrune.then(() => loop(2, () => addsDone, repack));
    const [added, repacked, pruned] = await Promise.all([adds, repacks, prunes]);
    for (const r of [...added, ...repacked, ...pruned]) t.is(r.code, 0, `round ${round}: ${describeRun(r)}`);
    // Nothing touches the garbage and no repack ran before the first prune: it must be gone.
    t.deepEqual(garbageFiles.filter(statExists), [], `round ${round}: the first prune removed the aged garbage`);
    const gcs = pruned.filter((r) => r.args[0] === 'gc');
    const spared = gcs.map((r) => /spared: (\d+)/.exec(r.stdout)?.[1] ?? '0');
    t.log(`round ${round}: ${repacked.length} repacks, ${gcs.length} prunes (unreachable objects they spared: ${spared.join(', ')})`);
    reused += added.filter((r) => / 0 new objects/.test(r.stdout)).length;
  }
  t.true(reused > 0, 'some adds found everything already in the silo');

  t.deepEqual(listLocks(siloDir), [], 'every lock is released');
  await checkSilo(t, siloDir, medoDir, root, sources, 'after the rounds');

  // A quiet prune and repack: nothing is lost, and the 16 copies of the same tree are one.
  const reach = await runCli('medo', ['reachable', medoDir]);
  t.is(reach.code, 0, describeRun(reach));
  const gc = await runCli('silo', ['gc', '--prune', '--prune-expire', 'now', siloDir, '--keep', '-'], reach.stdout);
  t.is(gc.code, 0, describeRun(gc));
  const last = await runCli('silo', ['repack', siloDir]);
  t.is(last.code, 0, describeRun(last));
  const silo = Silo.open(siloDir);
  try {
    const inv = takeInventory(silo);
    const copies = new Map<string, number>();
    for (const f of inv.loose) copies.set(f.oid, (copies.get(f.oid) ?? 0) + 1);
    for (const p of inv.packs) for (const e of packEntries(p.pack)) copies.set(e.oid, (copies.get(e.oid) ?? 0) + 1);
    t.deepEqual([...copies].filter(([, n]) => n > 1), [], 'each object is stored once');
    t.deepEqual([...copies.keys()].sort(), reach.stdout.trim().split('\n').sort(), 'exactly the reachable objects remain');
  } finally {
    silo.close();
  }
  await checkSilo(t, siloDir, medoDir, root, sources, 'after a final prune and repack');
});

function statExists(path: string): boolean {
  try {
    statSync(path);
    return true;
  } catch {
    return false;
  }
}

let checks = 0;
async function checkSilo(t: ExecutionContext, siloDir: string, medoDir: string, root: string,
  sources: ReadonlyMap<string, string>, when: string): Promise<void> {
  const verify = await runCli('silo', ['verify', siloDir]);
  t.is(verify.code, 0, `${when}: ${describeRun(verify)}`);
  const dest = join(root, `expanded-${checks++}`);
  const expand = await runCli('medo', ['expand', medoDir, dest]);
  t.is(expand.code, 0, `${when}: ${describeRun(expand)}`);
  const gitDir = join(root, `oracle-${checks}.git`);
  let n = 0;
  for (const [rel, src] of sources) {
    const ptr = JSON.parse(readFileSync(join(medoDir, `${rel}.treeptr`), 'utf8')) as { tree: string };
    const tree = gitWriteTree(src, join(gitDir, rel.replaceAll('/', '_')));
    if (ptr.tree !== tree) t.fail(`${when}: ${rel}.treeptr names ${ptr.tree}, git makes ${tree} of its source`);
    const want = [...snapshot(src)];
    const got = [...snapshot(join(dest, rel))];
    if (JSON.stringify(got, bigints) !== JSON.stringify(want, bigints)) t.deepEqual(got, want, `${when}: ${rel} expands to its source`);
    n++;
  }
  t.is(n, sources.size);
  t.true(n >= WRITERS * 2, `${when}: ${n} treeptrs checked`);
}

const bigints = (_: string, v: unknown): unknown => (typeof v === 'bigint' ? v.toString() : v);
