// The steps gc and repack share, in the order that keeps every object readable across a crash at any
// point: copy the objects that must survive into a new pack (PackWriter fsyncs it and renames the .pack
// into place before its .idx), check the new pack finds each of them, and only then delete what it
// replaces. A pack is deleted .idx first, so a reader never sees an index without its pack.
import { readdirSync, rmdirSync, unlinkSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { inflateSync } from 'node:zlib';
import { MedoError } from '../errors.js';
import { PackFile } from '../git/pack-file.js';
import { OBJ_OFS_DELTA, OBJ_REF_DELTA, TYPE_NAMES } from '../git/pack-entry.js';
import { PackWriter, type WrittenPack } from '../git/pack-writer.js';
import { fsyncDir } from '../io/atomic-write.js';
import { hashObject, oidToBytes, type ObjectType } from '../oid.js';
import type { PackEntryInfo } from './inventory.js';
import type { Silo } from './silo.js';

// Files git may keep next to a pack; meaningless without it, so they go with it.
export const PACK_SIDECARS = ['.rev', '.bitmap', '.mtimes', '.promisor'];

function corrupt(oid: string, path: string, why: string, offset?: number): MedoError {
  return new MedoError('ERR_OBJECT_CORRUPT', `${path}: ${oid}${offset === undefined ? '' : ` at offset ${offset}`}: ${why}`,
    offset === undefined ? { oid, path } : { oid, path, offset });
}

/** An object read back from a pack entry, checked against its id; `zlib` when its data can be reused. */
export interface LoadedEntry {
  type: ObjectType;
  content: Buffer;
  /** The entry's zlib data, when the entry is whole and that data is exactly one stream of the content. */
  zlib?: Buffer;
}

/**
 * Reads one pack entry and checks it hashes to its id. A whole (non-delta) entry whose zlib data is
 * exactly one stream of the declared size hands that data back for reuse byte for byte; a delta is
 * resolved (through the silo, for bases held elsewhere).
 */
export function loadPackEntry(silo: Silo, pack: PackFile, e: PackEntryInfo): LoadedEntry {
  const h = pack.entryHeader(e.offset);
  if (h.typeCode !== OBJ_OFS_DELTA && h.typeCode !== OBJ_REF_DELTA && h.headerLength < e.length) {
    const type = TYPE_NAMES[h.typeCode]!;
    const data = pack.pack.read(e.offset + h.headerLength, e.length - h.headerLength);
    let content: Buffer | undefined;
    let used = -1;
    try {
      const r = inflateSync(data, { info: true, maxOutputLength: Math.max(h.size, 1) }) as unknown as { buffer: Buffer; engine: { bytesWritten: number } };
      content = r.buffer;
      used = r.engine.bytesWritten;
    } catch {
      // fall through to the general path, which reports the damage precisely
    }
    if (content !== undefined && used === data.length && content.length === h.size) {
      if (hashObject(type, content) !== e.oid) throw corrupt(e.oid, pack.path, `content hashes to ${hashObject(type, content)}`, e.offset);
      return { type, content, zlib: data };
    }
  }
  const o = pack.readAt(e.offset, silo.external);
  const actual = hashObject(o.type, o.content);
  if (actual !== e.oid) throw corrupt(e.oid, pack.path, `content hashes to ${actual}`, e.offset);
  return { type: o.type, content: o.content };
}

/** Copies one pack entry into `writer` whole, re-hashed on the way (see loadPackEntry). */
export function copyPackEntry(writer: PackWriter, silo: Silo, pack: PackFile, e: PackEntryInfo): void {
  if (writer.has(e.oid)) return;
  const o = loadPackEntry(silo, pack, e);
  if (o.zlib !== undefined) writer.addCompressed(e.oid, o.type, o.content.length, o.zlib);
  else writer.add(o.type, o.content, e.oid);
}

/** Copies a loose object into `writer`; reading it checks that it hashes to its name. */
export function copyLoose(writer: PackWriter, silo: Silo, oid: string): void {
  if (writer.has(oid)) return;
  const o = silo.readLoose(oid);
  if (o === undefined) throw new MedoError('ERR_OBJECT_MISSING', `loose object ${oid} vanished from ${silo.path} while being packed`, { oid });
  writer.add(o.type, o.content, oid);
}

/**
 * Finishes `writer` and proves the result: the new pack opens and its index finds every id in `expect`.
 * Undefined when nothing was added (and then nothing was written).
 */
export function finishAndCheck(writer: PackWriter, expect: Iterable<string>): WrittenPack | undefined {
  const written = writer.finish();
  if (written === undefined) return undefined;
  const pack = PackFile.open(written.idxPath);
  try {
    for (const oid of expect) {
      if (pack.find(oidToBytes(oid)) === undefined) {
        throw new MedoError('ERR_PACK_CORRUPT', `${written.packPath}: the new pack lacks ${oid}; nothing was removed`, { oid, path: written.packPath });
      }
    }
  } finally {
    pack.close();
  }
  return written;
}

/** Deletes a pack: its .idx first (readers find packs by their index), then sidecars, then the .pack. */
export function removePack(packPath: string): void {
  const base = packPath.replace(/\.pack$/, '');
  const gone = (p: string): void => {
    try {
      unlinkSync(p);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    }
  };
  gone(`${base}.idx`);
  for (const ext of PACK_SIDECARS) gone(`${base}${ext}`);
  gone(packPath);
}

/** Deletes packs and then syncs their directory, so the deletions are durable before we report them. */
export function removePacks(packPaths: readonly string[], keepName?: string): void {
  const dirs = new Set<string>();
  for (const p of packPaths) {
    // Identical content gives an identical name: never delete the pack we just wrote.
    if (keepName !== undefined && basename(p) === `${keepName}.pack`) continue;
    removePack(p);
    dirs.add(dirname(p));
  }
  for (const d of dirs) fsyncDir(d);
}

/** Deletes files (missing ones are fine), then syncs their directories. */
export function removeFiles(paths: readonly string[]): void {
  const dirs = new Set<string>();
  for (const p of paths) {
    try {
      unlinkSync(p);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    }
    dirs.add(dirname(p));
  }
  for (const d of dirs) fsyncDir(d);
}

/** Deletes loose object files, then their fan-out directories if that left them empty. */
export function removeLooseFiles(paths: readonly string[]): void {
  removeFiles(paths);
  for (const d of new Set(paths.map((p) => dirname(p)))) {
    if (readdirSync(d).length === 0) {
      try {
        rmdirSync(d);
        fsyncDir(dirname(d));
      } catch {
        // a writer put something there meanwhile: keep the directory
      }
    }
  }
}

export function newPackWriter(silo: Silo): PackWriter {
  // Not silo.packWriter(): that skips objects the silo already holds, and here they all are.
  return new PackWriter(join(silo.path, 'pack'));
}
