// What changed between two wedges: the paths added, removed and changed, with their type, permission
// bits, size and (from the metadata sidecars) mtimes. The walk compares tree ids first and never reads a
// subtree whose id is the same on both sides, so its cost grows with the change, not with the trees: two
// Linux trees that differ in one file read one tree per level of that file's path. The sidecars are in
// memory already; their modes and mtimes are compared path by path without reading any tree.
import { EMPTY_TREE_OID, MODE_EXEC, MODE_GITLINK, MODE_SYMLINK, MODE_TREE, type TreeEntry } from '../git/tree.js';
import { lookupPath, readTree } from '../git/tree-walk.js';
import type { ObjectStore } from '../store.js';
import { DEFAULT_DIR_PERM, DEFAULT_EXEC_PERM, DEFAULT_FILE_PERM, joinPath } from './materialize/expected.js';
import { readBlob } from './materialize/read-blob.js';
import type { MetaEntry, TreeMeta } from './meta.js';

export type EntryKind = 'file' | 'symlink' | 'dir' | 'gitlink';

/** One side of a wedge to compare: a tree (or a lone blob) in a store, with its sidecar if it has one. */
export interface DiffSide {
  store: ObjectStore;
  tree?: string;
  blob?: string;
  meta?: TreeMeta;
}

export interface SideEntry {
  kind: EntryKind;
  /** The blob (file, symlink) or tree id; a submodule's commit id. */
  oid: string;
  /** Bytes of a file's content or a symlink's target; not given for directories. */
  size?: number;
  /** Permission bits: the sidecar's, else what the git mode says (0644, 0755; 0777 for a symlink). */
  perm: number;
  mtime?: { sec: number; nsec: number };
  /** A symlink's target. */
  target?: string;
}

export type ChangeField = 'type' | 'content' | 'mode' | 'mtime';

export interface Change {
  /** '/'-separated path below the root; '' is the root itself. */
  path: string;
  status: 'added' | 'removed' | 'changed';
  /** For a change: what differs. */
  fields: ChangeField[];
  old?: SideEntry;
  new?: SideEntry;
}

export interface TreeDiff {
  changes: Change[];
  /** Tree objects read: the measure of the walk's cost. */
  treesRead: number;
}

export function kindOfMode(mode: number): EntryKind {
  if (mode === MODE_TREE) return 'dir';
  if (mode === MODE_SYMLINK) return 'symlink';
  if (mode === MODE_GITLINK) return 'gitlink';
  return 'file';
}

/** The permission bits a git mode stands for when no sidecar says more. */
export function permOfMode(mode: number): number {
  if (mode === MODE_TREE) return DEFAULT_DIR_PERM;
  if (mode === MODE_SYMLINK) return 0o777;
  if (mode === MODE_EXEC) return DEFAULT_EXEC_PERM;
  return DEFAULT_FILE_PERM;
}

const sameMtime = (a: MetaEntry, b: MetaEntry): boolean => a.mtimeSec === b.mtimeSec && a.mtimeNsec === b.mtimeNsec;

/** Trees read, by id, for both sides (an id names the same content in any store): nothing is read twice. */
interface TreeCache {
  trees: Map<string, TreeEntry[]>;
  /** Tree objects read from a store. */
  n: number;
}

class Side {
  constructor(readonly s: DiffSide, private readonly cache: TreeCache) {}

  entries(oid: string): TreeEntry[] {
    let e = this.cache.trees.get(oid);
    if (e === undefined) {
      e = readTree(this.s.store, oid);
      this.cache.n++;
      this.cache.trees.set(oid, e);
    }
    return e;
  }

  /** The entry at `path` (a mode and id), by reading its ancestors; undefined when there is none. */
  lookup(path: string): { mode: number; oid: string } | undefined {
    return this.s.tree === undefined ? undefined : lookupPath((oid) => this.entries(oid), this.s.tree, path);
  }

  describe(path: string, mode: number, oid: string): SideEntry {
    const kind = kindOfMode(mode);
    const m = this.s.meta?.get(path);
    const out: SideEntry = { kind, oid, perm: m?.perm ?? permOfMode(mode) };
    if (m !== undefined) out.mtime = { sec: m.mtimeSec, nsec: m.mtimeNsec };
    if (kind === 'file' || kind === 'symlink') {
      const content = readBlob(this.s.store, oid, path);
      out.size = content.length;
      if (kind === 'symlink') out.target = content.toString('utf8');
    }
    return out;
  }
}

class Differ {
  readonly changes = new Map<string, Change>();
  readonly counter: TreeCache = { trees: new Map(), n: 0 };
  readonly a: Side;
  readonly b: Side;

  constructor(a: DiffSide, b: DiffSide) {
    this.a = new Side(a, this.counter);
    this.b = new Side(b, this.counter);
  }

  /** Every path at and below `path` on one side, as added or removed. */
  private whole(side: Side, status: 'added' | 'removed', path: string, mode: number, oid: string): void {
    const entry = side.describe(path, mode, oid);
    if (mode !== MODE_TREE) {
      this.changes.set(`${status}\0${path}`, { path, status, fields: [], [status === 'added' ? 'new' : 'old']: entry });
      return;
    }
    for (const e of side.entries(oid)) this.whole(side, status, joinPath(path, e.name), e.mode, e.oid);
  }

