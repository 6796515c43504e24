// A mount's source that medod can re-read in place (SIGHUP, or a `reload` request): a medo directory gains
// and loses .treeptrs without a remount. Every FUSE op goes to the current load; the previous load stays
// open until the next reload (or the unmount), so a read that was already under way when the swap happened
// finishes on the store it started on. Paths keep their inode numbers across loads (one inode table).
//
// Only additions and removals are safe to pick up this way: the kernel keeps a file's pages and
// attributes by path for a day, so a .treeptr whose tree changed at the same path needs a remount.
import type { Spill } from '../lib/mount/inflate-cursor.js';
import { openMountSource, type MountSpec, type OpenedSource } from '../lib/mount/open-source.js';
import type { DeflatedRange, DirEntry, MountNode, MountSource, SourceStats } from '../lib/mount/source.js';
import { SubvolumeSource } from '../lib/mount/subvolume-source.js';

const roots = (source: MountSource): Map<string, string | undefined> =>
  source instanceof SubvolumeSource ? source.roots() : new Map();

export class ReloadableSource implements MountSource {
  private current: OpenedSource;
  private retired: OpenedSource | undefined;
  private readonly pastStats = { hits: 0, misses: 0 };

  constructor(private readonly spec: MountSpec) {
    this.current = openMountSource(spec);
  }

  get opened(): OpenedSource {
    return this.current;
  }

  /**
   * Re-reads SOURCE. Throws (and keeps serving the previous load) when it no longer opens. `changed` names
   * the subvolume paths added, removed or pointing at another tree: what the kernel's caches must forget.
   */
  reload(): { problems: string[]; changed: string[] } {
    const next = openMountSource({ ...this.spec, ...(this.current.inodes !== undefined ? { inodes: this.current.inodes } : {}) });
    this.retired?.close();
    this.pastStats.hits += this.current.reader.cacheStats.hits;
    this.pastStats.misses += this.current.reader.cacheStats.misses;
    const before = roots(this.current.source);
    const after = roots(next.source);
    const changed = [...new Set([...before.keys(), ...after.keys()])].filter((p) => before.get(p) !== after.get(p) || before.has(p) !== after.has(p));
    this.retired = this.current;
    this.current = next;
    return { problems: next.problems, changed };
  }

  cacheStats(): { hits: number; misses: number } {
    return { hits: this.pastStats.hits + this.current.reader.cacheStats.hits, misses: this.pastStats.misses + this.current.reader.cacheStats.misses };
  }

  close(): void {
    this.retired?.close();
    this.current.close();
  }

  lookup(path: string): MountNode | undefined {
    return this.current.source.lookup(path);
  }

  list(path: string): DirEntry[] | undefined {
    return this.current.source.list(path);
  }

  // A node knows the source that made it (node.owner), so a node from the previous load reads from there.
  read(node: MountNode, offset: number, length: number, spill?: Spill): Promise<Buffer> {
    return node.owner.read(node, offset, length, spill);
  }

  readNow(node: MountNode): Buffer | undefined {
    return node.owner.readNow?.(node);
  }

  deflatedAt(node: MountNode): DeflatedRange | undefined {
    return node.owner.deflatedAt?.(node);
  }

  readlink(node: MountNode): string {
    return node.owner.readlink(node);
  }

  statfs(): SourceStats {
    return this.current.source.statfs();
  }

  xattr(node: MountNode, name: string): Buffer | undefined {
    return this.current.source.xattr(node, name);
  }

  xattrNames(node: MountNode): string[] {
    return this.current.source.xattrNames(node);
  }

  // The current load's: every load of one medo directory fetches into the same host cache.
  get fetch(): ((oid: string) => Promise<void>) | undefined {
    return this.current.source.fetch;
  }
}
