// Static deltas, after ostree's: a static web server runs no code, so the difference between two versions
// is made ahead of time. `silo delta FROM TO` writes, under derived/deltas/, a thin pack of exactly the
// objects TO has and FROM lacks, each a REF_DELTA against an object of FROM, or an OFS_DELTA against one
// of TO's earlier in the pack, where that is smaller deflated (whole otherwise), as derived/deltas/FROM-TO.pack with its .idx, and lists it twice
// (docs/formats.md): for clients, in derived/deltas/TO.list, the FROMs that TO has deltas from and their
// packs' sizes, the least a client must read before the pack (text, like pack/packs),
//
//   # medo deltas v1
//   D <FROM> <pack bytes>
//
// and for the silo's own upkeep, in the catalogue derived/deltas/index.json:
//
//   {"format": "medo-static-deltas", "version": 1, "deltas": [
//     {"from": TREE, "to": TREE, "pack": "FROM-TO", "packBytes": N, "idxBytes": N, "objects": N,
//      "fromMeta": BLOB?, "toMeta": BLOB?}]}
//
// A client that holds FROM fetches the pack alone, indexes it itself, and resolves every entry against
// its own copy of FROM (lib/remote/static-delta.ts). Bases are chosen by path, which medo knows and git does
// not: the object at the same path in FROM, else at the same path below the top directory (a tarball's
// "Python-3.10.4/" becomes "Python-3.10.5/"), else the largest file of the same name; files of 4 KiB or
// more with none of those come last, largest first, each tried against the three files of its extension
// nearest its size (from half to 32 times it) of FROM and of TO's already in the pack. Entries are
// deflated at level 9 with the system's zlib (lib/deflate.ts): the pack is made once and fetched by many.
import { mkdirSync, readFileSync, renameSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { deflateTight } from '../deflate.js';
import { MedoError } from '../errors.js';
import { applyDelta } from '../git/delta.js';
import { DeltaIndex, MAX_DELTA_BASE, createDelta } from '../git/delta-encode.js';
import { PackWriter } from '../git/pack-writer.js';
import { MODE_GITLINK, MODE_TREE, parseTree } from '../git/tree.js';
import { fsyncDir, writeFileAtomic } from '../io/atomic-write.js';
import { OID_BYTES, isOid, type ObjectType } from '../oid.js';
import { baseName, extensionOf, nearestInSize } from './delta-plan.js';
import { acquireUpkeepLock } from './lock.js';
import type { Silo } from './silo.js';

export const DELTAS_DIR = join('derived', 'deltas');
export const DELTA_INDEX = 'index.json';
export const DELTA_INDEX_FORMAT = 'medo-static-deltas';
const DELTAS_TO_HEADER = '# medo deltas v1';
const DELTAS_TO_LINE = /^D ([0-9a-f]{40}) (\d+)$/;

/** The file listing the static deltas into `to` (relative to the silo). */
export const deltasToPath = (to: string): string => `${DELTAS_DIR}/${to}.list`;
/** A static delta's pack and index, without extension (relative to the silo). */
export const deltaPackPath = (from: string, to: string): string => `${DELTAS_DIR}/${from}-${to}`;

export interface StaticDeltaEntry {
  from: string;
  to: string;
  /** The pack's name without extension: derived/deltas/NAME.pack and NAME.idx (NAME is FROM-TO). */
  pack: string;
  packBytes: number;
  idxBytes: number;
  objects: number;
  /** Metadata sidecars (a .treeptr's "meta"): TO's is in the pack, deltified against FROM's. */
  fromMeta?: string;
  toMeta?: string;
}

export interface StaticDeltaIndex {
  format: typeof DELTA_INDEX_FORMAT;
  version: 1;
  deltas: StaticDeltaEntry[];
}

const PACK_NAME = /^[0-9a-f]{40}-[0-9a-f]{40}$/;

/** Parses derived/deltas/index.json; every way it can be wrong is ERR_SILO_CORRUPT naming `source`. */
export function parseDeltaIndex(text: string, source: string): StaticDeltaIndex {
  const fail = (why: string): never => {
    throw new MedoError('ERR_SILO_CORRUPT', `${source}: ${why}`, { path: source });
  };
  let j: unknown;
  try {
    j = JSON.parse(text);
  } catch (e) {
    return fail(`not valid JSON (${(e as Error).message})`);
  }
  const o = j as Partial<StaticDeltaIndex>;
  if (typeof o !== 'object' || o === null || Array.isArray(o)) fail('not a JSON object');
  if (o.format !== DELTA_INDEX_FORMAT) fail(`"format" must be "${DELTA_INDEX_FORMAT}"`);
  if (o.version !== 1) fail(`unsupported version ${JSON.stringify(o.version)} (this medo reads 1)`);
  if (!Array.isArray(o.deltas)) fail('"deltas" must be an array');
  const count = (v: unknown): boolean => Number.isSafeInteger(v) && (v as number) >= 0;
  o.deltas!.forEach((d, i) => {
    const at = `deltas[${i}]`;
    if (typeof d !== 'object' || d === null) fail(`${at} is not an object`);
    for (const k of ['from', 'to'] as const) if (typeof d[k] !== 'string' || !isOid(d[k])) fail(`${at}.${k} is not an object id`);
    for (const k of ['fromMeta', 'toMeta'] as const) if (d[k] !== undefined && (typeof d[k] !== 'string' || !isOid(d[k]!))) fail(`${at}.${k} is not an object id`);
    if (typeof d.pack !== 'string' || !PACK_NAME.test(d.pack) || d.pack !== `${d.from}-${d.to}`) fail(`${at}.pack must be "FROM-TO", the two tree ids`);
    for (const k of ['packBytes', 'idxBytes', 'objects'] as const) if (!count(d[k])) fail(`${at}.${k} must be a whole number`);
  });
  return { format: DELTA_INDEX_FORMAT, version: 1, deltas: o.deltas! };
}

/**
 * Parses derived/deltas/TO.list into the FROMs it lists, each with its pack's size; every way it can be
 * wrong is ERR_SILO_CORRUPT naming `source` and the line.
 */
export function parseDeltasTo(text: string, source: string): Map<string, number> {
  const lines = text.split('\n');
  if (lines[0] !== DELTAS_TO_HEADER) {
    throw new MedoError('ERR_SILO_CORRUPT', `${source}: not a medo delta listing (first line must be "${DELTAS_TO_HEADER}")`, { path: source });
  }
  const from = new Map<string, number>();
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i]!;
    if (line === '' || line.startsWith('#')) continue;
    const m = DELTAS_TO_LINE.exec(line);
    const bytes = Number(m?.[2]);
    if (m === null || !Number.isSafeInteger(bytes) || bytes < 32) {
      throw new MedoError('ERR_SILO_CORRUPT', `${source}: line ${i + 1} is not "D <40 hex> <pack bytes>": ${JSON.stringify(line.slice(0, 120))}`, { path: source });
    }
    from.set(m[1]!, bytes);
  }
  return from;
}

