// An expanded older version in the destination of `medo expand`: what it holds, by id, so that upgrading
// it in place fetches and writes only what changed. The directory is scanned once (as `medo add` would:
// files hashed as git blobs, symlinks by their targets, trees built the way git would see them), which
// gives the id of every tree in it (a FROM of a static delta can be recognized by its id alone) and of
// every file. Trees are kept in memory; a blob is read back from its file only when asked for, and handed
// out only if the file still hashes to that id: the directory is not ours, and may change under us.
import { closeSync, constants, openSync, readFileSync, readlinkSync } from 'node:fs';
import { hashObject } from '../oid.js';
import type { RawObject } from '../git/pack-file.js';
import { MODE_GITLINK, MODE_TREE } from '../git/tree.js';
import { walkTree } from '../git/tree-walk.js';
import type { ObjectStore } from '../store.js';
import { TreeBuilder, type BlobRef } from './ingest/build-tree.js';
import type { TreeMeta } from './meta.js';
import { scanDir } from './ingest/scan-dir.js';
import { fstatBig, hashBlob, openNoFollow, withFd, type SeenFile } from './materialize/fs-ops.js';
import { Limiter, settleAll, track } from './materialize/limiter.js';

type OldBlob = { kind: 'file' | 'symlink'; abs: string } | { kind: 'memory'; content: Buffer };

/** Files hashed at once while scanning. */
const HASHING = 8;

export class OldCopy implements ObjectStore {
  private constructor(
    readonly path: string,
    /** The id of the whole directory, as `git add -A && git write-tree` would give it. */
    readonly tree: string,
    private readonly trees: Map<string, Buffer>,
    private readonly blobs: Map<string, OldBlob>,
    /** '/'-separated path below the directory → the id its file or symlink had when scanned. */
    private readonly byPath: Map<string, string>,
    /** Regular files by path, as they were when hashed. */
    private readonly seenFiles: Map<string, SeenFile>,
    /** Bytes of the files and symlinks scanned. */
    readonly bytes: number,
    /** Its modes and mtimes, as the sidecar `medo add` would write for it. */
    readonly meta: TreeMeta,
  ) {}

  /**
   * Scans `dir`. Special files are skipped; a name that is not UTF-8 (no git tree can name it) makes the
   * scan fail, and the caller goes on without an old copy.
   */
  static async scan(dir: string): Promise<OldCopy> {
    const builder = new TreeBuilder();
    const blobs = new Map<string, OldBlob>();
    const byPath = new Map<string, string>();
    const seen = new Map<string, SeenFile>();
    const limiter = new Limiter(HASHING);
    const jobs: Promise<void>[] = [];
    let bytes = 0;
    for await (const e of scanDir(dir, { skipSpecial: true })) {
      if (e.kind === 'dir') {
        builder.addDir(e.path, e.stat);
        continue;
      }
      const ref: BlobRef = {};
      builder.addFile(e.path, e.kind, ref, e.stat);
      bytes += e.size;
      track(jobs, limiter.run(async () => {
        const content = e.kind === 'symlink' ? e.target! : undefined;
        ref.oid = content !== undefined ? hashObject('blob', content) : await withFd(await openNoFollow(e.abs), async (fd) => {
          const st = await fstatBig(fd);
          const oid = await hashBlob(fd, Number(st.size));
          seen.set(e.path, { oid, ino: st.ino, size: Number(st.size), ctimeNs: st.ctimeNs });
          return oid;
        });
        ref.size = content?.length ?? e.size;
        byPath.set(e.path, ref.oid);
        if (!blobs.has(ref.oid)) blobs.set(ref.oid, { kind: e.kind as 'file' | 'symlink', abs: e.abs });
      }));
    }
    await settleAll(jobs);
    const trees = new Map<string, Buffer>();
    const built = builder.finish((content) => {
      const oid = hashObject('tree', content);
      trees.set(oid, content);
      return oid;
    });
    // The metadata sidecar of what it holds: the very sidecar it was expanded from when the modes and
    // mtimes are still as the expand set them, and so a delta base for the new version's sidecar.
    const meta = Buffer.from(built.meta.serialize(), 'utf8');
    const metaOid = hashObject('blob', meta);
    if (!blobs.has(metaOid)) blobs.set(metaOid, { kind: 'memory', content: meta });
    return new OldCopy(dir, built.tree, trees, blobs, byPath, seen, bytes, built.meta);
  }

