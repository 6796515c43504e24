// Where an object sits and how big it is, without inflating it: what `git cat-file --batch-check` answers.
// A mount needs a file's size for every `stat`, and inflating a 1 GB blob to learn it would be absurd.
//   packed whole:  the entry header holds the size
//   packed delta:  the delta's own header (its first few inflated bytes) holds the result's size
//   silo loose:    the gzip trailer's ISIZE (exact: objects are below the 2 GiB read limit)
//   git loose:     the "<type> <size>\0" header in the first inflated bytes
// It walks the store's layout (chains of object directories of packs and loose files); a store of another
// kind answers by reading the whole object.
// TODO(object layer): a `header(oid)` on ObjectStore would own this; it lives here until then.
import { closeSync, existsSync, fstatSync, openSync, readSync } from 'node:fs';
import { constants, inflateSync } from 'node:zlib';
import { MedoError } from '../errors.js';
import { gitLooseFormat } from '../git/git-repo.js';
import { OBJ_OFS_DELTA, OBJ_REF_DELTA, type EntryHeader } from '../git/pack-entry.js';
import type { PackFile } from '../git/pack-file.js';
import { ObjectDir } from '../object-dir.js';
import { FileSource, type RandomAccess } from '../io/random-access.js';
import { OID_BYTES } from '../oid.js';
import { siloLooseFormat } from '../silo/silo.js';
import { StoreChain } from '../store-chain.js';
import type { ObjectStore } from '../store.js';

/**
 * An object's deflated bytes that inflate on their own, off the main thread or as a stream: a whole
 * (non-delta) packed entry (zlib), a silo loose file (gzip) or a git loose file (zlib, after a header).
 */
export interface Deflated {
  /** The pack or the loose file. */
  src: RandomAccess;
  dataStart: number;
  /** Where the deflated data must end by (a pack's trailer, a file's end). */
  dataEnd: number;
  /** Bytes of content. */
  size: number;
  format: 'zlib' | 'gzip';
  /** Inflated bytes before the content: a git loose object's "<type> <size>\0". */
  skip: number;
  /** The entry's pack offset, for messages; undefined for a loose file. */
  offset?: number;
  /**
   * Where a pack entry ends (the next entry), found only when needed: reads run a little past the entry,
   * and when the disk fails such a read the entry's own bytes are read alone.
   */
  entryEnd?: () => number;
  /** Closes what was opened for it (a loose file). */
  release?: () => void;
}

export type Location =
  | { kind: 'packed'; pack: PackFile; offset: number; header: EntryHeader }
  | { kind: 'loose'; dir: ObjectDir; file: string };

function* objectDirs(store: ObjectStore): Generator<ObjectDir> {
  if (store instanceof StoreChain) for (const s of store.stores) yield* objectDirs(s);
  else if (store instanceof ObjectDir) yield store;
}

/** The first place the store would read `oid` from, as ObjectDir.read looks: packs, then loose. */
export function locate(store: ObjectStore, oid: string): Location | undefined {
  const key = Buffer.from(oid, 'hex');
  for (const dir of objectDirs(store)) {
    const hit = dir.packs.find(key);
    if (hit !== undefined) return { kind: 'packed', pack: hit.pack, offset: hit.offset, header: hit.pack.entryHeader(hit.offset, true) };
    const file = dir.loose.path(dir.path, oid);
    if ((dir.loose === gitLooseFormat || dir.loose === siloLooseFormat) && existsSync(file)) return { kind: 'loose', dir, file };
  }
  return undefined;
}

/** The deflated bytes of the object at `loc`, of `size` bytes; undefined for a delta, which needs its base. */
export function deflated(loc: Location | undefined, size: number): Deflated | undefined {
  if (loc === undefined) return undefined;
  if (loc.kind === 'loose') {
    const src = new FileSource(loc.file, 0);
    const gzip = loc.dir.loose === siloLooseFormat;
    return {
      src, dataStart: 0, dataEnd: src.size, size, format: gzip ? 'gzip' : 'zlib',
      skip: gzip ? 0 : `blob ${size}\0`.length, release: () => src.close(),
    };
  }
  if (loc.header.typeCode === OBJ_OFS_DELTA || loc.header.typeCode === OBJ_REF_DELTA) return undefined;
  const src = loc.pack.pack;
  const pack = loc.pack;
  const offset = loc.offset;
  return { src, dataStart: offset + loc.header.headerLength, dataEnd: src.size - OID_BYTES, size, format: 'zlib', skip: 0, offset, entryEnd: () => pack.entryEnd(offset) };
}

