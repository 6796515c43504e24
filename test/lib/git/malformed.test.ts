// Malformed packs: git's own output mutated byte by byte, and hand-built entries git would never write
// (hostile deltas, loops, lying sizes). Each must raise a MedoError with the code that names the fault;
// none may crash, hang or allocate what an entry merely claims.
import test from 'ava';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { deflateSync } from 'node:zlib';
import { GitRepo } from '../../../lib/git/git-repo.js';
import { PackFile } from '../../../lib/git/pack-file.js';
import { hashObject, oidToBytes } from '../../../lib/oid.js';
import { git, initRepo, packAll, removeDir, sharedTempDir, tempDir, verifyPack, type VerifyPackLine } from '../../helpers/git-fixture.js';
import { makeSmallRepo } from '../../helpers/history.js';
import { throwsCode } from '../../helpers/medo-error.js';
import { OBJ, buildPack, copyOp, delta, entryHeader, fakeOid, insertOp, ofsDistance, openPack, type Entry } from '../../helpers/pack-builder.js';

let root: string;
let pack: Buffer;
let idx: Buffer;
let idx64: Buffer;
let truth: Map<string, VerifyPackLine>;

test.before(() => {
  root = sharedTempDir('medo-malformed-');
  const repo = join(root, 'repo');
  mkdirSync(repo);
  makeSmallRepo(repo);
  const base = packAll(repo, join(root, 'packs'), ['--delta-base-offset']);
  pack = readFileSync(`${base}.pack`);
  idx = readFileSync(`${base}.idx`);
  truth = verifyPack(repo, `${base}.idx`).entries;
  git(root, ['index-pack', '--index-version=2,0x40', '-o', join(root, 'large.idx'), `${base}.pack`]);
  idx64 = readFileSync(join(root, 'large.idx'));
});

test.after.always(() => removeDir(root));

const readAll = (p: PackFile) => {
  for (const oid of truth.keys()) p.read(oidToBytes(oid));
};
/** The idx position and verify-pack line of the biggest whole (non-delta) entry. */
const biggestWhole = () => [...truth].filter(([, l]) => l.depth === 0).sort((a, b) => b[1].sizeInPack - a[1].sizeInPack)[0]!;
const offset32At = (buf: Buffer, i: number) => 1032 + (buf.readUInt32BE(8 + 255 * 4) * 24) + i * 4;

test('the unmutated fixture reads cleanly', (t) => {
  t.notThrows(() => readAll(openPack(pack, idx)));
  t.notThrows(() => readAll(openPack(pack, idx64)));
});

test('a pack whose object count differs from its index is refused', (t) => {
  const p = Buffer.from(pack);
  p.writeUInt32BE(p.readUInt32BE(8) + 1, 8);
  throwsCode(t, () => openPack(p, idx), 'ERR_PACK_CORRUPT');
});

test('a pack whose trailer differs from the checksum in its index is refused', (t) => {
  const p = Buffer.from(pack);
  p[p.length - 1]! ^= 1;
  throwsCode(t, () => openPack(p, idx), 'ERR_PACK_CORRUPT', 'pack trailer');
  const i = Buffer.from(idx);
  i[i.length - 40]! ^= 1;
  throwsCode(t, () => openPack(pack, i), 'ERR_PACK_CORRUPT', 'checksum recorded in the idx');
});

test('bad signatures, versions and sizes are refused', (t) => {
  const sig = Buffer.from(pack);
  sig.write('KCAP', 0, 'latin1');
  throwsCode(t, () => openPack(sig, idx), 'ERR_PACK_CORRUPT', 'signature');
  for (const version of [1, 4]) {
    const v = Buffer.from(pack);
    v.writeUInt32BE(version, 4);
    throwsCode(t, () => openPack(v, idx), 'ERR_PACK_CORRUPT', `version ${version}`);
  }
  throwsCode(t, () => openPack(pack.subarray(0, 31), idx), 'ERR_PACK_CORRUPT', 'shorter than header and trailer');
});

test('a truncated pack file is refused when opened from disk', (t) => {
  const dir = tempDir(t);
  writeFileSync(join(dir, 'pack-x.pack'), pack.subarray(0, pack.length - 100));
  writeFileSync(join(dir, 'pack-x.idx'), idx);
  throwsCode(t, () => PackFile.open(join(dir, 'pack-x.idx')), 'ERR_PACK_CORRUPT');
});

test('offsets outside the entries (header, trailer, past the end) are refused', (t) => {
  const [oid] = biggestWhole();
  for (const bad of [0, 11, pack.length - 20, pack.length - 1, pack.length, pack.length + 100, 0x7fffffff]) {
    const i = Buffer.from(idx);
    const at = openPack(pack, idx).index.position(oidToBytes(oid));
    i.writeUInt32BE(bad, offset32At(i, at));
    throwsCode(t, () => openPack(pack, i).read(oidToBytes(oid)), 'ERR_PACK_CORRUPT', `offset ${bad}`);
  }
});

