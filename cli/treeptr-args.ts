// Arguments that name .treeptrs: a .treeptr, or a medo directory (or a directory inside one) standing
// for every .treeptr below it. Shared by `medo reachable` and `silo send`.
import { statSync } from 'node:fs';
import { relative, resolve, sep } from 'node:path';
import { MedoDir } from '../lib/medo/medo-dir.js';
import { TREEPTR_EXT } from '../lib/medo/treeptr.js';
import { usage } from './run.js';

/** A path as the user would recognise it: relative to the working directory when under it. */
export function shown(abs: string): string {
  const rel = relative(process.cwd(), abs);
  return rel === '' ? '.' : rel.startsWith('..') ? abs : rel;
}

export interface Group {
  md: MedoDir;
  /** Absolute paths of the current .treeptrs. */
  treeptrs: Set<string>;
  /** The paths given, for --history. */
  args: string[];
}

export function collectGroups(paths: readonly string[]): Map<string, Group> {
  const groups = new Map<string, Group>();
  for (const p of paths) {
    const abs = resolve(p);
    let isFile: boolean;
    try {
      isFile = statSync(abs).isFile();
    } catch {
      return usage(`${p}: no such file or directory`);
    }
    if (isFile && !abs.endsWith(TREEPTR_EXT)) usage(`${p} is a file but not a ${TREEPTR_EXT}`);
    const md = MedoDir.containing(abs);
    let g = groups.get(md.root);
    if (g === undefined) groups.set(md.root, (g = { md, treeptrs: new Set(), args: [] }));
    g.args.push(p);
    if (isFile) {
      g.treeptrs.add(abs);
      continue;
    }
    const under = relative(md.root, abs);
    for (const rel of md.treeptrs()) {
      if (under === '' || rel === under || rel.startsWith(`${under}${sep}`)) g.treeptrs.add(resolve(md.root, rel));
    }
  }
  return groups;
}