/** What a prefix of a zlib stream inflates to (no error for the missing rest). */
function inflatePrefix(data: Buffer): Buffer {
  return inflateSync(data, { finishFlush: constants.Z_SYNC_FLUSH });
}

/** Little-endian base-128 (the delta header's encoding); undefined when `buf` ends first. */
function readVarint(buf: Buffer, at: number): { value: number; next: number } | undefined {
  let value = 0;
  let scale = 1;
  for (let i = at; i < buf.length; i++) {
    value += (buf[i]! & 0x7f) * scale;
    if ((buf[i]! & 0x80) === 0) return { value, next: i + 1 };
    scale *= 128;
    if (scale > 2 ** 56) return undefined;
  }
  return undefined;
}

function deltaResultSize(loc: Extract<Location, { kind: 'packed' }>): number {
  const start = loc.offset + loc.header.headerLength;
  const avail = loc.pack.pack.size - OID_BYTES - start;
  for (let n = Math.min(avail, 64); ; n = Math.min(avail, n * 8)) {
    let out: Buffer;
    try {
      out = inflatePrefix(loc.pack.pack.read(start, n));
    } catch (e) {
      throw new MedoError('ERR_PACK_CORRUPT', `${loc.pack.path}: entry at offset ${loc.offset}: bad zlib data (${(e as Error).message})`,
        { path: loc.pack.path, offset: loc.offset }, { cause: e });
    }
    const base = readVarint(out, 0);
    const result = base && readVarint(out, base.next);
    if (result !== undefined) return result.value;
    if (n >= avail) {
      throw new MedoError('ERR_PACK_CORRUPT', `${loc.pack.path}: entry at offset ${loc.offset}: delta header is truncated`,
        { path: loc.pack.path, offset: loc.offset });
    }
  }
}

function readEnds(file: string, head: number, tail: number): { first: Buffer; last: Buffer; size: number } {
  const fd = openSync(file, 'r');
  try {
    const size = fstatSync(fd).size;
    const first = Buffer.alloc(Math.min(head, size));
    readSync(fd, first, 0, first.length, 0);
    const last = Buffer.alloc(Math.min(tail, size));
    readSync(fd, last, 0, last.length, size - last.length);
    return { first, last, size };
  } finally {
    closeSync(fd);
  }
}

function looseSize(loc: Extract<Location, { kind: 'loose' }>, oid: string): number {
  const corrupt = (why: string): never => {
    throw new MedoError('ERR_OBJECT_CORRUPT', `${loc.file}: ${why}`, { oid, path: loc.file });
  };
  if (loc.dir.loose === siloLooseFormat) {
    // RFC 1952: the last four bytes are ISIZE, the input size mod 2^32, little-endian.
    const { first, last } = readEnds(loc.file, 2, 4);
    if (first.length < 2 || first[0] !== 0x1f || first[1] !== 0x8b || last.length < 4) corrupt('not a gzip file');
    return last.readUInt32LE(0);
  }
  const { first } = readEnds(loc.file, 256, 0);
  let raw: Buffer;
  try {
    raw = inflatePrefix(first);
  } catch (e) {
    return corrupt(`bad zlib data (${(e as Error).message})`);
  }
  const m = /^[a-z]+ (0|[1-9][0-9]{0,15})\0/.exec(raw.toString('latin1', 0, Math.min(raw.length, 32)));
  if (!m) corrupt('no object header');
  return Number(m![1]);
}

/** The object's size, or undefined when the store does not hold it. */
export function objectSize(store: ObjectStore, oid: string): number | undefined {
  const loc = locate(store, oid);
  if (loc === undefined) return store.read(oid)?.content.length; // another kind of store, or a pack added since
  if (loc.kind === 'loose') return looseSize(loc, oid);
  const t = loc.header.typeCode;
  return t === OBJ_OFS_DELTA || t === OBJ_REF_DELTA ? deltaResultSize(loc) : loc.header.size;
}
