// The earlier version a new one is deltified against as it is added (medo add --delta-base, or by
// itself): medo knows what git does not, that OUT/python3/3.10.5.treeptr is the next version of the
// 3.10.4.treeptr beside it. Chosen, in order: the treeptr named by the caller; OUT itself when it
// already names a tree (re-adding a changed version); else the sibling .treeptr closest below OUT's
// name in natural order ("3.9" < "3.10"), else the closest above. Only a tree the silo holds serves;
// the base's files are then listed by path, and each new file is tried against the file at its path.
import { readdirSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { MedoError } from '../../errors.js';
import { MODE_EXEC, MODE_FILE, MODE_FILE_GROUP_WRITABLE, MODE_TREE, parseTree } from '../../git/tree.js';
import type { Silo } from '../../silo/silo.js';
import { TREEPTR_EXT, readTreeptr } from '../treeptr.js';

export interface DeltaBase {
  treeptr: string;
  tree: string;
  /** Blob id of every regular file, by path ("dir/file"). */
  files: Map<string, string>;
}

/** "python-3.9.treeptr" before "python-3.10.treeptr": runs of digits compare as numbers. */
export function naturalCompare(a: string, b: string): number {
  const pa = a.match(/\d+|\D+/g) ?? [];
  const pb = b.match(/\d+|\D+/g) ?? [];
  for (let i = 0; i < Math.min(pa.length, pb.length); i++) {
    const x = pa[i]!;
    const y = pb[i]!;
    if (x === y) continue;
    if (/^\d/.test(x) && /^\d/.test(y)) {
      const d = BigInt(x) - BigInt(y);
      if (d !== 0n) return d < 0n ? -1 : 1;
      continue;
    }
    return x < y ? -1 : 1;
  }
  return pa.length - pb.length;
}

function treeOf(path: string, silo: Silo): string | undefined {
  try {
    const t = readTreeptr(path);
    return t.tree !== undefined && silo.has(t.tree) ? t.tree : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The delta base for an add to `out`: `named` (a .treeptr; an error when its tree is not in `silo`), or
 * one found beside `out` (see above), or undefined.
 */
export function chooseDeltaBase(out: string, silo: Silo, named?: string): DeltaBase | undefined {
  if (named !== undefined) {
    let t;
    try {
      t = readTreeptr(named);
    } catch (e) {
      throw new MedoError('ERR_USAGE', `--delta-base: ${(e as Error).message}`, { path: named }, { cause: e });
    }
    if (t.tree === undefined) throw new MedoError('ERR_USAGE', `--delta-base: ${named} names a blob, not a tree`, { path: named });
    if (!silo.has(t.tree)) {
      throw new MedoError('ERR_OBJECT_MISSING', `--delta-base: tree ${t.tree} of ${named} is not in ${silo.path}`, { path: named, oid: t.tree });
    }
    return { treeptr: named, tree: t.tree, files: filesOf(silo, t.tree) };
  }
  const own = treeOf(out, silo);
  if (own !== undefined) return { treeptr: out, tree: own, files: filesOf(silo, own) };
  const name = basename(out);
  let siblings: string[];
  try {
    siblings = readdirSync(dirname(out)).filter((n) => n.endsWith(TREEPTR_EXT) && n !== name);
  } catch {
    return undefined;
  }
  siblings.sort(naturalCompare);
  const below = siblings.filter((n) => naturalCompare(n, name) < 0).reverse();
  const above = siblings.filter((n) => naturalCompare(n, name) > 0);
  for (const n of [...below, ...above]) {
    const path = join(dirname(out), n);
    const tree = treeOf(path, silo);
    if (tree !== undefined) return { treeptr: path, tree, files: filesOf(silo, tree) };
  }
  return undefined;
}

/** Every regular file below `tree`, by path; trees the silo cannot read contribute nothing. */
export function filesOf(silo: Silo, tree: string): Map<string, string> {
  const files = new Map<string, string>();
  const stack: { oid: string; path: string }[] = [{ oid: tree, path: '' }];
  const seen = new Set<string>();
  while (stack.length > 0) {
    const { oid, path } = stack.pop()!;
    let entries;
    try {
      const o = silo.read(oid);
      if (o === undefined || o.type !== 'tree') continue;
      entries = parseTree(o.content, oid);
    } catch {
      continue;
    }
    for (const e of entries) {
      const p = path === '' ? e.name : `${path}/${e.name}`;
      if (e.mode === MODE_TREE) {
        if (!seen.has(`${e.oid}:${p}`)) stack.push({ oid: e.oid, path: p });
        seen.add(`${e.oid}:${p}`);
      } else if (e.mode === MODE_FILE || e.mode === MODE_EXEC || e.mode === MODE_FILE_GROUP_WRITABLE) files.set(p, e.oid);
    }
  }
  return files;
}
