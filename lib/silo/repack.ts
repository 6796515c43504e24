// `silo repack`: fold every loose object and every pack smaller than a threshold into one new pack, then
// delete what it replaced, in pack-rewrite.ts's crash-safe order. Packs at or over the threshold, and
// packs with a `.keep` file, stay as they are. A silo that is already one pack (or one pack plus packs
// too large to fold) and no loose objects is left alone, so running it twice changes nothing; `force`
// rewrites a lone pack all the same (to deltify a pack written whole).
//
// The new pack holds deltas: delta-plan.ts orders the objects so the versions of each path are
// neighbours, delta-search.ts (on both cores, through delta-pool.ts) writes each object as an OFS_DELTA
// against the best of its window or whole, and the fragments' entries are copied into one self-contained
// pack that git's own tools accept, in the order readers want (delta-plan.ts's writeRank), each delta's
// base pulled in just before it when the walk puts it later. Bases are only objects of the new pack, never of packs that stay.
// Existing deltas are not reused: every object is read back, checked against its id and searched anew
// (git's `repack -f`). Whole entries that stay whole keep their zlib data byte for byte.
import { closeSync, openSync, readSync } from 'node:fs';
import { basename, join } from 'node:path';
import { MedoError } from '../errors.js';
import type { FragmentEntry } from '../git/pack-fragment.js';
import type { PackWriter } from '../git/pack-writer.js';
import { tempPathFor } from '../io/atomic-write.js';
import { DEFAULT_DELTA_PARAMS, type DeltaParams } from './delta-search.js';
import { deltifyOrphans } from './delta-orphans.js';
import { discard, runDeltaSearch, type FinishedSlice } from './delta-pool.js';
import { planObjects, type PlanSource } from './delta-plan.js';
import { packEntries, takeInventory } from './inventory.js';
import { acquireUpkeepLock, type Lock } from './lock.js';
import { finishAndCheck, newPackWriter, removeLooseFiles, removePacks } from './pack-rewrite.js';
import { writePackList } from './pack-list.js';
import { Silo } from './silo.js';