/** The bytes of derived/deltas/TO.list for these entries (a client reads it before every delta it takes). */
function formatDeltasTo(entries: readonly StaticDeltaEntry[]): string {
  const sorted = [...entries].sort((a, b) => (a.from < b.from ? -1 : 1));
  return `${DELTAS_TO_HEADER}\n${sorted.map((e) => `D ${e.from} ${e.packBytes}\n`).join('')}`;
}

/**
 * Writes TO.list for each of `tos` (deleted when `index` has no delta into it any more), then index.json.
 * `silo delta` calls it after its files are in place, `silo gc` before it removes any.
 */
export function writeDeltaListings(siloPath: string, index: StaticDeltaIndex, tos: Iterable<string>): void {
  for (const to of new Set(tos)) {
    const into = index.deltas.filter((d) => d.to === to);
    const list = join(siloPath, deltasToPath(to));
    if (into.length > 0) writeFileAtomic(list, formatDeltasTo(into));
    else rmSync(list, { force: true });
  }
  writeFileAtomic(join(siloPath, DELTAS_DIR, DELTA_INDEX), `${JSON.stringify(index, null, 1)}\n`);
}

/** The silo's delta index, or an empty one when it has none. */
export function readDeltaIndex(siloPath: string): StaticDeltaIndex {
  const path = join(siloPath, DELTAS_DIR, DELTA_INDEX);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { format: DELTA_INDEX_FORMAT, version: 1, deltas: [] };
    throw e;
  }
  return parseDeltaIndex(text, path);
}

