// One pack (`pack-*.pack` + its `.idx`), read with positional reads: objects are found by the index's
// binary search and inflated from just their own bytes; delta chains (OBJ_OFS_DELTA, OBJ_REF_DELTA) are
// resolved iteratively with a bounded cache of delta bases.
//
// Pack layout (https://git-scm.com/docs/gitformat-pack): "PACK", uint32 version (2 or 3), uint32 object
// count, the entries, then the SHA-1 of everything before it.
import { MedoError, readingObject } from '../errors.js';
import { inflateExact, type InflateFailure } from '../inflate.js';
import { FileSource, isReadFailure, readBounded, type RandomAccess } from '../io/random-access.js';
import { LruCache } from '../lru-cache.js';
import { OID_BYTES, oidFromBytes, type ObjectType } from '../oid.js';
import { applyDelta } from './delta.js';
import { PackIndex } from './pack-idx.js';
import { MAX_ENTRY_HEADER, OBJ_OFS_DELTA, OBJ_REF_DELTA, TYPE_NAMES, parseEntryHeader, type EntryHeader } from './pack-entry.js';

export interface RawObject {
  type: ObjectType;
  content: Buffer;
}

export interface ReadLimits {
  /** Largest object (or delta result) we agree to hold in memory. */
  maxObjectSize: number;
  /** Longest delta chain we follow before calling the pack corrupt. */
  maxChainLength: number;
}

interface CachedBase {
  object: RawObject;
  depth: number;
}

export const DEFAULT_LIMITS: ReadLimits = { maxObjectSize: 2 ** 31 - 1, maxChainLength: 10_000 };

/** Looks a REF_DELTA base up outside this pack (thin packs, or a base packed elsewhere). */
export type BaseResolver = (oid: string) => RawObject | undefined;

export const PACK_SIGNATURE = 0x5041434b; // "PACK"
export const PACK_HEADER_BYTES = 12;
// deflate cannot expand data by more than 1032:1, so a size claim beyond that is corruption, caught before
// any allocation.
export const MAX_DEFLATE_RATIO = 1032;

/** What an entry's zlib data is wrong in, for an error that names the entry. */
export function inflateFailure(r: InflateFailure, size: number): string {
  return r === 'too-long' ? `inflates to more than its declared ${size} bytes`
    : r === 'too-short' ? `inflates to fewer than its declared ${size} bytes`
    : r === 'short-input' ? 'zlib data runs past the end of the pack' : 'bad zlib data';
}
// An entry far from the one read before is read with one peek of its header and this many bytes after it:
// most entries' zlib data fits, so it costs one small read into the source's reused buffer. Caching a page
// per entry instead made random reads (ids in sorted order, over a Linux pack) a third slower: each
// entry's page was allocated, faulted in and copied for one use.
const ENTRY_PEEK_BYTES = 8 << 10;
// An entry this close after the one before is read through a window of the pack kept in a reused buffer:
// in pack order small entries (deltas of a few dozen bytes) sit side by side, and one read serves many.
const NEAR_BYTES = 16 << 10;
const WINDOW_BYTES = 64 << 10;
// A delta is applied as soon as its chain's base is known and then dropped, so deltas inflate into
// buffers kept per chain position (up to this many positions, each up to the byte bound): no garbage.
// Only the outermost read uses them: a REF_DELTA base asked of another store may come back into this pack.
const DELTA_SCRATCH_SLOTS = 16;
const DELTA_SCRATCH_BYTES = 1 << 20;

// A REF_DELTA base asked of `external` may itself be a delta whose base is asked of another pack, and so
// on: hostile packs whose deltas name each other would recurse until the stack overflows. Reads are
// synchronous, so one counter per thread sees the whole nesting, across every pack and store.
const MAX_EXTERNAL_DEPTH = 64;
let externalDepth = 0;

