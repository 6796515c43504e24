// A git tree (or a single blob) served as a mount: paths resolve through parsed tree objects, content comes
// from the store through an ObjectReader. With a metadata sidecar (lib/medo/meta.ts) entries show their
// original permission bits and mtimes and the empty directories come back; without one every entry shows
// FIXED_MTIME_SEC and git's modes (0644, 0755 for executables and directories, 0777 for symlinks).
// The sidecar is read on first use, not at mount time, so mounting stays instant whatever its size.
import { MODE_EXEC, MODE_GITLINK, MODE_SYMLINK, MODE_TREE, type TreeEntry } from '../git/tree.js';
import { LruCache } from '../lru-cache.js';
import { PRIVILEGE_BITS, TreeMeta, filePerm, type MetaEntry } from '../medo/meta.js';
import type { InodeScope } from './inode-table.js';
import type { Spill } from './inflate-cursor.js';
import type { DirIndex, ObjectReader } from './object-reader.js';
import {
  DEFAULT_PERM, EMPTY_TREE_OID, FIXED_MTIME_SEC, OID_XATTR, joinPath, splitPath,
  type DeflatedRange, type DirEntry, type MountNode, type MountSource, type NodeKind, type SourceStats,
} from './source.js';

/** What directories report as st_size (ext4's size for a small directory). */
export const DIR_SIZE = 4096;

export interface TreeSourceOptions {
  inodes: InodeScope;
  /** Id of the metadata sidecar blob. */
  meta?: string;
  /** Declared totals (a .treeptr's size and files), so statfs need not walk the tree. */
  stats?: SourceStats;
  /** Nodes kept by path (default 20 000). */
  nodeCacheEntries?: number;
  /** MountSource.fetch, for a tree whose objects may come from remote silos. */
  fetch?: (oid: string) => Promise<void>;
  /** Told the entries of each directory listed (a remote mount's read-ahead, remote-fetcher.ts). */
  onList?: (tree: string, entries: readonly TreeEntry[]) => void;
}

export interface RootObject {
  oid: string;
  /** MODE_TREE for a directory; a blob mode for a single file or symlink. */
  mode: number;
}

interface LoadedMeta {
  meta: TreeMeta;
  emptyByParent: Map<string, string[]>;
}

const EMPTY_DIR: DirIndex = { entries: [], byName: new Map(), subdirs: 0 };

export function kindOfMode(mode: number): NodeKind {
  if (mode === MODE_TREE || mode === MODE_GITLINK) return 'dir';
  return mode === MODE_SYMLINK ? 'symlink' : 'file';
}

class TreeNode implements MountNode {
  readonly kind: NodeKind;
  private attrs: MetaEntry | undefined;
  private sizeValue = -1;
  private nlinkValue = -1;

  constructor(readonly owner: TreeSource, readonly path: string, readonly ino: number, readonly mode: number, readonly oid: string,
    /** Set for directories made from a sidecar's empty_dirs: they have no tree of their own. */
    readonly emptyDir = false) {
    this.kind = kindOfMode(mode);
  }

  /** The tree whose entries this directory lists; undefined for files and submodules. */
  get tree(): string | undefined {
    return this.mode === MODE_TREE && !this.emptyDir ? this.oid : undefined;
  }

  private meta(): MetaEntry {
    this.attrs ??= this.owner.attributes(this.path, this.mode);
    return this.attrs;
  }

  get perm(): number {
    return this.meta().perm;
  }

  get mtimeSec(): number {
    return this.meta().mtimeSec;
  }

  get mtimeNsec(): number {
    return this.meta().mtimeNsec;
  }

  get size(): number {
    if (this.sizeValue < 0) this.sizeValue = this.kind === 'dir' ? DIR_SIZE : this.owner.sizeOf(this.ino, this.oid);
    return this.sizeValue;
  }

  get nlink(): number {
    if (this.nlinkValue < 0) this.nlinkValue = this.kind === 'dir' ? 2 + this.owner.subdirCount(this) : 1;
    return this.nlinkValue;
  }
}

export class TreeSource implements MountSource {
  // Nodes by path, recency kept the CLOCK way (lib/lru-cache.ts): a hit is one Map lookup, and directories,
  // asked for on every lookup below them, stay. A node dropped is made again from its parent's tree (its
  // size from `sizes`); its inode number lives in the InodeTable, not here.
  private readonly nodes: LruCache<string, TreeNode>;
  /**
   * File sizes by inode number, kept when their node is not: reading a size means an index search and a
   * read of the object's header in its pack, and a node made again (a file read long after its directory
   * was listed) would pay that twice.
   */
  private readonly sizes = new Map<number, number>();
  private loaded: LoadedMeta | undefined;
  private walked: SourceStats | undefined;
  readonly inodes: InodeScope;
  readonly fetch?: (oid: string) => Promise<void>;

  constructor(readonly reader: ObjectReader, readonly root: RootObject, private readonly options: TreeSourceOptions) {
    this.inodes = options.inodes;
    this.nodes = new LruCache(options.nodeCacheEntries ?? 20_000, () => 1);
    if (options.fetch !== undefined) this.fetch = options.fetch;
  }

