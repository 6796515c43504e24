// Zlib bombs: small inputs whose streams inflate to 512 MiB. Each reader must stop at the size the entry
// declares (pack entries, git loose objects) or at the configured limit (silo objects, which declare
// none), raise a typed error, and never hold the whole stream in memory. Memory is checked through the
// process's peak RSS, which a 512 MiB inflate could not hide; this file runs in its own process and its
// tests run one at a time, so nothing else moves the peak.
import test from 'ava';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable, type Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { constants, crc32, createGunzip, createInflate, deflateRawSync } from 'node:zlib';
import { GitRepo } from '../../lib/git/git-repo.js';
import { hashObject, oidToBytes } from '../../lib/oid.js';
import { Silo } from '../../lib/silo/silo.js';
import { initRepo, tempDir } from '../helpers/git-fixture.js';
import { throwsCode } from '../helpers/medo-error.js';
import { OBJ, buildPack, entryHeader, fakeOid, openPack, varint } from '../helpers/pack-builder.js';

const MIB = 1 << 20;
const BOMB_MIB = 512;
const ADLER_MOD = 65521;

/**
 * Raw deflate of `prefix` followed by `BOMB_MIB` MiB of zeros: one flushed block of 1 MiB of zeros is
 * repeated, since a flushed block is byte-aligned and refers to nothing before it. About 1 KiB per MiB.
 */
function rawBomb(prefix: Buffer): Buffer {
  const flush = { finishFlush: constants.Z_SYNC_FLUSH };
  const zeros = deflateRawSync(Buffer.alloc(MIB), flush);
  const parts = [deflateRawSync(prefix, flush)];
  for (let i = 0; i < BOMB_MIB; i++) parts.push(zeros);
  parts.push(deflateRawSync(Buffer.alloc(0))); // the final, empty block
  return Buffer.concat(parts);
}

/** zlib wrapping; Adler-32 of the prefix then n zeros: `a` stops changing, `b` grows by `a` per byte. */
function zlibBomb(prefix: Buffer): Buffer {
  let a = 1;
  let b = 0;
  for (const c of prefix) {
    a = (a + c) % ADLER_MOD;
    b = (b + a) % ADLER_MOD;
  }
  b = (b + ((BOMB_MIB * MIB) % ADLER_MOD) * a) % ADLER_MOD;
  const adler = Buffer.alloc(4);
  adler.writeUInt32BE(((b << 16) | a) >>> 0);
  return Buffer.concat([Buffer.of(0x78, 0x9c), rawBomb(prefix), adler]);
}

function gzipBomb(): Buffer {
  let crc = 0;
  const zeros = Buffer.alloc(MIB);
  for (let i = 0; i < BOMB_MIB; i++) crc = crc32(zeros, crc);
  const trailer = Buffer.alloc(8);
  trailer.writeUInt32LE(crc >>> 0, 0);
  trailer.writeUInt32LE((BOMB_MIB * MIB) >>> 0, 4);
  return Buffer.concat([Buffer.of(0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3), rawBomb(Buffer.alloc(0)), trailer]);
}

const peakRssBytes = () => process.resourceUsage().maxRSS * 1024;

/** Runs `fn` and asserts the process's peak RSS grew by less than a quarter of the bomb. */
function withinMemory(t: import('ava').ExecutionContext, fn: () => void): void {
  const before = peakRssBytes();
  fn();
  const grown = peakRssBytes() - before;
  t.true(grown < (BOMB_MIB * MIB) / 4, `peak RSS grew by ${Math.round(grown / MIB)} MiB`);
}

test.serial('the bombs are valid streams that inflate to 512 MiB', async (t) => {
  // Streamed through zlib in small chunks, so checking them costs no memory either.
  const cases: [Buffer, () => Transform, number][] = [
    [zlibBomb(Buffer.from('blob 10\0')), createInflate, 8 + BOMB_MIB * MIB],
    [gzipBomb(), createGunzip, BOMB_MIB * MIB],
  ];
  for (const [stream, decoder, expected] of cases) {
    t.true(stream.length < 2 * MIB, `${stream.length} bytes of stream`);
    let inflated = 0;
    await pipeline(Readable.from([stream]), decoder(), async (chunks: AsyncIterable<Buffer>) => {
      for await (const chunk of chunks) inflated += chunk.length;
    });
    t.is(inflated, expected);
  }
});

test.serial('a pack entry declaring 100 bytes whose stream holds 512 MiB', (t) => {
  const whole = buildPack([{ oid: fakeOid(1), raw: Buffer.concat([entryHeader(OBJ.blob, 100), zlibBomb(Buffer.alloc(0))]) }]);
  withinMemory(t, () => throwsCode(t, () => openPack(whole.pack, whole.idx).read(oidToBytes(fakeOid(1))), 'ERR_PACK_CORRUPT'));
});

test.serial('a delta declaring 100 bytes whose stream holds 512 MiB', (t) => {
  const base = Buffer.from('base');
  const deltaStream = zlibBomb(Buffer.concat([varint(base.length), varint(10)]));
  const built = buildPack([
    { oid: hashObject('blob', base), type: 'blob', content: base },
    { oid: fakeOid(2), raw: Buffer.concat([entryHeader(OBJ.refDelta, 100), Buffer.from(hashObject('blob', base), 'hex'), deltaStream]) },
  ]);
  withinMemory(t, () => throwsCode(t, () => openPack(built.pack, built.idx).read(oidToBytes(fakeOid(2))), 'ERR_PACK_CORRUPT'));
});

test.serial('a git loose object whose header declares 10 bytes and whose stream holds 512 MiB', (t) => {
  const repo = initRepo(tempDir(t), { bare: true });
  const oid = fakeOid(0xabc);
  mkdirSync(join(repo, 'objects', oid.slice(0, 2)));
  writeFileSync(join(repo, 'objects', oid.slice(0, 2), oid.slice(2)), zlibBomb(Buffer.from('blob 10\0')));
  const store = GitRepo.open(repo);
  t.teardown(() => store.close());
  withinMemory(t, () => throwsCode(t, () => store.read(oid), 'ERR_OBJECT_CORRUPT'));
});

test.serial('a silo object, which declares no size, stops at the configured limit', (t) => {
  const dir = tempDir(t);
  Silo.init(dir).close();
  const oid = fakeOid(0xdef);
  mkdirSync(join(dir, 'objects', oid.slice(0, 2)));
  writeFileSync(join(dir, 'objects', oid.slice(0, 2), `${oid.slice(2)}.gz`), gzipBomb());
  const silo = Silo.open(dir, { limits: { maxObjectSize: 16 * MIB, maxChainLength: 100 } });
  t.teardown(() => silo.close());
  withinMemory(t, () => throwsCode(t, () => silo.read(oid), 'ERR_OBJECT_CORRUPT'));
});