export interface Version {
  tree: string;
  meta?: string;
}

interface Node {
  oid: string;
  type: ObjectType;
  path: string;
}

/** Every object below `tree` (itself included) with the first path it is found at. */
function walk(silo: Silo, tree: string, what: string): Node[] {
  const out: Node[] = [];
  const seen = new Set<string>();
  const stack: Node[] = [{ oid: tree, type: 'tree', path: '' }];
  while (stack.length > 0) {
    const n = stack.pop()!;
    if (seen.has(n.oid)) continue;
    seen.add(n.oid);
    out.push(n);
    if (n.type !== 'tree') continue;
    const o = silo.read(n.oid);
    if (o === undefined) throw new MedoError('ERR_OBJECT_MISSING', `tree ${n.oid} of ${what} (at ${JSON.stringify(n.path || '/')}) is not in ${silo.path}`, { oid: n.oid });
    if (o.type !== 'tree') throw new MedoError('ERR_OBJECT_CORRUPT', `${n.oid} of ${what} is a ${o.type}, not a tree`, { oid: n.oid });
    for (const e of parseTree(o.content, n.oid)) {
      if (e.mode === MODE_GITLINK) continue;
      stack.push({ oid: e.oid, type: e.mode === MODE_TREE ? 'tree' : 'blob', path: n.path === '' ? e.name : `${n.path}/${e.name}` });
    }
  }
  return out;
}

const belowTop = (path: string): string | undefined => {
  const i = path.indexOf('/');
  return i < 0 ? undefined : path.slice(i + 1);
};
/** A TO blob with no base by path is tried against this many FROM blobs of its size, when it is this large. */
const SIMILAR_CANDIDATES = 3;
const SIMILAR_MIN_BYTES = 4 << 10;
/** A TO object at this chain length in the pack is no base for another. */
const MAX_IN_PACK_DEPTH = 16;

/** Picks a FROM object to deltify each TO object against, by path (see the header). */
class BaseChooser {
  private readonly byPath = new Map<string, string>();
  private readonly byTail = new Map<string, string>();
  private readonly byName = new Map<string, { oid: string; size: number }>();
  private readonly blobs: { oid: string; size: number; ext: string }[] = [];

  constructor(nodes: readonly Node[], private readonly sizeOf: (oid: string) => number) {
    for (const n of nodes) {
      const key = `${n.type}:`;
      this.byPath.set(key + n.path, n.oid);
      const tail = belowTop(n.path);
      if (tail !== undefined && !this.byTail.has(key + tail)) this.byTail.set(key + tail, n.oid);
      if (n.type === 'blob') {
        const name = key + baseName(n.path);
        const size = sizeOf(n.oid);
        const had = this.byName.get(name);
        if (had === undefined || had.size < size) this.byName.set(name, { oid: n.oid, size });
        if (n.path !== '\0meta') this.blobs.push({ oid: n.oid, size, ext: extensionOf(n.path) });
      }
    }
  }

  /**
   * For a blob with no base by path: the blobs of FROM, and of TO already in the pack, of the same
   * extension nearest its size (nearestInSize), nearest first, at most `count` (a file new in TO is often
   * split out of one of another name).
   */
  similar(n: Node, size: number, count: number): string[] {
    if (n.type !== 'blob') return [];
    const ext = extensionOf(n.path);
    return nearestInSize(this.blobs.filter((b) => b.ext === ext), size, (b) => b.oid).slice(0, count).map((b) => b.oid);
  }

