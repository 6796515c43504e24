// The remote silos of a medo directory in SILO.json order, in front of the host's cache silo. `ensure`
// makes an object present in the cache: it asks each remote in turn (a 404 or an error falls through to
// the next), checks what came back against the id, and only then writes it. Wrong bytes are reported
// through `onEvent` with the URL, fetched once more bypassing caches, and if still wrong that remote
// counts as failed for the object: wrong bytes are never returned and never cached.
//
// Reads of the cache stay synchronous (lib/store.ts); the network is only here, at the edge.
import { AsyncLocalStorage } from 'node:async_hooks';
import { rmSync } from 'node:fs';
import { MedoError } from '../errors.js';
import { DEFAULT_LIMITS, type RawObject, type ReadLimits } from '../git/pack-file.js';
import type { WholeEntry } from '../git/unindexed-pack.js';
import { LruCache } from '../lru-cache.js';
import { hashObject } from '../oid.js';
import type { Silo } from '../silo/silo.js';
import type { ObjectStore } from '../store.js';
import { cleanCache, storeDeflatedInCache, storeInCache, touchCached } from './cache.js';
import { HttpClient, type HttpOptions } from './http.js';
import { RemoteSilo } from './remote-silo.js';
import { fetchWholePack } from './whole-pack.js';

export type RemoteEvent =
  | { kind: 'mismatch'; oid: string; url: string; retry: boolean }
  | { kind: 'fallthrough'; oid: string; url: string; error: Error }
  | { kind: 'fetched'; oid: string; bytes: number }
  | { kind: 'pack'; url: string; bytes: number }
  | { kind: 'pack-failed'; url: string; error: Error }
  | { kind: 'evicted'; removed: number; bytes: number }
  | { kind: 'static-delta'; url: string; from: string; to: string; objects: number; bytes: number; failed: number }
  | { kind: 'static-delta-failed'; url: string; error: Error; partial?: { used: number; failed: number } }
  | { kind: 'cache-failed'; oid: string; path: string; error: Error };

export interface RemoteStoreOptions extends HttpOptions {
  limits?: ReadLimits;
  onEvent?: (e: RemoteEvent) => void;
  /** Keep the cache's loose objects at most this many bytes, evicting the least recently used. */
  maxCacheBytes?: number;
  /**
   * Fetch a whole pack (checked object by object, then installed in the cache) the first time an object
   * in it is needed, instead of Range requests per object: for prefetching whole wedges.
   */
  wholePacks?: boolean;
  /** Local silos listed in SILO.json: consulted first, never copied into the cache. */
  local?: ObjectStore;
  /** A miss in a pack list older than this many ms reads the list again (default 10 s). */
  relistAfterMs?: number;
}

// The ids whose fetch the current async call chain is inside of: a REF_DELTA base among them means the
// remote packs' delta bases form a cycle, which would otherwise be followed forever.
const fetching = new AsyncLocalStorage<ReadonlySet<string>>();

/** Memory for objects a full cache could not take (SpillStore). */
const SPILL_BYTES = 256 << 20;

export class RemoteStore {
  readonly http: HttpClient;
  readonly remotes: RemoteSilo[];
  /** Ids being read or fetched now: eviction never removes them. */
  readonly pinned = new Set<string>();
  private readonly inflight = new Map<string, Promise<RawObject>>();
  /** Whole-pack downloads by pack URL: true once installed, false when it failed (then objects one by one). */
  private readonly wholePacks = new Map<string, Promise<boolean>>();
  private readonly limits: ReadLimits;
  private readonly onEvent: (e: RemoteEvent) => void;
  private written = 0;
  /** A cache write failed (full disk, read-only): reported once. */
  private cacheFailed = false;
  /**
   * What was fetched and checked but could not be cached: a mount reads it from here (open-source.ts
   * puts it last in the mount's store chain) so a full cache disk still serves right bytes.
   */
  readonly spill = new SpillStore();

  constructor(urls: readonly string[], readonly cache: Silo, private readonly options: RemoteStoreOptions = {}) {
    this.http = new HttpClient(options);
    this.limits = options.limits ?? DEFAULT_LIMITS;
    this.onEvent = options.onEvent ?? (() => {});
    const packOptions = {
      ...this.limits,
      resolveExternal: (oid: string) => this.ensureBase(oid),
      local: (oid: string) => (this.cache.has(oid) ? this.cache.read(oid) : undefined),
      onResolved: (oid: string, obj: RawObject) => this.keep(oid, obj),
    };
    this.remotes = urls.map((u) => new RemoteSilo(u, this.http, cache.path, packOptions, options.relistAfterMs));
  }