export interface PackFileOptions {
  limits?: ReadLimits;
  /** Bytes of inflated delta bases to keep (git's core.deltaBaseCacheLimit is 96 MiB). */
  baseCacheBytes?: number;
  /**
   * Bytes of whole objects to keep that no delta has yet needed (default: a twelfth of baseCacheBytes).
   * Read in pack order, a base comes before the deltas that name it; but most whole objects are no one's
   * base, and keeping all of them in the base cache cost 50-70 MB of peak RSS reading a Linux pack.
   */
  recentCacheBytes?: number;
}

/**
 * `buf` itself, or a copy of it in memory of its own when it is a small slice of Node's shared allocation
 * pool: a cached 200-byte object would otherwise keep the pool's whole 8 KiB slab alive.
 */
function unpooled(buf: Buffer): Buffer {
  if (buf.buffer.byteLength === buf.length) return buf;
  const own = Buffer.allocUnsafeSlow(buf.length);
  buf.copy(own);
  return own;
}

export class PackFile {
  readonly objectCount: number;
  readonly version: number;
  readonly limits: ReadLimits;
  /** Inflated bases by offset, with how many deltas below them led to a whole object (0 for one). */
  private readonly bases: LruCache<number, CachedBase>;
  /** Whole objects read on their own, by offset, kept in case a delta read soon names them. */
  private readonly recent: LruCache<number, RawObject>;
  private readonly dataEnd: number;
  private readonly deltaScratch: Buffer[] = [];
  /** Where the last entry read starts: the next one just after it is read through the window. */
  private lastOffset = -Infinity;
  /** A run of the pack's bytes (`windowLength` from `windowStart`), read ahead for entries that follow. */
  private window: Buffer | undefined;
  private windowStart = 0;
  private windowLength = 0;
  /** Whether a read met a delta yet: until then whole objects are not cached as bases (medo's own packs have none). */
  private sawDelta = false;
  /** Entry offsets in pack order, made the first time a read fails (entryEnd). */
  private offsetsInOrder: Float64Array | undefined;

  constructor(readonly index: PackIndex, readonly pack: RandomAccess, options: PackFileOptions = {}) {
    this.limits = options.limits ?? DEFAULT_LIMITS;
    const baseBytes = options.baseCacheBytes ?? 96 << 20;
    this.bases = new LruCache(baseBytes, (b) => b.object.content.length + 64);
    this.recent = new LruCache(options.recentCacheBytes ?? Math.floor(baseBytes / 12), (o) => o.content.length + 64);
    const fail = (why: string): never => {
      throw new MedoError('ERR_PACK_CORRUPT', `${pack.path}: ${why}`, { path: pack.path });
    };
    if (pack.size < PACK_HEADER_BYTES + OID_BYTES) fail(`${pack.size} bytes is too short for a pack`);
    const head = pack.read(0, PACK_HEADER_BYTES);
    if (head.readUInt32BE(0) !== PACK_SIGNATURE) fail('bad signature (not a pack)');
    this.version = head.readUInt32BE(4);
    if (this.version !== 2 && this.version !== 3) fail(`unsupported pack version ${this.version}`);
    this.objectCount = head.readUInt32BE(8);
    if (this.objectCount !== index.count) fail(`holds ${this.objectCount} objects but its index lists ${index.count}`);
    if (!pack.read(pack.size - OID_BYTES, OID_BYTES).equals(index.packChecksum)) {
      fail(`trailer does not match the checksum recorded in ${index.src.path}`);
    }
    this.dataEnd = pack.size - OID_BYTES;
  }

  /** Opens `pack-X.pack` and `pack-X.idx` (give either path). */
  static open(path: string, options: PackFileOptions = {}): PackFile {
    const base = path.replace(/\.(pack|idx)$/, '');
    // Index probes touch a few bytes per page; pack entries are read one at a time, mostly small.
    // An index is read in 4 KiB pages as lookups touch them, so memory follows use, not the object count;
    // the bound is large enough to keep every page a batch of lookups touches in a pack of ~500k objects.
    const idxSrc = new FileSource(`${base}.idx`, { pageSize: 4 << 10, cacheBytes: 16 << 20 });
    let packSrc: FileSource | undefined;
    try {
      packSrc = new FileSource(`${base}.pack`, { pageSize: 16 << 10, cacheBytes: 4 << 20 });
      return new PackFile(PackIndex.open(idxSrc), packSrc, options);
    } catch (e) {
      idxSrc.close();
      packSrc?.close();
      throw e;
    }
  }

