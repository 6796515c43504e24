// Hostile deltas in a silo's pack, met through the mount and through `medo expand` (issue 13, "Bad
// input"): a delta bomb (a few bytes claiming a gigabyte), a REF_DELTA whose base is itself, two that are
// each other's base, a chain one longer than the limit, a copy past the base's end, and a delta that
// claims a base one byte larger than its base. Each file is EIO
// on the mount, alone: its neighbour in the same directory reads as git has it, before and after, and the
// error line names the object; the mount's peak memory stays far below the bomb's claim. `medo expand`
// of each fails with a typed error naming the object and leaves no DEST behind.
import test from 'ava';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { DEFAULT_LIMITS } from '../../lib/git/pack-file.js';
import { MODE_FILE, serializeTree } from '../../lib/git/tree.js';
import { writeTreeptr } from '../../lib/medo/treeptr.js';
import { hashObject } from '../../lib/oid.js';
import { writePackList } from '../../lib/silo/pack-list.js';
import { Silo } from '../../lib/silo/silo.js';
import { removeDir, sharedTempDir } from '../helpers/git-fixture.js';
import { REPO_ROOT, medoArgs, removeMountpoint, startMount } from '../helpers/mount-process.js';
import { buildPack, copyOp, delta, fakeOid, insertOp, type Entry } from '../helpers/pack-builder.js';

const BASE = Buffer.from(readFileSync(join(REPO_ROOT, 'package.json')));
const GOOD = Buffer.from('a neighbour that reads fine\n');
/** Copies of the base in the 'base-size' case: a file of over 32 KiB. */
const REPEATS = Math.ceil((40 << 10) / (BASE.length - 1));

/** Each hostile case: the entries that make it, and the id its file names. */
function cases(): { name: string; oid: string; entries: (baseIndex: number, at: number) => Entry[] }[] {
  const chain = DEFAULT_LIMITS.maxChainLength + 1;
  return [
    // 1 GB claimed by a delta of a few bytes (below maxObjectSize, so only the bytes can tell).
    { name: 'bomb', oid: fakeOid(10), entries: (b) => [{ oid: fakeOid(10), ofsDeltaOf: b, delta: delta(BASE.length, 2 ** 30, copyOp(0, 16)) }] },
    { name: 'self', oid: fakeOid(11), entries: () => [{ oid: fakeOid(11), refDelta: fakeOid(11), delta: delta(3, 3, copyOp(0, 3)) }] },
    {
      name: 'cycle', oid: fakeOid(12), entries: () => [
        { oid: fakeOid(12), refDelta: fakeOid(13), delta: delta(3, 3, copyOp(0, 3)) },
        { oid: fakeOid(13), refDelta: fakeOid(12), delta: delta(3, 3, copyOp(0, 3)) },
      ],
    },
    {
      // Each link appends one byte; the last is one past the chain limit.
      name: 'deep', oid: fakeOid(14), entries: (b, at) => Array.from({ length: chain }, (_, i): Entry => ({
        oid: i === chain - 1 ? fakeOid(14) : fakeOid(1000 + i),
        ofsDeltaOf: i === 0 ? b : at + i - 1,
        delta: delta(BASE.length + i, BASE.length + i + 1, copyOp(0, BASE.length + i), insertOp('x')),
      })),
    },
    { name: 'past-end', oid: fakeOid(15), entries: (b) => [{ oid: fakeOid(15), ofsDeltaOf: b, delta: delta(BASE.length, 64, copyOp(BASE.length - 8, 64)) }] },
    // Copies that are all in bounds, against a base of the size it claims less one: the mount hands a
    // file this large (over 32 KiB) to its addon, which must refuse it as JavaScript does.
    {
      name: 'base-size', oid: fakeOid(16), entries: (b) => [{
        oid: fakeOid(16), ofsDeltaOf: b,
        delta: delta(BASE.length + 1, REPEATS * (BASE.length - 1), ...Array.from({ length: REPEATS }, () => copyOp(0, BASE.length - 1))),
      }],
    },
  ];
}

