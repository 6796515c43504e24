// A pack read without its .idx, as `git index-pack` reads one: entry after entry from the start, each
// entry's end found by inflating it, whole objects hashed for their ids. A static delta's client fetches
// only the pack (lib/remote/static-delta.ts): the .idx would be over half of a small delta's bytes, and
// nothing in it could be trusted before every object is hashed anyway.
//
// The entries are then served by an ordinary PackFile over an index built here. Deltas' ids are not known
// until they are resolved, so their index entries hold stand-in ids (the SHA-1 of their offset and a
// tag): a REF_DELTA naming one resolves to some object of this pack, whose id is computed from its bytes
// like every other, so a stand-in can mislead nothing.
import { createHash } from 'node:crypto';
import { crc32 } from 'node:zlib';
import { MedoError } from '../errors.js';
import { inflateCounted } from '../inflate.js';
import { BufferSource } from '../io/random-access.js';
import { OID_BYTES, objectHeader, type ObjectType } from '../oid.js';
import { MAX_ENTRY_HEADER, OBJ_OFS_DELTA, OBJ_REF_DELTA, TYPE_NAMES, parseEntryHeader } from './pack-entry.js';
import { DEFAULT_LIMITS, MAX_DEFLATE_RATIO, inflateFailure, PACK_HEADER_BYTES, PACK_SIGNATURE, PackFile, type PackFileOptions } from './pack-file.js';
import { PackIndex, encodePackIndex, type IndexEntry } from './pack-idx.js';

/** A whole (non-delta) entry as indexing found it: its id, hashed from its bytes, and its zlib stream. */
export interface WholeEntry {
  oid: string;
  type: ObjectType;
  size: number;
  /** CRC-32 of the inflated content (what a gzip trailer holds). */
  contentCrc: number;
  /** The entry's zlib stream, exactly (a view of the pack). */
  zlib: Buffer;
}

export interface UnindexedPack {
  file: PackFile;
  /** Every entry's offset, in pack order. */
  offsets: number[];
  /** The whole entries, by offset: a caller can keep one without inflating or hashing it again. */
  whole: Map<number, WholeEntry>;
}

/**
 * Indexes `pack` (the whole file) in memory and opens it. Every way it can be wrong is ERR_PACK_CORRUPT
 * naming `path` (and the entry's offset), or ERR_TOO_LARGE for an entry over `options.limits`.
 */
export function openUnindexedPack(pack: Buffer, path: string, options: PackFileOptions = {}): UnindexedPack {
  const limits = options.limits ?? DEFAULT_LIMITS;
  const fail = (why: string, offset?: number): never => {
    throw new MedoError('ERR_PACK_CORRUPT', `${path}: ${offset === undefined ? '' : `entry at offset ${offset}: `}${why}`,
      offset === undefined ? { path } : { path, offset });
  };
  if (pack.length < PACK_HEADER_BYTES + OID_BYTES) fail(`${pack.length} bytes is too short for a pack`);
  if (pack.readUInt32BE(0) !== PACK_SIGNATURE) fail('bad signature (not a pack)');
  const version = pack.readUInt32BE(4);
  if (version !== 2 && version !== 3) fail(`unsupported pack version ${version}`);
  const count = pack.readUInt32BE(8);
  const dataEnd = pack.length - OID_BYTES;
  const trailer = pack.subarray(dataEnd);
  if (!createHash('sha1').update(pack.subarray(0, dataEnd)).digest().equals(trailer)) fail('its SHA-1 trailer does not match its content');

  const entries: IndexEntry[] = [];
  const whole = new Map<number, WholeEntry>();
  let at = PACK_HEADER_BYTES;
  for (let i = 0; i < count; i++) {
    if (at >= dataEnd) fail(`its header says ${count} entries, but the data ends after ${i}`);
    const h = parseEntryHeader(pack.subarray(at, Math.min(at + MAX_ENTRY_HEADER, dataEnd)), at, path);
    const start = at + h.headerLength;
    const avail = dataEnd - start;
    if (avail <= 0 || h.size > avail * MAX_DEFLATE_RATIO + 64) fail(`claims ${h.size} bytes, more than its compressed data can hold`, at);
    if (h.size > limits.maxObjectSize) {
      throw new MedoError('ERR_TOO_LARGE', `${path}: entry at offset ${at} claims ${h.size} bytes, over the limit of ${limits.maxObjectSize}`, { path, offset: at });
    }
    const r = inflateCounted(pack.subarray(start, dataEnd), h.size);
    if (typeof r === 'string') return fail(inflateFailure(r, h.size), at);
    const { data, consumed } = r;
    const end = start + consumed;
    const isDelta = h.typeCode === OBJ_OFS_DELTA || h.typeCode === OBJ_REF_DELTA;
    const oid = isDelta
      ? createHash('sha1').update(`medo stand-in for the delta at ${at}`).digest()
      : createHash('sha1').update(objectHeader(TYPE_NAMES[h.typeCode]!, data.length)).update(data).digest();
    if (!isDelta) {
      whole.set(at, { oid: oid.toString('hex'), type: TYPE_NAMES[h.typeCode]!, size: data.length, contentCrc: crc32(data), zlib: pack.subarray(start, end) });
    }
    entries.push({ oid, offset: at, crc: crc32(pack.subarray(at, end)) });
    at = end;
  }
  if (at !== dataEnd) fail(`${dataEnd - at} bytes follow its last entry`);
  const seen = new Set<string>();
  for (const e of entries) {
    const key = e.oid.toString('hex');
    if (seen.has(key)) fail(`holds object ${key} twice`);
    seen.add(key);
  }
  const index = PackIndex.open(new BufferSource(encodePackIndex(entries, Buffer.from(trailer)), `${path} (indexed in memory)`));
  return { file: new PackFile(index, new BufferSource(pack, path), options), offsets: entries.map((e) => e.offset), whole };
}
