// `silo gc`: find the objects of a silo that a keep list (the output of `medo reachable`) does not name,
// and with `prune` remove them: dead loose files are deleted, packs holding dead objects are rewritten
// without them (pack-rewrite.ts orders the steps so a crash never loses a kept object), packs holding
// only dead objects are deleted, packs holding none are left untouched.
//
// A kept object is never removed, and neither is a delta base that a pack left untouched still needs
// from another file (a REF_DELTA into another pack: a "thin" pack on disk).
//
// The grace rule, for adds running beside a prune (git's gc.pruneExpire): a file (loose object, pack,
// stray) written or freshened at or after the cutoff is never removed, whatever it holds. The cutoff is
// `pruneExpireMs` before now, or the start of the oldest add still running (locks/add-*.lock) if that is
// earlier. An add freshens what it reuses (freshen.ts), and a prune checks the time of a file only after
// setting it aside (retire.ts), so an add is never robbed of what it wrote or reused.
// A prune holds the silo's upkeep lock: it and repack exclude each other.
import { basename, dirname } from 'node:path';
import { MedoError } from '../errors.js';
import { OBJ_REF_DELTA } from '../git/pack-entry.js';
import { isOid, oidFromBytes } from '../oid.js';
import { packEntries, takeInventory, type LooseFile, type PackEntryInfo, type PackInfo, type StrayFile } from './inventory.js';
import { fsyncDir } from '../io/atomic-write.js';
import { catalogNote, pruneDerived, scanDerived, type DerivedPlan } from './gc-derived.js';
import { ADD_LOCK_PREFIX, acquireUpkeepLock, breakLock, listLocks, oldestAddStart, type Lock } from './lock.js';
import { copyPackEntry, finishAndCheck, newPackWriter, removeFiles, removeLooseFiles } from './pack-rewrite.js';
import { writePackList } from './pack-list.js';
import { restoreSetAside, retireFile, retirePack } from './retire.js';
import { Silo } from './silo.js';

export type PackAction = 'untouched' | 'rewrite' | 'delete' | 'kept-by-keep-file' | 'too-recent';

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
  /** Objects the keep list does not name that (a prune) removes from the silo. */
  unreachable: { count: number; bytes: number; oids: string[] };
  /** Objects the keep list does not name that stay: every file holding them is too recent, or was freshened during the prune. */
  spared: { count: number; oids: string[] };
  /** Files written or freshened at or after this time (ISO 8601) are never removed; null: none is (expiry "never"). */
  sparedSince: string | null;
  /** Dead loose files. */
  loose: (LooseFile & { action: 'remove' | 'too-recent' })[];
  /** Leftovers of interrupted writers: removed by a prune once older than the cutoff. */
  strays: (StrayFile & { action: 'remove' | 'too-recent' })[];
  packs: PackPlan[];
  /** Derived forms and static deltas (gc-derived.ts): kept while their tree (a delta's TO) is kept. */
  derived: DerivedPlan[];
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
  /** The grace period: files younger than this are never removed (default 1 hour; 0 = git's --prune=now). */
  pruneExpireMs?: number;
  /** The time files are aged against (default now). */
  now?: number;
  /** How long a prune waits for a repack or another prune holding the upkeep lock (default 0: fail at once). */
  lockWaitMs?: number;
  /** What the upkeep lock shows while the prune holds it. */
  command?: string;
}

export const DEFAULT_PRUNE_EXPIRE_MS = 60 * 60 * 1000;

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
  const expire = options.pruneExpireMs ?? DEFAULT_PRUNE_EXPIRE_MS;
  if (!(expire >= 0)) throw new MedoError('ERR_USAGE', `gc: pruneExpireMs must be >= 0, got ${expire}`);
  const silo = Silo.open(siloDir);
  let lock: Lock | undefined;
  try {
    lock = options.prune ? acquireUpkeepLock(silo.path, options.command ?? `silo gc --prune ${silo.path}`, options.lockWaitMs) : undefined;
    // Taken under the lock and before the inventory: an add that starts later stamps what it touches later still.
    const now = options.now ?? Date.now();
    const sparedSince = Math.min(now - expire, oldestAddStart(silo.path, now) ?? Infinity);
    // What a prune that died had set aside and would have spared goes back before anything is judged.
    const restored = options.prune ? restoreSetAside(silo.path, sparedSince) : [];
    const report = collect(silo, keep, options, sparedSince);
    if (restored.length > 0) report.notes.push(`put back what an interrupted prune had set aside: ${restored.join(', ')}`);
    return report;
  } finally {
    lock?.release();
    silo.close();
  }
}