  /** The object, from the cache or fetched (verified) into it. Throws when no silo has it intact. */
  ensure(oid: string): Promise<RawObject> {
    const hit = this.fromCache(oid);
    if (hit !== undefined) return Promise.resolve(hit);
    const outer = fetching.getStore();
    if (outer?.has(oid)) {
      return Promise.reject(new MedoError('ERR_PACK_CORRUPT', `delta bases in the remote packs form a cycle through ${oid}`, { oid }));
    }
    let p = this.inflight.get(oid);
    if (p === undefined) {
      this.pinned.add(oid);
      p = fetching.run(new Set([...(outer ?? []), oid]), () => this.fetch(oid)).finally(() => {
        this.inflight.delete(oid);
        this.pinned.delete(oid);
      });
      this.inflight.set(oid, p);
    }
    return p;
  }

  /**
   * Many objects, as `ensure` gives each, but those that sit in one remote pack are fetched as runs of
   * neighbouring entries (RemotePack.readMany), a request per run instead of per object. Whatever that
   * does not deliver intact is then fetched on its own, with ensure's retries, events and errors; objects
   * whose fetch is under way already are waited for, not asked for twice.
   */
  async ensureMany(oids: readonly string[]): Promise<Map<string, RawObject>> {
    const out = new Map<string, RawObject>();
    let missing: string[] = [];
    const underWay: string[] = [];
    for (const oid of oids) {
      const hit = this.fromCache(oid);
      if (hit !== undefined) out.set(oid, hit);
      else (this.inflight.has(oid) ? underWay : missing).push(oid);
    }
    if (missing.length > 1 && !this.options.wholePacks) {
      for (const remote of this.remotes) {
        let packs;
        try {
          packs = await remote.packList();
        } catch {
          continue; // the single reads below report it
        }
        for (const pack of packs) {
          const mine = missing.map((o) => Buffer.from(o, 'hex')).filter((k) => pack.has(k));
          if (mine.length < 2) continue;
          let got: Map<string, RawObject>;
          try {
            got = await pack.readMany(mine);
          } catch {
            continue;
          }
          for (const [oid, obj] of got) {
            if (hashObject(obj.type, obj.content) !== oid) continue; // fetched again on its own, and reported then
            this.keep(oid, obj);
            out.set(oid, obj);
          }
          missing = missing.filter((o) => !out.has(o));
        }
      }
    }
    await Promise.all([...missing, ...underWay].map(async (o) => out.set(o, await this.ensure(o))));
    return out;
  }

  /**
   * The bytes of each of `oids`' pack entries, in the first remote silo whose packs list it (an entry
   * only: a delta's bases are not counted). Silos whose pack list cannot be had, and loose remote objects
   * (their size is unknown until fetched), are left out.
   */
  async entryBytes(oids: Iterable<string>): Promise<Map<string, number>> {
    const out = new Map<string, number>();
    for (const remote of this.remotes) {
      let packs;
      try {
        packs = await remote.packList();
      } catch {
        continue;
      }
      for (const oid of oids) {
        if (out.has(oid)) continue;
        const key = Buffer.from(oid, 'hex');
        for (const pack of packs) {
          const bytes = pack.entryBytes(key);
          if (bytes === undefined) continue;
          out.set(oid, bytes);
          break;
        }
      }
    }
    return out;
  }

  /**
   * Of `oids`, those a remote pack stores in entries of at most `maxEntry` bytes each, up to `budget` bytes
   * in all, in the order given: what is cheap to fetch ahead of need (sizes as `entryBytes` gives them).
   */
  async packedWithin(oids: readonly string[], maxEntry: number, budget: number): Promise<string[]> {
    const sizes = await this.entryBytes(oids);
    const out: string[] = [];
    let total = 0;
    for (const oid of new Set(oids)) {
      const bytes = sizes.get(oid);
      if (bytes === undefined || bytes > maxEntry || total + bytes > budget) continue;
      out.push(oid);
      total += bytes;
    }
    return out;
  }

