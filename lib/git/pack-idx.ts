// Pack index v2 (`pack-*.idx`), read in place: the fan-out table is loaded at open (1 KiB) and
// everything else is binary-searched through positional reads, so opening an index of a million objects
// costs a few reads and no per-object memory (unlike isomorphic-git's GitPackIndex.fromIdx, which builds
// a Map of every id).
//
// Layout (https://git-scm.com/docs/gitformat-pack, "Version 2 pack-*.idx files"):
//   0      4   magic \377tOc
//   4      4   version = 2
//   8   1024   fan-out: 256 x uint32 BE, [b] = number of ids whose first byte is <= b
//   1032 20N   object ids, sorted
//   ..    4N   CRC32 of each packed entry (header and compressed data)
//   ..    4N   pack offsets; MSB set => low 31 bits index the 64-bit table
//   ..    8M   64-bit pack offsets (packs over 2 GiB)
//   ..    20   checksum of the pack file
//   ..    20   checksum of everything above
import { MedoError } from '../errors.js';
import type { RandomAccess } from '../io/random-access.js';
import { createHash } from 'node:crypto';
import { OID_BYTES } from '../oid.js';

export const IDX_MAGIC = 0xff744f63; // "\377tOc"
export const IDX_VERSION = 2;
const HEADER_BYTES = 8;
const FANOUT_BYTES = 256 * 4;
const TABLES_START = HEADER_BYTES + FANOUT_BYTES;
const TRAILER_BYTES = 2 * OID_BYTES;
const LARGE_OFFSET_FLAG = 0x80000000;

export class PackIndex {
  readonly count: number;
  readonly largeOffsetCount: number;
  /** Checksum of the pack this index describes (the pack's own trailer). */
  readonly packChecksum: Buffer;

  private constructor(
    readonly src: RandomAccess,
    private readonly fanout: Uint32Array,
  ) {
    this.count = fanout[255]!;
    this.largeOffsetCount = (src.size - this.minimumSize()) / 8;
    this.packChecksum = Buffer.from(src.read(src.size - TRAILER_BYTES, OID_BYTES));
  }

  /** Validates the container (magic, version, monotonic fan-out, exact size); accessors then trust it. */
  static open(src: RandomAccess): PackIndex {
    const fail = (why: string): never => {
      throw new MedoError('ERR_PACK_CORRUPT', `${src.path}: not a valid pack index v2: ${why}`, { path: src.path });
    };
    if (src.size < TABLES_START + TRAILER_BYTES) fail(`${src.size} bytes is too short`);
    const head = src.read(0, TABLES_START);
    if (head.readUInt32BE(0) !== IDX_MAGIC) fail('bad magic (version 1 indexes are not supported)');
    const version = head.readUInt32BE(4);
    if (version !== IDX_VERSION) fail(`unsupported version ${version}`);
    const fanout = new Uint32Array(256);
    let previous = 0;
    for (let i = 0; i < 256; i++) {
      const v = head.readUInt32BE(HEADER_BYTES + i * 4);
      if (v < previous) fail(`fan-out entry ${i} (${v}) is less than entry ${i - 1} (${previous})`);
      fanout[i] = previous = v;
    }
    const n = previous;
    const minimum = TABLES_START + n * (OID_BYTES + 8) + TRAILER_BYTES;
    const extra = src.size - minimum;
    if (extra < 0 || extra % 8 !== 0 || extra / 8 > n) {
      fail(`size ${src.size} does not fit ${n} objects (expected ${minimum} plus 8 bytes per 64-bit offset)`);
    }
    return new PackIndex(src, fanout);
  }

  private minimumSize(): number {
    return TABLES_START + this.count * (OID_BYTES + 8) + TRAILER_BYTES;
  }

  private oidTable(i: number): number {
    return TABLES_START + i * OID_BYTES;
  }

  private crc32Table(i: number): number {
    return TABLES_START + this.count * OID_BYTES + i * 4;
  }

  private offset32Table(i: number): number {
    return TABLES_START + this.count * (OID_BYTES + 4) + i * 4;
  }

  private offset64Table(i: number): number {
    return TABLES_START + this.count * (OID_BYTES + 8) + i * 8;
  }

