// Reads a mount needs from one object store, with the caches that make them cheap. Every cache here is
// keyed by object id, and an object's content never changes: entries are evicted to keep the bound, never
// invalidated.
//   trees   parsed and indexed by name, bounded by bytes
//   sizes   from object headers (object-location.ts), so `stat` never inflates a file (nodes keep them)
//   blobs   inflated content: small ones inline (an inline inflate costs microseconds, a hop to the pool
//           ~100 µs), large ones on the libuv pool (async zlib), so one big file does not stall every other
//           reader; those larger than one kernel read are kept, so random reads into a file do not inflate
//           it again from byte 0 (smaller ones live on in the kernel's page cache)
//   huge    blobs too big to keep whole are streamed through a few inflate cursors each
import { gunzip, inflate, type ZlibOptions } from 'node:zlib';
import { promisify } from 'node:util';
import { MedoError, isMedoError } from '../errors.js';
import { MODE_GITLINK, MODE_TREE, parseTree, type TreeEntry } from '../git/tree.js';
import { inflateExact } from '../inflate.js';
import { FileSource, readBounded } from '../io/random-access.js';
import { LruCache } from '../lru-cache.js';
import type { ObjectStore } from '../store.js';
import { InflateCursor, type Spill } from './inflate-cursor.js';
import { OBJ_BLOB, OBJ_OFS_DELTA, OBJ_REF_DELTA } from '../git/pack-entry.js';
import { deflated, locate, objectSize, type Deflated } from './object-location.js';
import type { DeflatedRange } from './source.js';

const inflateAsync = promisify(inflate);
const gunzipAsync = promisify(gunzip);

export interface DirIndex {
  /** In git's order. */
  entries: readonly TreeEntry[];
  byName: ReadonlyMap<string, TreeEntry>;
  /** Entries that show as directories (trees and submodules). */
  subdirs: number;
}

export interface ObjectReaderOptions {
  /** Bytes of parsed trees to keep (default 8 MiB). */
  treeCacheBytes?: number;
  /** Bytes of inflated blob content to keep (default 16 MiB: the daemon's memory goal, docs/mount.md). */
  blobCacheBytes?: number;
  /** Blobs up to this size are inflated on the main thread (default 1 MiB; see docs/mount.md for the measurement). */
  inlineMaxBytes?: number;
  /** Blobs above this size are streamed rather than cached whole (default a quarter of blobCacheBytes). */
  streamMinBytes?: number;
  /**
   * Blobs up to this size are not kept after a read (default 128 KiB, the kernel's largest read): the kernel
   * asks for them in one request and keeps the pages, so keeping them here too would only cost memory and GC.
   */
  cacheMinBytes?: number;
  /** Output idle inflate cursors may hold together (default 24 MiB; IDLE_CURSORS_BYTES). */
  idleCursorBytes?: number;
  /** How long a cursor that served more than one read counts as in use (default 200 ms; CURSOR_IN_USE_MS). */
  cursorInUseMs?: number;
}

const MAX_CURSORS_PER_BLOB = 4;
const MAX_CURSORS = 8;
/**
 * Output all idle cursors may hold together; beyond it the least recently used are closed. Each holds an
 * 8 MiB window behind the furthest byte it served and what its last step made beyond (up to ~10 MiB for a
 * header that deflates 10:1). A cursor made for one read far into a file whose other pages the kernel
 * still holds (a warm pass after the VM reclaimed a few pages) stays idle: eight of them held 87 MB of a
 * tar's 113 MB of buffers (heap snapshot), its peak RSS 178 MB -> 249 MB.
 */
const IDLE_CURSORS_BYTES = 24 << 20;
/**
 * A cursor that has served more than one read and was used this recently is not closed for the bound:
 * a sequential reader is between two reads (and would have to start again from byte 0).
 */
const CURSOR_IN_USE_MS = 200;

export class ObjectReader {
  private readonly trees: LruCache<string, DirIndex>;
  private readonly blobs: LruCache<string, Buffer>;
  private readonly inflight = new Map<string, Promise<Buffer>>();
  private readonly cursors = new Map<string, InflateCursor[]>();
  /** The last object too big for the cache that could not be streamed (a delta, or loose): one slot. */
  private oversized: { oid: string; content: Buffer } | undefined;
  /** readNow's reused output buffer. */
  private scratch = Buffer.alloc(0);
  private cursorCount = 0;
  readonly inlineMaxBytes: number;
  readonly streamMinBytes: number;
  readonly cacheMinBytes: number;
  private readonly idleCursorBytes: number;
  private readonly cursorInUseMs: number;
  /** Tree and blob cache lookups that found (hits) or did not find (misses) the object: for `medo status`. */
  readonly cacheStats = { hits: 0, misses: 0 };

