// One directory of objects: loose files plus a directory of packs. A git repository's `objects/` and a
// silo are both this shape; they differ only in how a loose object is named and encoded.
import { existsSync, readFileSync } from 'node:fs';
import { MedoError, readingObject } from './errors.js';
import { DEFAULT_LIMITS, type BaseResolver, type PackFileOptions, type RawObject, type ReadLimits } from './git/pack-file.js';
import { PackSet } from './git/pack-set.js';
import { assertOid } from './oid.js';
import type { ObjectStore } from './store.js';

export interface LooseFormat {
  /** Path of the loose file for `oid` under `root`. */
  path(root: string, oid: string): string;
  /** Decodes (and where the format needs it, identifies) a loose file's bytes. */
  parse(bytes: Buffer, oid: string, path: string, limits: ReadLimits): RawObject;
}

export interface ObjectDirOptions extends PackFileOptions {
  /** Asked for REF_DELTA bases that a pack here does not hold (a chain of stores passes itself). */
  external?: BaseResolver;
}

export class ObjectDir implements ObjectStore {
  readonly packs: PackSet;
  protected readonly limits: ReadLimits;
  external: BaseResolver | undefined;

  constructor(readonly path: string, packDir: string, readonly loose: LooseFormat, options: ObjectDirOptions = {}) {
    this.limits = options.limits ?? DEFAULT_LIMITS;
    this.packs = new PackSet(packDir, options);
    this.external = options.external;
  }

  read(oid: string): RawObject | undefined {
    const key = Buffer.from(assertOid(oid), 'hex');
    try {
      const hit = this.packs.find(key);
      if (hit !== undefined) return hit.pack.readAt(hit.offset, this.external);
      const loose = this.readLoose(oid);
      if (loose !== undefined) return loose;
      // A writer may have added a pack since we scanned (git's reprepare_packed_git does the same).
      if (this.packs.rescan()) {
        const again = this.packs.find(key);
        if (again !== undefined) return again.pack.readAt(again.offset, this.external);
      }
      return undefined;
    } catch (e) {
      throw readingObject(e, oid);
    }
  }

  readLoose(oid: string): RawObject | undefined {
    const file = this.loose.path(this.path, oid);
    let bytes: Buffer;
    try {
      bytes = readFileSync(file);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
      throw new MedoError('ERR_OBJECT_CORRUPT', `cannot read ${file}: ${(e as Error).message}`, { oid, path: file }, { cause: e });
    }
    return this.loose.parse(bytes, oid, file, this.limits);
  }

  has(oid: string): boolean {
    const key = Buffer.from(assertOid(oid), 'hex');
    if (this.packs.find(key) !== undefined || existsSync(this.loose.path(this.path, oid))) return true;
    return this.packs.rescan() && this.packs.find(key) !== undefined;
  }

  close(): void {
    this.packs.close();
  }
}
