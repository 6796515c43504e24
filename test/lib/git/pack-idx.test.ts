// PackIndex over indexes written by git (v2, v2 with a 64-bit offset table, and v1, which we refuse),
// and over indexes mutated byte by byte: every broken container must be refused when opened, with
// ERR_PACK_CORRUPT, before anything trusts its tables.
import test from 'ava';
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import { BufferSource } from '../../../lib/io/random-access.js';
import { PackIndex } from '../../../lib/git/pack-idx.js';
import { oidFromBytes, oidToBytes } from '../../../lib/oid.js';
import { git, initRepo, packAll, removeDir, sharedTempDir, verifyPack, type VerifyPackLine } from '../../helpers/git-fixture.js';
import { makeSmallRepo } from '../../helpers/history.js';
import { throwsCode } from '../../helpers/medo-error.js';

let root: string;
let repo: string;
let idx: Buffer; // v2, 32-bit offsets only
let idx64: Buffer; // v2, every offset above 0x40 in the 64-bit table
let pack: Buffer;
let truth: Map<string, VerifyPackLine>;

test.before(() => {
  root = sharedTempDir('medo-pack-idx-');
  repo = join(root, 'repo');
  mkdirSync(repo);
  makeSmallRepo(repo);
  const base = packAll(repo, join(root, 'packs'), ['--delta-base-offset']);
  idx = readFileSync(`${base}.idx`);
  pack = readFileSync(`${base}.pack`);
  truth = verifyPack(repo, `${base}.idx`).entries;
  git(root, ['index-pack', '--index-version=2,0x40', '-o', join(root, 'large.idx'), `${base}.pack`]);
  idx64 = readFileSync(join(root, 'large.idx'));
});

test.after.always(() => removeDir(root));

const openIdx = (buf: Buffer) => PackIndex.open(new BufferSource(buf, 'test.idx'));

/** Byte positions of git's idx v2 tables for an index of `n` objects (gitformat-pack). */
const table = (n: number) => ({
  fanout: (b: number) => 8 + b * 4,
  offset32: (i: number) => 1032 + n * 24 + i * 4,
  offset64: (j: number) => 1032 + n * 28 + j * 8,
});

test('every object git packed is found at the offset verify-pack reports', (t) => {
  for (const buf of [idx, idx64]) {
    const index = openIdx(buf);
    t.is(index.count, truth.size);
    for (const [oid, line] of truth) t.is(index.lookup(oidToBytes(oid)), line.offset, oid);
    t.is(index.lookup(oidToBytes('0'.repeat(40))), undefined);
    t.is(index.lookup(oidToBytes('f'.repeat(40))), undefined);
  }
  t.is(openIdx(idx).largeOffsetCount, 0);
  t.true(openIdx(idx64).largeOffsetCount > truth.size / 2, 'most offsets use the 64-bit table');
});

test('ids are sorted, CRCs cover each entry, checksums match the pack and the index', (t) => {
  const index = openIdx(idx);
  const ids = Array.from({ length: index.count }, (_, i) => oidFromBytes(index.oidAt(i)));
  t.deepEqual(ids, [...truth.keys()].sort());
  for (let i = 0; i < index.count; i++) {
    const line = truth.get(ids[i]!)!;
    t.is(index.crc32At(i), crc32(pack.subarray(line.offset, line.offset + line.sizeInPack)), ids[i]);
  }
  t.deepEqual(index.packChecksum, pack.subarray(pack.length - 20));
  t.deepEqual(index.storedChecksum(), createHash('sha1').update(idx.subarray(0, idx.length - 20)).digest());
});

test('a version 1 index, as git index-pack --index-version=1 writes it, is refused', (t) => {
  const base = packAll(repo, join(root, 'v1'), []);
  git(root, ['index-pack', '--index-version=1', '-o', join(root, 'v1.idx'), `${base}.pack`]);
  throwsCode(t, () => openIdx(readFileSync(join(root, 'v1.idx'))), 'ERR_PACK_CORRUPT');
});

