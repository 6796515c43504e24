// The fetching half of a mount over remote silos. Reads stay what they are for any medo directory:
// synchronous reads of the local silos and of the host's cache silo (lib/remote/cache.ts). What the cache
// lacks is fetched here, through a RemoteStore (verified against its id, retried, never cached when wrong)
// when an op misses it (MountSource.fetch, driven by fetch-on-miss.ts), and then read like the rest. A
// cached copy torn by a crash fails its check when read, and RemoteStore drops it and fetches it again.
//
// Read-ahead: a reader that misses two objects of one listed directory is taken to be going through it
// (`ls -l`, `tar`, a build reading its sources), and the directory's other small entries that the cache
// lacks are fetched as one batch (RemoteStore.ensureMany: neighbours in a remote pack share a Range
// request); an op that misses one of them waits for the batch instead of asking on its own. One file read
// by name fetches only what it needs, and a listing alone (`find`, `ls`) fetches only trees: neither is
// worth a directory's worth of downloads. Large entries are left to their own misses.
//
// The ids this process fetched lately are published as pins (pins/<pid> in the cache), so that a
// `medo cache clean` elsewhere does not evict what a reader is about to read; one list per process and
// cache, since medod serves many mounts from one process.
import { rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { MedoError } from '../errors.js';
import { MODE_GITLINK, type TreeEntry } from '../git/tree.js';
import type { MedoDir } from '../medo/medo-dir.js';
import { cacheDirFrom, openCache, writePins } from '../remote/cache.js';
import { RemoteStore, type RemoteEvent, type RemoteStoreOptions } from '../remote/remote-store.js';
import { fetchStaticDeltas } from '../remote/static-delta.js';
import type { Silo } from '../silo/silo.js';
import { StoreChain } from '../store-chain.js';
import type { ObjectStore } from '../store.js';

export interface MountRemoteOptions {
  /** The host cache (default $MEDO_CACHE_DIR, else /var/cache/medo). */
  cacheDir?: string;
  /** HTTP and fetch settings; timeoutMs defaults to $MEDO_HTTP_TIMEOUT seconds, else 30 s. */
  store?: Omit<RemoteStoreOptions, 'local' | 'onEvent' | 'maxCacheBytes'>;
  /** A bad server (wrong bytes, a silo that failed and the next one answered): for the log. */
  onEvent?: (e: RemoteEvent) => void;
  /** Read-ahead of a listed directory's small entries after two misses in it (default true; MEDO_MOUNT_PREFETCH=0 turns it off). */
  prefetch?: boolean;
}

/** Ids kept pinned per process and cache: the most recently fetched. */
const RECENT_PINS = 4096;
/** Pins are written at most this often (each write is an fsync'ed rename, on the thread that serves ops). */
const PIN_WRITE_MS = 1000;
/** Read-ahead: entries up to this size as stored (compressed) ... */
const AHEAD_ENTRY_BYTES = 256 << 10;
/** ... and this much per directory: one of RemotePack.readMany's runs at most. */
const AHEAD_BATCH_BYTES = 8 << 20;
/** Listed directories remembered for read-ahead (their entries), and entry ids mapped to them: bounds on memory. */
const LISTINGS_KEPT = 1024;
const PARENTS_KEPT = 100_000;

class ProcessPins {
  private readonly recent = new Map<string, true>();
  private timer: NodeJS.Timeout | undefined;
  users = 0;

  constructor(private readonly cacheDir: string) {}

  add(oid: string): void {
    this.recent.delete(oid);
    this.recent.set(oid, true);
    if (this.recent.size > RECENT_PINS) this.recent.delete(this.recent.keys().next().value!);
    this.timer ??= setTimeout(() => {
      this.timer = undefined;
      this.write();
    }, PIN_WRITE_MS).unref();
  }

  private write(): void {
    try {
      writePins(this.cacheDir, this.recent.keys());
    } catch {
      // a read-only cache: nobody can evict from it either
    }
  }

  close(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    rmSync(join(this.cacheDir, 'pins', String(process.pid)), { force: true });
  }
}

const pinsByCache = new Map<string, ProcessPins>();

function timeoutFromEnv(env: NodeJS.ProcessEnv): number | undefined {
  const text = env.MEDO_HTTP_TIMEOUT;
  if (text === undefined || text === '') return undefined;
  const sec = Number(text);
  if (!(Number.isFinite(sec) && sec > 0)) throw new MedoError('ERR_USAGE', `MEDO_HTTP_TIMEOUT must be a positive number of seconds, got ${JSON.stringify(text)}`);
  return sec * 1000;
}

export class RemoteFetcher {
  private readonly pins: ProcessPins;
  private closed = false;
  /** Directories listed lately, by tree id: what a read-ahead would fetch. */
  private readonly listings = new Map<string, readonly TreeEntry[]>();
  /** Entry id -> the listed tree holding it (one of them, for an id found in several). */
  private readonly parents = new Map<string, string>();
  /** Per listed tree: the first object that missed in it, or true once its read-ahead has started. */
  private readonly misses = new Map<string, string | true>();
  /** Ids in a read-ahead batch now: a miss on one waits for its batch. */
  private readonly batched = new Map<string, Promise<void>>();
  /** Root tree -> the roots of its .treeptr: a miss on it first tries a static delta (static-delta.ts). */
  private readonly deltaRoots = new Map<string, string[]>();
  private readonly deltaRuns = new Map<string, Promise<void>>();

  constructor(readonly remote: RemoteStore, private readonly cache: Silo, private readonly local: ObjectStore, private readonly readAhead = true) {
    const dir = resolve(cache.path);
    let pins = pinsByCache.get(dir);
    if (pins === undefined) pinsByCache.set(dir, (pins = new ProcessPins(dir)));
    pins.users++;
    this.pins = pins;
  }

  /** Makes `oid` readable from the cache (see MountSource.fetch). */
  readonly fetch = async (oid: string): Promise<void> => {
    if (this.closed) throw new MedoError('ERR_REMOTE', `the mount is closing: ${oid} is not fetched`, { oid });
    this.pins.add(oid);
    this.missed(oid);
    await this.batched.get(oid);
    const roots = this.deltaRoots.get(oid);
    if (roots !== undefined) {
      let run = this.deltaRuns.get(oid);
      // Whatever goes wrong in it was reported; the per-object fetch below does the work then.
      if (run === undefined) this.deltaRuns.set(oid, (run = fetchStaticDeltas(this.remote, roots).then(() => undefined, () => undefined)));
      await run;
    }
    await this.remote.ensure(oid);
  };

  /**
   * A .treeptr this mount serves (its tree, then its sidecar): the first miss on its tree fetches a
   * static delta to it when a remote silo offers one from a version this host holds. Off when
   * MEDO_STATIC_DELTAS=0.
   */
  offerStaticDeltas(roots: readonly string[]): void {
    if (process.env.MEDO_STATIC_DELTAS === '0' || roots.length === 0) return;
    this.deltaRoots.set(roots[0]!, [...roots]);
  }

  /** Directory `tree` was listed with these entries (TreeSource's onList): remembered, nothing fetched. */
  readonly listed = (tree: string, entries: readonly TreeEntry[]): void => {
    if (!this.readAhead || this.listings.has(tree)) return;
    // Forgotten wholesale at the bound: a read-ahead missed now and then costs nothing but latency.
    if (this.listings.size >= LISTINGS_KEPT) {
      this.listings.clear();
      this.misses.clear();
    }
    if (this.parents.size + entries.length > PARENTS_KEPT) this.parents.clear();
    this.listings.set(tree, entries);
    for (const e of entries) if (e.mode !== MODE_GITLINK) this.parents.set(e.oid, tree);
  };

  /** Counts a miss against the listed directory holding `oid`; a second object missing there starts its read-ahead. */
  private missed(oid: string): void {
    const tree = this.parents.get(oid);
    if (tree === undefined) return;
    const first = this.misses.get(tree);
    if (first === undefined) this.misses.set(tree, oid);
    if (first === undefined || first === true || first === oid) return;
    this.misses.set(tree, true);
    const entries = this.listings.get(tree);
    // Only a guess: whatever goes wrong in it, the ops that need these objects fetch them and say why.
    if (entries !== undefined) this.fetchAhead(entries, oid).catch(() => undefined);
  }

  private async fetchAhead(entries: readonly TreeEntry[], asked: string): Promise<void> {
    // The one asked for is being fetched already; the others only if neither the cache nor a local silo has them.
    const wanted = [...new Set(entries.filter((e) => e.mode !== MODE_GITLINK).map((e) => e.oid))]
      .filter((o) => o !== asked && !this.batched.has(o) && !this.cache.has(o) && !this.local.has(o));
    if (wanted.length === 0) return;
    const batch = await this.remote.packedWithin(wanted, AHEAD_ENTRY_BYTES, AHEAD_BATCH_BYTES);
    if (batch.length === 0 || this.closed) return;
    for (const o of batch) this.pins.add(o);
    const done = this.remote.ensureMany(batch).then(() => undefined, () => undefined);
    for (const o of batch) this.batched.set(o, done);
    await done;
    for (const o of batch) if (this.batched.get(o) === done) this.batched.delete(o);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.remote.close();
    this.cache.close();
    if (--this.pins.users === 0) {
      this.pins.close();
      pinsByCache.delete(resolve(this.cache.path));
    }
  }
}

/**
 * The store a mount of `medo` reads: its local silos and, when SILO.json lists URLs, the host cache (created
 * if need be) with a fetcher for what it lacks. A cache that cannot be created is a problem to report, not
 * a failure, when a local silo is there to serve: the mount then serves what it holds, as offline.
 */
export function openMedoStore(medo: MedoDir, options: MountRemoteOptions = {}, problems: string[] = []): { store: StoreChain; fetcher?: RemoteFetcher } {
  const urls = medo.remoteUrls();
  const cacheDir = cacheDirFrom(options.cacheDir);
  if (urls.length === 0) return { store: medo.openStore({ cacheDir }) };
  const timeoutMs = options.store?.timeoutMs ?? timeoutFromEnv(process.env);
  let cache: Silo;
  try {
    cache = openCache(cacheDir);
  } catch (e) {
    let store: StoreChain;
    try {
      store = medo.openStore({ cacheDir });
    } catch {
      throw e; // nothing to serve from: why the cache is unusable is the error that matters
    }
    problems.push(`${(e as Error).message}: objects of the remote silos are not fetched`);
    return { store };
  }
  let store: StoreChain;
  try {
    store = medo.openStore({ cacheDir });
  } catch (e) {
    cache.close();
    throw e;
  }
  // What RemoteStore consults before fetching: the local silos, not the cache (it reads that itself).
  const local = new StoreChain(store.stores.filter((s) => resolve(s.path) !== resolve(cacheDir)), medo.root);
  const remote = new RemoteStore(urls, cache, {
    ...options.store,
    ...(timeoutMs !== undefined ? { timeoutMs } : {}),
    local,
    ...(options.onEvent !== undefined ? { onEvent: options.onEvent } : {}),
  });
  // With whole packs, a batch would only ask for the packs its objects are in, one by one.
  const readAhead = (options.prefetch ?? process.env.MEDO_MOUNT_PREFETCH !== '0') && !options.store?.wholePacks;
  // Last in the chain: what a cache that cannot be written (a full disk) did not take.
  return { store: new StoreChain([...store.stores, remote.spill], store.path), fetcher: new RemoteFetcher(remote, cache, local, readAhead) };
}
