// What a mount serves, independent of FUSE: the one small interface the FUSE adapter (daemon/) talks to
// (ratarmount's MountSource). Paths are '/'-separated and relative to the mount's root ('' is the root).
// A mount of a medo directory composes one source per .treeptr (subvolume-source.ts).
//
// Everything a source serves is immutable: a node's attributes and content never change for the life of
// the mount, which is what lets the kernel cache entries, attributes and pages for as long as it likes.

import type { Spill } from './inflate-cursor.js';

export type NodeKind = 'dir' | 'file' | 'symlink';

export { EMPTY_TREE_OID } from '../git/tree.js';

/**
 * The time every entry shows when no metadata sidecar says otherwise: 2000-01-01T00:00:00Z. Not the epoch,
 * which zip and some build tools reject, and not "now", which would differ between mounts of the same tree.
 */
export const FIXED_MTIME_SEC = 946_684_800;

/** Permission bits without a sidecar: what `git checkout` gives under umask 022. */
export const DEFAULT_PERM = { dir: 0o755, file: 0o644, exec: 0o755, symlink: 0o777 } as const;

/** The name every node with an object id answers for (`getfattr -n user.medo.oid`). */
export const OID_XATTR = 'user.medo.oid';

export interface MountNode {
  /** Stable for the life of the mount: the same path always gives the same number. */
  readonly ino: number;
  readonly kind: NodeKind;
  /** Permission bits only (mode & 0o7777). */
  readonly perm: number;
  readonly mtimeSec: number;
  readonly mtimeNsec: number;
  /** The blob or tree id; undefined for directories that exist only in the mount's layout. */
  readonly oid: string | undefined;
  /** Bytes of content (a symlink's target length); computed on first use, from the object's header only. */
  readonly size: number;
  /** 1 for files; 2 + subdirectories for a directory. */
  readonly nlink: number;
  /** The source that made this node and reads its content. */
  readonly owner: MountSource;
}

/**
 * One name in a directory. `ino` and `kind` are all that readdir needs (libfuse 2 passes nothing else to
 * the kernel); the full node is built only when asked for.
 */
export interface DirEntry {
  name: string;
  ino: number;
  kind: NodeKind;
  node(): MountNode;
  /**
   * The entry's path from the mount's root, when the source has that string at hand (a tree source: the
   * one its inode table keeps): a caller that keeps paths can share it rather than build its own copy.
   */
  path?: string;
}

export interface DeflatedRange {
  fd: number;
  start: number;
  end: number;
  /** For a delta: the whole entry it applies to (in the same file), and the delta's own inflated size. */
  delta?: { baseStart: number; baseEnd: number; baseSize: number; size: number };
}

export interface SourceStats {
  /** Sum of the sizes of every file and symlink. */
  bytes: number;
  /** Files and symlinks. */
  files: number;
}

export interface MountSource {
  /** The node at `path`, or undefined when there is none. Throws (ERR_OBJECT_*) when an object it needs is bad. */
  lookup(path: string): MountNode | undefined;
  /** The entries of directory `path` in a stable order, without '.' and '..'; undefined when there is no such directory. */
  list(path: string): DirEntry[] | undefined;
  /**
   * Up to `length` bytes of a file's content from `offset` (fewer at the end of the file). `spill` gets, in
   * whole pages, the content a streamed read of a very large file passes over to reach `offset`.
   */
  read(node: MountNode, offset: number, length: number, spill?: Spill): Promise<Buffer>;
  /**
   * A small file's whole content, synchronously, in a buffer that is valid only until the next call (the
   * caller copies it out at once); undefined when the file cannot be read inline. Optional: an adapter
   * falls back to read().
   */
  readNow?(node: MountNode): Buffer | undefined;
  /**
   * Where a file's content lies as one zlib stream in a local file (a whole pack entry, or a delta
   * against one in the same pack): [start, end) of the open descriptor `fd`, for native code to read and
   * inflate on threads of its own. Undefined when it does not lie so (a longer delta chain, a loose or
   * remote object, one in the source's cache). Optional.
   */
  deflatedAt?(node: MountNode): DeflatedRange | undefined;
  /** A symlink's target. */
  readlink(node: MountNode): string;
  statfs(): SourceStats;
  /** Extended attribute `name` of a node, or undefined when it has none of that name. */
  xattr(node: MountNode, name: string): Buffer | undefined;
  xattrNames(node: MountNode): string[];
  /**
   * Only sources over remote silos: makes object `oid` readable from the host cache (fetched and checked,
   * or a torn cached copy replaced). Rejects when no silo has it intact. Adapters do not call it
   * directly: withFetch (fetch-on-miss.ts) runs an op again after the fetch its miss needed.
   */
  fetch?(oid: string): Promise<void>;
}

/** Splits '' / 'a/b/c' into its parent ('' / 'a/b') and last component. */
export function splitPath(path: string): { parent: string; name: string } {
  const slash = path.lastIndexOf('/');
  return slash < 0 ? { parent: '', name: path } : { parent: path.slice(0, slash), name: path.slice(slash + 1) };
}

export function joinPath(dir: string, name: string): string {
  // join() makes one flat string; `${dir}/${name}` makes a rope of two parts, which a Map key keeps alive
  // next to its flattened copy (32 bytes more for each of the ~10^5 paths a mount holds).
  return dir === '' ? name : [dir, name].join('/');
}