  get path(): string {
    return this.pack.path;
  }

  /** Pack offset of `oid` (20 bytes), or undefined when this pack does not hold it. */
  find(oid: Uint8Array): number | undefined {
    return this.index.lookup(oid);
  }

  /**
   * Header of the entry at `offset`, validated against the pack's bounds. `peek` when only the header is
   * wanted (an object's size), not the data after it: the page around it is then not read.
   */
  entryHeader(offset: number, peek = false): EntryHeader {
    this.checkEntryOffset(offset);
    const length = Math.min(MAX_ENTRY_HEADER, this.dataEnd - offset);
    // A peek goes through the read-ahead window: a mount's listing asks for the sizes of a directory's
    // files, which a pack in walk order holds side by side, and a read per header was 7 µs of syscall.
    return parseEntryHeader(peek ? this.entryBytes(offset, length) : this.pack.read(offset, length), offset, this.path);
  }

  private checkEntryOffset(offset: number): void {
    if (!(offset >= PACK_HEADER_BYTES && offset < this.dataEnd)) {
      throw new MedoError('ERR_PACK_CORRUPT', `${this.path}: offset ${offset} is outside the pack's entries`, { path: this.path, offset });
    }
  }

  /**
   * The header and inflated data of the entry at `offset`, with one read when the data is small. A delta
   * inflates into the scratch buffer of its chain position `slot`.
   */
  private entryAt(offset: number, slot: number): { h: EntryHeader; data: Buffer } {
    this.checkEntryOffset(offset);
    const raw = this.entryBytes(offset, Math.min(MAX_ENTRY_HEADER + ENTRY_PEEK_BYTES, this.dataEnd - offset));
    const h = parseEntryHeader(raw, offset, this.path);
    const into = this.scratchIfDelta(h, slot);
    const start = offset + h.headerLength;
    const want = Math.min(this.dataEnd - start, h.size + (h.size >>> 9) + 64);
    if (h.size <= ENTRY_PEEK_BYTES && h.size <= this.limits.maxObjectSize && want <= raw.length - h.headerLength) {
      const r = inflateExact(raw.subarray(h.headerLength), h.size, into);
      if (typeof r !== 'string') return { h, data: r.data };
    }
    // Larger, over the limit, or odd: the general path reads again and names what is wrong.
    return { h, data: this.inflate(start, h.size, offset, into) };
  }

  /**
   * `length` bytes at `offset`, valid until the next call: from the window when it holds them, else by
   * moving the window there when the read follows closely on the last one, else by a peek of just them.
   * Either reads past the entry; when the disk fails that read, the entry's own bytes are read alone.
   */
  private entryBytes(offset: number, length: number): Buffer {
    const near = offset >= this.lastOffset && offset - this.lastOffset < NEAR_BYTES;
    this.lastOffset = offset;
    const at = offset - this.windowStart;
    if (at >= 0 && at + length <= this.windowLength) return this.window!.subarray(at, at + length);
    try {
      if (!near) return this.pack.peek(offset, length);
      this.window ??= Buffer.allocUnsafeSlow(WINDOW_BYTES);
      this.windowLength = 0;
      const n = Math.min(WINDOW_BYTES, this.dataEnd - offset);
      this.pack.readInto(offset, this.window.subarray(0, n));
      this.windowStart = offset;
      this.windowLength = n;
      return this.window.subarray(0, length);
    } catch (e) {
      if (!isReadFailure(e)) throw e;
      return this.pack.peek(offset, Math.min(length, this.entryEnd(offset) - offset));
    }
  }