  constructor(readonly store: ObjectStore, options: ObjectReaderOptions = {}) {
    const blobBytes = options.blobCacheBytes ?? 16 << 20;
    this.trees = new LruCache(options.treeCacheBytes ?? 8 << 20, (d) => 64 + d.entries.length * 160);
    this.blobs = new LruCache(blobBytes, (b) => b.length + 64);
    this.inlineMaxBytes = options.inlineMaxBytes ?? 1 << 20;
    this.streamMinBytes = options.streamMinBytes ?? Math.max(this.inlineMaxBytes, Math.floor(blobBytes / 4));
    this.cacheMinBytes = options.cacheMinBytes ?? 128 << 10;
    this.idleCursorBytes = options.idleCursorBytes ?? IDLE_CURSORS_BYTES;
    this.cursorInUseMs = options.cursorInUseMs ?? CURSOR_IN_USE_MS;
  }

  /** The parsed tree `oid`. Throws ERR_OBJECT_MISSING / ERR_OBJECT_CORRUPT / ERR_TREE_* naming it. */
  tree(oid: string): DirIndex {
    let dir = this.trees.get(oid);
    if (dir !== undefined) this.cacheStats.hits++;
    else {
      this.cacheStats.misses++;
      const entries = this.annotate(oid, () => {
        const o = this.store.read(oid);
        if (o === undefined) throw this.missing('tree', oid);
        if (o.type !== 'tree') throw this.corrupt(oid, `is a ${o.type}, expected a tree`);
        return parseTree(o.content, oid);
      });
      let subdirs = 0;
      const byName = new Map<string, TreeEntry>();
      for (const e of entries) {
        byName.set(e.name, e);
        if (e.mode === MODE_TREE || e.mode === MODE_GITLINK) subdirs++;
      }
      dir = { entries, byName, subdirs };
      this.trees.set(oid, dir);
    }
    return dir;
  }

  /** The size of blob `oid` from its header. */
  size(oid: string): number {
    const size = this.annotate(oid, () => objectSize(this.store, oid));
    if (size === undefined) throw this.missing('blob', oid);
    return size;
  }

  /** The whole content of a (small) blob, read inline: symlink targets (kept), sidecars (parsed once: not kept). */
  readWhole(oid: string, keep = true): Buffer {
    const hit = this.blobs.get(oid);
    if (hit !== undefined) return hit;
    const content = this.inflateInline(oid);
    if (keep) this.blobs.set(oid, content);
    return content;
  }

  /**
   * The whole content of blob `oid` (of `size` bytes) when it can be had inline, for a caller that uses it
   * at once (copies it into a reply or the page cache) and keeps no reference: a small file not in the
   * cache is inflated into a buffer reused by the next call, so reading thousands of files makes no
   * garbage (at ~1 GB of file content, collecting it cost more than a second). Undefined for a file too
   * big to inflate inline.
   */
  readNow(oid: string, size: number): Buffer | undefined {
    return this.cachedOrInline(oid, size, true);
  }

  /**
   * The whole content from the blob cache, or inflated inline when the blob is small enough; undefined, and
   * nothing counted, for a larger blob that is not cached. With `reuse` (the caller takes the whole file at
   * once) it goes into readNow's buffer and is not kept: the kernel's page cache holds it after this read
   * (kernel_cache). Otherwise it is kept when larger than a kernel read, for the reads of its other parts.
   */
  /**
   * Where blob `oid` (of `size` bytes) lies as a whole zlib entry of a local pack, or as a delta against
   * one in the same pack, for a reader of its own (the mount's native page pushes); undefined when it is
   * cached here, is loose, a longer chain, or in no local pack. Nothing is read but entry headers; a
   * damaged entry is for that reader to find.
   */
  deflatedAt(oid: string, size: number): DeflatedRange | undefined {
    if (this.blobs.has(oid) || this.oversized?.oid === oid) return undefined;
    const loc = locate(this.store, oid);
    if (loc?.kind !== 'packed' || !(loc.pack.pack instanceof FileSource)) return undefined;
    const fd = loc.pack.pack.descriptor;
    const { pack, offset, header } = loc;
    const start = offset + header.headerLength;
    if (fd < 0) return undefined;
    if (header.typeCode === OBJ_BLOB) return header.size === size ? { fd, start, end: pack.entryEnd(offset) } : undefined;
    const baseOffset = header.typeCode === OBJ_OFS_DELTA ? header.baseOffset
      : header.typeCode === OBJ_REF_DELTA && header.baseOid !== undefined ? pack.find(header.baseOid) : undefined;
    if (baseOffset === undefined) return undefined;
    const base = pack.entryHeader(baseOffset, true);
    if (base.typeCode !== OBJ_BLOB) return undefined;
    return {
      fd, start, end: pack.entryEnd(offset),
      delta: { baseStart: baseOffset + base.headerLength, baseEnd: pack.entryEnd(baseOffset), baseSize: base.size, size: header.size },
    };
  }

