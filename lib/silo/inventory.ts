// What a silo holds, file by file: its loose objects and every entry of every pack, with the bytes each
// takes on disk. gc and repack plan from this and url-for measures pack entries with it; nothing here
// changes the silo.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { PackFile } from '../git/pack-file.js';
import { TEMP_PREFIX } from '../io/atomic-write.js';
import { OID_BYTES, oidFromBytes } from '../oid.js';
import type { Silo } from './silo.js';

export interface LooseFile {
  oid: string;
  path: string;
  bytes: number;
  /** Written or last freshened (freshen.ts) then. */
  mtimeMs: number;
}

export interface PackEntryInfo {
  oid: string;
  offset: number;
  /** Bytes of the entry in the pack: its header and its zlib data, up to the next entry. */
  length: number;
}

export interface PackInfo {
  pack: PackFile;
  packPath: string;
  idxPath: string;
  /** Size of the .pack and the .idx together. */
  bytes: number;
  /** A `.keep` file next to the pack: git's sign that no repack may touch it; we honour it too. */
  keep: boolean;
  /** The .idx's mtime: when the pack was written or last freshened (freshen.ts). */
  mtimeMs: number;
}

/**
 * What an interrupted writer leaves: a temp file, or a .pack whose .idx was never renamed into place
 * (PackWriter renames the .pack first). Readers never see either; a young one may be a writer at work.
 */
export interface StrayFile {
  path: string;
  bytes: number;
  mtimeMs: number;
  kind: 'temp' | 'pack-without-idx';
}

export interface SiloInventory {
  loose: LooseFile[];
  packs: PackInfo[];
  strays: StrayFile[];
  /** Packs that could not be opened, and stray files: never touched, reported. */
  notes: string[];
}

/** A loose object's file name below its fan-out directory, and a fan-out directory's name. */
export const LOOSE_NAME = /^[0-9a-f]{38}\.gz$/;
export const HEX2 = /^[0-9a-f]{2}$/;

/** A directory's entries, sorted; none when it does not exist. */
export function list(dir: string): string[] {
  try {
    return readdirSync(dir).sort();
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw e;
  }
}

function addStray(out: StrayFile[], path: string, kind: StrayFile['kind']): void {
  try {
    const st = statSync(path);
    out.push({ path, bytes: st.size, mtimeMs: st.mtimeMs, kind });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e; // its writer finished or cleaned up meanwhile
  }
}

export function looseFiles(siloDir: string, strays: StrayFile[] = []): LooseFile[] {
  const objects = join(siloDir, 'objects');
  const out: LooseFile[] = [];
  for (const sub of list(objects)) {
    if (!HEX2.test(sub)) continue;
    for (const name of list(join(objects, sub))) {
      const path = join(objects, sub, name);
      if (name.startsWith(TEMP_PREFIX)) addStray(strays, path, 'temp');
      if (!LOOSE_NAME.test(name)) continue;
      let st;
      try {
        st = statSync(path);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ENOENT') continue; // packed and removed by a repack meanwhile
        throw e;
      }
      out.push({ oid: sub + name.slice(0, 38), path, bytes: st.size, mtimeMs: st.mtimeMs });
    }
  }
  return out;
}

function packStrays(packDir: string): StrayFile[] {
  const names = list(packDir);
  const out: StrayFile[] = [];
  for (const name of names) {
    if (name.startsWith(TEMP_PREFIX)) addStray(out, join(packDir, name), 'temp');
    else if (name.endsWith('.pack') && !names.includes(name.replace(/\.pack$/, '.idx'))) addStray(out, join(packDir, name), 'pack-without-idx');
  }
  return out;
}

export function idxPathOf(pack: PackFile): string {
  return pack.index.src.path;
}

export function takeInventory(silo: Silo): SiloInventory {
  silo.packs.rescan();
  const notes = silo.packs.problems.map((e) => `pack not opened, left alone: ${e.message}`);
  const packs = silo.packs.list().map((pack): PackInfo => {
    const base = pack.path.replace(/\.pack$/, '');
    const idxPath = idxPathOf(pack);
    let mtimeMs = -Infinity;
    try {
      mtimeMs = statSync(idxPath).mtimeMs;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e; // removed since it was opened: it stays open
    }
    return { pack, packPath: pack.path, idxPath, bytes: pack.pack.size + pack.index.src.size, keep: existsSync(`${base}.keep`), mtimeMs };
  });
  packs.sort((a, b) => (a.packPath < b.packPath ? -1 : a.packPath > b.packPath ? 1 : 0));
  const strays = packStrays(join(silo.path, 'pack'));
  return { loose: looseFiles(silo.path, strays), packs, strays, notes };
}

/** Every entry's offset, ascending. The idx is sorted by id, so an entry's end is the next offset here. */
export function sortedOffsets(pack: PackFile): Float64Array {
  const n = pack.index.count;
  const offsets = new Float64Array(n);
  for (let i = 0; i < n; i++) offsets[i] = pack.index.offsetAt(i);
  return offsets.sort();
}

/** Where the entry at `offset` ends: the next entry's offset, or the pack's trailer for the last one. */
export function entryEnd(pack: PackFile, sorted: Float64Array, offset: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid]! <= offset) lo = mid + 1;
    else hi = mid;
  }
  return lo < sorted.length ? sorted[lo]! : pack.pack.size - OID_BYTES;
}

/** Every entry of `pack` in pack order (ascending offset), so delta bases come before their deltas. */
export function packEntries(pack: PackFile): PackEntryInfo[] {
  const idx = pack.index;
  const entries: PackEntryInfo[] = [];
  for (let i = 0; i < idx.count; i++) entries.push({ oid: oidFromBytes(idx.oidAt(i)), offset: idx.offsetAt(i), length: 0 });
  entries.sort((a, b) => a.offset - b.offset);
  const end = pack.pack.size - OID_BYTES;
  for (let k = 0; k < entries.length; k++) entries[k]!.length = (k + 1 < entries.length ? entries[k + 1]!.offset : end) - entries[k]!.offset;
  return entries;
}