test('truncated indexes are refused', (t) => {
  for (const length of [0, 7, 8, 1031, 1032, 1072, idx.length - 21, idx.length - 1]) {
    throwsCode(t, () => openIdx(idx.subarray(0, length)), 'ERR_PACK_CORRUPT', `${length} bytes`);
  }
});

test('bad magic and unsupported versions are refused', (t) => {
  const magic = Buffer.from(idx);
  magic[0] = 0xfe;
  throwsCode(t, () => openIdx(magic), 'ERR_PACK_CORRUPT');
  for (const version of [0, 1, 3, 0xffffffff]) {
    const v = Buffer.from(idx);
    v.writeUInt32BE(version, 4);
    throwsCode(t, () => openIdx(v), 'ERR_PACK_CORRUPT', `version ${version}`);
  }
});

test('a fan-out that goes down is refused', (t) => {
  const n = openIdx(idx).count;
  const buf = Buffer.from(idx);
  // Entry 0x80 claims more ids than entry 0x81 (which still ends at n further on).
  buf.writeUInt32BE(n, table(n).fanout(0x80));
  buf.writeUInt32BE(n - 1, table(n).fanout(0x81));
  throwsCode(t, () => openIdx(buf), 'ERR_PACK_CORRUPT');
});

test('an index whose size does not fit its object count is refused', (t) => {
  const n = openIdx(idx).count;
  const body = idx.subarray(0, idx.length - 40);
  const trailer = idx.subarray(idx.length - 40);
  const withExtra = (bytes: number) => Buffer.concat([body, Buffer.alloc(bytes), trailer]);
  throwsCode(t, () => openIdx(withExtra(4)), 'ERR_PACK_CORRUPT', 'not a whole 64-bit entry');
  throwsCode(t, () => openIdx(withExtra(8 * (n + 1))), 'ERR_PACK_CORRUPT', 'more 64-bit entries than objects');
  throwsCode(t, () => openIdx(Buffer.concat([body.subarray(0, body.length - 8), trailer])), 'ERR_PACK_CORRUPT', 'short by 8');
  // A count of 2^32 - 1 in a 1 KiB file: refused from the size alone, with nothing allocated for it.
  const huge = Buffer.from(idx);
  for (let b = 0; b < 256; b++) huge.writeUInt32BE(0xffffffff, table(n).fanout(b));
  throwsCode(t, () => openIdx(huge), 'ERR_PACK_CORRUPT', 'huge count');
});

test('an offset naming a 64-bit entry past the table is refused when read', (t) => {
  const n = openIdx(idx).count;
  const noTable = Buffer.from(idx);
  noTable.writeUInt32BE(0x80000000, table(n).offset32(0));
  throwsCode(t, () => openIdx(noTable).offsetAt(0), 'ERR_PACK_CORRUPT', 'index without a 64-bit table');

  const large = openIdx(idx64).largeOffsetCount;
  const pastTable = Buffer.from(idx64);
  pastTable.writeUInt32BE((0x80000000 | large) >>> 0, table(n).offset32(0));
  throwsCode(t, () => openIdx(pastTable).offsetAt(0), 'ERR_PACK_CORRUPT', 'one past the 64-bit table');
  const farPast = Buffer.from(idx64);
  farPast.writeUInt32BE(0xffffffff, table(n).offset32(1));
  throwsCode(t, () => openIdx(farPast).offsetAt(1), 'ERR_PACK_CORRUPT', 'last possible 64-bit index');
});

test('64-bit offsets beyond Number.MAX_SAFE_INTEGER are corruption, not rounding', (t) => {
  const n = openIdx(idx64).count;
  for (const value of [2n ** 53n, 2n ** 64n - 1n]) {
    const buf = Buffer.from(idx64);
    buf.writeBigUInt64BE(value, table(n).offset64(0));
    const index = openIdx(buf);
    const i = Array.from({ length: n }, (_, k) => k).find((k) => buf.readUInt32BE(table(n).offset32(k)) === 0x80000000)!;
    throwsCode(t, () => index.offsetAt(i), 'ERR_PACK_CORRUPT', String(value));
  }
});
