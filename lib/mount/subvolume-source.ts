// A mount composed of other sources, each at its own path (ratarmount's SubvolumesMountSource): a medo
// directory shows every `x/y/name.treeptr` as `x/y/name`, a directory for a tree and a file for a blob,
// with the folders between them made up here. A source placed at or below another source's path would be
// hidden by it: the shallower one wins and the hidden ones are listed in `shadowed`.
import type { Spill } from './inflate-cursor.js';
import type { InodeScope } from './inode-table.js';
import {
  FIXED_MTIME_SEC, joinPath,
  type DeflatedRange, type DirEntry, type MountNode, type MountSource, type NodeKind, type SourceStats,
} from './source.js';
import { DIR_SIZE } from './tree-source.js';

export interface Subvolume {
  /** Where it appears: '/'-separated, relative to the mount's root, not ''. */
  path: string;
  source: MountSource;
  /** What its root is (a tree or a blob .treeptr), known without reading anything. */
  kind: NodeKind;
}

interface Folder {
  node: MountNode;
  /** Names inside, each a folder or a subvolume. */
  children: Map<string, { folder?: Folder; subvolume?: Subvolume }>;
}

export class SubvolumeSource implements MountSource {
  private readonly folders = new Map<string, Folder>();
  private readonly mounted = new Map<string, Subvolume>();
  readonly shadowed: Subvolume[] = [];
  /** MountSource.fetch: one for all subvolumes, which read one store. */
  readonly fetch?: (oid: string) => Promise<void>;

  constructor(subvolumes: readonly Subvolume[], private readonly inodes: InodeScope, fetch?: (oid: string) => Promise<void>) {
    if (fetch !== undefined) this.fetch = fetch;
    this.folder('');
    const byDepth = [...subvolumes].sort((a, b) => depth(a.path) - depth(b.path) || (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
    for (const sv of byDepth) this.place(sv);
  }

  private folder(path: string): Folder {
    let f = this.folders.get(path);
    if (f === undefined) {
      const children = new Map<string, { folder?: Folder; subvolume?: Subvolume }>();
      const node: MountNode = {
        ino: this.inodes.of(path),
        kind: 'dir',
        perm: 0o755,
        mtimeSec: FIXED_MTIME_SEC,
        mtimeNsec: 0,
        oid: undefined,
        size: DIR_SIZE,
        // Every name in a folder is a directory except blob subvolumes.
        get nlink() {
          let n = 2;
          for (const c of children.values()) if (c.folder !== undefined || c.subvolume?.kind === 'dir') n++;
          return n;
        },
        owner: this,
      };
      f = { node, children };
      this.folders.set(path, f);
    }
    return f;
  }

  private place(sv: Subvolume): void {
    const parts = sv.path.split('/');
    let dir = '';
    for (const part of parts.slice(0, -1)) {
      const next = joinPath(dir, part);
      if (this.mounted.has(next)) {
        this.shadowed.push(sv);
        return;
      }
      const parent = this.folder(dir);
      parent.children.set(part, { folder: this.folder(next) });
      dir = next;
    }
    const name = parts[parts.length - 1]!;
    if (this.mounted.has(sv.path) || this.folders.has(sv.path)) {
      this.shadowed.push(sv);
      return;
    }
    this.folder(dir).children.set(name, { subvolume: sv });
    this.mounted.set(sv.path, sv);
  }

  /** Each subvolume's path and the id of its root object: what a re-read compares (ReloadableSource). */
  roots(): Map<string, string | undefined> {
    const out = new Map<string, string | undefined>();
    for (const [path, sv] of this.mounted) out.set(path, (sv.source as { root?: { oid: string } }).root?.oid);
    return out;
  }

  /** The subvolume `path` falls in and the path inside it; undefined when it falls in none. */
  private route(path: string): { sv: Subvolume; rest: string } | undefined {
    let at = path.indexOf('/');
    for (;;) {
      const prefix = at < 0 ? path : path.slice(0, at);
      const sv = this.mounted.get(prefix);
      if (sv !== undefined) return { sv, rest: at < 0 ? '' : path.slice(at + 1) };
      if (at < 0 || !this.folders.has(prefix)) return undefined;
      at = path.indexOf('/', at + 1);
    }
  }

  lookup(path: string): MountNode | undefined {
    const f = this.folders.get(path);
    if (f !== undefined) return f.node;
    const r = this.route(path);
    return r?.sv.source.lookup(r.rest);
  }

  list(path: string): DirEntry[] | undefined {
    const f = this.folders.get(path);
    if (f === undefined) {
      const r = this.route(path);
      return r?.sv.source.list(r.rest);
    }
    const out: DirEntry[] = [];
    for (const [name, c] of f.children) {
      const child = joinPath(path, name);
      if (c.folder !== undefined) out.push({ name, kind: 'dir', ino: c.folder.node.ino, node: () => c.folder!.node });
      else out.push({ name, kind: c.subvolume!.kind, ino: this.inodes.of(child), node: () => c.subvolume!.source.lookup('')! });
    }
    return out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

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
    const total = { bytes: 0, files: 0 };
    for (const sv of this.mounted.values()) {
      const s = sv.source.statfs();
      total.bytes += s.bytes;
      total.files += s.files;
    }
    return total;
  }

  xattr(node: MountNode, name: string): Buffer | undefined {
    return node.owner === this ? undefined : node.owner.xattr(node, name);
  }

  xattrNames(node: MountNode): string[] {
    return node.owner === this ? [] : node.owner.xattrNames(node);
  }
}

function depth(path: string): number {
  return path.split('/').length;
}