  /** Position of `oid` (20 bytes) in the sorted table, or -1. */
  position(oid: Uint8Array): number {
    const first = oid[0]!;
    let lo = first === 0 ? 0 : this.fanout[first - 1]!;
    let hi = this.fanout[first]!;
    const key = Buffer.isBuffer(oid) ? oid : Buffer.from(oid.buffer, oid.byteOffset, oid.length);
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const c = this.src.compare(key, this.oidTable(mid));
      if (c === 0) return mid;
      if (c < 0) hi = mid;
      else lo = mid + 1;
    }
    return -1;
  }

  /** Pack offset of `oid`, or undefined when this pack does not hold it. */
  lookup(oid: Uint8Array): number | undefined {
    const i = this.position(oid);
    return i < 0 ? undefined : this.offsetAt(i);
  }

  oidAt(i: number): Buffer {
    return this.src.read(this.oidTable(i), OID_BYTES);
  }

  crc32At(i: number): number {
    return this.src.read(this.crc32Table(i), 4).readUInt32BE(0);
  }

  offsetAt(i: number): number {
    const v = this.src.read(this.offset32Table(i), 4).readUInt32BE(0);
    if ((v & LARGE_OFFSET_FLAG) === 0) return v;
    const j = v & ~LARGE_OFFSET_FLAG;
    if (j >= this.largeOffsetCount) {
      throw new MedoError('ERR_PACK_CORRUPT', `${this.src.path}: entry ${i} names 64-bit offset ${j} of ${this.largeOffsetCount}`,
        { path: this.src.path });
    }
    const big = this.src.read(this.offset64Table(j), 8).readBigUInt64BE(0);
    if (big > BigInt(Number.MAX_SAFE_INTEGER)) {
      throw new MedoError('ERR_PACK_CORRUPT', `${this.src.path}: entry ${i} has an impossible offset ${big}`, { path: this.src.path });
    }
    return Number(big);
  }

  /** The stored checksum of the index itself (its last 20 bytes). */
  storedChecksum(): Buffer {
    return this.src.read(this.src.size - OID_BYTES, OID_BYTES);
  }
}

/** An index entry as encodePackIndex takes it. */
export interface IndexEntry {
  oid: Buffer;
  offset: number;
  crc: number;
}

/**
 * The v2 index of a pack's entries (in any order) whose trailer is `packChecksum`; offsets at or above
 * `largeOffsetThreshold` go to the 64-bit table.
 */
export function encodePackIndex(entries: readonly IndexEntry[], packChecksum: Buffer, largeOffsetThreshold = 0x80000000): Buffer {
  const sorted = [...entries].sort((a, b) => a.oid.compare(b.oid));
  const n = sorted.length;
  const threshold = largeOffsetThreshold;
  const large = sorted.filter((e) => e.offset >= threshold);
  const size = 8 + 1024 + n * (OID_BYTES + 8) + large.length * 8 + 2 * OID_BYTES;
  const out = Buffer.alloc(size);
  out.writeUInt32BE(IDX_MAGIC, 0);
  out.writeUInt32BE(IDX_VERSION, 4);
  const fanout = new Uint32Array(256);
  for (const e of sorted) fanout[e.oid[0]!]!++;
  let total = 0;
  for (let b = 0; b < 256; b++) {
    total += fanout[b]!;
    out.writeUInt32BE(total, 8 + b * 4);
  }
  const oids = 1032;
  const crcs = oids + n * OID_BYTES;
  const offsets = crcs + n * 4;
  const offsets64 = offsets + n * 4;
  let nextLarge = 0;
  sorted.forEach((e, i) => {
    e.oid.copy(out, oids + i * OID_BYTES);
    out.writeUInt32BE(e.crc >>> 0, crcs + i * 4);
    if (e.offset >= threshold) {
      out.writeUInt32BE((0x80000000 | nextLarge) >>> 0, offsets + i * 4);
      out.writeBigUInt64BE(BigInt(e.offset), offsets64 + nextLarge * 8);
      nextLarge++;
    } else {
      out.writeUInt32BE(e.offset, offsets + i * 4);
    }
  });
  const trailer = offsets64 + large.length * 8;
  packChecksum.copy(out, trailer);
  createHash('sha1').update(out.subarray(0, trailer + OID_BYTES)).digest().copy(out, trailer + OID_BYTES);
  return out;
}