  private cachedOrInline(oid: string, size: number, reuse: boolean): Buffer | undefined {
    const hit = this.blobs.get(oid);
    if (hit !== undefined) {
      this.cacheStats.hits++;
      return this.checked(oid, size, hit);
    }
    if (size > this.inlineMaxBytes) return undefined;
    this.cacheStats.misses++;
    const keep = !reuse && size > this.cacheMinBytes;
    if (reuse && this.scratch.length < size) this.scratch = Buffer.allocUnsafe(Math.max(size, this.cacheMinBytes));
    const content = this.checked(oid, size, this.inflateInline(oid, size, reuse ? this.scratch : undefined));
    if (keep) this.blobs.set(oid, content);
    return content;
  }

  private inflateInline(oid: string, size?: number, into?: Buffer): Buffer {
    return this.annotate(oid, () => {
      // A whole packed entry is inflated straight from its pack (the store's reader would also look for
      // delta bases); loose objects and deltas go through the store.
      const loc = size === undefined ? undefined : locate(this.store, oid);
      const d = loc?.kind === 'packed' ? deflated(loc, size!) : undefined;
      if (d !== undefined) return inflatePackedSync(d, oid, into);
      const o = this.store.read(oid);
      if (o === undefined) throw this.missing('blob', oid);
      if (o.type !== 'blob') throw this.corrupt(oid, `is a ${o.type}, expected a blob`);
      return o.content;
    });
  }

  /**
   * Up to `length` bytes of blob `oid` (of `size` bytes) from `offset`. A blob too big to keep is streamed:
   * what the stream passes over on its way to `offset` goes to `spill` when given (inflate-cursor.ts).
   */
  async read(oid: string, size: number, offset: number, length: number, spill?: Spill): Promise<Buffer> {
    if (offset >= size || length <= 0) return Buffer.alloc(0);
    const end = Math.min(size, offset + length);
    if (this.oversized?.oid === oid) {
      this.cacheStats.hits++;
      return this.checked(oid, size, this.oversized.content).subarray(offset, end);
    }
    const whole = this.cachedOrInline(oid, size, false);
    if (whole !== undefined) return whole.subarray(offset, end);
    this.cacheStats.misses++;
    if (size >= this.streamMinBytes) {
      const cursor = this.annotate(oid, () => this.cursorFor(oid, size, offset));
      if (cursor !== undefined) {
        return this.annotateAsync(oid, async () => {
          try {
            return await cursor.readAt(offset, end - offset, spill);
          } finally {
            // A cursor that served the file's last byte is done with (the kernel keeps the pages it was
            // given); its window would only hold memory. Reads still queued on it keep it for them.
            if (cursor.finished && !cursor.busy) this.closeCursor(oid, cursor);
            this.boundIdleCursors();
          }
        });
      }
    }
    let pending = this.inflight.get(oid);
    if (pending === undefined) {
      pending = this.annotateAsync(oid, () => this.inflateLarge(oid, size));
      this.inflight.set(oid, pending);
      pending.then((content) => {
        if (content.length + 64 <= this.blobs.maxWeight) this.blobs.set(oid, content);
        else this.oversized = { oid, content };
      }, () => undefined).finally(() => this.inflight.delete(oid));
    }
    return this.checked(oid, size, await pending).subarray(offset, end);
  }

  private checked(oid: string, size: number, content: Buffer): Buffer {
    if (content.length !== size) throw this.corrupt(oid, `holds ${content.length} bytes but its header says ${size}`);
    return content;
  }

  private missing(type: 'tree' | 'blob', oid: string): MedoError {
    return new MedoError('ERR_OBJECT_MISSING', `${type} ${oid} is in no silo of ${this.store.path}`, { oid, store: this.store.path });
  }

  private corrupt(oid: string, why: string): MedoError {
    return new MedoError('ERR_OBJECT_CORRUPT', `${oid} ${why}`, { oid, store: this.store.path });
  }

