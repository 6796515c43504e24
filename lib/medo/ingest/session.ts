// One import into a silo: blobs hashed on the pool, trees built from the entries, the metadata sidecar,
// all appended to ONE new pack that becomes visible only when finish() succeeds. Objects the silo
// already holds are skipped, so re-importing an unchanged tree writes nothing at all.
import type { PackWriter } from '../../git/pack-writer.js';
import { holdsFresh } from '../../silo/freshen.js';
import { writePackList } from '../../silo/pack-list.js';
import type { Silo } from '../../silo/silo.js';
import { TreeBuilder, type BlobRef, type Stat } from './build-tree.js';
import { BlobHasher } from './hash-pool.js';
import type { HashItem } from './hash-worker.js';

export interface IngestOptions {
  silo: Silo;
  /** Worker threads for hashing and compressing; 0 = this thread. Default: os.availableParallelism(). */
  threads?: number;
  /** zlib level of pack entries (default 6, git's). */
  level?: number;
  /** Largest file accepted (default 4 GiB). */
  maxFileSize?: number;
  /** Skip devices, sockets and fifos with a warning instead of refusing them. */
  skipSpecial?: boolean;
  onWarning?: (message: string) => void;
  /** Called once per file or symlink stored, with its size. */
  onProgress?: (bytes: number) => void;
  /**
   * Blobs of an earlier version by path (delta-base.ts): a new file at the same path is stored as a
   * REF_DELTA against it when the delta is small enough.
   */
  baseFiles?: ReadonlyMap<string, string>;
}

export interface IngestResult {
  tree?: string;
  blob?: string;
  /** Id of the metadata sidecar blob. */
  meta?: string;
  size: number;
  files: number;
  /** Objects written to the silo (0 when it held them all). */
  objectsWritten: number;
  /** Path of the pack written, if any. */
  pack?: string;
  /** Of the objects written, blobs stored as deltas against the delta base. */
  deltas?: number;
  /** sha256 of the source file (tarballs and blobs). */
  sha256?: string;
}

export const DEFAULT_MAX_FILE_SIZE = 4 * 1024 ** 3;

export class IngestSession {
  readonly builder = new TreeBuilder();
  private readonly writer: PackWriter;
  private readonly hasher: BlobHasher;
  private closed = false;

  constructor(private readonly options: IngestOptions) {
    const { silo } = options;
    this.writer = silo.packWriter({ level: options.level ?? 6, skip: (oid) => holdsFresh(silo, oid) });
    try {
      this.hasher = new BlobHasher(this.writer, {
        threads: options.threads, siloPath: silo.path, level: options.level, maxSize: options.maxFileSize ?? DEFAULT_MAX_FILE_SIZE,
      });
    } catch (e) {
      this.writer.abort();
      throw e;
    }
  }

  /** Queues a file's content (or its path, read on a worker); the returned ref is filled once hashed. */
  async addFile(path: string, item: HashItem, bytes: number, stat: Stat): Promise<BlobRef> {
    const ref: BlobRef = {};
    const baseOid = this.options.baseFiles?.get(path);
    if (baseOid !== undefined) item = { ...item, baseOid };
    this.builder.addFile(path, 'file', ref, stat);
    await this.hasher.add(item, bytes, (blob) => {
      ref.oid = blob.oid;
      ref.size = blob.size;
      this.options.onProgress?.(blob.size);
    });
    return ref;
  }

  /** A file that is a hard link to one already added: same blob, stored once. */
  addLink(path: string, ref: BlobRef, kind: 'file' | 'symlink', stat: Stat): void {
    this.builder.addFile(path, kind, ref, stat);
    if (ref.size !== undefined) this.options.onProgress?.(ref.size);
  }

  /** Symlink blobs are a few bytes: hashed and deflated here, no hop to a worker. */
  addSymlink(path: string, target: Buffer, stat: Stat): BlobRef {
    const ref: BlobRef = { oid: this.writer.add('blob', target), size: target.length };
    this.builder.addFile(path, 'symlink', ref, stat);
    this.options.onProgress?.(target.length);
    return ref;
  }

  addDir(path: string, stat: Stat): void {
    this.builder.addDir(path, stat);
  }

  /**
   * Waits for every blob, writes the trees and the sidecar, runs `check` (the last chance to refuse, e.g.
   * a checksum mismatch) and only then completes the pack.
   */
  async finish(check?: () => void): Promise<IngestResult> {
    await this.hasher.finish();
    const built = this.builder.finish((content) => this.writer.add('tree', content));
    const meta = this.writer.add('blob', Buffer.from(built.meta.serialize(), 'utf8'));
    check?.();
    const written = this.writer.finish();
    this.closed = true;
    // Keeps the silo servable by a static web server (lib/silo/pack-list.ts).
    if (written !== undefined) writePackList(this.options.silo.path);
    await this.hasher.close();
    const result: IngestResult = { tree: built.tree, meta, size: built.size, files: built.files, objectsWritten: written?.objectCount ?? 0 };
    if (this.options.baseFiles !== undefined) result.deltas = written === undefined ? 0 : this.hasher.deltas;
    if (written !== undefined) result.pack = written.packPath;
    return result;
  }

  /** Discards everything: the pack's temp file is removed, workers stopped. Safe to call after finish(). */
  async abort(): Promise<void> {
    await this.hasher.close();
    if (!this.closed) {
      this.closed = true;
      this.writer.abort();
    }
  }
}
