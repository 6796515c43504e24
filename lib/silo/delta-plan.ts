// The order a repack writes objects in, which is the order delta search sees them: trees, then blobs;
// within a type, by git's name hash (files with the same name, or ending alike, side by side), then by
// full path, so every version of one path is a neighbour of the others whatever else changed, then
// largest first (git's choice: a delta that removes is smaller than one that adds). Paths come from
// walking the trees being repacked; an object no tree names sorts by its size alone.
//
// The pack is written in another order, the one readers want (writeRank): trees, then blobs, each in the
// order a walk of the trees meets them, as medo add writes a pack, so an expand or a mount reading a tree
// reads the pack front to back (git, too, writes trees together and then blobs by recency, whatever
// order its delta search used). repack.ts moves a delta's base before it where the walk puts it later.
//
// Planning reads headers, not contents: a whole entry's header gives its type and size, a delta's type is
// its chain's root's and its size is in the first bytes of its data. Only trees (small) are read whole.
import { constants, inflateSync } from 'node:zlib';
import { MedoError } from '../errors.js';
import { deltaSizes } from '../git/delta.js';
import { OBJ_OFS_DELTA, OBJ_REF_DELTA, TYPE_NAMES } from '../git/pack-entry.js';
import type { PackFile } from '../git/pack-file.js';
import { MODE_GITLINK, parseTree } from '../git/tree.js';
import { oidFromBytes, type ObjectType } from '../oid.js';
import type { PlannedObject } from './delta-search.js';
import type { PackEntryInfo } from './inventory.js';
import type { Silo } from './silo.js';

export type PlanSource = { pack: PackFile; entry: PackEntryInfo } | { loose: string };

const TYPE_ORDER: Record<ObjectType, number> = { commit: 0, tag: 1, tree: 2, blob: 3 };

/** git's pack_name_hash: the last sixteen or so non-blank characters, the very last weighing most. */
export function nameHash(path: string): number {
  let hash = 0;
  for (let i = 0; i < path.length; i++) {
    const c = path.charCodeAt(i) & 0xff;
    if (c === 0x20 || (c >= 0x09 && c <= 0x0d)) continue;
    hash = ((hash >>> 2) + ((c << 24) >>> 0)) >>> 0;
  }
  return hash;
}

/** The last component of a path. */
export const baseName = (path: string): string => path.slice(path.lastIndexOf('/') + 1);

/** A file name's extension ('.js'; '' when it has none, or is a dotfile). */
export function extensionOf(path: string): string {
  const name = baseName(path);
  const dot = name.lastIndexOf('.');
  return dot <= 0 ? '' : name.slice(dot);
}

/**
 * The kin a file of `size` bytes may have under another name (git's size-sorted window, narrowed): those
 * of `pool` from half its size to 32 times it (git's bound: it skips a target under 1/32 of its base;
 * gcc-12's driver, 1.3 MB, is a 191 KB delta of its cc1, 33 MB), nearest first, ties by `key`.
 */
export function nearestInSize<T extends { size: number }>(pool: readonly T[], size: number, key: (t: T) => string): T[] {
  const away = (t: T): number => Math.abs(Math.log(t.size / size));
  return pool.filter((t) => t.size * 2 >= size && t.size <= size * 32).sort((a, b) => away(a) - away(b) || (key(a) < key(b) ? -1 : 1));
}

interface Info extends PlannedObject {
  path: string;
  seq: number;
  /** When the walk of the trees first met it (Infinity when no tree names it). */
  walk: number;
}

export interface Plan {
  /** The objects, each with its type and size, in delta search's order (described above). */
  objects: PlannedObject[];
  /** Each object's place in the pack's write order, by id. */
  writeRank: Map<string, number>;
  /** Each object's path (the first a walk of the trees meets it by; '' when no tree names it). */
  paths: Map<string, string>;
}

export function planObjects(silo: Silo, sources: ReadonlyMap<string, PlanSource>): Plan {
  const infos = new Map<string, Info>();
  let seq = 0;
  for (const [oid, src] of sources) {
    const info = 'loose' in src ? looseInfo(silo, oid) : packInfo(silo, src.pack, src.entry);
    infos.set(oid, { ...info, path: '', hash: 0, seq: seq++, walk: Infinity });
  }
  namePaths(silo, infos);
  const planned = [...infos.values()];
  planned.sort((a, b) => TYPE_ORDER[a.type] - TYPE_ORDER[b.type] || a.walk - b.walk || a.seq - b.seq);
  const writeRank = new Map(planned.map((o, i) => [o.oid, i]));
  planned.sort((a, b) => TYPE_ORDER[a.type] - TYPE_ORDER[b.type] || b.hash - a.hash
    || (a.path < b.path ? -1 : a.path > b.path ? 1 : 0) || b.size - a.size || a.seq - b.seq);
  return {
    objects: planned.map(({ oid, type, size, src, hash }) => ({ oid, type, size, src, hash })),
    writeRank, paths: new Map(planned.map((o) => [o.oid, o.path])),
  };
}

