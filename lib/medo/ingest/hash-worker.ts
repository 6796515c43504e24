// Runs on a piscina worker thread (compiled: dist/lib/medo/ingest/hash-worker.js), or inline on the
// main thread when there is no pool: reads files, computes their git blob ids and deflates the ones the
// silo does not hold yet, so the main thread only appends bytes to the pack.
// Errors do not cross the thread boundary with their class or code, so they come back as data.
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { deflateSync } from 'node:zlib';
import { MedoError, isMedoError, type ErrorCode, type ErrorData } from '../../errors.js';
import { applyDelta } from '../../git/delta.js';
import { DeltaIndex, MAX_DELTA_BASE, createDelta } from '../../git/delta-encode.js';
import { OID_BYTES, hashObject } from '../../oid.js';
import { deltaDepth } from '../../silo/delta-depth.js';
import { holdsFresh } from '../../silo/freshen.js';
import { Silo } from '../../silo/silo.js';

export interface HashItem {
  /** A file to read (absolute path), or */
  path?: string;
  /** the content itself. */
  content?: Uint8Array;
  /** A blob of the silo to store it as a delta against, when that is small enough (medo add's delta base). */
  baseOid?: string;
}

/** Bumped whenever HashTask or HashOutcome change, so a stale compiled worker is caught, not misread. */
export const HASH_PROTOCOL = 2;

export interface HashTask {
  protocol: number;
  items: HashItem[];
  /** When given, objects this silo already holds are hashed but not deflated. */
  siloPath?: string;
  level: number;
  maxSize: number;
}

export interface HashedBlob {
  oid: string;
  size: number;
  /** zlib-deflated content (or delta, with deltaBase), absent when the silo already holds the object. */
  compressed?: Uint8Array;
  /** Set when `compressed` is a delta against this blob; deltaSize is the delta's inflated length. */
  deltaBase?: string;
  deltaSize?: number;
}

/** Longest chain a delta of medo add may end (git's default --depth). */
export const ADD_MAX_DEPTH = 50;
const MIN_DELTA_BLOB = 50;

/**
 * `content` as a delta against `baseOid`, when one is under half its size (git's first limit, scaled down
 * as the base's chain gets deeper); undefined otherwise, or when the base cannot be read: then the
 * blob is stored whole, never lost. The delta is applied once and compared before it is returned.
 */
function deltaAgainst(silo: Silo, baseOid: string, content: Uint8Array): Buffer | undefined {
  if (content.length < MIN_DELTA_BLOB) return undefined;
  try {
    const depth = deltaDepth(silo, baseOid, ADD_MAX_DEPTH - 1);
    if (depth === undefined) return undefined;
    const base = silo.read(baseOid);
    if (base === undefined || base.type !== 'blob' || base.content.length > MAX_DELTA_BASE || content.length < base.content.length / 32) return undefined;
    const maxSize = Math.floor(((Math.floor(content.length / 2) - OID_BYTES) * (ADD_MAX_DEPTH - depth)) / ADD_MAX_DEPTH);
    if (maxSize <= 0) return undefined;
    const delta = createDelta(new DeltaIndex(base.content), content, maxSize);
    return delta !== undefined && applyDelta(base.content, delta, content.length).equals(content) ? delta : undefined;
  } catch {
    return undefined;
  }
}

export type HashOutcome =
  | { ok: true; blobs: HashedBlob[] }
  | { ok: false; error: { code: ErrorCode | string; message: string; data: ErrorData } };

// One silo per thread, opened once: only its pack indexes and loose-object paths are consulted.
const silos = new Map<string, Silo>();

/** The silo at `siloPath`, with the packs written since it was last looked at (one directory read per task). */
function openSilo(siloPath: string): Silo {
  let silo = silos.get(siloPath);
  if (silo === undefined) {
    silo = Silo.open(siloPath);
    silos.set(siloPath, silo);
  } else {
    silo.packs.rescan();
  }
  return silo;
}

// Skipping an object the silo holds freshens its file, so a concurrent prune spares it (freshen.ts).
function holds(silo: Silo | undefined, oid: string): boolean {
  return silo !== undefined && holdsFresh(silo, oid);
}

function readWhole(path: string, maxSize: number): Buffer {
  const fd = openSync(path, 'r');
  try {
    const size = fstatSync(fd).size;
    if (size > maxSize) throw new MedoError('ERR_TOO_LARGE', `${path} is ${size} bytes, over the limit of ${maxSize}`, { path });
    const buf = Buffer.allocUnsafeSlow(size);
    let got = 0;
    while (got < size) {
      const n = readSync(fd, buf, got, size - got, got);
      if (n === 0) break;
      got += n;
    }
    // A file that shrank while being read is stored as read; one that grew is read up to its size at open.
    return got === size ? buf : buf.subarray(0, got);
  } finally {
    closeSync(fd);
  }
}

export function hashBatch(task: HashTask): HashOutcome {
  if (task.protocol !== HASH_PROTOCOL) {
    return { ok: false, error: { code: 'ERR_USAGE', data: {},
      message: `the compiled hash worker speaks protocol ${HASH_PROTOCOL}, not ${task.protocol}: rebuild with 'npx tsc -p .'` } };
  }
  const blobs: HashedBlob[] = [];
  let silo: Silo | undefined;
  for (const item of task.items) {
    try {
      if (task.siloPath !== undefined) silo ??= openSilo(task.siloPath);
      const content = item.content ?? readWhole(item.path!, task.maxSize);
      const oid = hashObject('blob', content);
      const blob: HashedBlob = { oid, size: content.length };
      if (!holds(silo, oid)) {
        const delta = item.baseOid !== undefined && silo !== undefined ? deltaAgainst(silo, item.baseOid, content) : undefined;
        if (delta !== undefined) {
          blob.deltaBase = item.baseOid;
          blob.deltaSize = delta.length;
        }
        blob.compressed = deflateSync(delta ?? content, { level: task.level });
      }
      blobs.push(blob);
    } catch (e) {
      const err = e as NodeJS.ErrnoException;
      const data: ErrorData = isMedoError(e) ? { ...e.data } : { path: item.path };
      const message = isMedoError(e) ? e.message : `cannot read ${item.path ?? 'content'}: ${err.message}`;
      return { ok: false, error: { code: isMedoError(e) ? e.code : (err.code ?? 'EIO'), message, data } };
    }
  }
  return { ok: true, blobs };
}

export default hashBatch;