  /** The sidecar, parsed on first use; undefined when there is none. Throws when it is missing or corrupt. */
  private sidecar(): LoadedMeta | undefined {
    if (this.options.meta === undefined) return undefined;
    if (this.loaded === undefined) {
      const meta = TreeMeta.parse(this.reader.readWhole(this.options.meta, false), `metadata sidecar ${this.options.meta}`);
      const emptyByParent = new Map<string, string[]>();
      for (const p of meta.emptyDirs) {
        const { parent, name } = splitPath(p);
        const names = emptyByParent.get(parent);
        if (names === undefined) emptyByParent.set(parent, [name]);
        else names.push(name);
      }
      this.loaded = { meta, emptyByParent };
    }
    return this.loaded;
  }

  /** Permission bits and mtime of `path`: the sidecar's, or git's mode and the fixed time. */
  attributes(path: string, mode: number): MetaEntry {
    const recorded = this.sidecar()?.meta.get(path);
    const kind = kindOfMode(mode);
    if (recorded !== undefined) return kind === 'file' && (recorded.perm & PRIVILEGE_BITS) !== 0 ? { ...recorded, perm: filePerm(recorded.perm) } : recorded;
    const perm = kind === 'dir' ? DEFAULT_PERM.dir
      : kind === 'symlink' ? DEFAULT_PERM.symlink
      : mode === MODE_EXEC ? DEFAULT_PERM.exec : DEFAULT_PERM.file;
    return { perm, mtimeSec: FIXED_MTIME_SEC, mtimeNsec: 0 };
  }

  private dirIndex(node: TreeNode): DirIndex {
    const tree = node.tree;
    return tree === undefined || tree === EMPTY_TREE_OID ? EMPTY_DIR : this.reader.tree(tree);
  }

  private emptyDirsIn(path: string): string[] {
    return this.sidecar()?.emptyByParent.get(path) ?? [];
  }

  subdirCount(node: TreeNode): number {
    const index = this.dirIndex(node);
    return index.subdirs + this.emptyDirsIn(node.path).filter((n) => !index.byName.has(n)).length;
  }

  lookup(path: string): TreeNode | undefined {
    const hit = this.nodes.get(path);
    if (hit !== undefined) return hit;
    let node: TreeNode;
    if (path === '') {
      node = new TreeNode(this, '', this.inodes.of(''), this.root.mode, this.root.oid);
    } else {
      const { parent, name } = splitPath(path);
      const dir = this.lookup(parent);
      if (dir === undefined || dir.kind !== 'dir') return undefined;
      const entry = this.dirIndex(dir).byName.get(name);
      if (entry !== undefined) node = new TreeNode(this, path, this.inodes.of(path), entry.mode, entry.oid);
      else if (this.sidecar()?.meta.emptyDirs.has(path)) node = new TreeNode(this, path, this.inodes.of(path), MODE_TREE, EMPTY_TREE_OID, true);
      else return undefined;
    }
    this.nodes.set(path, node);
    return node;
  }

  sizeOf(ino: number, oid: string): number {
    let size = this.sizes.get(ino);
    if (size === undefined) {
      size = this.reader.size(oid);
      this.sizes.set(ino, size);
    }
    return size;
  }

  list(path: string): DirEntry[] | undefined {
    const dir = this.lookup(path);
    if (dir === undefined || dir.kind !== 'dir') return undefined;
    const index = this.dirIndex(dir);
    if (this.options.onList !== undefined && dir.tree !== undefined) this.options.onList(dir.tree, index.entries);
    const entry = (name: string, kind: NodeKind): DirEntry => {
      const child = joinPath(path, name);
      const ino = this.inodes.of(child);
      // The mount's inode table keys paths from the mount's root, whatever this tree's place in it: the
      // string it keeps for this one is the one to hand on.
      return { name, kind, ino, node: () => this.lookup(child)!, path: this.inodes.table.pathOf(ino) };
    };
    const out = index.entries.map((e) => entry(e.name, kindOfMode(e.mode)));
    for (const name of this.emptyDirsIn(path)) if (!index.byName.has(name)) out.push(entry(name, 'dir'));
    return out;
  }

  read(node: MountNode, offset: number, length: number, spill?: Spill): Promise<Buffer> {
    return this.reader.read(node.oid!, node.size, offset, length, spill);
  }

  readNow(node: MountNode): Buffer | undefined {
    return this.reader.readNow(node.oid!, node.size);
  }

  deflatedAt(node: MountNode): DeflatedRange | undefined {
    return this.reader.deflatedAt(node.oid!, node.size);
  }

  readlink(node: MountNode): string {
    return this.reader.readWhole(node.oid!).toString('utf8');
  }

  statfs(): SourceStats {
    if (this.options.stats !== undefined) return this.options.stats;
    if (this.walked === undefined) {
      if (this.root.mode !== MODE_TREE) {
        this.walked = { bytes: this.reader.size(this.root.oid), files: 1 };
      } else {
        const totals = { bytes: 0, files: 0 };
        const walk = (tree: string): void => {
          for (const e of this.reader.tree(tree).entries) {
            if (e.mode === MODE_TREE) walk(e.oid);
            else if (e.mode !== MODE_GITLINK) {
              totals.bytes += this.reader.size(e.oid);
              totals.files++;
            }
          }
        };
        walk(this.root.oid);
        this.walked = totals;
      }
    }
    return this.walked;
  }

  xattr(node: MountNode, name: string): Buffer | undefined {
    return name === OID_XATTR && node.oid !== undefined ? Buffer.from(node.oid, 'latin1') : undefined;
  }

  xattrNames(node: MountNode): string[] {
    return node.oid !== undefined ? [OID_XATTR] : [];
  }
}