function looseInfo(silo: Silo, oid: string): Omit<PlannedObject, 'hash'> {
  const o = silo.readLoose(oid);
  if (o === undefined) throw new MedoError('ERR_OBJECT_MISSING', `loose object ${oid} vanished from ${silo.path} while being packed`, { oid });
  return { oid, type: o.type, size: o.content.length, src: { loose: true } };
}

function packInfo(silo: Silo, pack: PackFile, e: PackEntryInfo): Omit<PlannedObject, 'hash'> {
  const src = { pack: pack.path, offset: e.offset, length: e.length };
  const h = pack.entryHeader(e.offset, true);
  if (h.typeCode !== OBJ_OFS_DELTA && h.typeCode !== OBJ_REF_DELTA) return { oid: e.oid, type: TYPE_NAMES[h.typeCode]!, size: h.size, src };
  const type = chainType(silo, pack, e.offset);
  let size: number | undefined;
  try {
    // A delta starts with its base's size and its result's: a few varint bytes, in the first zlib bytes.
    const start = e.offset + h.headerLength;
    const head = inflateSync(pack.pack.read(start, Math.min(64, e.offset + e.length - start)), { finishFlush: constants.Z_SYNC_FLUSH });
    size = deltaSizes(head).resultSize;
  } catch {
    size = undefined;
  }
  return { oid: e.oid, type, size: size ?? pack.readAt(e.offset, silo.external).content.length, src };
}

/** The type of the delta at `offset`: its chain's whole object's, found by following headers only. */
function chainType(silo: Silo, pack: PackFile, offset: number): ObjectType {
  let at = offset;
  for (let steps = 0; steps <= pack.limits.maxChainLength; steps++) {
    const h = pack.entryHeader(at, true);
    if (h.typeCode === OBJ_OFS_DELTA) at = h.baseOffset!;
    else if (h.typeCode === OBJ_REF_DELTA) {
      const inPack = pack.find(h.baseOid!);
      if (inPack === undefined) return pack.readAt(offset, silo.external).type;
      at = inPack;
    } else return TYPE_NAMES[h.typeCode]!;
  }
  throw new MedoError('ERR_PACK_CORRUPT', `${pack.path}: delta chain from offset ${offset} loops or exceeds ${pack.limits.maxChainLength}`,
    { path: pack.path, offset });
}

/**
 * Gives every object the first path a walk from the root trees (those no tree here names) reaches it by,
 * and the walk's count when it got there: a tree, then its entries in order, depth first.
 */
function namePaths(silo: Silo, infos: Map<string, Info>): void {
  const children = new Map<string, { name: string; oid: string }[]>();
  const named = new Set<string>();
  for (const info of infos.values()) {
    if (info.type !== 'tree') continue;
    let entries;
    try {
      const o = silo.read(info.oid);
      if (o === undefined) continue;
      entries = parseTree(o.content, info.oid);
    } catch {
      continue; // a broken tree names nothing; repack copies its bytes all the same, verify reports it
    }
    const kids = entries.filter((e) => e.mode !== MODE_GITLINK).map((e) => ({ name: e.name, oid: e.oid }));
    children.set(info.oid, kids);
    for (const k of kids) named.add(k.oid);
  }
  const visited = new Set<string>();
  let walked = 0;
  for (const root of children.keys()) {
    if (named.has(root)) continue;
    const stack: { oid: string; path: string }[] = [{ oid: root, path: '' }];
    while (stack.length > 0) {
      const { oid, path } = stack.pop()!;
      if (visited.has(oid)) continue;
      visited.add(oid);
      const info = infos.get(oid);
      if (info !== undefined) {
        info.path = path;
        info.hash = nameHash(path);
        info.walk = walked++;
      }
      const kids = children.get(oid);
      if (kids === undefined) continue;
      for (let i = kids.length - 1; i >= 0; i--) {
        const k = kids[i]!;
        if (!visited.has(k.oid)) stack.push({ oid: k.oid, path: path === '' ? k.name : `${path}/${k.name}` });
      }
    }
  }
}
