// How a prune removes a file it found unreachable without robbing a concurrent add that reuses it: the
// file is first renamed aside (readers and adds no longer find it), and only then is its time checked.
// An add freshens a file before relying on it (freshen.ts), so either its stamp came first and is seen
// here (the file is renamed back: spared), or the stamp finds the file gone and the add stores the object
// itself. A file set aside is named like a temp file (`.tmp-prune-<name>-<pid>-<hex>`): a prune that
// dies before finishing leaves strays, and the next prune puts back those it would have spared.
import { randomBytes } from 'node:crypto';
import { existsSync, lstatSync, renameSync, unlinkSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { TEMP_PREFIX } from '../io/atomic-write.js';
import { HEX2, list } from './inventory.js';
import { PACK_SIDECARS } from './pack-rewrite.js';

export type Retired = 'removed' | 'spared' | 'gone';

const ASIDE_PREFIX = `${TEMP_PREFIX}prune-`;
const ASIDE_RE = /^\.tmp-prune-(.+)-\d+-[0-9a-f]{8}$/;

/** Renames `path` aside; undefined when it is not there. */
function setAside(path: string): string | undefined {
  const aside = join(dirname(path), `${ASIDE_PREFIX}${basename(path)}-${process.pid}-${randomBytes(4).toString('hex')}`);
  try {
    renameSync(path, aside);
    return aside;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
}

/** Removes `path` unless it was stamped at or after `sparedSince` (ms since the epoch). */
export function retireFile(path: string, sparedSince: number): Retired {
  const aside = setAside(path);
  if (aside === undefined) return 'gone';
  if (lstatSync(aside).mtimeMs >= sparedSince) {
    // An add wrote the same object under this name meanwhile: the same bytes, so renaming over it is fine.
    renameSync(aside, path);
    return 'spared';
  }
  unlinkSync(aside);
  return 'removed';
}

/**
 * Removes a pack unless its .idx (the file adds freshen) was stamped at or after `sparedSince`. The .pack
 * is set aside too before anything is deleted: an add that writes a pack of identical bytes meanwhile
 * renames it to the same name, and that one must stay.
 */
export function retirePack(packPath: string, sparedSince: number): Retired {
  const idx = packPath.replace(/\.pack$/, '.idx');
  const idxAside = setAside(idx);
  if (idxAside !== undefined && lstatSync(idxAside).mtimeMs >= sparedSince) {
    renameSync(idxAside, idx);
    return 'spared';
  }
  const packAside = setAside(packPath);
  for (const ext of PACK_SIDECARS) {
    try {
      unlinkSync(packPath.replace(/\.pack$/, ext));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    }
  }
  if (idxAside !== undefined) unlinkSync(idxAside);
  if (packAside !== undefined) unlinkSync(packAside);
  return idxAside === undefined ? 'gone' : 'removed';
}

/**
 * Puts back what a prune that died had set aside and would have spared (stamped at or after
 * `sparedSince`): a loose file, or a pack's .idx with its .pack. Returns the paths restored. Older files
 * set aside are left to be removed as strays.
 */
export function restoreSetAside(siloDir: string, sparedSince: number): string[] {
  const restored: string[] = [];
  const dirs = [join(siloDir, 'pack'), ...list(join(siloDir, 'objects')).filter((d) => HEX2.test(d)).map((d) => join(siloDir, 'objects', d))];
  for (const dir of dirs) {
    const names = list(dir);
    for (const name of names) {
      const m = ASIDE_RE.exec(name);
      if (m === null || m[1]!.endsWith('.pack')) continue;
      const aside = join(dir, name);
      const target = join(dir, m[1]!);
      if (lstatSync(aside).mtimeMs < sparedSince || existsSync(target)) continue;
      if (target.endsWith('.idx')) {
        const pack = target.replace(/\.idx$/, '.pack');
        const packAside = names.find((n) => ASIDE_RE.exec(n)?.[1] === basename(pack));
        if (packAside !== undefined && !existsSync(pack)) renameSync(join(dir, packAside), pack);
        if (!existsSync(pack)) continue; // its pack is gone for good: the index is a stray
      }
      renameSync(aside, target);
      restored.push(target);
    }
  }
  return restored;
}