function collect(silo: Silo, keep: ReadonlySet<string>, options: GcOptions, sparedSince: number): GcReport {
  const inv = takeInventory(silo);
  const young = (mtimeMs: number): boolean => mtimeMs >= sparedSince;
  const packs: PackState[] = inv.packs.map((info) => ({ info, entries: packEntries(info.pack) }));
  const all = new Set<string>();
  for (const f of inv.loose) all.add(f.oid);
  for (const p of packs) for (const e of p.entries) all.add(e.oid);

  // Live = listed, plus what untouched packs need from other files. Packs with nothing dead stay as they
  // are, so their external bases must stay too; packs that get rewritten store every survivor whole.
  const live = new Set<string>();
  for (const oid of all) if (keep.has(oid)) live.add(oid);
  const isUntouched = (p: PackState): boolean => p.info.keep || young(p.info.mtimeMs) || p.entries.every((e) => live.has(e.oid));
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
    unreachable: { count: 0, bytes: 0, oids: [] }, spared: { count: 0, oids: [] }, sparedSince: Number.isFinite(sparedSince) ? new Date(sparedSince).toISOString() : null,
    loose: [], strays: [], packs: [], derived: [], pruned: false, notes: [...inv.notes],
  };
  report.strays = inv.strays.map((f) => ({ ...f, action: young(f.mtimeMs) ? 'too-recent' : 'remove' }));
  const dead = new Set<string>();
  const staying = new Set<string>(); // dead objects that a file staying in place holds
  for (const f of inv.loose) {
    if (live.has(f.oid)) continue;
    const action = young(f.mtimeMs) ? 'too-recent' : 'remove';
    report.loose.push({ ...f, action });
    dead.add(f.oid);
    if (action === 'remove') report.unreachable.bytes += f.bytes;
    else staying.add(f.oid);
  }
  for (const p of packs) {
    const deadEntries = p.entries.filter((e) => !live.has(e.oid));
    for (const e of deadEntries) dead.add(e.oid);
    const deadBytes = deadEntries.reduce((n, e) => n + e.length, 0);
    const action: PackAction = deadEntries.length === 0 ? 'untouched' : p.info.keep ? 'kept-by-keep-file'
      : young(p.info.mtimeMs) ? 'too-recent' : deadEntries.length === p.entries.length ? 'delete' : 'rewrite';
    if (action === 'kept-by-keep-file') report.notes.push(`${p.info.packPath} has a .keep file: its ${deadEntries.length} unreachable objects stay`);
    if (action === 'kept-by-keep-file' || action === 'too-recent') for (const e of deadEntries) staying.add(e.oid);
    else report.unreachable.bytes += deadBytes;
    report.packs.push({ pack: p.info.packPath, objects: p.entries.length, dead: deadEntries.length, deadBytes, action });
  }
  // An object dead in a .keep pack stays in the silo: it is not reported as removable. One in a file too
  // recent to remove stays too, and is reported as spared.
  for (const p of packs) if (p.info.keep) for (const e of p.entries) dead.delete(e.oid);
  setRemovable(report, dead, staying);
  const derived = scanDerived(silo.path, keep, sparedSince);
  report.derived = derived.items;
  report.notes.push(...derived.notes);
  const shown = catalogNote(silo.path, keep);
  if (shown !== undefined) report.notes.push(shown);
  if (options.prune) {
    if (live.size === 0 && all.size > 0 && !options.allowEmpty) {
      throw new MedoError('ERR_USAGE', `the keep list (${keep.size} ids) names none of the ${all.size} objects in ${silo.path}: ` +
        'refusing to prune them all (allow it with --allow-empty)', { path: silo.path });
    }
    prunePlan(silo, report, packs, live, sparedSince);
    for (const i of pruneDerived(silo.path, derived, sparedSince)) {
      i.action = 'too-recent';
      report.notes.push(`${i.files.join(', ')}: rewritten during the prune, kept`);
    }
  }
  return report;
}

function setRemovable(report: GcReport, dead: ReadonlySet<string>, staying: ReadonlySet<string>): void {
  const spared = [...dead].filter((o) => staying.has(o)).sort();
  report.unreachable.oids = [...dead].filter((o) => !staying.has(o)).sort();
  report.unreachable.count = report.unreachable.oids.length;
  report.spared = { count: spared.length, oids: spared };
}

function prunePlan(silo: Silo, report: GcReport, packs: PackState[], live: ReadonlySet<string>, sparedSince: number): void {
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
  // Every survivor is now in the new pack or in a pack that stays: the old files can go, once the pack
  // list names the new pack and no longer the old ones (a remote reader holding the old list meets a 404
  // for a pack deleted below and reads the list again; one that a prune spares is listed again after).
  writePackList(silo.path, new Set(remove.map((p) => basename(p, '.pack')).filter((n) => n !== newName)));
  const sparedFiles: string[] = [];
  const removedDirs = new Set<string>();
  for (const p of remove) {
    if (newName !== undefined && basename(p) === `${newName}.pack`) continue; // identical content, identical name
    if (retirePack(p, sparedSince) === 'spared') sparedFiles.push(p);
    removedDirs.add(dirname(p));
  }
  for (const d of removedDirs) fsyncDir(d);
  writePackList(silo.path);
  const goneLoose: string[] = [];
  for (const f of report.loose.filter((x) => x.action === 'remove')) {
    if (retireFile(f.path, sparedSince) === 'spared') sparedFiles.push(f.path);
    else goneLoose.push(f.path);
  }
  removeLooseFiles(goneLoose); // they are gone already: this syncs and drops emptied fan-out directories
  removeFiles(report.strays.filter((f) => f.action === 'remove').map((f) => f.path));
  for (const l of listLocks(silo.path)) if (l.name.startsWith(ADD_LOCK_PREFIX) && l.state !== 'held') breakLock(l);
  if (sparedFiles.length > 0) respare(report, packs, sparedFiles);
  report.pruned = true;
}

/** Files an add freshened while the prune ran stay, and so do the dead objects they hold. */
function respare(report: GcReport, packs: PackState[], sparedFiles: readonly string[]): void {
  const files = new Set(sparedFiles);
  const staying = new Set(report.spared.oids);
  for (const f of report.loose) if (files.has(f.path)) staying.add(f.oid);
  for (const p of packs) if (files.has(p.info.packPath)) for (const e of p.entries) staying.add(e.oid);
  report.notes.push(`${sparedFiles.length} file(s) freshened by an add during the prune were kept: ${sparedFiles.join(', ')}`);
  setRemovable(report, new Set([...report.unreachable.oids, ...report.spared.oids]), staying);
}
