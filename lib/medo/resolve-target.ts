// What `medo expand` and `medo verify` act on: one .treeptr, or every .treeptr of a medo directory (or of
// a folder inside one), each placed at a path below the destination. A .treeptr named on its own puts its
// tree at the destination itself (a blob becomes the file DEST/<name without .treeptr>); in a medo
// directory, `a/b.treeptr` goes to DEST/a/b, nested folders kept. The store is the medo directory's:
// `resolved.medoDir.openStore()`.
import { statSync } from 'node:fs';
import { basename, isAbsolute, relative, resolve, sep } from 'node:path';
import { MedoError } from '../errors.js';
import { MedoDir } from './medo-dir.js';
import { TREEPTR_EXT, readTreeptr, rootOid, type Treeptr } from './treeptr.js';

export interface Target {
  /** '/'-separated path below the destination: the tree's root, or the blob's file. '' is the destination. */
  rel: string;
  /** The .treeptr file this target comes from. */
  file: string;
  treeptr: Treeptr;
  /** True when the .treeptr was named on its own rather than found in a medo directory. */
  single: boolean;
}

export interface ResolvedTargets {
  medoDir: MedoDir;
  targets: Target[];
}

function withoutExt(name: string): string {
  return name.slice(0, -TREEPTR_EXT.length);
}

/**
 * The .treeptr files `arg` names: a .treeptr file (`single`), or every one below a medo directory or a
 * folder inside one (`below` is `arg` resolved). Throws a usage error naming `arg` when there is none.
 */
export function treeptrFiles(arg: string): { medoDir: MedoDir; files: string[]; single: boolean; below: string } {
  const path = resolve(arg);
  let isDir: boolean;
  try {
    isDir = statSync(path).isDirectory();
  } catch (e) {
    throw new MedoError('ERR_USAGE', `${arg}: no such .treeptr file or medo directory`, { path }, { cause: e });
  }
  if (!isDir) {
    if (!path.endsWith(TREEPTR_EXT) || basename(path) === TREEPTR_EXT) {
      throw new MedoError('ERR_USAGE', `${arg} is neither a .treeptr file nor a medo directory`, { path });
    }
    return { medoDir: MedoDir.containing(path), files: [path], single: true, below: path };
  }
  const medoDir = MedoDir.containing(path);
  const files = medoDir.treeptrs().map((r) => resolve(medoDir.root, r)).filter((file) => {
    const rel = relative(path, file);
    return !(rel.startsWith(`..${sep}`) || isAbsolute(rel));
  });
  if (files.length === 0) throw new MedoError('ERR_USAGE', `${arg}: no .treeptr file in this medo directory`, { path });
  return { medoDir, files, single: false, below: path };
}

/** The ids a .treeptr needs first: its tree or blob, and its metadata sidecar. */
export function treeptrRoots(t: Treeptr): string[] {
  return t.meta === undefined ? [rootOid(t)] : [rootOid(t), t.meta];
}

/** Reads the .treeptr(s) `arg` names: a .treeptr file, a medo directory, or a folder inside one. */
export function resolveTargets(arg: string): ResolvedTargets {
  const { medoDir, files, single, below } = treeptrFiles(arg);
  if (single) {
    const treeptr = readTreeptr(below);
    const rel = treeptr.blob !== undefined ? withoutExt(basename(below)) : '';
    return { medoDir, targets: [{ rel, file: below, treeptr, single: true }] };
  }
  // A folder inside a medo directory stands for the .treeptr files below it, placed relative to it.
  const targets = files.map((file) => ({ rel: withoutExt(relative(below, file)).split(sep).join('/'), file, treeptr: readTreeptr(file), single: false }));
  checkOverlap(targets, below);
  return { medoDir, targets };
}

/** `a.treeptr` next to `a/b.treeptr` would put one target inside another: refuse rather than guess. */
function checkOverlap(targets: readonly Target[], root: string): void {
  const rels = new Set(targets.map((t) => t.rel));
  for (const t of targets) {
    const parts = t.rel.split('/');
    for (let i = 1; i < parts.length; i++) {
      const up = parts.slice(0, i).join('/');
      if (rels.has(up)) {
        throw new MedoError('ERR_USAGE', `${relative(root, t.file)} would expand inside ${up}${TREEPTR_EXT}'s ${up}: targets overlap`,
          { path: t.file });
      }
    }
  }
}
