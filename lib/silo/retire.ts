// How a prune removes a file it found unreachable without robbing a concurrent add that reuses it: the
// file is first renamed aside (readers and adds no longer find it), and only then is its time checked.
// An add freshens a file before relying on it (freshen.ts), so either its stamp came first and is seen
// here (the file is renamed back: spared), or the stamp finds the file gone and the add stores the object
// itself. A file set aside is named like a temp file, so a crash leaves a stray a later prune clears.
import { randomBytes } from 'node:crypto';
import { lstatSync, renameSync, unlinkSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { TEMP_PREFIX } from '../io/atomic-write.js';
import { removePack } from './pack-rewrite.js';

export type Retired = 'removed' | 'spared' | 'gone';

/** Removes `path` unless it was stamped at or after `sparedSince` (ms since the epoch). */
export function retireFile(path: string, sparedSince: number): Retired {
  const aside = join(dirname(path), `${TEMP_PREFIX}prune-${basename(path)}-${process.pid}-${randomBytes(4).toString('hex')}`);
  try {
    renameSync(path, aside);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return 'gone';
    throw e;
  }
  if (lstatSync(aside).mtimeMs >= sparedSince) {
    // An add wrote the same object under this name meanwhile: the same bytes, so renaming over it is fine.
    renameSync(aside, path);
    return 'spared';
  }
  unlinkSync(aside);
  return 'removed';
}

/** Removes a pack unless its .idx (the file adds freshen) was stamped at or after `sparedSince`. */
export function retirePack(packPath: string, sparedSince: number): Retired {
  const r = retireFile(packPath.replace(/\.pack$/, '.idx'), sparedSince);
  if (r !== 'spared') removePack(packPath); // its .idx is gone: the sidecars, then the .pack
  return r;
}