test('a 64-bit offset past the end of the pack is refused', (t) => {
  const i = Buffer.from(idx64);
  const n = i.readUInt32BE(8 + 255 * 4);
  i.writeBigUInt64BE(BigInt(pack.length + 4096), 1032 + n * 28); // first 64-bit entry
  const p = openPack(pack, i);
  t.is(p.index.largeOffsetCount > 0, true);
  throwsCode(t, () => readAll(p), 'ERR_PACK_CORRUPT');
});

test('corrupt zlib data in an entry is refused', (t) => {
  const [oid, line] = biggestWhole();
  const p = Buffer.from(pack);
  p[line.offset + Math.floor(line.sizeInPack / 2)]! ^= 0x55;
  // Opening compares the trailer with the index, not with the data (that is a full verify's job), so the
  // entry itself is what fails.
  throwsCode(t, () => openPack(p, idx).read(oidToBytes(oid)), 'ERR_PACK_CORRUPT');
});

test('entries that inflate to more or less than their declared size are refused', (t) => {
  const data = Buffer.from('twelve bytes');
  const lying = (size: number): Entry => ({ oid: fakeOid(1), raw: Buffer.concat([entryHeader(OBJ.blob, size), deflateSync(data)]) });
  const short = buildPack([lying(data.length + 1)]);
  throwsCode(t, () => openPack(short.pack, short.idx).read(oidToBytes(fakeOid(1))), 'ERR_PACK_CORRUPT', 'declared more');
  const long = buildPack([lying(data.length - 1)]);
  throwsCode(t, () => openPack(long.pack, long.idx).read(oidToBytes(fakeOid(1))), 'ERR_PACK_CORRUPT', 'declared less');
});

test('invalid type codes, over-long size fields and truncated headers are refused', (t) => {
  const raws: Record<string, Buffer> = {
    'type 0': Buffer.concat([entryHeader(0, 1), deflateSync('x')]),
    'type 5 (reserved)': Buffer.concat([entryHeader(5, 1), deflateSync('x')]),
    'size field of 12 bytes': Buffer.concat([Buffer.alloc(11, 0xbf), Buffer.of(0x01), deflateSync('x')]),
    'header cut by the trailer': Buffer.of(0xb0 | 0x0f, 0x80, 0x80),
    'REF_DELTA id cut by the trailer': Buffer.concat([entryHeader(OBJ.refDelta, 5), Buffer.alloc(3)]),
  };
  for (const [why, raw] of Object.entries(raws)) {
    const built = buildPack([{ oid: fakeOid(1), raw }]);
    throwsCode(t, () => openPack(built.pack, built.idx).read(oidToBytes(fakeOid(1))), 'ERR_PACK_CORRUPT', why);
  }
});

test('OFS_DELTA bases outside the pack are refused', (t) => {
  const d = deflateSync(delta(1, 1, copyOp(0, 1)));
  for (const distance of [13, 1000, 2 ** 40]) {
    const raw = Buffer.concat([entryHeader(OBJ.ofsDelta, 4), ofsDistance(distance), d]);
    const built = buildPack([{ oid: fakeOid(1), raw }]);
    throwsCode(t, () => openPack(built.pack, built.idx).read(oidToBytes(fakeOid(1))), 'ERR_PACK_CORRUPT', `distance ${distance}`);
  }
});

test('delta chains that loop are refused', (t) => {
  const d = delta(3, 3, copyOp(0, 3));
  const self = buildPack([{ oid: fakeOid(1), refDelta: fakeOid(1), delta: d }]);
  throwsCode(t, () => openPack(self.pack, self.idx).read(oidToBytes(fakeOid(1))), 'ERR_PACK_CORRUPT', 'REF_DELTA on itself');
  const pair = buildPack([{ oid: fakeOid(1), refDelta: fakeOid(2), delta: d }, { oid: fakeOid(2), refDelta: fakeOid(1), delta: d }]);
  throwsCode(t, () => openPack(pair.pack, pair.idx).read(oidToBytes(fakeOid(2))), 'ERR_PACK_CORRUPT', 'two REF_DELTAs');
  // An OFS_DELTA always points back, so a loop needs a REF_DELTA pointing forward again.
  const mixed = buildPack([{ oid: fakeOid(1), refDelta: fakeOid(2), delta: d }, { oid: fakeOid(2), ofsDeltaOf: 0, delta: d }]);
  throwsCode(t, () => openPack(mixed.pack, mixed.idx).read(oidToBytes(fakeOid(2))), 'ERR_PACK_CORRUPT', 'OFS then REF');
});

test('a REF_DELTA whose base no store holds is ERR_OBJECT_MISSING', (t) => {
  const built = buildPack([{ oid: fakeOid(1), refDelta: fakeOid(99), delta: delta(3, 3, copyOp(0, 3)) }]);
  const err = throwsCode(t, () => openPack(built.pack, built.idx).read(oidToBytes(fakeOid(1))), 'ERR_OBJECT_MISSING');
  t.is(err.data.oid, fakeOid(99));
});

