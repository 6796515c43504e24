// The tree a destination directory should hold, as expand and verify see it: the git trees of the
// targets with their metadata sidecars applied (full permission bits, mtimes, empty directories), laid
// out below the destination. Directories list their children lazily, so a walk reads each tree object
// once, when it gets there.
import { MedoError } from '../../errors.js';
import { readTree } from '../../git/tree-walk.js';
import { MODE_EXEC, MODE_GITLINK, MODE_SYMLINK, MODE_TREE } from '../../git/tree.js';
import type { ObjectStore } from '../../store.js';
import { TreeMeta, filePerm, type MetaEntry } from '../meta.js';
import type { Target } from '../resolve-target.js';

export interface Mtime {
  sec: number;
  nsec: number;
}

export interface ExpectedFile {
  kind: 'file';
  /** '/'-separated path below the destination. */
  path: string;
  oid: string;
  perm: number;
  /** The perm comes from a sidecar and is compared in full; otherwise only the executable bit counts. */
  permExact: boolean;
  mtime?: Mtime;
  /** A tarball's hard link: the path (below the destination) of the earlier file with this content. */
  linkOf?: string;
}

export interface ExpectedSymlink {
  kind: 'symlink';
  path: string;
  /** Blob holding the link target. */
  oid: string;
  /** The target itself, when it does not come from the store (a tarball's symlink). */
  target?: Buffer;
  mtime?: Mtime;
}

export interface ExpectedDir {
  kind: 'dir';
  path: string;
  /** Set from a sidecar; without one an existing directory's mode is left as it is (new ones get 0755 less the umask). */
  perm?: number;
  mtime?: Mtime;
  /** A submodule (gitlink): the directory exists, its contents are not ours to check or change. */
  opaque: boolean;
  children(): ExpectedNode[];
}

/** A tarball kept as one blob, to be unpacked at `path`. */
export interface ExpectedArchive {
  kind: 'archive';
  path: string;
  oid: string;
}

export type ExpectedNode = ExpectedFile | ExpectedSymlink | ExpectedDir | ExpectedArchive;

export const DEFAULT_FILE_PERM = 0o644;
export const DEFAULT_EXEC_PERM = 0o755;
export const DEFAULT_DIR_PERM = 0o755;

/** Joins '/'-separated relative paths; '' stands for the directory itself on either side. */
export function joinPath(dir: string, name: string): string {
  return dir === '' ? name : name === '' ? dir : `${dir}/${name}`;
}

function mtimeOf(e: MetaEntry | undefined): Mtime | undefined {
  return e === undefined ? undefined : { sec: e.mtimeSec, nsec: e.mtimeNsec };
}

/** Reads and parses the sidecar a treeptr names; ERR_OBJECT_MISSING when the store lacks it. */
export function readMeta(store: ObjectStore, oid: string | undefined): TreeMeta | undefined {
  if (oid === undefined) return undefined;
  const o = store.read(oid);
  if (o === undefined) throw new MedoError('ERR_OBJECT_MISSING', `metadata sidecar ${oid} is not in ${store.path}`, { oid });
  if (o.type !== 'blob') throw new MedoError('ERR_OBJECT_CORRUPT', `metadata sidecar ${oid} is a ${o.type}, expected a blob`, { oid });
  return TreeMeta.parse(o.content, `metadata sidecar ${oid}`);
}

interface TreeContext {
  store: ObjectStore;
  meta: TreeMeta | undefined;
  metaOid: string | undefined;
  /** Where the tree's root sits below the destination. */
  base: string;
  /** Directory (relative to the tree root) -> names of sidecar-only empty directories in it. */
  emptyChildren: Map<string, Set<string>>;
}

function emptyChildrenOf(meta: TreeMeta | undefined): Map<string, Set<string>> {
  const out = new Map<string, Set<string>>();
  for (const p of meta?.emptyDirs ?? []) {
    const parts = p.split('/');
    for (let i = 0; i < parts.length; i++) {
      const parent = parts.slice(0, i).join('/');
      let set = out.get(parent);
      if (set === undefined) out.set(parent, (set = new Set()));
      set.add(parts[i]!);
    }
  }
  return out;
}

/** A directory of a target's tree; `oid` is undefined for a directory only the sidecar knows (empty). */
function treeDir(ctx: TreeContext, rel: string, oid: string | undefined, opaque = false): ExpectedDir {
  const m = ctx.meta?.get(rel);
  const node: ExpectedDir = { kind: 'dir', path: joinPath(ctx.base, rel), opaque, children: () => treeChildren(ctx, rel, oid) };
  if (m !== undefined) node.perm = m.perm;
  const mtime = mtimeOf(m);
  if (mtime !== undefined) node.mtime = mtime;
  return node;
}

