// Fetch on miss: the one retry loop every FUSE adapter wraps its ops in. A source over remote silos reads
// the host cache synchronously (lib/store.ts); when an op needs an object the cache lacks, the reader
// throws ERR_OBJECT_MISSING naming it, the source fetches it (MountSource.fetch), and the op runs again
// from the start. Ops are pure reads of immutable content, so running one again is always safe (an
// adapter that answers inside the work answers last: a run that missed has answered nothing).
//
// A corrupt object is handed to `fetch` too: a cached copy that fails its id check was torn (the cache
// writes without fsync) and the source replaces it; an object the source cannot do better for (a local
// silo's) comes back as it was, and the op fails with the original error.
//
// Bounds: a cold path lookup misses one tree per component, so several fetches in a row are normal; the
// same id missing again after its fetch, or MAX_FETCHES fetches for one op, ends it with the error.
import { MedoError, isMedoError } from '../errors.js';
import type { MountSource } from './source.js';

/** Fetches for one op before it fails: deeper than any sane path, far fewer than a runaway loop. */
export const MAX_FETCHES = 64;

const OID = /^[0-9a-f]{40}$/;

/** Fetches in flight per source and id: concurrent misses of one object share one fetch. */
const inflight = new WeakMap<MountSource, Map<string, Promise<void>>>();

/** The id a fetch could fix this error for, if any. */
function fetchable(e: unknown): string | undefined {
  if (!isMedoError(e) || (e.code !== 'ERR_OBJECT_MISSING' && e.code !== 'ERR_OBJECT_CORRUPT')) return undefined;
  const oid = e.data.oid;
  return typeof oid === 'string' && OID.test(oid) ? oid : undefined;
}

function sharedFetch(source: MountSource, fetch: (oid: string) => Promise<void>, oid: string): Promise<void> {
  let bySource = inflight.get(source);
  if (bySource === undefined) inflight.set(source, (bySource = new Map()));
  let p = bySource.get(oid);
  if (p === undefined) {
    const map = bySource;
    p = fetch.call(source, oid).finally(() => map.delete(oid));
    map.set(oid, p);
  }
  return p;
}

/**
 * The miss error, with why its fetch failed in the message and the URL that failed, when one did, in its
 * data (for the log); the code stays the miss's.
 */
function failedFetch(miss: MedoError, why: unknown): MedoError {
  const reason = why instanceof Error ? why.message : String(why);
  if (why === miss || reason === miss.message) return miss;
  const data = isMedoError(why) ? why.data : {};
  const url = [data.url, data.path].find((u): u is string => typeof u === 'string' && /^https?:\/\//.test(u));
  return new MedoError(miss.code, `${miss.message} (fetching it failed: ${reason})`, url !== undefined ? { ...miss.data, url } : miss.data, { cause: why });
}

async function retry<T>(source: MountSource, fetch: (oid: string) => Promise<void>, work: () => T | Promise<T>, first: unknown): Promise<T> {
  const fetched = new Set<string>();
  let error = first;
  for (;;) {
    const oid = fetchable(error);
    // Another error after a fetch is the op's real answer (ENOENT in a tree just fetched, say).
    if (oid === undefined) throw error;
    if (fetched.has(oid) || fetched.size >= MAX_FETCHES) throw error;
    fetched.add(oid);
    try {
      await sharedFetch(source, fetch, oid);
    } catch (e) {
      throw failedFetch(error as MedoError, e);
    }
    try {
      return await work();
    } catch (e) {
      error = e;
    }
  }
}

/**
 * Runs `work`; when it fails (synchronously or not) for want of an object the source can fetch, fetches it
 * and runs `work` again, until it succeeds or fails otherwise. Without a miss the work's own value comes
 * back as it is, synchronously when the work is synchronous: no promise, no microtask on the hot path.
 */
export function withFetch<T>(source: MountSource, work: () => T | Promise<T>): T | Promise<T> {
  const fetch = source.fetch;
  if (fetch === undefined) return work();
  let result: T | Promise<T>;
  try {
    result = work();
  } catch (e) {
    if (fetchable(e) === undefined) throw e;
    return retry(source, fetch, work, e);
  }
  if (result instanceof Promise) {
    return result.catch((e: unknown) => (fetchable(e) === undefined ? Promise.reject(e) : retry(source, fetch, work, e)));
  }
  return result;
}
