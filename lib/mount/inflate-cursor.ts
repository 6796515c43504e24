// Streaming reads of one large blob: a zlib (or gzip) stream, on the libuv pool, off the main thread, fed
// from its pack entry or loose file in 1 MiB steps, keeping only a window of recent output. A sequential reader of a 2 GB file
// costs one pass of inflate and a few MiB of memory instead of a 2 GB buffer; reads that arrive a little out
// of order (the kernel's readahead runs several at once) are served from the window. A read behind the
// window needs a new cursor from byte 0: the caller keeps a few cursors per blob for readers at different places.
// A read far ahead passes over output nobody asked for yet: a `spill` callback gets it, in whole pages, so a
// caller can put it in the kernel's page cache and a random reader pays for one pass of inflate, not one per read.
import { createGunzip, createInflate, type Gunzip, type Inflate } from 'node:zlib';
import { MedoError } from '../errors.js';
import { readBounded } from '../io/random-access.js';
import type { Deflated } from './object-location.js';

const FEED_BYTES = 1 << 20;
/** Output kept behind the furthest byte served. */
export const CURSOR_WINDOW_BYTES = 8 << 20;
/** Spilled runs start and end on page boundaries (the kernel only takes whole pages into its cache). */
const PAGE = 4096;

/**
 * Receives output a read skipped over: `bytes` of the blob at `offset`, page-aligned. A returned promise holds
 * the cursor (and the read) until it settles: that is how a full queue slows the inflate down.
 */
export type Spill = (offset: number, bytes: Buffer) => void | Promise<void>;

export class InflateCursor {
  private readonly z: Inflate | Gunzip;
  private chunks: Buffer[] = [];
  /** Output offset of chunks[0]. */
  private chunksStart = 0;
  private produced = 0;
  private srcPos: number;
  private ended = false;
  private failure: Error | undefined;
  private queue: Promise<unknown> = Promise.resolve();
  private pending = 0;
  /** Output up to here was served or spilled (or nobody wanted it spilled). */
  private spilledTo = 0;
  /** performance.now() when last given a read: which cursor was used least recently. */
  usedAt = 0;
  /** Reads given to this cursor. */
  reads = 0;

  constructor(private readonly entry: Deflated, private readonly oid: string) {
    this.srcPos = entry.dataStart;
    this.z = entry.format === 'gzip' ? createGunzip({ chunkSize: 256 << 10 }) : createInflate({ chunkSize: 256 << 10 });
    // Output offsets count from the object's content: a git loose object's "<type> <size>\0" header is dropped.
    let skip = entry.skip;
    this.z.on('data', (b: Buffer) => {
      if (skip > 0) {
        const n = Math.min(skip, b.length);
        skip -= n;
        b = b.subarray(n);
        if (b.length === 0) return;
      }
      this.chunks.push(b);
      this.produced += b.length;
    });
    this.z.on('error', (e) => {
      this.failure ??= e;
    });
    this.z.on('end', () => {
      this.ended = true;
    });
  }

  /** The lowest offset this cursor can still serve. */
  get start(): number {
    return this.chunksStart;
  }

  /** The offset up to which output is ready. */
  get position(): number {
    return this.produced;
  }

  /** True once a read has been served the blob's last byte: its reader is done with the cursor. */
  get finished(): boolean {
    return this.spilledTo >= this.entry.size;
  }

  /** Bytes of output held: the window behind the furthest byte served, and what a step made beyond it. */
  get heldBytes(): number {
    return this.produced - this.chunksStart;
  }

  /** True while a read is queued or running: such a cursor must not be closed under it. */
  get busy(): boolean {
    return this.pending > 0;
  }

  /** Reads are serialized: each waits for the one before, so the stream is only ever fed by one. */
  readAt(offset: number, length: number, spill?: Spill): Promise<Buffer> {
    this.pending++;
    const run = this.queue.then(() => this.serve(offset, length, spill)).finally(() => this.pending--);
    this.queue = run.catch(() => undefined);
    return run;
  }

  close(): void {
    this.z.destroy();
    this.chunks = [];
    this.entry.release?.();
  }