test('hostile deltas inside a pack are ERR_PACK_CORRUPT caused by ERR_DELTA_CORRUPT', (t) => {
  const content = Buffer.from('base content\n');
  const cases: Record<string, Buffer> = {
    'writes past its declared size': delta(content.length, 2, insertOp('abc')),
    'copies past its base': delta(content.length, 4, copyOp(content.length - 2, 4)),
    'reserved op 0': delta(content.length, 1, Buffer.of(0), insertOp('a')),
    'wrong base size': delta(content.length + 1, 1, insertOp('a')),
  };
  for (const [why, d] of Object.entries(cases)) {
    const built = buildPack([{ oid: hashObject('blob', content), type: 'blob', content }, { oid: fakeOid(2), ofsDeltaOf: 0, delta: d }]);
    const err = throwsCode(t, () => openPack(built.pack, built.idx).read(oidToBytes(fakeOid(2))), 'ERR_PACK_CORRUPT', why);
    t.is((err.cause as { code?: string }).code, 'ERR_DELTA_CORRUPT', why);
  }
});

test('an entry claiming 100 GB in a few bytes is corrupt; a plausible claim over the limit is ERR_TOO_LARGE', (t) => {
  const huge = buildPack([{ oid: fakeOid(1), raw: Buffer.concat([entryHeader(OBJ.blob, 100e9), deflateSync('tiny')]) }]);
  throwsCode(t, () => openPack(huge.pack, huge.idx).read(oidToBytes(fakeOid(1))), 'ERR_PACK_CORRUPT', '100 GB');
  const content = Buffer.alloc(5000, 'a');
  const real = buildPack([{ oid: hashObject('blob', content), type: 'blob', content }]);
  const limited = openPack(real.pack, real.idx, { limits: { maxObjectSize: 4999, maxChainLength: 10 } });
  throwsCode(t, () => limited.read(oidToBytes(hashObject('blob', content))), 'ERR_TOO_LARGE', 'over maxObjectSize');
  // A delta may claim a result size no allocation could satisfy; the limit check comes first.
  const bigDelta = buildPack([
    { oid: hashObject('blob', content), type: 'blob', content },
    { oid: fakeOid(2), ofsDeltaOf: 0, delta: delta(content.length, 100e9, copyOp(0, 1)) },
  ]);
  throwsCode(t, () => openPack(bigDelta.pack, bigDelta.idx).read(oidToBytes(fakeOid(2))), 'ERR_TOO_LARGE', 'delta result');
});

test('REF_DELTAs in two packs that are each other\'s base are refused, not recursed into forever', (t) => {
  const repo = initRepo(tempDir(t), { bare: true });
  const d = delta(3, 3, copyOp(0, 3));
  const a = buildPack([{ oid: fakeOid(1), refDelta: fakeOid(2), delta: d }]);
  const b = buildPack([{ oid: fakeOid(2), refDelta: fakeOid(1), delta: d }]);
  for (const [name, built] of [['pack-a', a], ['pack-b', b]] as const) {
    writeFileSync(join(repo, 'objects', 'pack', `${name}.pack`), built.pack);
    writeFileSync(join(repo, 'objects', 'pack', `${name}.idx`), built.idx);
  }
  const store = GitRepo.open(repo);
  t.teardown(() => store.close());
  const err = throwsCode(t, () => store.read(fakeOid(1)), 'ERR_PACK_CORRUPT');
  // A stack overflow caught and re-labelled on the way out would also carry this code.
  t.notRegex(err.message, /call stack/);
  t.is(err.cause, undefined);
});

test('a chain over the limit is refused even when its base or an inner link was read (and cached) first', (t) => {
  const base = Buffer.from('base content\n');
  const limits = { maxObjectSize: 1 << 20, maxChainLength: 4 };
  // entry 0 is whole; entry k (1..6) is a delta on entry k-1, so entry k is k deltas deep.
  const entries: Parameters<typeof buildPack>[0] = [{ oid: hashObject('blob', base), type: 'blob', content: base }];
  for (let k = 1; k <= 6; k++) entries.push({ oid: fakeOid(k), ofsDeltaOf: k - 1, delta: delta(base.length + k - 1, base.length + k, copyOp(0, base.length + k - 1), insertOp('x')) });
  const built = buildPack(entries);
  const pack = openPack(built.pack, built.idx, { limits });
  t.is(pack.read(oidToBytes(fakeOid(4)))!.content.toString(), `${base}xxxx`, 'exactly the limit reads (and caches its links)');
  throwsCode(t, () => pack.read(oidToBytes(fakeOid(5))), 'ERR_PACK_CORRUPT', 'one over, its inner links cached');
  throwsCode(t, () => pack.read(oidToBytes(fakeOid(6))), 'ERR_PACK_CORRUPT', 'two over');
  const fresh = openPack(built.pack, built.idx, { limits });
  throwsCode(t, () => fresh.read(oidToBytes(fakeOid(5))), 'ERR_PACK_CORRUPT', 'one over, nothing cached');
});
