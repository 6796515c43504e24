// Hand-built packs and indexes for inputs git refuses to write (hostile deltas, loops, zlib bombs).
// Written from gitformat-pack independently of lib/git/pack-writer.ts, so the reader is not tested
// against its own writer's mistakes. https://git-scm.com/docs/gitformat-pack
import { createHash } from 'node:crypto';
import { crc32, deflateSync } from 'node:zlib';
import { BufferSource } from '../../lib/io/random-access.js';
import { PackFile, type PackFileOptions } from '../../lib/git/pack-file.js';
import { PackIndex } from '../../lib/git/pack-idx.js';

export const OBJ = { commit: 1, tree: 2, blob: 3, tag: 4, ofsDelta: 6, refDelta: 7 } as const;

/** Entry header: type and size in the first byte's low nibble, then 7 bits of size per byte. */
export function entryHeader(typeCode: number, size: number): Buffer {
  const bytes = [(typeCode << 4) | (size % 16)];
  let rest = Math.floor(size / 16);
  while (rest > 0) {
    bytes[bytes.length - 1]! |= 0x80;
    bytes.push(rest % 128);
    rest = Math.floor(rest / 128);
  }
  return Buffer.from(bytes);
}

/** OBJ_OFS_DELTA's base distance: big-endian base-128, each continuation adds one (git's encoding). */
export function ofsDistance(distance: number): Buffer {
  // Arithmetic, not bit operators: distances in packs over 4 GiB do not fit 32 bits.
  const bytes = [distance % 128];
  let d = Math.floor(distance / 128);
  while (d > 0) {
    d--;
    bytes.unshift(0x80 | (d % 128));
    d = Math.floor(d / 128);
  }
  return Buffer.from(bytes);
}

/** Delta size header: little-endian base-128. */
export function varint(n: number): Buffer {
  const bytes: number[] = [];
  do {
    bytes.push((n % 128) | (n >= 128 ? 0x80 : 0));
    n = Math.floor(n / 128);
  } while (n > 0);
  return Buffer.from(bytes);
}

export function copyOp(offset: number, length: number): Buffer {
  let op = 0x80;
  const args: number[] = [];
  for (let b = 0; b < 4; b++) {
    const byte = Math.floor(offset / 2 ** (8 * b)) & 0xff;
    if (byte !== 0) {
      op |= 1 << b;
      args.push(byte);
    }
  }
  const len = length === 0x10000 ? 0 : length; // an absent size means 0x10000
  for (let b = 0; b < 3; b++) {
    const byte = (len >> (8 * b)) & 0xff;
    if (byte !== 0) {
      op |= 0x10 << b;
      args.push(byte);
    }
  }
  return Buffer.from([op, ...args]);
}

export function insertOp(data: string | Buffer): Buffer {
  const bytes = Buffer.from(data);
  if (bytes.length < 1 || bytes.length > 127) throw new Error('an insert carries 1..127 bytes');
  return Buffer.concat([Buffer.of(bytes.length), bytes]);
}

export function delta(baseSize: number, resultSize: number, ...ops: Buffer[]): Buffer {
  return Buffer.concat([varint(baseSize), varint(resultSize), ...ops]);
}

export type Entry =
  | { oid: string; type: keyof typeof OBJ & ('blob' | 'tree' | 'commit' | 'tag'); content: Buffer }
  | { oid: string; ofsDeltaOf: number; delta: Buffer } // base given as the index of an earlier entry
  | { oid: string; refDelta: string; delta: Buffer }
  | { oid: string; raw: Buffer }; // header and data exactly as given

export interface BuiltPack {
  pack: Buffer;
  idx: Buffer;
  offsets: number[];
}

function entryBytes(e: Entry, offset: number, offsets: readonly number[]): Buffer {
  if ('raw' in e) return e.raw;
  if ('content' in e) return Buffer.concat([entryHeader(OBJ[e.type], e.content.length), deflateSync(e.content)]);
  if ('refDelta' in e) {
    return Buffer.concat([entryHeader(OBJ.refDelta, e.delta.length), Buffer.from(e.refDelta, 'hex'), deflateSync(e.delta)]);
  }
  const base = offsets[e.ofsDeltaOf];
  if (base === undefined) throw new Error('ofsDeltaOf must name an earlier entry');
  return Buffer.concat([entryHeader(OBJ.ofsDelta, e.delta.length), ofsDistance(offset - base), deflateSync(e.delta)]);
}

/** A pack v2 of `entries` in order, and its idx v2 (64-bit offsets for offsets >= `largeOffsetFrom`). */
export function buildPack(entries: readonly Entry[], options: { largeOffsetFrom?: number } = {}): BuiltPack {
  const head = Buffer.from('PACK\0\0\0\x02\0\0\0\0', 'latin1');
  head.writeUInt32BE(entries.length, 8);
  const parts: Buffer[] = [head];
  const offsets: number[] = [];
  const crcs: number[] = [];
  let offset = head.length;
  for (const e of entries) {
    const bytes = entryBytes(e, offset, offsets);
    offsets.push(offset);
    crcs.push(crc32(bytes));
    parts.push(bytes);
    offset += bytes.length;
  }
  const body = Buffer.concat(parts);
  const checksum = createHash('sha1').update(body).digest();
  const pack = Buffer.concat([body, checksum]);
  const items = entries.map((e, i) => ({ oid: Buffer.from(e.oid, 'hex'), offset: offsets[i]!, crc: crcs[i]! }));
  return { pack, idx: buildIdx(items, checksum, options.largeOffsetFrom ?? 2 ** 31), offsets };
}

export function buildIdx(items: { oid: Buffer; offset: number; crc: number }[], packChecksum: Buffer, largeOffsetFrom = 2 ** 31): Buffer {
  const sorted = [...items].sort((a, b) => Buffer.compare(a.oid, b.oid));
  const fanout = Buffer.alloc(1024);
  for (let b = 0; b < 256; b++) fanout.writeUInt32BE(sorted.filter((x) => x.oid[0]! <= b).length, b * 4);
  const oids = sorted.map((x) => x.oid);
  const crcTable = Buffer.alloc(4 * sorted.length);
  const small = Buffer.alloc(4 * sorted.length);
  const large: Buffer[] = [];
  sorted.forEach((x, i) => {
    crcTable.writeUInt32BE(x.crc >>> 0, i * 4);
    if (x.offset >= largeOffsetFrom) {
      small.writeUInt32BE((0x80000000 | large.length) >>> 0, i * 4);
      const b = Buffer.alloc(8);
      b.writeBigUInt64BE(BigInt(x.offset));
      large.push(b);
    } else {
      small.writeUInt32BE(x.offset, i * 4);
    }
  });
  const body = Buffer.concat([Buffer.from([0xff, 0x74, 0x4f, 0x63, 0, 0, 0, 2]), fanout, ...oids, crcTable, small, ...large, packChecksum]);
  return Buffer.concat([body, createHash('sha1').update(body).digest()]);
}

/** A PackFile over in-memory bytes; every failure to open or read must be a typed error. */
export function openPack(pack: Buffer, idx: Buffer, options: PackFileOptions = {}): PackFile {
  return new PackFile(PackIndex.open(new BufferSource(idx, 'test.idx')), new BufferSource(pack, 'test.pack'), options);
}

/** Any 40-hex id; hand-built entries need not hash to their names. */
export function fakeOid(n: number): string {
  return n.toString(16).padStart(40, '0');
}
