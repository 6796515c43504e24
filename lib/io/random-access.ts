// Positional reads over a file or a buffer. Format code (idx, pack) reads through this interface so it
// stays pure over bytes and runs the same on an in-memory buffer (tests, workers) and on a file.
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { MedoError } from '../errors.js';
import { LruCache } from '../lru-cache.js';

export interface RandomAccess {
  readonly size: number;
  readonly path: string;
  /** Exactly `length` bytes at `position`; throws when the range runs past the end. May share memory. */
  read(position: number, length: number): Buffer;
  /**
   * As read, for bytes the caller parses or inflates at once and does not keep: a file source then reads
   * only them (into a buffer the next peek reuses, up to PEEK_MAX_BYTES) unless their page is already
   * cached, and caches nothing. Nothing is allocated per call: reading the deflated bytes of thousands of
   * files this way makes no garbage.
   */
  peek(position: number, length: number): Buffer;
  /** Fills `into` with the bytes at `position` (throws when they run past the end) and returns it. */
  readInto(position: number, into: Buffer): Buffer;
  /**
   * Compares `key` with the `key.length` bytes at `position`: negative, zero or positive as `key` sorts
   * before, equal to or after them. No view of those bytes is made: an index's binary search compares many
   * ids per lookup.
   */
  compare(key: Buffer, position: number): number;
  close(): void;
}

/** Peeks larger than this are plain reads (the reused buffer stays bounded). */
export const PEEK_MAX_BYTES = 2 << 20;

function checkRange(src: RandomAccess, position: number, length: number): void {
  if (!(position >= 0 && length >= 0 && position + length <= src.size)) {
    throw new MedoError('ERR_PACK_CORRUPT', `read of ${length} bytes at ${position} runs past the end of ${src.path} (${src.size} bytes)`,
      { path: src.path, offset: position });
  }
}

export class BufferSource implements RandomAccess {
  readonly size: number;
  constructor(private readonly buf: Buffer, readonly path = '<buffer>') {
    this.size = buf.length;
  }
  read(position: number, length: number): Buffer {
    checkRange(this, position, length);
    return this.buf.subarray(position, position + length);
  }
  peek(position: number, length: number): Buffer {
    return this.read(position, length);
  }
  readInto(position: number, into: Buffer): Buffer {
    checkRange(this, position, into.length);
    this.buf.copy(into, 0, position, position + into.length);
    return into;
  }
  compare(key: Buffer, position: number): number {
    checkRange(this, position, key.length);
    return key.compare(this.buf, position, position + key.length);
  }
  close(): void {}
}

export interface FileSourceOptions {
  /** Bytes per cached page: small for random access (an idx probe, a pack entry), large for scans. */
  pageSize?: number;
  /** Bytes of pages kept. */
  cacheBytes?: number;
}

/**
 * A file read with pread(2), through a small cache of pages. Small reads near each other (idx
 * binary search, neighbouring pack entries) then cost one system call per page, not one per read.
 * Reads larger than a page bypass the cache. The files are immutable once named, so pages never go stale.
 */
export class FileSource implements RandomAccess {
  readonly size: number;
  private fd: number;
  private readonly pages: LruCache<number, Buffer>;
  private readonly pageSize: number;
  /** peek's reused buffer, grown on demand up to PEEK_MAX_BYTES. */
  private scratch = Buffer.allocUnsafe(64);

  /** `options` as a number is the cache size in bytes. */
  constructor(readonly path: string, options: FileSourceOptions | number = {}) {
    const { pageSize = 16 << 10, cacheBytes = 4 << 20 } = typeof options === 'number' ? { cacheBytes: options } : options;
    if (!(Number.isInteger(pageSize) && pageSize > 0)) throw new RangeError(`FileSource pageSize must be a positive integer, got ${pageSize}`);
    this.pageSize = pageSize;
    this.fd = openSync(path, 'r');
    try {
      this.size = fstatSync(this.fd).size;
    } catch (e) {
      closeSync(this.fd);
      throw e;
    }
    this.pages = new LruCache(cacheBytes, (b) => b.length);
  }

  read(position: number, length: number): Buffer {
    checkRange(this, position, length);
    // The page arithmetic below assumes at least one byte (`end - 1`).
    if (length === 0) return Buffer.alloc(0);
    const PAGE_SIZE = this.pageSize;
    const first = Math.floor(position / PAGE_SIZE);
    const end = position + length;
    try {
      if (length <= PAGE_SIZE && Math.floor((end - 1) / PAGE_SIZE) === first) {
        const page = this.page(first);
        const at = position - first * PAGE_SIZE;
        return page.subarray(at, at + length);
      }
      if (length <= PAGE_SIZE) {
        // Straddles two pages: copy out of both so neighbours stay cached.
        const a = this.page(first);
        const b = this.page(first + 1);
        const at = position - first * PAGE_SIZE;
        return Buffer.concat([a.subarray(at), b.subarray(0, end - (first + 1) * PAGE_SIZE)]);
      }
    } catch (e) {
      // The disk failed the page: the bytes asked for may lie outside the bad part of it.
      if (!isReadFailure(e)) throw e;
    }
    return this.readDirect(position, length);
  }