let root: string;
let medoDir: string;
let siloDir: string;

test.before(() => {
  root = sharedTempDir('medo-bad-delta-');
  siloDir = join(root, 'deps.silo');
  medoDir = join(root, 'deps.medo');
  const silo = Silo.init(siloDir);
  const good = silo.writeLoose('blob', GOOD).oid;
  const entries: Entry[] = [{ oid: hashObject('blob', BASE), type: 'blob', content: BASE }];
  const trees: { name: string; tree: string }[] = [];
  for (const c of cases()) {
    entries.push(...c.entries(0, entries.length));
    const tree = silo.writeLoose('tree', serializeTree([
      { mode: MODE_FILE, name: 'bad.bin', oid: c.oid },
      { mode: MODE_FILE, name: 'good.txt', oid: good },
    ])).oid;
    trees.push({ name: c.name, tree });
  }
  silo.close();
  const built = buildPack(entries);
  const name = `pack-${built.pack.subarray(-20).toString('hex')}`;
  writeFileSync(join(siloDir, 'pack', `${name}.pack`), built.pack);
  writeFileSync(join(siloDir, 'pack', `${name}.idx`), built.idx);
  writePackList(siloDir);
  mkdirSync(medoDir);
  writeFileSync(join(medoDir, 'SILO.json'), `${JSON.stringify({ silos: ['../deps.silo'] })}\n`);
  for (const t of trees) writeTreeptr(join(medoDir, `${t.name}.treeptr`), { tree: t.tree, size: 0, files: 2 });
});

test.after.always(() => {
  if (root !== undefined) removeDir(root);
});

test('each hostile delta is EIO for its file alone on the mount, named in the log, in bounded memory', async (t) => {
  const mnt = join(root, 'mnt');
  t.teardown(() => removeMountpoint(mnt));
  const m = await startMount(medoDir, mnt);
  t.teardown(() => m.stop());
  const all = cases();
  t.deepEqual((await readdir(mnt)).sort(), all.map((c) => c.name).sort());
  for (const c of all) {
    t.true((await readFile(join(mnt, c.name, 'good.txt'))).equals(GOOD), `${c.name}: the neighbour reads before`);
    await t.throwsAsync(readFile(join(mnt, c.name, 'bad.bin')), { code: 'EIO' }, `${c.name}: EIO`);
    await t.throwsAsync(readFile(join(mnt, c.name, 'bad.bin')), { code: 'EIO' }, `${c.name}: EIO again, not a hang or a crash`);
    t.true((await readFile(join(mnt, c.name, 'good.txt'))).equals(GOOD), `${c.name}: the neighbour reads after`);
  }
  const status = readFileSync(`/proc/${m.child.pid}/status`, 'utf8');
  const peakKiB = Number(/VmHWM:\s+(\d+) kB/.exec(status)?.[1]);
  t.true(peakKiB > 0 && peakKiB < 400 * 1024, `peak RSS ${peakKiB} KiB, far below the bomb's 1 GiB claim`);
  const errors = m.log().split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l.level === 50);
  for (const c of all) t.true(errors.some((e) => e.oid === c.oid || JSON.stringify(e).includes(c.oid)), `${c.name}: an error line names ${c.oid}`);
  t.is(await m.stop(), 0);
});

for (const c of cases()) {
  test(`medo expand of a tree with a ${c.name} delta fails naming the object, and leaves no DEST`, (t) => {
    const dest = join(root, `out-${c.name}`);
    const r = spawnSync(process.execPath, medoArgs(['expand', join(medoDir, `${c.name}.treeptr`), dest]), { cwd: REPO_ROOT, encoding: 'utf8', timeout: 120_000 });
    t.not(r.status, 0, r.stderr);
    t.is(r.signal, null, 'it ends by itself, not by the timeout');
    t.true(r.stderr.includes(c.oid), `the message names the object: ${r.stderr}`);
    t.regex(r.stderr, /corrupt delta|loops or exceeds/, 'and the fault');
    t.false(existsSync(dest), 'nothing half-made under the final name');
  });
}