  /** A whole packed entry or a loose file inflates on the libuv pool; a delta is resolved inline (rare for big files). */
  private async inflateLarge(oid: string, size: number): Promise<Buffer> {
    const d = deflated(locate(this.store, oid), size);
    if (d === undefined) return this.readWhole(oid);
    try {
      return await inflateWhole(d, oid);
    } finally {
      d.release?.();
    }
  }

  /** A cursor that can serve `offset` without going back: the furthest one not yet past it, or a new one. */
  private cursorFor(oid: string, size: number, offset: number): InflateCursor | undefined {
    const list = this.cursors.get(oid) ?? [];
    let best: InflateCursor | undefined;
    for (const c of list) if (c.start <= offset && (best === undefined || c.position > best.position)) best = c;
    if (best === undefined) {
      const d = deflated(locate(this.store, oid), size);
      if (d === undefined) return undefined;
      // Bounds are kept by closing idle cursors only: one that is serving a read stays (the bound is then exceeded for a while).
      const idle = list.filter((c) => !c.busy);
      if (list.length >= MAX_CURSORS_PER_BLOB && idle.length > 0) this.dropCursor(oid, list, lru(idle));
      if (this.cursorCount >= MAX_CURSORS) this.dropOldestCursor();
      best = new InflateCursor(d, oid);
      list.push(best);
      this.cursors.set(oid, list);
      this.cursorCount++;
    }
    best.usedAt = performance.now();
    best.reads++;
    return best;
  }

  /**
   * Closes idle cursors, least recently used first, while those that are not in use (busy, or serving a
   * sequential reader: more than one read, the last within cursorInUseMs) hold more than idleCursorBytes.
   */
  private boundIdleCursors(): void {
    const idle: { oid: string; list: InflateCursor[]; c: InflateCursor }[] = [];
    const recent = performance.now() - this.cursorInUseMs;
    let held = 0;
    for (const [oid, list] of this.cursors) {
      for (const c of list) {
        if (c.busy || (c.reads > 1 && c.usedAt > recent)) continue;
        idle.push({ oid, list, c });
        held += c.heldBytes;
      }
    }
    if (held <= this.idleCursorBytes) return;
    idle.sort((a, b) => a.c.usedAt - b.c.usedAt);
    for (const { oid, list, c } of idle) {
      if (held <= this.idleCursorBytes) break;
      held -= c.heldBytes;
      this.dropCursor(oid, list, c);
    }
  }

  /** Inflate cursors open now (each may hold up to an 8 MiB window). */
  get openCursors(): number {
    return this.cursorCount;
  }

  private closeCursor(oid: string, c: InflateCursor): void {
    const list = this.cursors.get(oid);
    if (list !== undefined && list.includes(c)) this.dropCursor(oid, list, c);
  }

  private dropCursor(oid: string, list: InflateCursor[], c: InflateCursor): void {
    c.close();
    list.splice(list.indexOf(c), 1);
    if (list.length === 0) this.cursors.delete(oid);
    this.cursorCount--;
  }

  private dropOldestCursor(): void {
    let oldest: { oid: string; list: InflateCursor[]; c: InflateCursor } | undefined;
    for (const [oid, list] of this.cursors) {
      for (const c of list) if (!c.busy && (oldest === undefined || c.usedAt < oldest.c.usedAt)) oldest = { oid, list, c };
    }
    if (oldest !== undefined) this.dropCursor(oldest.oid, oldest.list, oldest.c);
  }

  /** Adds the object id (and the store) to errors that lack it, keeping their code. */
  private annotate<T>(oid: string, fn: () => T): T {
    try {
      return fn();
    } catch (e) {
      throw withObject(e, oid, this.store.path);
    }
  }

  private async annotateAsync<T>(oid: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (e) {
      throw withObject(e, oid, this.store.path);
    }
  }

  close(): void {
    for (const [oid, list] of this.cursors) for (const c of [...list]) this.dropCursor(oid, list, c);
    this.blobs.clear();
    this.trees.clear();
    this.oversized = undefined;
  }
}

function lru(list: InflateCursor[]): InflateCursor {
  return list.reduce((a, b) => (b.usedAt < a.usedAt ? b : a));
}