  /** Compares the entries at `path`, both present. */
  entry(path: string, a: { mode: number; oid: string }, b: { mode: number; oid: string }): void {
    const ta = a.mode === MODE_TREE;
    const tb = b.mode === MODE_TREE;
    if (ta && tb) {
      if (a.oid !== b.oid) this.trees(path, a.oid, b.oid);
      return;
    }
    if (ta || tb) {
      this.whole(this.a, 'removed', path, a.mode, a.oid);
      this.whole(this.b, 'added', path, b.mode, b.oid);
      return;
    }
    const withMeta = this.a.s.meta !== undefined && this.b.s.meta !== undefined;
    // Without both sidecars, only what the git modes hold (the executable bit) can be compared.
    const modeDiffers = a.mode !== b.mode && !withMeta;
    if (a.oid === b.oid && !modeDiffers) return; // modes and mtimes: the sidecar pass
    const fields: ChangeField[] = [];
    if (kindOfMode(a.mode) !== kindOfMode(b.mode)) fields.push('type');
    else if (a.oid !== b.oid) fields.push('content');
    const old = this.a.describe(path, a.mode, a.oid);
    const now = this.b.describe(path, b.mode, b.oid);
    if (old.perm !== now.perm) fields.push('mode');
    if (old.mtime !== undefined && now.mtime !== undefined && (old.mtime.sec !== now.mtime.sec || old.mtime.nsec !== now.mtime.nsec)) fields.push('mtime');
    if (fields.length > 0) this.changes.set(`changed\0${path}`, { path, status: 'changed', fields, old, new: now });
  }

  trees(path: string, a: string, b: string): void {
    const ea = this.a.entries(a);
    const eb = this.b.entries(b);
    const byName = new Map(eb.map((e) => [e.name, e]));
    for (const e of ea) {
      const other = byName.get(e.name);
      if (other === undefined) this.whole(this.a, 'removed', joinPath(path, e.name), e.mode, e.oid);
      else this.entry(joinPath(path, e.name), e, other);
    }
    const names = new Set(ea.map((e) => e.name));
    for (const e of eb) if (!names.has(e.name)) this.whole(this.b, 'added', joinPath(path, e.name), e.mode, e.oid);
  }

  /** Modes and mtimes the sidecars give differently for a path both trees hold, walked or not. */
  sidecars(): void {
    const ma = this.a.s.meta;
    const mb = this.b.s.meta;
    if (ma === undefined || mb === undefined) return;
    for (const [path, eb] of mb.entries()) {
      const ea = ma.get(path);
      if (ea === undefined || (ea.perm === eb.perm && sameMtime(ea, eb))) continue;
      const key = `changed\0${path}`;
      if (this.changes.has(key) || this.changes.has(`added\0${path}`)) continue;
      const a = this.a.lookup(path);
      const b = this.b.lookup(path);
      if (a === undefined || b === undefined || kindOfMode(a.mode) !== kindOfMode(b.mode)) continue;
      const fields: ChangeField[] = [];
      if (ea.perm !== eb.perm) fields.push('mode');
      if (!sameMtime(ea, eb)) fields.push('mtime');
      this.changes.set(key, { path, status: 'changed', fields, old: this.a.describe(path, a.mode, a.oid), new: this.b.describe(path, b.mode, b.oid) });
    }
    // Empty directories live only in the sidecars.
    for (const d of ma.emptyDirs) {
      if (!mb.emptyDirs.has(d) && this.b.lookup(d) === undefined) this.changes.set(`removed\0${d}`, { path: d, status: 'removed', fields: [], old: emptyDir(ma, d) });
    }
    for (const d of mb.emptyDirs) {
      if (!ma.emptyDirs.has(d) && this.a.lookup(d) === undefined) this.changes.set(`added\0${d}`, { path: d, status: 'added', fields: [], new: emptyDir(mb, d) });
    }
  }
}

function emptyDir(meta: TreeMeta, path: string): SideEntry {
  const m = meta.get(path);
  const out: SideEntry = { kind: 'dir', oid: EMPTY_TREE_OID, perm: m?.perm ?? DEFAULT_DIR_PERM };
  if (m !== undefined) out.mtime = { sec: m.mtimeSec, nsec: m.mtimeNsec };
  return out;
}


/** Git's order of paths: byte order of their UTF-8, which for '/'-separated paths lists a directory's files together. */
function comparePaths(x: Change, y: Change): number {
  const c = Buffer.compare(Buffer.from(x.path, 'utf8'), Buffer.from(y.path, 'utf8'));
  if (c !== 0) return c;
  return x.status === 'removed' ? -1 : y.status === 'removed' ? 1 : 0;
}

/** The changes from `a` to `b`, sorted by path (a path whose type changed is removed, then added). */
export function diffTrees(a: DiffSide, b: DiffSide): TreeDiff {
  const d = new Differ(a, b);
  const rootA = a.tree !== undefined ? { mode: MODE_TREE, oid: a.tree } : { mode: 0o100644, oid: a.blob! };
  const rootB = b.tree !== undefined ? { mode: MODE_TREE, oid: b.tree } : { mode: 0o100644, oid: b.blob! };
  d.entry('', rootA, rootB);
  d.sidecars();
  return { changes: [...d.changes.values()].sort(comparePaths), treesRead: d.counter.n };
}