  /**
   * Where the entry at `offset` ends: the next entry's offset, or the trailer. Reads go a little past an
   * entry's end (its deflated length is not recorded); this is for when the bytes past it cannot be read.
   */
  entryEnd(offset: number): number {
    if (this.offsetsInOrder === undefined) {
      const o = new Float64Array(this.index.count);
      for (let i = 0; i < o.length; i++) o[i] = this.index.offsetAt(i);
      this.offsetsInOrder = o.sort();
    }
    const o = this.offsetsInOrder;
    let lo = 0;
    let hi = o.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (o[mid]! <= offset) lo = mid + 1;
      else hi = mid;
    }
    return lo < o.length ? o[lo]! : this.dataEnd;
  }

  /** The delta scratch buffer of chain position `slot` when the entry is a delta (and marks that deltas exist). */
  private scratchIfDelta(h: EntryHeader, slot: number): Buffer | undefined {
    if (h.typeCode !== OBJ_OFS_DELTA && h.typeCode !== OBJ_REF_DELTA) return undefined;
    this.sawDelta = true;
    return externalDepth === 0 ? this.scratchFor(slot, h.size) : undefined;
  }

  /**
   * Inflates exactly `size` bytes of zlib data starting at `start`, into the start of `into` when it is
   * given and large enough (a reused buffer), else into a new buffer.
   */
  inflate(start: number, size: number, offset: number, into?: Buffer): Buffer {
    const avail = this.dataEnd - start;
    const fail = (why: string, cause?: unknown): never => {
      throw new MedoError('ERR_PACK_CORRUPT', `${this.path}: entry at offset ${offset}: ${why}`, { path: this.path, offset }, { cause });
    };
    // A claim the remaining bytes cannot hold is corruption whatever the limit; only a plausible claim is
    // "too large" (a caller may raise the limit for it).
    if (avail <= 0 || size > avail * MAX_DEFLATE_RATIO + 64) fail(`claims ${size} bytes, more than its compressed data can hold`);
    if (size > this.limits.maxObjectSize) {
      throw new MedoError('ERR_TOO_LARGE', `${this.path}: entry at offset ${offset} claims ${size} bytes, over the limit of ${this.limits.maxObjectSize}`,
        { path: this.path, offset });
    }
    // zlib's own encoder never grows data by more than ~0.1% plus a few bytes; read that much first and
    // only fall back to the rest of the pack for unusual encoders.
    let want = Math.min(avail, size + (size >>> 9) + 64);
    for (;;) {
      // The bytes are inflated at once and dropped, so they go into the source's reused buffer.
      const bytes = readBounded((n) => this.pack.peek(start, n), want, () => this.entryEnd(offset) - start);
      const r = inflateExact(bytes, size, into);
      if (typeof r !== 'string') return r.data;
      if (r === 'short-input' && want < avail) {
        want = avail;
        continue;
      }
      return fail(inflateFailure(r, size));
    }
  }

  /**
   * The object whose entry starts at `offset`, with deltas applied. REF_DELTA bases missing from this
   * pack are asked of `external`. Whole (undeltified) objects and the inner links of a chain go into the
   * delta-base cache: read in pack order, a base comes just before the deltas that name it. The content
   * may be shared with that cache, so callers must not modify it.
   */
  readAt(offset: number, external?: BaseResolver): RawObject {
    const deltas: { offset: number; data: Buffer }[] = [];
    const seen = new Set<number>();
    let at = offset;
    let base: RawObject | undefined;
    let baseDepth = 0;
    const tooLong = (): MedoError => new MedoError('ERR_PACK_CORRUPT', `${this.path}: delta chain from offset ${offset} loops or exceeds ${this.limits.maxChainLength}`,
      { path: this.path, offset });
    for (;;) {
      const cached = this.bases.get(at) ?? this.fromRecent(at, deltas.length > 0);
      if (cached !== undefined) {
        // A cached link still counts the deltas below it: the limit does not depend on what was read before.
        if (deltas.length + cached.depth > this.limits.maxChainLength) throw tooLong();
        base = cached.object;
        baseDepth = cached.depth;
        break;
      }
      // `deltas` holds the chain's deltas so far; a chain of exactly maxChainLength deltas is allowed.
      if (seen.has(at) || deltas.length > this.limits.maxChainLength) throw tooLong();
      seen.add(at);
      const { h, data } = this.entryAt(at, deltas.length);
      if (h.typeCode === OBJ_OFS_DELTA) {
        deltas.push({ offset: at, data });
        at = h.baseOffset!;
      } else if (h.typeCode === OBJ_REF_DELTA) {
        deltas.push({ offset: at, data });
        const inPack = this.find(h.baseOid!);
        if (inPack !== undefined) {
          at = inPack;
          continue;
        }
        const baseOid = oidFromBytes(h.baseOid!);
        if (externalDepth >= MAX_EXTERNAL_DEPTH) {
          throw new MedoError('ERR_PACK_CORRUPT', `${this.path}: delta at offset ${at} needs base ${baseOid} through ${MAX_EXTERNAL_DEPTH} nested stores (REF_DELTAs in different packs naming each other?)`,
            { path: this.path, offset: at, oid: baseOid });
        }
        externalDepth++;
        try {
          base = external?.(baseOid);
        } finally {
          externalDepth--;
        }
        if (base === undefined) {
          throw new MedoError('ERR_OBJECT_MISSING', `${this.path}: delta at offset ${at} needs base ${baseOid}, which no store holds`,
            { path: this.path, offset: at, oid: baseOid });
        }
        break;
      } else {
        base = { type: TYPE_NAMES[h.typeCode]!, content: data };
        if (deltas.length > 0) this.bases.set(at, { object: { type: base.type, content: unpooled(data) }, depth: 0 });
        else if (this.sawDelta) this.recent.set(at, { type: base.type, content: unpooled(data) });
        break;
      }
    }
    for (let i = deltas.length - 1; i >= 0; i--) {
      const d = deltas[i]!;
      let content: Buffer;
      try {
        content = applyDelta(base.content, d.data, this.limits.maxObjectSize);
      } catch (e) {
        if ((e as MedoError).code === 'ERR_TOO_LARGE') throw e;
        throw new MedoError('ERR_PACK_CORRUPT', `${this.path}: entry at offset ${d.offset}: ${(e as Error).message}`,
          { path: this.path, offset: d.offset }, { cause: e });
      }
      base = { type: base.type, content };
      if (i > 0) this.bases.set(d.offset, { object: { type: base.type, content: unpooled(content) }, depth: baseDepth + deltas.length - i });
    }
    return base;
  }

  /** A whole object read before; when it is now a delta's base (`asBase`), it moves to the base cache. */
  private fromRecent(at: number, asBase: boolean): CachedBase | undefined {
    const object = this.recent.get(at);
    if (object === undefined) return undefined;
    const cached = { object, depth: 0 };
    if (asBase) {
      this.recent.delete(at);
      this.bases.set(at, cached);
    }
    return cached;
  }

  /** The reused buffer for the delta at chain position `slot`, when one of `size` bytes fits. */
  private scratchFor(slot: number, size: number): Buffer | undefined {
    if (slot >= DELTA_SCRATCH_SLOTS || size > DELTA_SCRATCH_BYTES) return undefined;
    let buf = this.deltaScratch[slot];
    if (buf === undefined || buf.length < size) {
      buf = Buffer.allocUnsafe(Math.min(DELTA_SCRATCH_BYTES, Math.max(size, 2 * (buf?.length ?? 4096))));
      this.deltaScratch[slot] = buf;
    }
    return buf;
  }

  /** The object `oid` (20 bytes), or undefined when this pack does not hold it. */
  read(oid: Uint8Array, external?: BaseResolver): RawObject | undefined {
    const offset = this.find(oid);
    if (offset === undefined) return undefined;
    try {
      return this.readAt(offset, external);
    } catch (e) {
      throw readingObject(e, oidFromBytes(oid));
    }
  }

  close(): void {
    this.bases.clear();
    this.recent.clear();
    this.deltaScratch.length = 0;
    this.index.src.close();
    this.pack.close();
  }
}
