// `silo gc`: find the objects of a silo that a keep list (the output of `medo reachable`) does not name,
// and with `prune` remove them: dead loose files are deleted, packs holding dead objects are rewritten
// without them (pack-rewrite.ts orders the steps so a crash never loses a kept object), packs holding
// only dead objects are deleted, packs holding none are left untouched.
//
// A kept object is never removed, and neither is a delta base that a pack left untouched still needs
// from another file (a REF_DELTA into another pack: a "thin" pack on disk).
import { MedoError } from '../errors.js';
import { OBJ_REF_DELTA } from '../git/pack-entry.js';
import { isOid, oidFromBytes } from '../oid.js';
import { packEntries, takeInventory, type LooseFile, type PackEntryInfo, type PackInfo, type StrayFile } from './inventory.js';
import { copyPackEntry, finishAndCheck, newPackWriter, removeFiles, removeLooseFiles, removePacks } from './pack-rewrite.js';
import { writePackList } from './pack-list.js';
import { Silo } from './silo.js';

export type PackAction = 'untouched' | 'rewrite' | 'delete' | 'kept-by-keep-file';

export interface PackPlan {
  pack: string;
  objects: number;
  dead: number;
  /** Bytes of the dead entries in the pack. */
  deadBytes: number;
  action: PackAction;
}

export interface GcReport {
  silo: string;
  /** Ids in the keep list. */
  keepListed: number;
  /** Distinct objects of this silo, loose or packed. */
  objects: number;
  /** Distinct objects this silo holds that the keep list names (or that untouched packs need as delta bases). */
  live: number;
  /** Ids the silo holds only as delta bases of untouched packs, kept although not listed. */
  deltaBases: string[];
  unreachable: { count: number; bytes: number; oids: string[] };
  /** Dead loose files. */
  loose: LooseFile[];
  /** Leftovers of interrupted writers: removed by a prune once older than `strayAgeMs`. */
  strays: (StrayFile & { action: 'remove' | 'too-recent' })[];
  packs: PackPlan[];
  pruned: boolean;
  /** The pack written by a prune, when one was needed. */
  newPack?: string;
  notes: string[];
}

export interface GcOptions {
  prune?: boolean;
  /**
   * Let a prune remove every object. Without it, a prune whose keep list names nothing the silo holds
   * is refused: an empty or wrong list (a failed `medo reachable` upstream of a pipe) must not empty a silo.
   */
  allowEmpty?: boolean;
  /** Leftover temp files and .packs without .idx younger than this may be a writer at work (default 1 hour). */
  strayAgeMs?: number;
  /** The time strays are aged against (default now). */
  now?: number;
}

export const DEFAULT_STRAY_AGE_MS = 60 * 60 * 1000;

/**
 * Parses a keep list: one 40-hex id per line, blank lines ignored, anything else an ERR_USAGE error
 * naming the line. `source` names the list in messages.
 */
export function parseKeepList(text: string, source: string): Set<string> {
  const keep = new Set<string>();
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.replace(/\r$/, '').trim();
    if (line === '') continue;
    if (!isOid(line)) {
      const shown = line.length > 60 ? `${line.slice(0, 60)}...` : line;
      throw new MedoError('ERR_USAGE', `${source}: line ${i + 1} is not an object id (40 lowercase hex digits): ${JSON.stringify(shown)}`,
        { path: source, line: i + 1 });
    }
    keep.add(line);
  }
  return keep;
}

interface PackState {
  info: PackInfo;
  entries: PackEntryInfo[];
}

/** REF_DELTA bases that `pack` does not hold itself: it needs them from elsewhere in the silo. */
function externalBases(p: PackState): string[] {
  const out: string[] = [];
  for (const e of p.entries) {
    const h = p.info.pack.entryHeader(e.offset);
    if (h.typeCode === OBJ_REF_DELTA && p.info.pack.find(h.baseOid!) === undefined) out.push(oidFromBytes(h.baseOid!));
  }
  return out;
}

export function gc(siloDir: string, keep: ReadonlySet<string>, options: GcOptions = {}): GcReport {
  const silo = Silo.open(siloDir);
  try {
    return collect(silo, keep, options);
  } finally {
    silo.close();
  }
}