  // Entry headers (every file of a listing needs its size) lie scattered across a pack, and a file's
  // deflated bytes are inflated once: a 16 KiB page each, or a new buffer each, would cost more to read
  // and collect than the bytes wanted.
  peek(position: number, length: number): Buffer {
    checkRange(this, position, length);
    const first = Math.floor(position / this.pageSize);
    if (length === 0 || length > PEEK_MAX_BYTES) return this.read(position, length);
    const page = Math.floor((position + length - 1) / this.pageSize) === first ? this.pages.get(first) : undefined;
    if (page !== undefined) {
      const at = position - first * this.pageSize;
      return page.subarray(at, at + length);
    }
    if (length > this.scratch.length) this.scratch = Buffer.allocUnsafe(Math.min(PEEK_MAX_BYTES, Math.max(length, 2 * this.scratch.length)));
    return this.fill(this.scratch.subarray(0, length), position);
  }

  readInto(position: number, into: Buffer): Buffer {
    checkRange(this, position, into.length);
    return this.fill(into, position);
  }

  compare(key: Buffer, position: number): number {
    const first = Math.floor(position / this.pageSize);
    const end = position + key.length;
    if (key.length === 0 || position < 0 || end > this.size || Math.floor((end - 1) / this.pageSize) !== first) {
      return key.compare(this.read(position, key.length));
    }
    // Ids differ within their first bytes: a byte loop answers before a native call would have started.
    let page: Buffer;
    try {
      page = this.page(first);
    } catch (e) {
      if (!isReadFailure(e)) throw e;
      return key.compare(this.readDirect(position, key.length));
    }
    const at = position - first * this.pageSize;
    for (let i = 0; i < key.length; i++) {
      const d = key[i]! - page[at + i]!;
      if (d !== 0) return d;
    }
    return 0;
  }

  private page(n: number): Buffer {
    let page = this.pages.get(n);
    if (page === undefined) {
      const start = n * this.pageSize;
      page = this.readDirect(start, Math.min(this.pageSize, this.size - start));
      this.pages.set(n, page);
    }
    return page;
  }

  private readDirect(position: number, length: number): Buffer {
    return this.fill(Buffer.allocUnsafe(length), position);
  }

  /** Fills `buf` with the file's bytes from `position`; a file shorter than that (truncated) is corruption. */
  private fill(buf: Buffer, position: number): Buffer {
    let done = 0;
    while (done < buf.length) {
      const n = readSync(this.fd, buf, done, buf.length - done, position + done);
      if (n === 0) {
        throw new MedoError('ERR_PACK_CORRUPT', `${this.path} ended early at ${position + done} (was it truncated?)`,
          { path: this.path, offset: position + done });
      }
      done += n;
    }
    return buf;
  }

  /** The open file's descriptor (-1 once closed), for native code that reads it on its own threads (and dups it first). */
  get descriptor(): number {
    return this.fd;
  }

  close(): void {
    if (this.fd >= 0) {
      closeSync(this.fd);
      this.fd = -1;
      this.pages.clear();
    }
  }
}

/**
 * Whether `e` is the operating system failing a read (EIO from a bad sector, ENXIO from a device that
 * went away), not a bound or format error of ours: a reader that read past what it needed retries the
 * exact range then, so a bad stretch of disk costs only the objects stored on it.
 */
export function isReadFailure(e: unknown): boolean {
  const code = (e as NodeJS.ErrnoException | undefined)?.code;
  return typeof code === 'string' && /^E[A-Z0-9]+$/.test(code);
}

/**
 * `read(want)`; when the system fails it (isReadFailure) and the bytes that matter end sooner -- `own()`,
 * worked out only then: a pack entry's end --, `read(own())` instead. Readers of packs read a little past
 * an entry (its deflated length is not recorded), and a bad stretch past it must not cost the entry.
 */
export function readBounded(read: (length: number) => Buffer, want: number, own: () => number | undefined): Buffer {
  try {
    return read(want);
  } catch (e) {
    const n = isReadFailure(e) ? own() : undefined;
    if (n === undefined || n <= 0 || n >= want) throw e;
    return read(n);
  }
}
