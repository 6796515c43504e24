// `silo repack`: fold every loose object and every pack smaller than a threshold into one new pack, then
// delete what it replaced, in pack-rewrite.ts's crash-safe order. Packs at or over the threshold, and
// packs with a `.keep` file, stay as they are. A silo that is already one pack (or one pack plus packs
// too large to fold) and no loose objects is left alone, so running it twice changes nothing.
//
// Objects are copied whole: zlib data of whole entries is reused byte for byte, deltas (only packs made
// by git have them; ours have none) are resolved and stored whole.
import { MedoError } from '../errors.js';
import { packEntries, takeInventory } from './inventory.js';
import { acquireUpkeepLock, type Lock } from './lock.js';
import { copyLoose, copyPackEntry, finishAndCheck, newPackWriter, removeLooseFiles, removePacks } from './pack-rewrite.js';
import { writePackList } from './pack-list.js';
import { Silo } from './silo.js';

export interface RepackOptions {
  /** Fold only packs whose .pack file is smaller than this many bytes (default: every pack). */
  smallerThan?: number;
  /** How long to wait for a prune or another repack holding the upkeep lock (default 0: fail at once). */
  lockWaitMs?: number;
  /** What the upkeep lock shows while the repack holds it. */
  command?: string;
}

export interface RepackReport {
  silo: string;
  /** False when there was nothing to fold. */
  changed: boolean;
  foldedLoose: number;
  foldedPacks: string[];
  /** Packs left as they are (too large, or with a .keep file). */
  keptPacks: string[];
  /** Objects in the new pack. */
  objects: number;
  newPack?: string;
  notes: string[];
}

const SIZE_RE = /^(\d+)\s*([kmgt]?)(i?b)?$/i;
const UNITS: Record<string, number> = { '': 1, k: 2 ** 10, m: 2 ** 20, g: 2 ** 30, t: 2 ** 40 };

/** "16M", "512k", "1GiB", "4096": powers of 1024. Throws ERR_USAGE naming `what` otherwise. */
export function parseSize(text: string, what: string): number {
  const m = SIZE_RE.exec(text.trim());
  const n = m ? Number(m[1]) * UNITS[m[2]!.toLowerCase()]! : NaN;
  if (!Number.isSafeInteger(n) || n <= 0) {
    throw new MedoError('ERR_USAGE', `${what}: ${JSON.stringify(text)} is not a size (a whole number of bytes, or with k, M, G, T)`);
  }
  return n;
}

export function repack(siloDir: string, options: RepackOptions = {}): RepackReport {
  const limit = options.smallerThan ?? Infinity;
  if (!(limit > 0)) throw new MedoError('ERR_USAGE', `repack: smallerThan must be > 0, got ${limit}`);
  const silo = Silo.open(siloDir);
  let lock: Lock | undefined;
  try {
    lock = acquireUpkeepLock(silo.path, options.command ?? `silo repack ${silo.path}`, options.lockWaitMs);
    const inv = takeInventory(silo);
    const fold = inv.packs.filter((p) => !p.keep && p.pack.pack.size < limit);
    const stay = inv.packs.filter((p) => !fold.includes(p));
    const report: RepackReport = {
      silo: silo.path, changed: false, foldedLoose: 0, foldedPacks: [], keptPacks: stay.map((p) => p.packPath),
      objects: 0, notes: [...inv.notes],
    };
    if (inv.loose.length === 0 && fold.length <= 1) return report;

    const staying = new Set<string>();
    for (const p of stay) for (const e of packEntries(p.pack)) staying.add(e.oid);
    const copied: string[] = [];
    const writer = newPackWriter(silo);
    try {
      for (const p of fold) {
        for (const e of packEntries(p.pack)) {
          if (staying.has(e.oid) || writer.has(e.oid)) continue;
          copyPackEntry(writer, silo, p.pack, e);
          copied.push(e.oid);
        }
      }
      for (const f of inv.loose) {
        if (staying.has(f.oid) || writer.has(f.oid)) continue;
        copyLoose(writer, silo, f.oid);
        copied.push(f.oid);
      }
    } catch (e) {
      writer.abort();
      throw e;
    }
    const written = finishAndCheck(writer, copied);
    writePackList(silo.path); // the new pack is listed before any old one goes
    removePacks(fold.map((p) => p.packPath), written?.name);
    writePackList(silo.path);
    removeLooseFiles(inv.loose.map((f) => f.path));
    return {
      ...report, changed: true, foldedLoose: inv.loose.length, foldedPacks: fold.map((p) => p.packPath),
      objects: copied.length, ...(written === undefined ? {} : { newPack: written.packPath }),
    };
  } finally {
    lock?.release();
    silo.close();
  }
}
