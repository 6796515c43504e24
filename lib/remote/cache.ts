// The host's cache of remote silos: ONE directory (default /var/cache/medo, or MEDO_CACHE_DIR) shared by
// the CLI and the daemon. It is itself a silo: every object in it was fetched, checked against its id,
// and written with Silo.writeLoose, so reading a remote-backed medo directory is a plain synchronous read
// of a local silo, and with everything cached the servers can go away. Next to the silo layout:
//   remote/<sha256 of silo URL>/pack-<hex>.idx   the .idx files of remote packs, fetched once
//   pins/<pid>                                   ids a live process is reading: eviction skips them
// Objects are immutable, so nothing is ever invalidated; the size bound is kept by evicting the least
// recently used loose objects (by the later of atime and mtime; the cache touches an object it serves).
import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, statSync, unlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { dirname, join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { MedoError } from '../errors.js';
import { tempPathFor, writeFileAtomic } from '../io/atomic-write.js';
import { Silo, isSilo } from '../silo/silo.js';

export const DEFAULT_CACHE_DIR = '/var/cache/medo';

/** `explicit` if given, else $MEDO_CACHE_DIR, else /var/cache/medo. */
export function cacheDirFrom(explicit?: string, env: NodeJS.ProcessEnv = process.env): string {
  if (explicit !== undefined && explicit !== '') return explicit;
  return env.MEDO_CACHE_DIR !== undefined && env.MEDO_CACHE_DIR !== '' ? env.MEDO_CACHE_DIR : DEFAULT_CACHE_DIR;
}

/** Opens the cache silo, creating it when missing. */
export function openCache(dir: string): Silo {
  try {
    return isSilo(dir) ? Silo.open(dir) : Silo.init(dir);
  } catch (e) {
    throw new MedoError('ERR_STORE_NOT_FOUND', `cannot open the cache ${dir}: ${(e as Error).message} (set --cache-dir or MEDO_CACHE_DIR)`,
      { path: dir }, { cause: e });
  }
}

/** Where the cached .idx files of the remote silo at `url` live. */
export function remoteIdxDir(cacheDir: string, url: string): string {
  return join(cacheDir, 'remote', createHash('sha256').update(url).digest('hex'));
}

export interface CachedObject {
  oid: string;
  path: string;
  bytes: number;
  /** Last use, ms since the epoch: the later of atime and mtime. */
  used: number;
}

/** Whole packs fetched with --whole-packs: evicted as a unit (.pack and .idx); `oid` is the pack's name. */
export function cachedPacks(cacheDir: string): CachedObject[] {
  const out: CachedObject[] = [];
  let names: string[];
  try {
    names = readdirSync(join(cacheDir, 'pack'));
  } catch {
    return out;
  }
  for (const name of names) {
    const m = /^(pack-[0-9a-f]{40})\.pack$/.exec(name);
    if (m === null) continue;
    try {
      const st = statSync(join(cacheDir, 'pack', name));
      const idx = statSync(join(cacheDir, 'pack', `${m[1]}.idx`));
      out.push({ oid: m[1]!, path: join(cacheDir, 'pack', name), bytes: st.size + idx.size, used: Math.max(st.atimeMs, st.mtimeMs) });
    } catch {
      // being installed or evicted
    }
  }
  return out;
}

export function cachedObjects(cacheDir: string): CachedObject[] {
  const out: CachedObject[] = [];
  const objects = join(cacheDir, 'objects');
  let fans: string[];
  try {
    fans = readdirSync(objects);
  } catch {
    return out;
  }
  for (const fan of fans) {
    if (!/^[0-9a-f]{2}$/.test(fan)) continue;
    for (const name of readdirSync(join(objects, fan))) {
      const m = /^([0-9a-f]{38})\.gz$/.exec(name);
      if (m === null) continue;
      const path = join(objects, fan, name);
      try {
        const st = statSync(path);
        out.push({ oid: fan + m[1], path, bytes: st.size, used: Math.max(st.atimeMs, st.mtimeMs) });
      } catch {
        // evicted meanwhile
      }
    }
  }
  return out;
}

export interface CacheStatus {
  dir: string;
  objects: number;
  objectBytes: number;
  packs: number;
  packBytes: number;
  idxFiles: number;
  idxBytes: number;
}

export function cacheStatus(cacheDir: string): CacheStatus {
  const objs = cachedObjects(cacheDir);
  let idxFiles = 0;
  let idxBytes = 0;
  try {
    for (const d of readdirSync(join(cacheDir, 'remote'))) {
      for (const f of readdirSync(join(cacheDir, 'remote', d))) {
        if (!f.endsWith('.idx')) continue;
        idxFiles++;
        idxBytes += statSync(join(cacheDir, 'remote', d, f)).size;
      }
    }
  } catch {
    // no remote/ yet
  }
  const packs = cachedPacks(cacheDir);
  return {
    dir: cacheDir, objects: objs.length, objectBytes: objs.reduce((n, o) => n + o.bytes, 0),
    packs: packs.length, packBytes: packs.reduce((n, o) => n + o.bytes, 0), idxFiles, idxBytes,
  };
}

/**
 * Writes a checked object into the cache silo as a loose `.gz` (what Silo.writeLoose writes), but
 * without fsync: the cache is only a cache, and a file a crash leaves torn fails its id check when read,
 * is dropped and fetched again (RemoteStore), while two fsyncs per object would bound a prefetch of
 * thousands of small files by the disk's flush latency. Returns false when the cache already held it.
 */
export function storeInCache(cache: Silo, oid: string, content: Buffer): boolean {
  return writeCached(cache, oid, () => gzipSync(content, { level: 1 }));
}

/**
 * Like storeInCache, from a zlib stream of the content (a pack entry's) and the content's CRC-32, without
 * inflating or deflating: a gzip member is the same deflate data between another header and trailer
 * (RFC 1950, 1952). Undefined when the stream cannot be carried over (a preset dictionary, not deflate).
 */
export function storeDeflatedInCache(cache: Silo, oid: string, zlib: Buffer, size: number, contentCrc: number): boolean | undefined {
  if (zlib.length < 6 || (zlib[0]! & 0x0f) !== 8 || (zlib[1]! & 0x20) !== 0 || ((zlib[0]! << 8) | zlib[1]!) % 31 !== 0) return undefined;
  return writeCached(cache, oid, () => {
    const trailer = Buffer.alloc(8);
    trailer.writeUInt32LE(contentCrc >>> 0, 0);
    trailer.writeUInt32LE(size % 2 ** 32, 4);
    return Buffer.concat([GZIP_HEADER, zlib.subarray(2, zlib.length - 4), trailer]);
  });
}

/** A gzip member's header: deflate, no name, no time, unknown OS (RFC 1952). */
const GZIP_HEADER = Buffer.from([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff]);

/** The cache file of `oid` written with `bytes()` (made only when it is absent), as storeInCache says. */
function writeCached(cache: Silo, oid: string, bytes: () => Uint8Array): boolean {
  const file = cache.loose.path(cache.path, oid);
  if (existsSync(file)) return false;
  mkdirSync(dirname(file), { recursive: true });
  const tmp = tempPathFor(file);
  try {
    // A full disk fails the write part way: the torn temp file goes too.
    writeFileSync(tmp, bytes(), { flag: 'wx' });
    renameSync(tmp, file);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw e;
  }
  return true;
}

/** Marks an object as just used, for eviction order. */
export function touchCached(path: string): void {
  const now = new Date();
  try {
    utimesSync(path, now, now);
  } catch {
    // gone or read-only cache: only the eviction order suffers
  }
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Ids pinned by live processes (pins/<pid>, one id per line); files of dead processes are removed. */
export function pinnedOids(cacheDir: string): Set<string> {
  const out = new Set<string>();
  const dir = join(cacheDir, 'pins');
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return out;
  }
  for (const name of names) {
    const pid = Number(name);
    if (!Number.isSafeInteger(pid)) continue;
    if (!pidAlive(pid)) {
      rmSync(join(dir, name), { force: true });
      continue;
    }
    try {
      for (const line of readFileSync(join(dir, name), 'utf8').split('\n')) if (/^[0-9a-f]{40}$/.test(line)) out.add(line);
    } catch {
      // removed meanwhile
    }
  }
  return out;
}

/** Publishes the ids this process is reading (replacing its earlier list), so no eviction removes them. */
export function writePins(cacheDir: string, oids: Iterable<string>): void {
  mkdirSync(join(cacheDir, 'pins'), { recursive: true });
  writeFileAtomic(join(cacheDir, 'pins', String(process.pid)), [...oids].map((o) => `${o}\n`).join(''));
}

export interface CleanReport {
  removed: number;
  removedBytes: number;
  keptBytes: number;
  /** Pinned objects that stayed although the cache is still over the limit. */
  pinnedKept: number;
}

/**
 * Evicts least recently used loose objects and whole packs until they total at most `maxBytes`, never
 * a loose object in `keep` or pinned by a live process (pins name objects: a whole pack is evicted as a
 * unit, which is safe for a reader holding it open, as the open file outlives its name).
 * `maxBytes` 0 empties the cache of everything not pinned.
 */
export function cleanCache(cacheDir: string, maxBytes: number, keep: ReadonlySet<string> = new Set()): CleanReport {
  if (!(maxBytes >= 0)) throw new MedoError('ERR_USAGE', `cache size limit must be >= 0 bytes, got ${maxBytes}`);
  const pinned = pinnedOids(cacheDir);
  const objs = [...cachedObjects(cacheDir), ...cachedPacks(cacheDir)].sort((a, b) => a.used - b.used);
  let total = objs.reduce((n, o) => n + o.bytes, 0);
  const report: CleanReport = { removed: 0, removedBytes: 0, keptBytes: 0, pinnedKept: 0 };
  for (const o of objs) {
    if (total <= maxBytes) break;
    if (keep.has(o.oid) || pinned.has(o.oid)) {
      report.pinnedKept++;
      continue;
    }
    // A pack's index goes first, so that no reader finds an index without its pack.
    for (const path of o.path.endsWith('.pack') ? [o.path.replace(/\.pack$/, '.idx'), o.path] : [o.path]) {
      try {
        unlinkSync(path);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
      }
    }
    total -= o.bytes;
    report.removed++;
    report.removedBytes += o.bytes;
  }
  report.keptBytes = total;
  return report;
}

/** "10G", "512M", "100k", "1234" (bytes) -> bytes. */
export function parseSize(text: string, option: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*([kmgt]?)(i?b)?$/i.exec(text.trim());
  if (m === null) throw new MedoError('ERR_USAGE', `${option}: not a size (like 500M or 10G): ${JSON.stringify(text)}`);
  const scale = { '': 1, k: 2 ** 10, m: 2 ** 20, g: 2 ** 30, t: 2 ** 40 }[m[2]!.toLowerCase() as '' | 'k' | 'm' | 'g' | 't'];
  return Math.floor(Number(m[1]) * scale);
}