  private corrupt(why: string, cause?: unknown): MedoError {
    const { src, offset } = this.entry;
    if (offset === undefined) {
      return new MedoError('ERR_OBJECT_CORRUPT', `${src.path} (${this.oid}): ${why}`, { path: src.path, oid: this.oid }, { cause });
    }
    return new MedoError('ERR_PACK_CORRUPT', `${src.path}: entry at offset ${offset} (${this.oid}): ${why}`,
      { path: src.path, offset, oid: this.oid }, { cause });
  }

  private async serve(offset: number, length: number, spill: Spill | undefined): Promise<Buffer> {
    const size = this.entry.size;
    const end = Math.min(offset + length, size);
    if (offset < this.chunksStart) throw new MedoError('ERR_USAGE', `cursor is past offset ${offset}`);
    for (;;) {
      if (this.produced > size) throw this.corrupt(`inflates to more than its declared ${size} bytes`);
      // What lies before `offset` was passed over (now or by an earlier pump that overshot); a jump far
      // ahead holds only a window of it, whatever the distance.
      const passed = Math.min(this.produced, offset);
      if (spill !== undefined) await this.spill(passed, spill);
      this.trim(passed - CURSOR_WINDOW_BYTES);
      if (this.produced >= end) break;
      await this.pump();
    }
    const out = this.slice(offset, end);
    this.spilledTo = Math.max(this.spilledTo, end);
    this.trim(end - CURSOR_WINDOW_BYTES);
    return out;
  }

  /** Hands over the whole pages between what was served or spilled and `to`. */
  private async spill(to: number, spill: Spill): Promise<void> {
    const from = Math.ceil(Math.max(this.spilledTo, this.chunksStart) / PAGE) * PAGE;
    const until = Math.floor(to / PAGE) * PAGE;
    if (until <= from) return;
    this.spilledTo = until;
    await spill(from, this.slice(from, until));
  }

  private async pump(): Promise<void> {
    if (this.failure !== undefined) throw this.corrupt(`bad zlib data (${this.failure.message})`, this.failure);
    if (this.ended) throw this.corrupt(`inflates to ${this.produced} bytes, declared ${this.entry.size}`);
    if (this.srcPos >= this.entry.dataEnd) {
      // Everything is written: flush what zlib still holds.
      await new Promise<void>((resolve) => {
        this.z.once('end', resolve);
        this.z.once('error', () => resolve());
        this.z.once('close', () => resolve());
        this.z.end();
      });
      this.ended = true;
      const failure = this.failure as Error | undefined; // set by the 'error' listener while we waited
      if (failure !== undefined) throw this.corrupt(`bad zlib data (${failure.message})`, failure);
      return;
    }
    const { src, entryEnd } = this.entry;
    const at = this.srcPos;
    // dataEnd is the pack's end: a failed read that ran past the entry is read again up to its end.
    // Copy: the pack reader may hand out a shared page buffer, and zlib holds the chunk until it is consumed.
    const chunk = Buffer.from(readBounded((n) => src.read(at, n), Math.min(FEED_BYTES, this.entry.dataEnd - at),
      () => (entryEnd === undefined ? undefined : entryEnd() - at)));
    this.srcPos += chunk.length;
    // On bad data zlib emits 'error' and may never call the write callback: wait for whichever comes first.
    await new Promise<void>((resolve) => {
      const onError = (): void => resolve();
      this.z.once('error', onError);
      this.z.write(chunk, () => {
        this.z.off('error', onError);
        resolve();
      });
    });
  }

  private slice(from: number, to: number): Buffer {
    const parts: Buffer[] = [];
    let at = this.chunksStart;
    for (const c of this.chunks) {
      const cEnd = at + c.length;
      if (cEnd > from && at < to) parts.push(c.subarray(Math.max(0, from - at), Math.min(c.length, to - at)));
      if (cEnd >= to) break;
      at = cEnd;
    }
    return parts.length === 1 ? parts[0]! : Buffer.concat(parts);
  }

  private trim(keepFrom: number): void {
    while (this.chunks.length > 1 && this.chunksStart + this.chunks[0]!.length <= keepFrom) {
      this.chunksStart += this.chunks.shift()!.length;
    }
  }
}
