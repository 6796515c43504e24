// Depth-first walk of a git tree through a store, in git's order: what `git ls-tree -r -t` lists.
import { MedoError } from '../errors.js';
import type { ObjectStore } from '../store.js';
import { MODE_TREE, parseTree, type TreeEntry } from './tree.js';

export interface WalkEntry extends TreeEntry {
  /** '/'-separated path from the walk's root. */
  path: string;
}

/** Reads tree `oid`; throws ERR_OBJECT_MISSING / ERR_OBJECT_CORRUPT naming it when it is not a good tree. */
export function readTree(store: ObjectStore, oid: string): TreeEntry[] {
  const o = store.read(oid);
  if (o === undefined) throw new MedoError('ERR_OBJECT_MISSING', `tree ${oid} is not in ${store.path}`, { oid });
  if (o.type !== 'tree') throw new MedoError('ERR_OBJECT_CORRUPT', `${oid} is a ${o.type}, expected a tree`, { oid });
  return parseTree(o.content, oid);
}

/** Yields every entry below `rootTree`; a directory comes before its contents. */
export function* walkTree(store: ObjectStore, rootTree: string, prefix = ''): Generator<WalkEntry> {
  for (const e of readTree(store, rootTree)) {
    const path = prefix === '' ? e.name : `${prefix}/${e.name}`;
    yield { ...e, path };
    if (e.mode === MODE_TREE) yield* walkTree(store, e.oid, path);
  }
}

/**
 * The entry at '/'-separated `path` below `rootTree` ('' is the root itself), reading only its ancestors;
 * undefined when some component is missing or is not a directory.
 */
export function lookupPath(store: ObjectStore, rootTree: string, path: string): { mode: number; oid: string } | undefined {
  let at = { mode: MODE_TREE, oid: rootTree };
  if (path === '') return at;
  for (const name of path.split('/')) {
    if (at.mode !== MODE_TREE) return undefined;
    const e = readTree(store, at.oid).find((x) => x.name === name);
    if (e === undefined) return undefined;
    at = e;
  }
  return at;
}