/** Inflates deflated bytes (a whole pack entry, a loose file) on the libuv pool, with PackFile.inflate's checks. */
export async function inflateWhole(d: Deflated, oid: string): Promise<Buffer> {
  const { src, offset, dataStart, dataEnd, size, skip } = d;
  const fail = (why: string, cause?: unknown): never => {
    if (offset === undefined) throw new MedoError('ERR_OBJECT_CORRUPT', `${src.path}: ${why}`, { path: src.path, oid }, { cause });
    throw new MedoError('ERR_PACK_CORRUPT', `${src.path}: entry at offset ${offset}: ${why}`, { path: src.path, offset, oid }, { cause });
  };
  const avail = dataEnd - dataStart;
  // One output chunk of exactly the content's size: no concatenation, no garbage.
  const options: ZlibOptions = { maxOutputLength: Math.max(size + skip, 1), chunkSize: Math.min(Math.max(size + skip + 1, 64), 64 << 20) };
  const inflateFn = d.format === 'gzip' ? gunzipAsync : inflateAsync;
  // In a pack, zlib never grows data by more than ~0.1% plus a few bytes (as in PackFile.inflate): read that
  // much first, and the rest of the pack only for an unusual encoder. A loose file is all its own.
  for (let want = offset === undefined ? avail : Math.min(avail, size + (size >>> 9) + 64); ; want = avail) {
    let out: Buffer;
    try {
      out = await inflateFn(readOwn(d, want, 'read'), options);
    } catch (e) {
      const code = (e as { code?: string }).code;
      if (code === 'Z_BUF_ERROR' && want < avail) continue;
      if (code === 'ERR_BUFFER_TOO_LARGE') fail(`inflates to more than its declared ${size} bytes`, e);
      return fail(`bad ${d.format} data (${(e as Error).message})`, e);
    }
    if (skip > 0) {
      if (out.toString('latin1', 0, skip) !== `blob ${size}\0`) fail(`does not start with the header "blob ${size}"`);
      out = out.subarray(skip);
    }
    if (out.length !== size) fail(`inflates to ${out.length} bytes, declared ${size}`);
    return out;
  }
}

/**
 * `want` bytes of `d`'s data, or, when the disk fails a read that runs past the entry's end, the entry's
 * own bytes alone: a bad stretch of disk then costs only the objects stored on it.
 */
function readOwn(d: Deflated, want: number, how: 'read' | 'peek'): Buffer {
  const read = (n: number): Buffer => (how === 'read' ? d.src.read(d.dataStart, n) : d.src.peek(d.dataStart, n));
  return readBounded(read, want, () => (d.entryEnd === undefined ? undefined : d.entryEnd() - d.dataStart));
}

/**
 * Inflates a whole packed entry on this thread (small objects: a hop to the pool costs more than the work),
 * through lib/inflate.ts (a reused native z_stream when built), with PackFile.inflate's checks.
 */
export function inflatePackedSync(d: Deflated, oid: string, into?: Buffer): Buffer {
  const { src, offset, dataStart, dataEnd, size } = d;
  const avail = dataEnd - dataStart;
  for (let want = Math.min(avail, size + (size >>> 9) + 64); ; want = avail) {
    const r = inflateExact(readOwn(d, want, 'peek'), size, into);
    if (typeof r !== 'string') return r.data;
    if (r === 'short-input' && want < avail) continue;
    const why = r === 'too-long' ? `inflates to more than its declared ${size} bytes`
      : r === 'too-short' ? `inflates to fewer than its declared ${size} bytes`
      : r === 'short-input' ? 'zlib data runs past the end of the pack' : 'bad zlib data';
    throw new MedoError('ERR_PACK_CORRUPT', `${src.path}: entry at offset ${offset}: ${why}`, { path: src.path, offset, oid });
  }
}

/**
 * The error with the object id and store in its data (and message), same code. An I/O error (a silo file
 * gone or unreadable) becomes ERR_OBJECT_CORRUPT for that object; anything else is a bug and passes as is.
 * A missing object keeps its own id (a delta base, say: what a fetch on miss must get), and `reading` names
 * the object that needed it.
 */
export function withObject(e: unknown, oid: string, store: string): unknown {
  if (isMedoError(e)) {
    if (e.data.oid === oid && e.data.store !== undefined) return e;
    const message = e.message.includes(oid) ? e.message : `${oid}: ${e.message}`;
    const other = e.code === 'ERR_OBJECT_MISSING' && typeof e.data.oid === 'string' && e.data.oid !== oid;
    return new MedoError(e.code, message, other ? { ...e.data, reading: oid, store } : { ...e.data, oid, store }, { cause: e });
  }
  const code = (e as NodeJS.ErrnoException).code;
  if (typeof code !== 'string') return e;
  return new MedoError('ERR_OBJECT_CORRUPT', `${oid}: ${(e as Error).message}`, { oid, store, errno: code }, { cause: e });
}
