// Builds git trees and the metadata sidecar from a flat list of entries (from a directory scan or a tar
// stream), the way `git add -A && git write-tree` would see the same directory:
//   - a regular file is 100644, or 100755 when its owner-execute bit is set (git's core.fileMode rule);
//   - a symlink is 120000 and its blob is the link target;
//   - a directory with no file or symlink anywhere below it is not in the tree: it goes to the sidecar's
//     empty_dirs instead (every such directory, including ones that only hold other empty directories).
// Blob ids may arrive later (hashing runs on worker threads): entries hold a BlobRef filled in when the
// hash is known, and finish() requires all of them.
import { MedoError } from '../../errors.js';
import { MODE_EXEC, MODE_FILE, MODE_SYMLINK, MODE_TREE, serializeTree, type TreeEntry } from '../../git/tree.js';
import { TreeMeta } from '../meta.js';

/** A blob whose id and size are known once hashed. */
export interface BlobRef {
  oid?: string;
  size?: number;
}

export interface Stat {
  perm: number;
  mtimeSec: number;
  mtimeNsec: number;
}

interface FileNode {
  kind: 'file' | 'symlink';
  blob: BlobRef;
  stat: Stat;
}

interface DirNode {
  kind: 'dir';
  children: Map<string, Node>;
  /** Undefined for a directory only implied by paths below it (a tarball without its own entry). */
  stat?: Stat;
}

type Node = FileNode | DirNode;

export interface BuiltTree {
  tree: string;
  meta: TreeMeta;
  /** Sum of the sizes of every file's and symlink's blob, counted once per path. */
  size: number;
  /** Files plus symlinks. */
  files: number;
}

/** A directory the input never described (a tarball without its own entry) gets 0755 and the mtime of the newest entry below it. */
const IMPLIED_PERM = 0o755;

const show = (path: string): string => JSON.stringify(path);

export class TreeBuilder {
  private readonly root: DirNode = { kind: 'dir', children: new Map() };

  /** The parent directory of `path`, created as implied directories where missing. */
  private parentOf(path: string): { dir: DirNode; name: string } {
    const parts = path.split('/');
    const name = parts.pop()!;
    let dir = this.root;
    let at = '';
    for (const part of parts) {
      at = at === '' ? part : `${at}/${part}`;
      let next = dir.children.get(part);
      if (next === undefined) {
        next = { kind: 'dir', children: new Map() };
        dir.children.set(part, next);
      } else if (next.kind !== 'dir') {
        throw new MedoError('ERR_UNSAFE_PATH',
          `${show(path)} lies below ${show(at)}, which is a ${next.kind === 'symlink' ? 'symlink (writing through it is refused)' : 'file, not a directory'}`,
          { path });
      }
      dir = next;
    }
    return { dir, name };
  }

  addDir(path: string, stat: Stat): void {
    if (path === '') {
      this.root.stat = stat;
      return;
    }
    const { dir, name } = this.parentOf(path);
    const existing = dir.children.get(name);
    if (existing === undefined) dir.children.set(name, { kind: 'dir', children: new Map(), stat });
    else if (existing.kind === 'dir') existing.stat = stat; // a later entry for the same directory wins, as with tar -x
    else throw new MedoError('ERR_UNSAFE_PATH', `${show(path)} is both a ${existing.kind} and a directory`, { path });
  }

  /** Adds a file or symlink; a later entry for the same path replaces an earlier file or symlink. */
  addFile(path: string, kind: 'file' | 'symlink', blob: BlobRef, stat: Stat): void {
    if (path === '') throw new MedoError('ERR_UNSAFE_PATH', `a ${kind} cannot be the root of a tree`, { path });
    const { dir, name } = this.parentOf(path);
    const existing = dir.children.get(name);
    if (existing?.kind === 'dir') throw new MedoError('ERR_UNSAFE_PATH', `${show(path)} is both a directory and a ${kind}`, { path });
    dir.children.set(name, { kind, blob, stat });
  }

  /** The file or symlink at `path`, for hard links: its blob and stat are shared. */
  findFile(path: string): { kind: 'file' | 'symlink'; blob: BlobRef; stat: Stat } | undefined {
    let node: Node | undefined = this.root;
    for (const part of path.split('/')) {
      if (node?.kind !== 'dir') return undefined;
      node = node.children.get(part);
    }
    return node?.kind === 'file' || node?.kind === 'symlink' ? node : undefined;
  }

  /** Serializes every tree bottom-up, handing each to `writeTree` (which stores it and returns its id). */
  finish(writeTree: (content: Buffer) => string): BuiltTree {
    const meta = new TreeMeta();
    let size = 0;
    let files = 0;
    // Returns the directory's tree id, or undefined when nothing below it can be in a git tree.
    const visit = (dir: DirNode, path: string): { oid: string | undefined; newest: Stat | undefined } => {
      const entries: TreeEntry[] = [];
      let newest: Stat | undefined;
      const seen = (s: Stat): void => {
        if (newest === undefined || s.mtimeSec > newest.mtimeSec || (s.mtimeSec === newest.mtimeSec && s.mtimeNsec > newest.mtimeNsec)) newest = s;
      };
      for (const [name, node] of dir.children) {
        const child = path === '' ? name : `${path}/${name}`;
        if (node.kind === 'dir') {
          const sub = visit(node, child);
          if (sub.oid !== undefined) entries.push({ mode: MODE_TREE, name, oid: sub.oid });
          else meta.emptyDirs.add(child);
          if (sub.newest !== undefined) seen(sub.newest);
          continue;
        }
        const { oid, size: blobSize } = node.blob;
        if (oid === undefined || blobSize === undefined) throw new MedoError('ERR_USAGE', `TreeBuilder.finish: ${show(child)} was never hashed`);
        const mode = node.kind === 'symlink' ? MODE_SYMLINK : node.stat.perm & 0o100 ? MODE_EXEC : MODE_FILE;
        entries.push({ mode, name, oid });
        meta.set(child, node.stat.perm, node.stat.mtimeSec, node.stat.mtimeNsec);
        seen(node.stat);
        size += blobSize;
        files++;
      }
      const stat = dir.stat ?? { perm: IMPLIED_PERM, mtimeSec: newest?.mtimeSec ?? 0, mtimeNsec: newest?.mtimeNsec ?? 0 };
      meta.set(path, stat.perm, stat.mtimeSec, stat.mtimeNsec);
      seen(stat);
      const oid = entries.length > 0 || path === '' ? writeTree(serializeTree(entries)) : undefined;
      return { oid, newest };
    };
    const tree = visit(this.root, '').oid!;
    return { tree, meta, size, files };
  }
}
