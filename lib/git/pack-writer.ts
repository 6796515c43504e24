// A streaming pack writer: objects are deflated and appended to a temp file as they come; finish()
// writes the object count, the trailer and a v2 index, then renames both into place (pack first, so a
// visible .idx always has its .pack). Output is what git writes: `git index-pack --verify` and
// `git verify-pack` accept it. Entries are whole objects or deltas: OFS_DELTA when the base is an earlier
// entry of this pack, REF_DELTA (a "thin" pack, which git reads only with its bases at hand) otherwise.
import { createHash } from 'node:crypto';
import { closeSync, existsSync, fsyncSync, openSync, readSync, renameSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { crc32, deflateSync } from 'node:zlib';
import { MedoError } from '../errors.js';
import { fsyncDir, tempPathFor, writeAll } from '../io/atomic-write.js';
import { OID_BYTES, hashObject, oidToBytes, type ObjectType } from '../oid.js';
import { encodePackIndex } from './pack-idx.js';
import { OBJ_OFS_DELTA, OBJ_REF_DELTA, TYPE_CODES, encodeEntryHeader, encodeOfsDistance } from './pack-entry.js';

export interface PackWriterOptions {
  /** zlib level; git's core.compression default is zlib's default (6). */
  level?: number;
  /** Offsets at or above this go to the 64-bit table (git: 2^31). Lower only to test large-pack code. */
  largeOffsetThreshold?: number;
  /** Objects for which this returns true are skipped (already stored elsewhere). */
  skip?: (oid: string) => boolean;
}

export interface WrittenPack {
  name: string; // pack-<hex>
  packPath: string;
  idxPath: string;
  checksum: string;
  objectCount: number;
}

const FLUSH_BYTES = 1 << 20;

export class PackWriter {
  private fd: number;
  private readonly tmpPack: string;
  private offset = 12;
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private readonly entries: { oid: Buffer; offset: number; crc: number }[] = [];
  /** Each entry's offset, by id: where an OFS_DELTA finds its base. */
  private readonly added = new Map<string, number>();
  private closed = false;

  constructor(readonly dir: string, private readonly options: PackWriterOptions = {}) {
    this.tmpPack = tempPathFor(join(dir, 'pack.pack'));
    // Read-write: finish() reads the pack back to checksum it.
    this.fd = openSync(this.tmpPack, 'wx+', 0o444);
    // The count is patched in finish(), when it is known.
    writeAll(this.fd, Buffer.from([0x50, 0x41, 0x43, 0x4b, 0, 0, 0, 2, 0, 0, 0, 0]));
  }

  get objectCount(): number {
    return this.entries.length;
  }

  /** Adds an object unless it is already in this pack or `skip` says it is stored; returns its id. */
  add(type: ObjectType, content: Uint8Array, knownOid?: string): string {
    const oid = knownOid ?? hashObject(type, content);
    if (this.added.has(oid) || this.options.skip?.(oid)) return oid;
    this.addCompressed(oid, type, content.length, deflateSync(content, { level: this.options.level ?? 6 }));
    return oid;
  }

  /** Adds an object already deflated by the caller (e.g. on a worker thread). */
  addCompressed(oid: string, type: ObjectType, size: number, compressed: Uint8Array): void {
    this.addEntry(oid, encodeEntryHeader(TYPE_CODES[type], size), compressed);
  }

  /**
   * Adds `oid` as a delta against `baseOid` (`compressed` is the deflated delta, `deltaSize` its inflated
   * length): an OFS_DELTA when the base is in this pack, else a REF_DELTA the silo resolves.
   */
  addDeltaCompressed(oid: string, baseOid: string, deltaSize: number, compressed: Uint8Array): void {
    const base = this.added.get(baseOid);
    const header = base !== undefined
      ? Buffer.concat([encodeEntryHeader(OBJ_OFS_DELTA, deltaSize), encodeOfsDistance(this.offset - base)])
      : Buffer.concat([encodeEntryHeader(OBJ_REF_DELTA, deltaSize), oidToBytes(baseOid)]);
    this.addEntry(oid, header, compressed);
  }

  private addEntry(oid: string, header: Buffer, compressed: Uint8Array): void {
    if (this.closed) throw new MedoError('ERR_USAGE', 'PackWriter used after finish() or abort()');
    if (this.added.has(oid)) return;
    this.added.set(oid, this.offset);
    this.entries.push({ oid: oidToBytes(oid), offset: this.offset, crc: crc32(compressed, crc32(header)) });
    this.push(header);
    this.push(compressed);
  }

  has(oid: string): boolean {
    return this.added.has(oid);
  }

  private push(buf: Uint8Array): void {
    this.pending.push(Buffer.from(buf.buffer, buf.byteOffset, buf.length));
    this.pendingBytes += buf.length;
    this.offset += buf.length;
    if (this.pendingBytes >= FLUSH_BYTES) this.flush();
  }

  private flush(): void {
    if (this.pendingBytes === 0) return;
    writeAll(this.fd, Buffer.concat(this.pending, this.pendingBytes));
    this.pending = [];
    this.pendingBytes = 0;
  }

  /** Completes the pack; undefined (and nothing written) when no object was added. */
  finish(): WrittenPack | undefined {
    if (this.closed) throw new MedoError('ERR_USAGE', 'PackWriter.finish() called twice');
    if (this.entries.length === 0) {
      this.abort();
      return undefined;
    }
    this.flush();
    const count = Buffer.alloc(4);
    count.writeUInt32BE(this.entries.length);
    writeAll(this.fd, count, 8);
    const checksum = this.hashFile();
    writeAll(this.fd, checksum, this.offset);
    fsyncSync(this.fd);
    closeSync(this.fd);
    this.closed = true;

    const hex = checksum.toString('hex');
    const name = `pack-${hex}`;
    const packPath = join(this.dir, `${name}.pack`);
    const idxPath = join(this.dir, `${name}.idx`);
    const tmpIdx = tempPathFor(idxPath);
    try {
      const idxFd = openSync(tmpIdx, 'wx', 0o444);
      try {
        writeAll(idxFd, this.buildIndex(checksum));
        fsyncSync(idxFd);
      } finally {
        closeSync(idxFd);
      }
      if (existsSync(idxPath)) {
        // The same objects in the same order give the same pack, already in place.
        unlinkSync(this.tmpPack);
        unlinkSync(tmpIdx);
      } else {
        renameSync(this.tmpPack, packPath);
        renameSync(tmpIdx, idxPath);
        fsyncDir(this.dir);
      }
    } catch (e) {
      for (const p of [this.tmpPack, tmpIdx]) if (existsSync(p)) unlinkSync(p);
      throw e;
    }
    return { name, packPath, idxPath, checksum: hex, objectCount: this.entries.length };
  }

  abort(): void {
    if (this.closed) return;
    this.closed = true;
    closeSync(this.fd);
    unlinkSync(this.tmpPack);
  }

  private hashFile(): Buffer {
    const hash = createHash('sha1');
    const buf = Buffer.allocUnsafe(FLUSH_BYTES);
    for (let pos = 0; pos < this.offset; ) {
      const n = readSync(this.fd, buf, 0, Math.min(buf.length, this.offset - pos), pos);
      if (n === 0) throw new MedoError('ERR_PACK_CORRUPT', `${this.tmpPack} shrank while being written`, { path: this.tmpPack });
      hash.update(buf.subarray(0, n));
      pos += n;
    }
    return hash.digest();
  }

  private buildIndex(packChecksum: Buffer): Buffer {
    return encodePackIndex(this.entries, packChecksum, this.options.largeOffsetThreshold);
  }
}
