// The packs of one directory (`objects/pack/` of a git repository, `pack/` of a silo). Packs are found by
// their `.idx`: writers rename the `.pack` into place before its `.idx`, so a visible index always has its
// pack. A pack that fails to open is remembered as a problem and skipped, so one bad pack does not hide
// the objects of the others.
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { MedoError, isMedoError } from '../errors.js';
import { PackFile, type PackFileOptions } from './pack-file.js';
import { isReadFailure } from '../io/random-access.js';

export interface PackHit {
  pack: PackFile;
  offset: number;
}

export class PackSet {
  private packs: PackFile[] = [];
  private readonly seen = new Set<string>();
  /** The directory's change time at the last scan: adding or renaming a file changes it. */
  private scannedAt: bigint | undefined;
  readonly problems: MedoError[] = [];
  /** Packs whose opening the disk failed (EIO): tried again at every rescan, not given up on. */
  private readonly failing = new Set<string>();

  constructor(readonly dir: string, private readonly options: PackFileOptions = {}) {
    this.rescan();
  }

  /** Opens packs that appeared since the last scan; true when there were any. */
  rescan(): boolean {
    let names: string[];
    try {
      // A miss asks for a rescan; one stat instead of a readdir when nothing changed. File times tick
      // coarsely (jiffies), so a change within the same tick as the last scan would keep the same
      // ctime: an unchanged ctime is only trusted once it is a second old.
      const changed = statSync(this.dir, { bigint: true }).ctimeNs;
      if (this.failing.size === 0 && changed === this.scannedAt && BigInt(Date.now()) * 1_000_000n - changed > 1_000_000_000n) return false;
      this.scannedAt = changed;
      names = readdirSync(this.dir);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return false;
      throw e;
    }
    let added = false;
    for (const name of names.sort()) {
      // Only packs in place: a writer's temp files (medo's `.tmp-*`, rsync's `.pack-*.idx.XXXXXX`: all
      // hidden) hold objects that are not in the silo until renamed, and a killed writer's stay strays.
      if (!name.endsWith('.idx') || name.startsWith('.') || (this.seen.has(name) && !this.failing.has(name))) continue;
      this.seen.add(name);
      const path = join(this.dir, name);
      try {
        this.packs.push(PackFile.open(path, this.options));
        added = true;
        if (this.failing.delete(name)) this.forget(path);
      } catch (e) {
        // A pack being removed (gc and repack delete the .idx first, or set it aside to check its age)
        // is not a problem: forget it, so that a later scan looks again should it come back.
        if ((e as NodeJS.ErrnoException).code === 'ENOENT') {
          this.seen.delete(name);
          continue;
        }
        if (!isMedoError(e) && (e as NodeJS.ErrnoException).code === undefined) throw e;
        // A read the disk failed may succeed later (a flaky device, a network file system): try again.
        if (isReadFailure(e)) {
          if (this.failing.has(name)) continue;
          this.failing.add(name);
        }
        // An I/O error (an .idx whose .pack is gone, EACCES) is recorded as a MedoError like the rest, so
        // whoever reads `problems` can branch on a medo code.
        this.problems.push(isMedoError(e) ? e : new MedoError('ERR_PACK_CORRUPT', `${join(this.dir, name)}: cannot open: ${(e as Error).message}`,
          { path: join(this.dir, name) }, { cause: e }));
      }
    }
    return added;
  }

  /** Drops the problem recorded for the pack at `path` (its .idx), once it opened after all. */
  private forget(path: string): void {
    const i = this.problems.findIndex((p) => p.data.path === path);
    if (i >= 0) this.problems.splice(i, 1);
  }

  list(): readonly PackFile[] {
    return this.packs;
  }

  find(oid: Uint8Array): PackHit | undefined {
    const packs = this.packs;
    for (let i = 0; i < packs.length; i++) {
      const pack = packs[i]!;
      const offset = pack.find(oid);
      if (offset !== undefined) {
        // Objects read together tend to live in the same pack: keep the last hit first.
        if (i > 0) {
          packs.splice(i, 1);
          packs.unshift(pack);
        }
        return { pack, offset };
      }
    }
    return undefined;
  }

  close(): void {
    for (const p of this.packs) p.close();
    this.packs = [];
  }
}
