// A run of pack entries written to a file of its own, to be spliced into a pack by
// PackWriter.appendFragment. Delta search runs on several threads, each writing its share of the new
// pack as a fragment; an OFS_DELTA names its base by distance back, which does not change when the
// fragment lands at some offset in the pack, so fragments need no fixing up, only their entry list.
import { closeSync, openSync, unlinkSync } from 'node:fs';
import { crc32 } from 'node:zlib';
import { MedoError } from '../errors.js';
import { writeAll } from '../io/atomic-write.js';
import type { ObjectType } from '../oid.js';
import { OBJ_OFS_DELTA, TYPE_CODES, encodeEntryHeader, encodeOfsDistance } from './pack-entry.js';

export interface FragmentEntry {
  oid: string;
  /** From the fragment's start. */
  offset: number;
  crc: number;
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

  get bytes(): number {
    return this.length;
  }

  /** A whole object whose zlib data the caller has made. */
  addWhole(oid: string, type: ObjectType, size: number, compressed: Uint8Array): void {
    this.add(oid, encodeEntryHeader(TYPE_CODES[type], size), compressed);
  }

  /** A delta against `baseOid`, which must be an earlier entry of this fragment. */
  addOfsDelta(oid: string, baseOid: string, deltaSize: number, compressed: Uint8Array): void {
    const base = this.offsets.get(baseOid);
    if (base === undefined) throw new MedoError('ERR_USAGE', `pack fragment: delta base ${baseOid} of ${oid} is not an earlier entry`);
    const header = Buffer.concat([encodeEntryHeader(OBJ_OFS_DELTA, deltaSize), encodeOfsDistance(this.length - base)]);
    this.add(oid, header, compressed);
  }

  private add(oid: string, header: Buffer, compressed: Uint8Array): void {
    if (this.offsets.has(oid)) return;
    this.offsets.set(oid, this.length);
    this.entries.push({ oid, offset: this.length, crc: crc32(compressed, crc32(header)) });
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