function collect(silo: Silo, keep: ReadonlySet<string>, options: GcOptions): GcReport {
  const inv = takeInventory(silo);
  const packs: PackState[] = inv.packs.map((info) => ({ info, entries: packEntries(info.pack) }));
  const all = new Set<string>();
  for (const f of inv.loose) all.add(f.oid);
  for (const p of packs) for (const e of p.entries) all.add(e.oid);

  // Live = listed, plus what untouched packs need from other files. Packs with nothing dead stay as they
  // are, so their external bases must stay too; packs that get rewritten store every survivor whole.
  const live = new Set<string>();
  for (const oid of all) if (keep.has(oid)) live.add(oid);
  const isUntouched = (p: PackState): boolean => p.info.keep || p.entries.every((e) => live.has(e.oid));
  const deltaBases: string[] = [];
  const pinned = new Set<PackState>();
  for (let changed = true; changed; ) {
    changed = false;
    for (const p of packs) {
      if (pinned.has(p) || !isUntouched(p)) continue;
      pinned.add(p);
      for (const base of externalBases(p)) {
        if (!live.has(base) && all.has(base)) {
          live.add(base);
          deltaBases.push(base);
          changed = true;
        }
      }
    }
  }

  const report: GcReport = {
    silo: silo.path, keepListed: keep.size, objects: all.size, live: live.size, deltaBases: deltaBases.sort(),
    unreachable: { count: 0, bytes: 0, oids: [] }, loose: [], strays: [], packs: [], pruned: false, notes: [...inv.notes],
  };
  const now = options.now ?? Date.now();
  const age = options.strayAgeMs ?? DEFAULT_STRAY_AGE_MS;
  report.strays = inv.strays.map((f) => ({ ...f, action: now - f.mtimeMs >= age ? 'remove' : 'too-recent' }));
  const dead = new Set<string>();
  for (const f of inv.loose) {
    if (live.has(f.oid)) continue;
    report.loose.push(f);
    dead.add(f.oid);
    report.unreachable.bytes += f.bytes;
  }
  for (const p of packs) {
    const deadEntries = p.entries.filter((e) => !live.has(e.oid));
    for (const e of deadEntries) dead.add(e.oid);
    const deadBytes = deadEntries.reduce((n, e) => n + e.length, 0);
    const action: PackAction = deadEntries.length === 0 ? 'untouched' : p.info.keep ? 'kept-by-keep-file'
      : deadEntries.length === p.entries.length ? 'delete' : 'rewrite';
    if (action !== 'kept-by-keep-file') report.unreachable.bytes += deadBytes;
    else report.notes.push(`${p.info.packPath} has a .keep file: its ${deadEntries.length} unreachable objects stay`);
    report.packs.push({ pack: p.info.packPath, objects: p.entries.length, dead: deadEntries.length, deadBytes, action });
  }
  // An object dead in a .keep pack stays in the silo: it is not reported as removable.
  for (const p of packs) if (p.info.keep) for (const e of p.entries) dead.delete(e.oid);
  report.unreachable.oids = [...dead].sort();
  report.unreachable.count = dead.size;
  if (options.prune) {
    if (live.size === 0 && all.size > 0 && !options.allowEmpty) {
      throw new MedoError('ERR_USAGE', `the keep list (${keep.size} ids) names none of the ${all.size} objects in ${silo.path}: ` +
        'refusing to prune them all (allow it with --allow-empty)', { path: silo.path });
    }
    prunePlan(silo, report, packs, live);
  }
  return report;
}

function prunePlan(silo: Silo, report: GcReport, packs: PackState[], live: ReadonlySet<string>): void {
  const byPath = new Map(packs.map((p) => [p.info.packPath, p]));
  const rewrite = report.packs.filter((p) => p.action === 'rewrite').map((p) => byPath.get(p.pack)!);
  const remove = report.packs.filter((p) => p.action === 'rewrite' || p.action === 'delete').map((p) => p.pack);
  const removed = new Set(remove);
  let newName: string | undefined;
  if (rewrite.length > 0) {
    // Survivors already held by a pack that stays need no new copy.
    const staying = new Set<string>();
    for (const p of packs) if (!removed.has(p.info.packPath)) for (const e of p.entries) staying.add(e.oid);
    const copied: string[] = [];
    const writer = newPackWriter(silo);
    try {
      for (const p of rewrite) {
        for (const e of p.entries) {
          if (!live.has(e.oid) || staying.has(e.oid)) continue;
          copyPackEntry(writer, silo, p.info.pack, e);
          copied.push(e.oid);
        }
      }
    } catch (e) {
      writer.abort();
      throw e;
    }
    const written = finishAndCheck(writer, copied);
    if (written !== undefined) {
      report.newPack = written.packPath;
      newName = written.name;
    }
  }
  // Every survivor is now in the new pack or in a pack that stays: the old files can go.
  removePacks(remove, newName);
  writePackList(silo.path);
  removeLooseFiles(report.loose.map((f) => f.path));
  removeFiles(report.strays.filter((f) => f.action === 'remove').map((f) => f.path));
  report.pruned = true;
}
