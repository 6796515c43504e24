// Reusing what the silo already holds, safely beside `silo gc --prune`: an add that skips an object
// because the silo has it stamps the file holding it (the loose .gz, or the pack's .idx) with the current
// time, as git's freshen_loose_object / freshen_packed_object do. A prune spares every file stamped since
// the oldest running add began (and within its grace period), and checks the stamp only after it has set
// the file aside (gc.ts): so either the prune sees the stamp and keeps the file, or the stamp finds the
// file gone and the add writes the object itself. An object whose file cannot be stamped (gone, or owned
// by another user) counts as not held.
import { utimesSync } from 'node:fs';
import { idxPathOf } from './inventory.js';
import type { Silo } from './silo.js';

/** Sets `path`'s times to now; false when it is gone or not ours to stamp. */
export function freshen(path: string): boolean {
  const now = Date.now() / 1000;
  try {
    utimesSync(path, now, now);
    return true;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR' || code === 'EPERM' || code === 'EACCES' || code === 'EROFS') return false;
    throw e;
  }
}

/**
 * Whether the silo holds `oid`, from the packs opened so far and the loose files (no rescan per miss),
 * freshening the file that holds it. False means the caller must store the object itself.
 */
export function holdsFresh(silo: Silo, oid: string): boolean {
  const hit = silo.packs.find(Buffer.from(oid, 'hex'));
  if (hit !== undefined && freshen(idxPathOf(hit.pack))) return true;
  return freshen(silo.loose.path(silo.path, oid));
}