  /** A blob of TO now in the pack, a base for those that follow it. */
  addKin(n: Node, size: number): void {
    if (n.type === 'blob' && n.path !== '\0meta') this.blobs.push({ oid: n.oid, size, ext: extensionOf(n.path) });
  }

  choose(n: Node): string | undefined {
    const key = `${n.type}:`;
    const tail = belowTop(n.path);
    return this.byPath.get(key + n.path) ?? (tail === undefined ? undefined : this.byTail.get(key + tail))
      ?? (n.type === 'blob' ? this.byName.get(key + baseName(n.path))?.oid : undefined);
  }
}

export interface StaticDeltaReport {
  silo: string;
  entry: StaticDeltaEntry;
  deltas: number;
  whole: number;
  /** Bytes of TO's new objects stored whole, for comparison with packBytes. */
  wholeBytes: number;
  replaced?: string;
}

/** Writes the static delta FROM → TO into `silo` and lists it (replacing an older one of the same pair). */
export interface StaticDeltaOptions {
  /** zlib level of the entries (default 9: made once, fetched by many). */
  level?: number;
  /** How long to wait for a repack or prune holding the upkeep lock (default 0: fail at once). */
  lockWaitMs?: number;
  /** What the upkeep lock shows while the delta is made. */
  command?: string;
}

/**
 * Writes the static delta FROM -> TO and lists it. It holds the silo's upkeep lock: the listings are
 * read, changed and written again, and `silo gc --prune` rewrites them too.
 */
export function writeStaticDelta(silo: Silo, from: Version, to: Version, options: StaticDeltaOptions = {}): StaticDeltaReport {
  const lock = acquireUpkeepLock(silo.path, options.command ?? `silo delta ${from.tree} ${to.tree}`, options.lockWaitMs);
  try {
    return writeUnlocked(silo, from, to, options.level ?? 9);
  } finally {
    lock.release();
  }
}

