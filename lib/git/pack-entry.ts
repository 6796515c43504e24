// The header of one entry in a pack (https://git-scm.com/docs/gitformat-pack, "Pack file entries"):
//   byte 0: 1 bit "more", 3 bits type, 4 low bits of the inflated size; then 7 bits of size per byte.
//   OBJ_OFS_DELTA: then the base's distance back, big-endian base-128 with +1 per continuation byte.
//   OBJ_REF_DELTA: then the base's 20-byte id.
// zlib data follows. For deltas, `size` is the size of the inflated delta, not of the result.
import { MedoError } from '../errors.js';
import { OID_BYTES, type ObjectType } from '../oid.js';

export const OBJ_COMMIT = 1;
export const OBJ_TREE = 2;
export const OBJ_BLOB = 3;
export const OBJ_TAG = 4;
export const OBJ_OFS_DELTA = 6;
export const OBJ_REF_DELTA = 7;

export const TYPE_NAMES: Record<number, ObjectType> = { [OBJ_COMMIT]: 'commit', [OBJ_TREE]: 'tree', [OBJ_BLOB]: 'blob', [OBJ_TAG]: 'tag' };
export const TYPE_CODES: Record<ObjectType, number> = { commit: OBJ_COMMIT, tree: OBJ_TREE, blob: OBJ_BLOB, tag: OBJ_TAG };

/** Longest possible header: 1 + 9 size bytes (53-bit sizes) + a 20-byte base id. */
export const MAX_ENTRY_HEADER = 32;

export interface EntryHeader {
  typeCode: number;
  size: number;
  /** Bytes from the entry start to its zlib data. */
  headerLength: number;
  baseOffset?: number; // OBJ_OFS_DELTA: absolute offset of the base
  baseOid?: Buffer; // OBJ_REF_DELTA
}

/** Parses the header of the entry at pack offset `offset`, whose first bytes are `buf`. */
export function parseEntryHeader(buf: Buffer, offset: number, path: string): EntryHeader {
  const fail = (why: string): never => {
    throw new MedoError('ERR_PACK_CORRUPT', `${path}: entry at offset ${offset}: ${why}`, { path, offset });
  };
  let i = 0;
  const next = (): number => (i < buf.length ? buf[i++]! : fail('header runs past the end of the pack'));
  let c = next();
  const typeCode = (c >> 4) & 7;
  let size = c & 15;
  let scale = 16;
  while (c & 0x80) {
    c = next();
    size += (c & 0x7f) * scale;
    scale *= 128;
    if (size > Number.MAX_SAFE_INTEGER || scale > 2 ** 60) fail('size field is too long');
  }
  if (typeCode === OBJ_OFS_DELTA) {
    c = next();
    let distance = c & 0x7f;
    while (c & 0x80) {
      c = next();
      distance = (distance + 1) * 128 + (c & 0x7f);
      if (distance > Number.MAX_SAFE_INTEGER) fail('delta base distance is too long');
    }
    if (distance === 0 || distance > offset) fail(`delta base distance ${distance} points outside the pack`);
    return { typeCode, size, headerLength: i, baseOffset: offset - distance };
  }
  if (typeCode === OBJ_REF_DELTA) {
    if (i + OID_BYTES > buf.length) fail('delta base id runs past the end of the pack');
    const baseOid = Buffer.from(buf.subarray(i, i + OID_BYTES));
    return { typeCode, size, headerLength: i + OID_BYTES, baseOid };
  }
  if (TYPE_NAMES[typeCode] === undefined) fail(`invalid object type ${typeCode}`);
  return { typeCode, size, headerLength: i };
}

/** Encodes an entry header for a whole (non-delta) object. */
export function encodeEntryHeader(typeCode: number, size: number): Buffer {
  const bytes: number[] = [];
  let c = (typeCode << 4) | (size & 15);
  let rest = Math.floor(size / 16);
  while (rest > 0) {
    bytes.push(c | 0x80);
    c = rest & 0x7f;
    rest = Math.floor(rest / 128);
  }
  bytes.push(c);
  return Buffer.from(bytes);
}

/** An OBJ_OFS_DELTA's base distance (entry offset minus base offset), in git's encoding (pack-format.txt). */
export function encodeOfsDistance(distance: number): Buffer {
  if (!Number.isSafeInteger(distance) || distance <= 0) throw new RangeError(`delta base distance ${distance} must be a positive integer`);
  const bytes = [distance % 128];
  let rest = Math.floor(distance / 128);
  while (rest > 0) {
    rest -= 1;
    bytes.unshift(0x80 | (rest % 128));
    rest = Math.floor(rest / 128);
  }
  return Buffer.from(bytes);
}
