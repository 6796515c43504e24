// GC roots: every object a set of .treeptrs needs — the root tree or blob, every subtree and blob below
// it, and the metadata sidecar. `silo gc --keep` takes this list; anything a silo holds that is not on it
// may be collected.
//
// A tree already walked is not walked again (content is immutable, so its subtree is the same), which
// makes many treeptrs sharing most of their trees — successive versions of one dependency — cheap.
import { MedoError, isMedoError, type ErrorCode } from '../errors.js';
import { readTree } from '../git/tree-walk.js';
import { MODE_GITLINK, MODE_TREE } from '../git/tree.js';
import type { ObjectStore } from '../store.js';
import type { Treeptr } from './treeptr.js';

export interface Root {
  /** Where the treeptr came from, for messages: its path, or `<commit>:<path>` from history. */
  label: string;
  treeptr: Treeptr;
  /**
   * True: an object missing from the store is an error (a treeptr in the work tree must be whole).
   * False: it is recorded in `missing` and the walk goes on (an old version may have been collected).
   */
  required: boolean;
}

export interface MissingObject {
  oid: string;
  kind: 'tree' | 'blob' | 'meta';
  /** Path of the object inside the treeptr's tree ('' for the root). */
  path: string;
  root: string;
}

export class ReachableWalk {
  /** Objects confirmed present in the store. */
  private readonly found = new Set<string>();
  /** Trees whose entries have all been visited. */
  private readonly walked = new Set<string>();
  readonly missing: MissingObject[] = [];

  constructor(private readonly store: ObjectStore, private readonly where = store.path) {}

  get size(): number {
    return this.found.size;
  }

  ids(): IterableIterator<string> {
    return this.found.values();
  }

  /**
   * Adds a root's objects. Add required roots first: a tree is walked once, and a missing object below it
   * is reported only for the root that walked it.
   */
  add(root: Root): void {
    const t = root.treeptr;
    if (t.meta !== undefined) this.present(root, t.meta, 'meta', '');
    if (t.blob !== undefined) this.present(root, t.blob, 'blob', '');
    if (t.tree !== undefined) this.walk(root, t.tree);
  }

  private fail(root: Root, m: MissingObject, code: ErrorCode = 'ERR_OBJECT_MISSING', why = `is in none of the local silos of ${this.where}`): never {
    const at = m.path === '' ? '' : ` at ${JSON.stringify(m.path)}`;
    throw new MedoError(code, `${root.label}: ${m.kind} ${m.oid}${at} ${why}`, { oid: m.oid, path: root.label, treePath: m.path });
  }

  private present(root: Root, oid: string, kind: MissingObject['kind'], path: string): boolean {
    if (this.found.has(oid)) return true;
    if (this.store.has(oid)) {
      this.found.add(oid);
      return true;
    }
    const m = { oid, kind, path, root: root.label };
    if (root.required) this.fail(root, m);
    this.missing.push(m);
    return false;
  }

  private walk(root: Root, rootTree: string): void {
    const stack: { oid: string; path: string }[] = [{ oid: rootTree, path: '' }];
    while (stack.length > 0) {
      const { oid, path } = stack.pop()!;
      if (this.walked.has(oid)) continue;
      let entries;
      try {
        entries = readTree(this.store, oid);
      } catch (e) {
        if (!isMedoError(e)) throw e;
        const m: MissingObject = { oid, kind: 'tree', path, root: root.label };
        if (e.code !== 'ERR_OBJECT_MISSING') this.fail(root, m, e.code, `cannot be read: ${e.message}`);
        if (root.required) this.fail(root, m);
        this.missing.push(m);
        continue;
      }
      this.found.add(oid);
      this.walked.add(oid);
      for (const e of entries) {
        const p = path === '' ? e.name : `${path}/${e.name}`;
        // A gitlink names a commit of another repository: nothing a silo holds.
        if (e.mode === MODE_GITLINK) continue;
        if (e.mode === MODE_TREE) stack.push({ oid: e.oid, path: p });
        else this.present(root, e.oid, 'blob', p);
      }
    }
  }
}

/** The sorted, distinct union of several walks' ids. */
export function sortedIds(walks: Iterable<ReachableWalk>): string[] {
  const all = new Set<string>();
  for (const w of walks) for (const id of w.ids()) all.add(id);
  return [...all].sort();
}