function writeUnlocked(silo: Silo, from: Version, to: Version, level: number): StaticDeltaReport {
  if (from.tree === to.tree) throw new MedoError('ERR_USAGE', `FROM and TO are the same tree ${to.tree}: there is no difference to ship`);
  const fromNodes = walk(silo, from.tree, 'FROM');
  if (from.meta !== undefined) fromNodes.push({ oid: from.meta, type: 'blob', path: '\0meta' });
  const toNodes = walk(silo, to.tree, 'TO');
  if (to.meta !== undefined) toNodes.push({ oid: to.meta, type: 'blob', path: '\0meta' });
  const have = new Set(fromNodes.map((n) => n.oid));
  const sizes = new Map<string, number>();
  const sizeOf = (oid: string): number => {
    let s = sizes.get(oid);
    if (s === undefined) {
      s = silo.read(oid)?.content.length ?? 0;
      sizes.set(oid, s);
    }
    return s;
  };
  const chooser = new BaseChooser(fromNodes, sizeOf);
  const dir = join(silo.path, DELTAS_DIR);
  mkdirSync(dir, { recursive: true });
  const writer = new PackWriter(dir);
  // Chain length of each delta written, so a delta against another of TO's objects stays in bounds.
  const depths = new Map<string, number>();
  let deltas = 0;
  let whole = 0;
  let wholeBytes = 0;
  const add = (n: Node, o: { type: ObjectType; content: Buffer }, bases: readonly string[]): void => {
    const packed = deflateTight(o.content, level);
    wholeBytes += packed.length;
    let best: { base: string; size: number; compressed: Buffer } | undefined;
    for (const base of bases) {
      const delta = deltaAgainst(silo, base, o.type, o.content);
      if (delta === undefined) continue;
      const compressed = deflateTight(delta.data, level);
      if (compressed.length < (best?.compressed.length ?? packed.length)) best = { base: delta.base, size: delta.data.length, compressed };
    }
    const depth = best === undefined ? 0 : (depths.get(best.base) ?? 0) + 1;
    if (best !== undefined) {
      writer.addDeltaCompressed(n.oid, best.base, best.size, best.compressed);
      depths.set(n.oid, depth);
      deltas++;
    } else {
      writer.addCompressed(n.oid, o.type, o.content.length, packed);
      whole++;
    }
    if (depth < MAX_IN_PACK_DEPTH) chooser.addKin(n, o.content.length);
  };
  const read = (n: Node): { type: ObjectType; content: Buffer } => {
    const o = silo.read(n.oid);
    if (o === undefined) throw new MedoError('ERR_OBJECT_MISSING', `${n.oid} of TO (at ${JSON.stringify(n.path)}) is not in ${silo.path}`, { oid: n.oid });
    return o;
  };
  try {
    // Files with no base by path wait for the rest, and then go largest first: each is tried against
    // kin of its size from FROM and from what TO has written so far (git's window, which is sorted by
    // size, meets a new file's bases the same way).
    const unplaced: { n: Node; size: number }[] = [];
    for (const n of toNodes) {
      if (have.has(n.oid) || writer.has(n.oid)) continue;
      const o = read(n);
      const byPath = chooser.choose(n);
      if (byPath === undefined && n.type === 'blob' && o.content.length >= SIMILAR_MIN_BYTES) unplaced.push({ n, size: o.content.length });
      else add(n, o, byPath === undefined ? [] : [byPath]);
    }
    unplaced.sort((a, b) => b.size - a.size || (a.n.oid < b.n.oid ? -1 : 1));
    for (const { n, size } of unplaced) {
      if (!writer.has(n.oid)) add(n, read(n), chooser.similar(n, size, SIMILAR_CANDIDATES));
    }
  } catch (e) {
    writer.abort();
    throw e;
  }
  const written = writer.finish();
  if (written === undefined) throw new MedoError('ERR_USAGE', `TO (${to.tree}) has no object that FROM (${from.tree}) lacks`);
  // Named by the pair, so a client needs no name from a listing, and a delta made again replaces the
  // old files in place; .pack first, as everywhere.
  const packPath = join(silo.path, deltaPackPath(from.tree, to.tree));
  renameSync(written.packPath, `${packPath}.pack`);
  renameSync(written.idxPath, `${packPath}.idx`);
  fsyncDir(dir);
  const entry: StaticDeltaEntry = {
    from: from.tree, to: to.tree, pack: `${from.tree}-${to.tree}`, packBytes: sizeOfFile(`${packPath}.pack`), idxBytes: sizeOfFile(`${packPath}.idx`),
    objects: written.objectCount,
    ...(from.meta === undefined ? {} : { fromMeta: from.meta }), ...(to.meta === undefined ? {} : { toMeta: to.meta }),
  };
  const index = readDeltaIndex(silo.path);
  const old = index.deltas.find((d) => d.from === from.tree && d.to === to.tree);
  index.deltas = [...index.deltas.filter((d) => d !== old), entry].sort((a, b) => (a.to + a.from < b.to + b.from ? -1 : 1));
  // The listings go last: a client never finds an entry whose files are not in place.
  writeDeltaListings(silo.path, index, [to.tree]);
  return { silo: silo.path, entry, deltas, whole, wholeBytes, ...(old === undefined ? {} : { replaced: old.pack }) };
}

function sizeOfFile(path: string): number {
  return statSync(path).size;
}

function deltaAgainst(silo: Silo, baseOid: string | undefined, type: ObjectType, content: Buffer): { base: string; data: Buffer } | undefined {
  if (baseOid === undefined || content.length < 50) return undefined;
  const base = silo.read(baseOid);
  if (base === undefined || base.type !== type || base.content.length > MAX_DELTA_BASE || content.length < base.content.length / 32) return undefined;
  const data = createDelta(new DeltaIndex(base.content), content, Math.floor(content.length / 2) - OID_BYTES);
  if (data === undefined || !applyDelta(base.content, data, content.length).equals(content)) return undefined;
  return { base: baseOid, data };
}
