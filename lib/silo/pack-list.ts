// The pack list: `pack/packs`, a small text file naming the silo's packs, because static web servers do
// not list directories (git's dumb HTTP protocol reads `objects/info/packs` for the same reason).
//   # medo pack list v1
//   P pack-<40 hex>.pack <pack bytes> <idx bytes>
// One line per pack whose .idx is in place, sorted by name; no file when there are no packs. The sizes let a reader bound the last entry
// of a pack without asking the server. `silo` rewrites it after every change to pack/ (medo add, gc,
// repack) and `silo publish` regenerates it.
import { readdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { MedoError } from '../errors.js';
import { writeFileAtomic } from '../io/atomic-write.js';

export const PACK_LIST = 'pack/packs';
const HEADER = '# medo pack list v1';
const LINE_RE = /^P (pack-[0-9a-f]{40})\.pack (\d+) (\d+)$/;

export interface PackListEntry {
  /** `pack-<hex>`, without extension. */
  name: string;
  packBytes: number;
  idxBytes: number;
}

export function formatPackList(entries: readonly PackListEntry[]): string {
  const sorted = [...entries].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return `${HEADER}\n${sorted.map((e) => `P ${e.name}.pack ${e.packBytes} ${e.idxBytes}\n`).join('')}`;
}

/** Parses a pack list; `where` (a path or URL) names it in errors. */
export function parsePackList(text: string, where: string): PackListEntry[] {
  const lines = text.split('\n');
  if (lines[0] !== HEADER) {
    throw new MedoError('ERR_SILO_CORRUPT', `${where}: not a medo pack list (first line must be "${HEADER}")`, { path: where });
  }
  const out: PackListEntry[] = [];
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i]!;
    if (line === '' || line.startsWith('#')) continue;
    const m = LINE_RE.exec(line);
    const packBytes = Number(m?.[2]);
    const idxBytes = Number(m?.[3]);
    if (m === null || !Number.isSafeInteger(packBytes) || !Number.isSafeInteger(idxBytes) || packBytes < 32 || idxBytes < 1072) {
      throw new MedoError('ERR_SILO_CORRUPT', `${where}: line ${i + 1} is not "P pack-<40 hex>.pack <bytes> <bytes>": ${JSON.stringify(line.slice(0, 120))}`,
        { path: where });
    }
    out.push({ name: m[1]!, packBytes, idxBytes });
  }
  return out;
}

/** The packs in `siloDir/pack` whose .pack and .idx are both in place. */
export function scanPacks(siloDir: string): PackListEntry[] {
  const dir = join(siloDir, 'pack');
  const out: PackListEntry[] = [];
  for (const name of readdirSync(dir)) {
    const m = /^(pack-[0-9a-f]{40})\.idx$/.exec(name);
    if (m === null) continue;
    try {
      const idxBytes = statSync(join(dir, name)).size;
      const packBytes = statSync(join(dir, `${m[1]}.pack`)).size;
      out.push({ name: m[1]!, packBytes, idxBytes });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e; // removed meanwhile: not listed
    }
  }
  return out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

const MAX_ROUNDS = 100;

const sameEntries = (a: readonly PackListEntry[], b: readonly PackListEntry[]): boolean =>
  a.length === b.length && a.every((e, i) => e.name === b[i]!.name && e.packBytes === b[i]!.packBytes && e.idxBytes === b[i]!.idxBytes);

/**
 * Rewrites `siloDir/pack/packs` from what pack/ holds now (atomically). Returns the entries listed.
 * A silo without packs gets no list at all (readers take a missing list as "no packs"), so that a
 * silo pruned to nothing is an empty directory again.
 *
 * Concurrent writers need no lock: each one, after renaming its list into place, scans pack/ again and
 * writes again if pack/ changed since its first scan. A writer whose stale list lands last therefore
 * sees the difference and corrects it, so the list that stays always names every pack in place.
 *
 * `going` names packs (`pack-<hex>`) about to be deleted: they are left out, so that a writer killed
 * while deleting them leaves a list that names nothing missing (a remote reader holding the older list
 * that names them meets a 404 and reads the list again).
 */
export function writePackList(siloDir: string, going: ReadonlySet<string> = new Set()): PackListEntry[] {
  const scan = (): PackListEntry[] => scanPacks(siloDir).filter((e) => !going.has(e.name));
  let entries = scan();
  for (let round = 0; round < MAX_ROUNDS; round++) {
    if (entries.length > 0) writeFileAtomic(join(siloDir, PACK_LIST), formatPackList(entries));
    else rmSync(join(siloDir, PACK_LIST), { force: true });
    const after = scan();
    if (sameEntries(entries, after)) return entries;
    entries = after;
  }
  throw new MedoError('ERR_SILO_BUSY', `${join(siloDir, PACK_LIST)}: pack/ changed on each of ${MAX_ROUNDS} rewrites; run 'silo publish ${siloDir}' once the writers are done`,
    { path: join(siloDir, PACK_LIST) });
}
