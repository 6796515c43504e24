// Seeded mutation fuzzing of every parser, after gitoxide's tests/pack/index/fuzzed.rs: real git output
// with a few bytes changed must either still parse or raise a MedoError. A TypeError or RangeError
// escaping means some bound is unchecked. The seeds are fixed, so a failure names a reproducible case.
import test from 'ava';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { applyDelta } from '../../lib/git/delta.js';
import { encodeLooseObject, parseLooseObject } from '../../lib/git/loose-object.js';
import { OBJ_OFS_DELTA } from '../../lib/git/pack-entry.js';
import { parseTree } from '../../lib/git/tree.js';
import { oidToBytes } from '../../lib/oid.js';
import { gitObjects, packAll, removeDir, sharedTempDir, type GitObject } from '../helpers/git-fixture.js';
import { makeSmallRepo, random } from '../helpers/history.js';
import { resultOrCode } from '../helpers/medo-error.js';
import { openPack } from '../helpers/pack-builder.js';

let root: string;
let objects: GitObject[];
let pack: Buffer;
let idx: Buffer;

test.before(() => {
  root = sharedTempDir('medo-fuzz-');
  const repo = join(root, 'repo');
  mkdirSync(repo);
  makeSmallRepo(repo);
  objects = gitObjects(repo);
  const base = packAll(repo, join(root, 'packs'), ['--delta-base-offset']);
  pack = readFileSync(`${base}.pack`);
  idx = readFileSync(`${base}.idx`);
});

test.after.always(() => removeDir(root));

/** `buf` with 1 to 4 bytes replaced; positions and values come from `r`. */
function mutate(buf: Buffer, r: () => number): Buffer {
  const out = Buffer.from(buf);
  if (out.length === 0) return out;
  const n = 1 + Math.floor(r() * 4);
  for (let k = 0; k < n; k++) out[Math.floor(r() * out.length)] = Math.floor(r() * 256);
  return out;
}

const ITERATIONS = 1500;

test('mutated packs and indexes: every read returns an object, undefined, or a MedoError', (t) => {
  const r = random(0xf022);
  const outcomes = new Map<string, number>();
  for (let i = 0; i < ITERATIONS; i++) {
    const [p, x] = r() < 0.7 ? [mutate(pack, r), idx] : [pack, mutate(idx, r)];
    const result = resultOrCode(t, () => {
      const packFile = openPack(p, x);
      for (const o of objects) {
        const got = resultOrCode(t, () => packFile.read(oidToBytes(o.oid)), `iteration ${i}, ${o.oid}`);
        if (typeof got === 'string') outcomes.set(got, (outcomes.get(got) ?? 0) + 1);
      }
      return 'opened';
    }, `iteration ${i}`);
    outcomes.set(`open: ${result}`, (outcomes.get(`open: ${result}`) ?? 0) + 1);
  }
  t.true((outcomes.get('ERR_PACK_CORRUPT') ?? 0) > 0, 'some mutations reach the entries');
  t.true((outcomes.get('open: ERR_PACK_CORRUPT') ?? 0) > 0, 'some mutations break the containers');
});

test('mutated trees: parseTree returns entries or ERR_TREE_CORRUPT / ERR_TREE_NAME', (t) => {
  const r = random(0x7ee);
  const trees = objects.filter((o) => o.type === 'tree');
  const codes = new Set<string>();
  for (let i = 0; i < ITERATIONS; i++) {
    const tree = trees[i % trees.length]!;
    const got = resultOrCode(t, () => parseTree(mutate(tree.content, r)), `iteration ${i}`);
    if (typeof got === 'string') codes.add(got);
  }
  t.deepEqual([...codes].sort(), ['ERR_TREE_CORRUPT', 'ERR_TREE_NAME']);
});

test('mutated loose objects: parseLooseObject returns an object or ERR_OBJECT_CORRUPT / ERR_TOO_LARGE', (t) => {
  const r = random(0x1005e);
  const codes = new Set<string>();
  for (let i = 0; i < ITERATIONS; i++) {
    const o = objects[i % objects.length]!;
    const got = resultOrCode(t, () => parseLooseObject(mutate(encodeLooseObject(o.type, o.content), r), 1 << 24, o.oid), `iteration ${i}`);
    if (typeof got === 'string') codes.add(got);
  }
  t.true(codes.has('ERR_OBJECT_CORRUPT'));
  t.deepEqual([...codes].filter((c) => c !== 'ERR_OBJECT_CORRUPT' && c !== 'ERR_TOO_LARGE'), []);
});

test('mutated deltas from git: applyDelta returns a result or ERR_DELTA_CORRUPT / ERR_TOO_LARGE', (t) => {
  // The inflated deltas of the pack's OFS_DELTA entries, each with its base's content.
  const packFile = openPack(pack, idx);
  const deltas: { base: Buffer; delta: Buffer }[] = [];
  for (let i = 0; i < packFile.index.count; i++) {
    const offset = packFile.index.offsetAt(i);
    const h = packFile.entryHeader(offset);
    if (h.typeCode !== OBJ_OFS_DELTA) continue;
    deltas.push({ base: packFile.readAt(h.baseOffset!).content, delta: packFile.inflate(offset + h.headerLength, h.size, offset) });
  }
  t.true(deltas.length > 0, 'the fixture pack has deltas');
  const r = random(0xde17a);
  const codes = new Set<string>();
  for (let i = 0; i < ITERATIONS; i++) {
    const d = deltas[i % deltas.length]!;
    const got = resultOrCode(t, () => applyDelta(d.base, mutate(d.delta, r), 1 << 24), `iteration ${i}`);
    if (typeof got === 'string') codes.add(got);
  }
  t.true(codes.has('ERR_DELTA_CORRUPT'));
  t.deepEqual([...codes].filter((c) => c !== 'ERR_DELTA_CORRUPT' && c !== 'ERR_TOO_LARGE'), []);
});
