// A run of pack entries written to a file of its own, to be copied into a pack entry by entry. Delta
// search runs on several threads, each writing its share of the new pack as a fragment, in the order it
// searched; the pack is written in another order (repack.ts), so each entry's list row says what a writer
// needs to copy it: where its bytes are, its type and size, and for a delta the id of its base (an
// OFS_DELTA's distance back is recomputed where it lands).
import { closeSync, openSync, unlinkSync } from 'node:fs';
import { MedoError } from '../errors.js';
import { writeAll } from '../io/atomic-write.js';
import { oidToBytes, type ObjectType } from '../oid.js';
import { OBJ_OFS_DELTA, OBJ_REF_DELTA, TYPE_CODES, encodeEntryHeader, encodeOfsDistance } from './pack-entry.js';

export interface FragmentEntry {
  oid: string;
  /** From the fragment's start. */
  offset: number;
  /** The entry's bytes, header included. */
  length: number;
  /** Where its zlib data starts, from the entry's start. */
  headerLength: number;
  /** The object's size, or for a delta the delta's (as in the entry's header). */
  size: number;
  /** A whole object's type. */
  type?: ObjectType;
  /** A delta's base: an earlier entry of the same fragment, or (addRefDelta) of any. */
  base?: string;
}

const FLUSH_BYTES = 1 << 20;

export class FragmentWriter {
  private fd: number | undefined;
  private length = 0;
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  readonly entries: FragmentEntry[] = [];
  private readonly offsets = new Map<string, number>();

  constructor(readonly path: string) {
    this.fd = openSync(path, 'wx', 0o600);
  }

  /** A whole object whose zlib data the caller has made. */
  addWhole(oid: string, type: ObjectType, size: number, compressed: Uint8Array): void {
    this.add({ oid, size, type }, encodeEntryHeader(TYPE_CODES[type], size), compressed);
  }

  /** A delta against `baseOid`, which must be an earlier entry of this fragment. */
  addOfsDelta(oid: string, baseOid: string, deltaSize: number, compressed: Uint8Array): void {
    const base = this.offsets.get(baseOid);
    if (base === undefined) throw new MedoError('ERR_USAGE', `pack fragment: delta base ${baseOid} of ${oid} is not an earlier entry`);
    const header = Buffer.concat([encodeEntryHeader(OBJ_OFS_DELTA, deltaSize), encodeOfsDistance(this.length - base)]);
    this.add({ oid, size: deltaSize, base: baseOid }, header, compressed);
  }

  /** A delta against `baseOid`, which may be in another fragment: a REF_DELTA here, placed when copied. */
  addRefDelta(oid: string, baseOid: string, deltaSize: number, compressed: Uint8Array): void {
    this.add({ oid, size: deltaSize, base: baseOid }, Buffer.concat([encodeEntryHeader(OBJ_REF_DELTA, deltaSize), oidToBytes(baseOid)]), compressed);
  }

  private add(what: Pick<FragmentEntry, 'oid' | 'size' | 'type' | 'base'>, header: Buffer, compressed: Uint8Array): void {
    if (this.offsets.has(what.oid)) return;
    this.offsets.set(what.oid, this.length);
    this.entries.push({ ...what, offset: this.length, length: header.length + compressed.length, headerLength: header.length });
    for (const b of [header, compressed]) {
      this.pending.push(Buffer.from(b.buffer, b.byteOffset, b.length));
      this.pendingBytes += b.length;
      this.length += b.length;
    }
    if (this.pendingBytes >= FLUSH_BYTES) this.flush();
  }

  private flush(): void {
    if (this.pendingBytes === 0) return;
    writeAll(this.fd!, Buffer.concat(this.pending, this.pendingBytes));
    this.pending = [];
    this.pendingBytes = 0;
  }

  /** Writes out what is buffered and closes the file (no fsync: the pack it goes into is synced). */
  close(): void {
    if (this.fd === undefined) return;
    try {
      this.flush();
    } finally {
      closeSync(this.fd);
      this.fd = undefined;
    }
  }

  /** Closes and deletes the file. */
  discard(): void {
    try {
      this.close();
    } finally {
      try {
        unlinkSync(this.path);
      } catch {
        // already gone
      }
    }
  }
}