  /**
   * A REF_DELTA base from another pack or silo. It never waits on another caller's in-flight fetch:
   * with bases that name each other across packs, two such waits could wait on each other forever.
   * Only the fetches this call chain is inside of are checked, and a repeat among them is a cycle.
   */
  private ensureBase(oid: string): Promise<RawObject> {
    const hit = this.fromCache(oid);
    if (hit !== undefined) return Promise.resolve(hit);
    const outer = fetching.getStore();
    if (outer?.has(oid)) {
      return Promise.reject(new MedoError('ERR_PACK_CORRUPT', `delta bases in the remote packs form a cycle through ${oid}`, { oid }));
    }
    return fetching.run(new Set([...(outer ?? []), oid]), () => this.fetch(oid));
  }

  /** The object if a local silo or the cache holds it; never fetches. */
  held(oid: string): RawObject | undefined {
    return this.fromCache(oid);
  }

  /** Whether a local silo or the cache holds `oid`; never fetches, never reads it. */
  holds(oid: string): boolean {
    return this.options.local?.has(oid) === true || this.cache.has(oid);
  }

  /** Caches an object fetched some other way (a static delta) if, and only if, it hashes to `oid`. */
  admit(oid: string, obj: RawObject): boolean {
    if (hashObject(obj.type, obj.content) !== oid) return false;
    this.cacheChecked(oid, obj);
    return true;
  }

  /**
   * Caches a whole pack entry of a static delta as it came, without inflating it again: `entry.oid` is
   * the hash of its content (lib/git/unindexed-pack.ts computed it from the inflated bytes). False when
   * it cannot (not a blob or tree, a stream gzip cannot carry); the caller then admits the content.
   */
  admitDeflated(entry: WholeEntry): boolean {
    if (entry.type !== 'blob' && entry.type !== 'tree') return false;
    const stored = this.unlessCacheFails(entry.oid, () => storeDeflatedInCache(this.cache, entry.oid, entry.zlib, entry.size, entry.contentCrc));
    if (stored === undefined) return false;
    if (stored) this.counted(entry.oid, entry.size);
    return true;
  }

  /** Reports an event through the store's listener (for fetchers that work beside it). */
  report(e: RemoteEvent): void {
    this.onEvent(e);
  }

  private fromCache(oid: string): RawObject | undefined {
    const local = this.options.local?.read(oid);
    if (local !== undefined) return local;
    if (!this.cache.has(oid)) return this.spill.read(oid);
    const file = this.cache.loose.path(this.cache.path, oid);
    let obj: RawObject | undefined;
    try {
      obj = this.cache.read(oid);
    } catch (e) {
      // Everything in the cache was checked when written, so a loose file that fails now was damaged
      // since (a crash, a disk): it is only a cache, so drop it and fetch the object again.
      if ((e as MedoError).code !== 'ERR_OBJECT_CORRUPT' || (e as MedoError).data?.path !== file) throw e;
      rmSync(file, { force: true });
      return undefined;
    }
    if (obj !== undefined) touchCached(file);
    return obj;
  }

  private async fetch(oid: string): Promise<RawObject> {
    let firstError: Error | undefined;
    for (const remote of this.remotes) {
      try {
        if (this.options.wholePacks && (await this.installPackHolding(remote, oid))) {
          const hit = this.fromCache(oid);
          if (hit !== undefined) return hit;
        }
        const got = await this.fetchVerified(remote, oid);
        if (got === undefined) continue;
        this.keep(oid, got);
        return got;
      } catch (e) {
        firstError ??= e as Error;
        this.onEvent({ kind: 'fallthrough', oid, url: remote.url, error: e as Error });
      }
    }
    if (firstError !== undefined) throw firstError;
    throw new MedoError('ERR_OBJECT_MISSING', `object ${oid} is in none of the silos (${this.remotes.map((r) => r.url).join(', ')})`, { oid });
  }

  private async installPackHolding(remote: RemoteSilo, oid: string): Promise<boolean> {
    const pack = await remote.packHolding(oid);
    if (pack === undefined) return false;
    let p = this.wholePacks.get(pack.url);
    if (p === undefined) {
      p = fetchWholePack(pack, this.http, this.cache, (base) => this.cache.read(base)).then((bytes) => {
        this.onEvent({ kind: 'pack', url: pack.url, bytes });
        return true;
      }, (e: Error) => {
        this.onEvent({ kind: 'pack-failed', url: pack.url, error: e });
        return false;
      });
      this.wholePacks.set(pack.url, p);
    }
    return p;
  }