  /** Whether a tree of that id is in the directory (the whole of it, or a directory below it). */
  hasTree(oid: string): boolean {
    return this.trees.has(oid);
  }

  /** Whether some file or symlink held that blob when scanned. */
  hasBlob(oid: string): boolean {
    return this.blobs.has(oid);
  }

  /** The id the file or symlink at `path` (below the directory) had when scanned. */
  oidAt(path: string): string | undefined {
    return this.byPath.get(path);
  }

  /**
   * The regular file at `path` as it was when hashed: an expand over this directory need not hash it
   * again while it is still that file (materialize/fs-ops.ts stillSeen).
   */
  seen(path: string): SeenFile | undefined {
    return this.seenFiles.get(path);
  }

  /** Trees only: they are in memory. Blobs are read with `base()`, which touches the disk. */
  read(oid: string): RawObject | undefined {
    const content = this.trees.get(oid);
    return content === undefined ? undefined : { type: 'tree', content };
  }

  has(oid: string): boolean {
    return this.trees.has(oid);
  }

  /**
   * The blob, read from its file now, if that still hashes to `oid`; else undefined. Synchronous, like
   * every store read: it serves as a delta base inside a pack read (lib/remote/static-delta.ts OtherBases).
   */
  base(oid: string): RawObject | undefined {
    const b = this.blobs.get(oid);
    if (b === undefined) return undefined;
    if (b.kind === 'memory') return { type: 'blob', content: b.content };
    let content: Buffer;
    try {
      content = b.kind === 'symlink' ? readlinkSync(b.abs, { encoding: 'buffer' }) : readNoFollow(b.abs);
    } catch {
      return undefined;
    }
    return hashObject('blob', content) === oid ? { type: 'blob', content } : undefined;
  }

  close(): void {}
}

function readNoFollow(abs: string): Buffer {
  const fd = openSync(abs, constants.O_RDONLY | constants.O_NOFOLLOW);
  try {
    return readFileSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** Where the objects an expand reads come from: the silos and the cache, which `admit` adds to. */
export interface PinStore {
  /** Whether a silo or the cache holds `oid` (the old copy not counted). */
  holds(oid: string): boolean;
  /** The object from a silo, the cache or the old copy's trees. */
  held(oid: string): RawObject | undefined;
  /** Adds an object to the cache if it hashes to `oid`. */
  admit(oid: string, obj: RawObject): boolean;
}

export interface PinReport {
  trees: number;
  blobs: number;
  bytes: number;
  /** Blobs the old copy had when scanned but no longer has as they were: to be fetched. */
  changed: string[];
}

/**
 * After the fetches that skipped what the old copy holds: the expand reads its trees, and any blob it
 * must write (one the old copy holds at another path, or twice), from the silos and the cache, not from
 * the directory it is rewriting. So those are copied into the cache from the old copy, locally. When the
 * old copy is the destination (`inPlace`), a blob at the same path in both is left out: the expand finds
 * it in place and leaves it alone. An old copy elsewhere (--have DIR) gives every blob it holds.
 */
export function pinFromOldCopy(old: OldCopy, roots: readonly { tree: string; rel: string }[], inPlace: boolean, into: PinStore): PinReport {
  const report: PinReport = { trees: 0, blobs: 0, bytes: 0, changed: [] };
  const changed = new Set<string>();
  const seenTrees = new Set<string>();
  // The walk reads each tree through this, which copies one the cache lacks (an old copy's) into it.
  const trees: ObjectStore = {
    path: old.path,
    read(oid) {
      const t = into.held(oid);
      if (t !== undefined && !seenTrees.has(oid)) {
        seenTrees.add(oid);
        if (!into.holds(oid) && into.admit(oid, t)) report.trees++;
      }
      return t;
    },
    has: (oid) => into.held(oid) !== undefined,
    close() {},
  };
  for (const root of roots) {
    for (const { mode, path, oid } of walkTree(trees, root.tree, root.rel)) {
      if (mode === MODE_TREE || mode === MODE_GITLINK) continue;
      if ((inPlace && old.oidAt(path) === oid) || into.holds(oid) || !old.hasBlob(oid)) continue;
      const o = old.base(oid);
      if (o !== undefined && into.admit(oid, o)) {
        report.blobs++;
        report.bytes += o.content.length;
      } else changed.add(oid);
    }
  }
  report.changed = [...changed];
  return report;
}
