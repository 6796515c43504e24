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

const MAX_PEEL = 32;

/**
 * What `oid` comes down to: a tree or a blob, commits peeled to their trees and tags to their objects,
 * as git peels a tree-ish. Throws ERR_OBJECT_MISSING naming what is not in the store.
 */
export function peel(store: ObjectStore, oid: string): { type: 'tree' | 'blob'; oid: string } {
  let at = oid;
  for (let i = 0; i < MAX_PEEL; i++) {
    const o = store.read(at);
    if (o === undefined) throw new MedoError('ERR_OBJECT_MISSING', `${at}: no such object in ${store.path}`, { oid: at });
    if (o.type === 'tree' || o.type === 'blob') return { type: o.type, oid: at };
    const text = o.content.toString('latin1');
    const m = o.type === 'commit' ? /^tree ([0-9a-f]{40})$/m.exec(text) : /^object ([0-9a-f]{40})$/m.exec(text);
    if (!m) throw new MedoError('ERR_OBJECT_CORRUPT', `${oid}: ${o.type} ${at} names no object`, { oid: at });
    at = m[1]!;
  }
  throw new MedoError('ERR_OBJECT_CORRUPT', `${oid}: tags nest more than ${MAX_PEEL} deep`, { oid });
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
 * The entry at '/'-separated `path` below `rootTree` ('' is the root itself), reading (with `entries`) only its ancestors;
 * undefined when some component is missing or is not a directory.
 */
export function lookupPath(entries: (tree: string) => readonly TreeEntry[], rootTree: string, path: string): { mode: number; oid: string } | undefined {
  let at = { mode: MODE_TREE, oid: rootTree };
  if (path === '') return at;
  for (const name of path.split('/')) {
    if (at.mode !== MODE_TREE) return undefined;
    const e = entries(at.oid).find((x) => x.name === name);
    if (e === undefined) return undefined;
    at = e;
  }
  return at;
}