function treeChildren(ctx: TreeContext, rel: string, oid: string | undefined): ExpectedNode[] {
  const out: ExpectedNode[] = [];
  const names = new Set<string>();
  for (const e of oid === undefined ? [] : readTree(ctx.store, oid)) {
    const childRel = joinPath(rel, e.name);
    names.add(e.name);
    const m = ctx.meta?.get(childRel);
    const path = joinPath(ctx.base, childRel);
    const mtime = mtimeOf(m);
    if (e.mode === MODE_TREE || e.mode === MODE_GITLINK) {
      out.push(treeDir(ctx, childRel, e.mode === MODE_TREE ? e.oid : undefined, e.mode === MODE_GITLINK));
    } else if (e.mode === MODE_SYMLINK) {
      out.push(mtime === undefined ? { kind: 'symlink', path, oid: e.oid } : { kind: 'symlink', path, oid: e.oid, mtime });
    } else {
      const perm = m === undefined ? (e.mode === MODE_EXEC ? DEFAULT_EXEC_PERM : DEFAULT_FILE_PERM) : filePerm(m.perm);
      const f: ExpectedFile = { kind: 'file', path, oid: e.oid, perm, permExact: m !== undefined };
      if (mtime !== undefined) f.mtime = mtime;
      out.push(f);
    }
  }
  for (const name of ctx.emptyChildren.get(rel) ?? []) {
    if (names.has(name)) {
      const clash = out.find((n) => n.path === joinPath(ctx.base, joinPath(rel, name)));
      if (clash?.kind === 'dir') continue;
      throw new MedoError('ERR_OBJECT_CORRUPT',
        `metadata sidecar ${ctx.metaOid}: empty directory ${JSON.stringify(joinPath(rel, name))} is a file in the tree`, { oid: ctx.metaOid });
    }
    out.push(treeDir(ctx, joinPath(rel, name), undefined));
  }
  return out;
}

/** The expected node for one target, placed at target.rel. `isArchive` decides whether a blob is unpacked. */
export function targetNode(target: Target, store: ObjectStore, isArchive: (oid: string) => boolean): ExpectedNode {
  const t = target.treeptr;
  const meta = readMeta(store, t.meta);
  if (t.tree !== undefined) {
    const ctx: TreeContext = { store, meta, metaOid: t.meta, base: target.rel, emptyChildren: emptyChildrenOf(meta) };
    return treeDir(ctx, '', t.tree);
  }
  const oid = t.blob!;
  if (isArchive(oid)) return { kind: 'archive', path: target.single ? '' : target.rel, oid };
  const m = meta?.get('');
  const f: ExpectedFile = { kind: 'file', path: target.rel, oid, perm: m === undefined ? DEFAULT_FILE_PERM : filePerm(m.perm), permExact: m !== undefined };
  const mtime = mtimeOf(m);
  if (mtime !== undefined) f.mtime = mtime;
  return f;
}

/**
 * The whole destination: a single tree target is the destination itself; otherwise the destination is a
 * plain directory holding each target at its path, with the folders between them (whose modes and
 * mtimes are nobody's business: they are created 0755 and never compared).
 */
export function expectedRoot(targets: readonly Target[], store: ObjectStore, isArchive: (oid: string) => boolean): ExpectedNode {
  const nodes = targets.map((t) => targetNode(t, store, isArchive));
  if (nodes.length === 1 && nodes[0]!.path === '') return nodes[0]!;
  return layoutDir('', nodes);
}

function layoutDir(path: string, nodes: readonly ExpectedNode[]): ExpectedDir {
  return {
    kind: 'dir',
    path,
    opaque: false,
    children() {
      const prefix = path === '' ? '' : `${path}/`;
      const direct: ExpectedNode[] = [];
      const deeper = new Map<string, ExpectedNode[]>();
      for (const n of nodes) {
        const rest = n.path.slice(prefix.length);
        const slash = rest.indexOf('/');
        if (slash < 0) direct.push(n);
        else {
          const name = rest.slice(0, slash);
          const below = deeper.get(name);
          if (below === undefined) deeper.set(name, [n]);
          else below.push(n);
        }
      }
      return [...direct, ...[...deeper].map(([name, below]) => layoutDir(prefix + name, below))];
    },
  };
}