export interface RepackOptions {
  /** Fold only packs whose .pack file is smaller than this many bytes (default: every pack). */
  smallerThan?: number;
  /** Rewrite even a lone pack with no loose objects beside it. */
  force?: boolean;
  /** Delta search settings; `window: 0` stores every object whole. */
  delta?: Partial<DeltaParams>;
  /** Threads for delta search (default: every core; 0: this thread only). */
  threads?: number;
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
  /** Of those, stored as deltas. */
  deltas: number;
  /** Longest delta chain in the new pack. */
  maxDepth: number;
  /** Slices delta search ran in (one per worker thread; 1 on the calling thread). */
  slices: number;
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

function deltaParams(given: Partial<DeltaParams> = {}): DeltaParams {
  const p = { ...DEFAULT_DELTA_PARAMS, ...given };
  for (const [k, v] of Object.entries(p)) {
    if (!Number.isSafeInteger(v) || v < 0) throw new MedoError('ERR_USAGE', `repack: ${k} must be a whole number >= 0, not ${v}`);
  }
  if (p.depth < 1 || p.depth > 4095) throw new MedoError('ERR_USAGE', `repack: depth must be 1 to 4095 (git's limit), not ${p.depth}`);
  if (p.level > 9) throw new MedoError('ERR_USAGE', `repack: level must be 0 to 9, not ${p.level}`);
  return p;
}

export async function repack(siloDir: string, options: RepackOptions = {}): Promise<RepackReport> {
  const limit = options.smallerThan ?? Infinity;
  if (!(limit > 0)) throw new MedoError('ERR_USAGE', `repack: smallerThan must be > 0, got ${limit}`);
  const params = deltaParams(options.delta);
  const silo = Silo.open(siloDir);
  let lock: Lock | undefined;
  try {
    lock = acquireUpkeepLock(silo.path, options.command ?? `silo repack ${silo.path}`, options.lockWaitMs);
    const inv = takeInventory(silo);
    const fold = inv.packs.filter((p) => !p.keep && p.pack.pack.size < limit);
    const stay = inv.packs.filter((p) => !fold.includes(p));
    const report: RepackReport = {
      silo: silo.path, changed: false, foldedLoose: 0, foldedPacks: [], keptPacks: stay.map((p) => p.packPath),
      objects: 0, deltas: 0, maxDepth: 0, slices: 0, notes: [...inv.notes],
    };
    if (inv.loose.length === 0 && fold.length === 0) return report;
    if (inv.loose.length === 0 && fold.length === 1 && options.force !== true) return report;

    const staying = new Set<string>();
    for (const p of stay) for (const e of packEntries(p.pack)) staying.add(e.oid);
    const sources = new Map<string, PlanSource>();
    for (const p of fold) {
      for (const entry of packEntries(p.pack)) if (!staying.has(entry.oid) && !sources.has(entry.oid)) sources.set(entry.oid, { pack: p.pack, entry });
    }
    for (const f of inv.loose) if (!staying.has(f.oid) && !sources.has(f.oid)) sources.set(f.oid, { loose: f.path });

    const plan = planObjects(silo, sources);
    const slices: FinishedSlice[] = await runDeltaSearch(silo.path, plan.objects, params,
      options.threads === undefined ? {} : { threads: options.threads });
    report.slices = slices.length;
    const writer = newPackWriter(silo);
    const fragments = slices.map((s) => ({ path: s.fragment, entries: s.entries }));
    try {
      for (const s of slices) {
        report.deltas += s.stats.deltas;
        report.maxDepth = Math.max(report.maxDepth, s.stats.maxDepth);
      }
      const entries = new Map(slices.flatMap((s) => s.entries.map((e) => [e.oid, e] as const)));
      const orphanPath = tempPathFor(join(silo.path, 'pack', 'fragment-orphans.pack'));
      const orphans = deltifyOrphans(silo, entries, plan.objects, plan.paths, params, orphanPath);
      if (orphans !== undefined) {
        // Listed last, its entries stand in for the whole ones of the same ids.
        fragments.push({ path: orphanPath, entries: orphans.entries });
        report.deltas += orphans.deltas;
        report.maxDepth = Math.max(report.maxDepth, orphans.maxDepth);
      }
      copyInOrder(writer, fragments, plan.writeRank);
    } catch (e) {
      writer.abort();
      throw e;
    } finally {
      for (const f of fragments) discard(f.path);
    }
    const written = finishAndCheck(writer, sources.keys());
    // The new pack is listed, and the old ones not, before any old one goes.
    writePackList(silo.path, new Set(fold.map((p) => basename(p.packPath, '.pack')).filter((n) => n !== written?.name)));
    removePacks(fold.map((p) => p.packPath), written?.name);
    writePackList(silo.path);
    removeLooseFiles(inv.loose.map((f) => f.path));
    return {
      ...report, changed: true, foldedLoose: inv.loose.length, foldedPacks: fold.map((p) => p.packPath),
      objects: sources.size, ...(written === undefined ? {} : { newPack: written.packPath }),
    };
  } finally {
    lock?.release();
    silo.close();
  }
}

/**
 * Copies every entry of the fragments into `writer` by `rank` (lowest first), a delta's base chain before
 * it: a base the rank puts later is written where its first delta needs it. An id in a later fragment
 * stands in for the same id in an earlier one. Deltas become OFS_DELTAs at
 * their new distance; zlib data is copied as it is.
 */
function copyInOrder(writer: PackWriter, fragments: readonly { path: string; entries: readonly FragmentEntry[] }[], rank: ReadonlyMap<string, number>): void {
  const where = new Map<string, { entry: FragmentEntry; fd: number }>();
  const fds: number[] = [];
  try {
    for (const f of fragments) {
      const fd = openSync(f.path, 'r');
      fds.push(fd);
      for (const entry of f.entries) where.set(entry.oid, { entry, fd });
    }
    const order = [...where.keys()].sort((a, b) => (rank.get(a) ?? Infinity) - (rank.get(b) ?? Infinity));
    const chain: string[] = [];
    for (const first of order) {
      // The entry, then its bases not yet written, written deepest first.
      for (let oid: string | undefined = first; oid !== undefined && !writer.has(oid); oid = where.get(oid)!.entry.base) chain.push(oid);
      while (chain.length > 0) {
        const { entry, fd } = where.get(chain.pop()!)!;
        const bytes = Buffer.allocUnsafe(entry.length);
        if (readSync(fd, bytes, 0, entry.length, entry.offset) !== entry.length) {
          throw new MedoError('ERR_PACK_CORRUPT', `a pack fragment is shorter than its entry list says (${entry.oid})`, { oid: entry.oid });
        }
        const data = bytes.subarray(entry.headerLength);
        if (entry.base === undefined) writer.addCompressed(entry.oid, entry.type!, entry.size, data);
        else writer.addDeltaCompressed(entry.oid, entry.base, entry.size, data);
      }
    }
  } finally {
    for (const fd of fds) closeSync(fd);
  }
}