  private async fetchVerified(remote: RemoteSilo, oid: string): Promise<RawObject | undefined> {
    for (const retry of [false, true]) {
      let got;
      try {
        got = await remote.read(oid, retry);
      } catch (e) {
        // Bytes that do not even decode (bad zlib or gzip, an entry that breaks the pack format) are
        // wrong bytes too: worth one more try past any cache on the way.
        const code = (e as MedoError).code;
        if (retry || (code !== 'ERR_PACK_CORRUPT' && code !== 'ERR_OBJECT_CORRUPT')) throw e;
        this.onEvent({ kind: 'mismatch', oid, url: String((e as MedoError).data?.path ?? remote.url), retry: true });
        continue;
      }
      if (got === undefined) return undefined;
      if (hashObject(got.object.type, got.object.content) === oid) return got.object;
      this.onEvent({ kind: 'mismatch', oid, url: got.url, retry: !retry });
      if (retry) {
        throw new MedoError('ERR_OBJECT_CORRUPT', `${got.url}: the server sent bytes that do not hash to ${oid}, twice (once bypassing caches)`,
          { oid, path: got.url, url: got.url });
      }
    }
    return undefined;
  }

  /** Writes a verified object into the cache (blobs and trees: what a silo holds). */
  private keep(oid: string, obj: RawObject): void {
    if (hashObject(obj.type, obj.content) !== oid) return; // a delta base that is wrong is never cached
    this.cacheChecked(oid, obj);
  }

  /** Caches a blob or tree already checked against its id. */
  private cacheChecked(oid: string, obj: RawObject): void {
    if (obj.type !== 'blob' && obj.type !== 'tree') return;
    if (this.unlessCacheFails(oid, () => storeInCache(this.cache, oid, obj.content), obj)) this.counted(oid, obj.content.length);
  }

  /**
   * A cache write, where a full, read-only or forbidden cache is not the reader's failure: the object
   * was fetched and checked, so it is served all the same, from memory (`spill`, given `obj`), and
   * nothing torn is left (cache.ts removes its temp file). Reported once per store, not per object.
   * False when it did not go in.
   */
  private unlessCacheFails(oid: string, write: () => boolean | undefined, obj?: RawObject): boolean | undefined {
    try {
      return write();
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code !== 'ENOSPC' && code !== 'EDQUOT' && code !== 'EROFS' && code !== 'EACCES' && code !== 'EPERM') throw e;
      if (!this.cacheFailed) this.onEvent({ kind: 'cache-failed', oid, path: this.cache.path, error: e as Error });
      this.cacheFailed = true;
      if (obj !== undefined) this.spill.keep(oid, obj);
      return false;
    }
  }


  /** An object newly in the cache: reported, and counted towards the next trim. */
  private counted(oid: string, bytes: number): void {
    this.onEvent({ kind: 'fetched', oid, bytes });
    this.written += bytes;
    const max = this.options.maxCacheBytes;
    // Sizes on disk are gzip-compressed, so counting raw bytes checks often enough without a scan per write.
    if (max !== undefined && this.written > max / 16) this.trim(oid);
  }

  /** Evicts down to maxCacheBytes (if set), keeping what is pinned. */
  trim(alsoKeep?: string): void {
    const max = this.options.maxCacheBytes;
    if (max === undefined) return;
    this.written = 0;
    const keep = new Set(this.pinned);
    if (alsoKeep !== undefined) keep.add(alsoKeep);
    const r = cleanCache(this.cache.path, max, keep);
    if (r.removed > 0) this.onEvent({ kind: 'evicted', removed: r.removed, bytes: r.removedBytes });
  }

  close(): void {
    this.http.close();
  }
}

/**
 * Objects held in memory because the cache could not take them, the least recently used dropped first
 * past SPILL_BYTES: an op that misses one again fetches it again. Every one was checked against its id.
 */
export class SpillStore implements ObjectStore {
  readonly path = '(memory: objects the cache could not take)';
  private readonly held = new LruCache<string, RawObject>(SPILL_BYTES, (o) => o.content.length + 64);

  keep(oid: string, obj: RawObject): void {
    this.held.set(oid, obj);
  }

  read(oid: string): RawObject | undefined {
    return this.held.get(oid);
  }

  has(oid: string): boolean {
    return this.held.has(oid);
  }

  close(): void {
    this.held.clear();
  }
}
