// The client side of static deltas (lib/silo/static-delta.ts writes them). Before a wedge is fetched
// object by object, each remote silo's derived/deltas/TO.list is read (a 404: none); a FROM it lists
// that this host holds whole (every object of FROM in a local silo or the cache, or FROM named with
// --have) is taken, the smallest pack first: derived/deltas/FROM-TO.pack alone, checked against the size
// the listing gives and its SHA-1 trailer, and indexed here as git index-pack would (its .idx is not
// fetched: it would be over half of a small delta's bytes, and could not be trusted before every object
// is hashed anyway). Then every entry is resolved against the host's own copy of FROM and hashed for its
// id; only what resolves goes into the cache. An entry that fails (a base the host lacks because the
// delta was built against another FROM, a delta bomb over the size limit) is skipped and reported, and
// the usual per-object fetch that follows delivers it; a pack that fails as a whole (wrong bytes,
// truncated) is not used at all. Nothing here is trusted before it is checked.
import { createHash } from 'node:crypto';
import { MedoError } from '../errors.js';
import type { RawObject } from '../git/pack-file.js';
import { MODE_GITLINK, MODE_TREE, parseTree } from '../git/tree.js';
import { openUnindexedPack } from '../git/unindexed-pack.js';
import { hashObject } from '../oid.js';
import { deltaPackPath, deltasToPath, parseDeltasTo } from '../silo/static-delta.js';
import type { RemoteSilo } from './remote-silo.js';
import type { RemoteStore } from './remote-store.js';

/** A static delta a remote offers: derived/deltas/FROM-TO.pack, of `packBytes`. */
export interface OfferedDelta {
  from: string;
  to: string;
  packBytes: number;
}

/** Objects a host holds outside its silos and cache: an expanded older version (lib/medo/old-copy.ts). */
export interface OtherBases {
  /** Whether every object below `tree` can be had from here. */
  hasTree(tree: string): boolean;
  /** The object, if it can be had from here (checked against its id). */
  base(oid: string): RawObject | undefined;
}

export interface StaticDeltaOptions {
  /** FROM trees to use (--have); default: any FROM the host holds whole. */
  have?: readonly string[];
  /** More delta bases (and FROMs) than the silos and the cache hold. */
  also?: OtherBases;
}

export interface StaticDeltaResult {
  url: string;
  entry: OfferedDelta;
  /** Objects checked and cached. */
  objects: number;
  /** Entries that failed their check (fetched one by one later). */
  failed: number;
  /** Bytes downloaded: the listing and the pack. */
  bytes: number;
}

/** Largest static delta pack fetched (it is read into memory whole). */
const MAX_DELTA_PACK = 1 << 30;

/**
 * Applies, for each root not held yet, the best static delta a remote silo offers (the smallest pack
 * among those whose FROM this host holds). Returns what was applied; failures are reported as events
 * and leave the per-object path to do the work.
 */
export async function fetchStaticDeltas(store: RemoteStore, roots: readonly string[], options: StaticDeltaOptions = {}): Promise<StaticDeltaResult[]> {
  const wanted = roots.filter((r) => !store.holds(r));
  if (wanted.length === 0) return [];
  const whole = new Map<string, boolean>();
  const holdsWhole = (tree: string): boolean => {
    let v = whole.get(tree);
    if (v === undefined) {
      v = holdsTree(store, tree);
      whole.set(tree, v);
    }
    return v;
  };
  const results: StaticDeltaResult[] = [];
  for (const remote of store.remotes) {
    for (const to of wanted) {
      if (store.holds(to) || results.some((r) => r.entry.to === to)) continue;
      const listing = await deltasInto(store, remote, to);
      const offered = listing.offered.filter((e) => (options.have === undefined ? holdsWhole(e.from) || options.also?.hasTree(e.from) === true : options.have.includes(e.from)));
      offered.sort((a, b) => a.packBytes - b.packBytes);
      for (const entry of offered) {
        try {
          const r = await applyDelta(store, remote, entry, options.also);
          r.bytes += listing.bytes;
          store.report({ kind: 'static-delta', url: r.url, from: entry.from, to: entry.to, objects: r.objects, bytes: r.bytes, failed: r.failed });
          results.push(r);
          break;
        } catch (e) {
          store.report({ kind: 'static-delta-failed', url: `${remote.url}${deltaPackPath(entry.from, entry.to)}.pack`, error: e as Error });
        }
      }
    }
  }
  return results;
}

/** The deltas into `to` a remote offers; none when it has none, or they cannot be had or read (reported). */
async function deltasInto(store: RemoteStore, remote: RemoteSilo, to: string): Promise<{ offered: OfferedDelta[]; bytes: number }> {
  const url = `${remote.url}${deltasToPath(to)}`;
  try {
    const text = await store.http.get(url);
    if (text === undefined) return { offered: [], bytes: 0 };
    const from = parseDeltasTo(text.toString('utf8'), url);
    return { offered: [...from].map(([f, packBytes]) => ({ from: f, to, packBytes })), bytes: text.length };
  } catch (e) {
    store.report({ kind: 'static-delta-failed', url, error: e as Error });
    return { offered: [], bytes: 0 };
  }
}

/** Whether every object below `tree` is held here (trees are read, blobs only looked up). */
export function holdsTree(store: RemoteStore, tree: string): boolean {
  const stack = [tree];
  const seen = new Set<string>();
  while (stack.length > 0) {
    const oid = stack.pop()!;
    if (seen.has(oid)) continue;
    seen.add(oid);
    let o: RawObject | undefined;
    try {
      o = store.held(oid);
    } catch {
      return false;
    }
    if (o === undefined || o.type !== 'tree') return false;
    for (const e of parseTree(o.content, oid)) {
      if (e.mode === MODE_GITLINK) continue;
      if (e.mode === MODE_TREE) stack.push(e.oid);
      else if (!store.holds(e.oid)) return false;
    }
  }
  return true;
}

async function applyDelta(store: RemoteStore, remote: RemoteSilo, entry: OfferedDelta, also: OtherBases | undefined): Promise<StaticDeltaResult> {
  const url = `${remote.url}${deltaPackPath(entry.from, entry.to)}.pack`;
  const fail = (why: string): never => {
    throw new MedoError('ERR_REMOTE', `${url}: ${why}`, { path: url, url });
  };
  if (entry.packBytes > MAX_DELTA_PACK) fail(`${entry.packBytes} bytes, over the ${MAX_DELTA_PACK}-byte limit for a static delta`);
  const pack = await store.http.get(url);
  if (pack === undefined) fail('listed in the delta listing but not on the server (404)');
  if (pack!.length !== entry.packBytes) fail(`${pack!.length} bytes, but the delta listing says ${entry.packBytes}`);
  const { file, offsets, whole } = openUnindexedPack(pack!, url, { baseCacheBytes: 64 << 20 });
  // Deltas resolved so far, by id: a REF_DELTA may name an object of this pack that is itself a delta.
  const resolved = new Map<string, number>();
  const base = (oid: string): RawObject | undefined => {
    const held = store.held(oid) ?? also?.base(oid);
    if (held !== undefined) return held;
    const at = resolved.get(oid);
    return at === undefined ? undefined : file.readAt(at, base);
  };
  let objects = 0;
  let failed = 0;
  let firstError: Error | undefined;
  try {
    for (const at of offsets) {
      try {
        // A whole entry goes into the cache as it came: indexing hashed it, and its zlib stream is the
        // cache file's deflate data (a large file was inflated, hashed and deflated twice more otherwise).
        const w = whole.get(at);
        if (w !== undefined && store.admitDeflated(w)) {
          resolved.set(w.oid, at);
          objects++;
          continue;
        }
        const o = file.readAt(at, base);
        const oid = hashObject(o.type, o.content);
        resolved.set(oid, at);
        if (store.admit(oid, o)) objects++;
      } catch (e) {
        failed++;
        firstError ??= e as Error;
      }
    }
  } finally {
    file.close();
  }
  if (objects === 0 && firstError !== undefined) throw firstError;
  // Some entries could not be used (a base this host lacks, say): the rest were, and those are fetched alone.
  if (firstError !== undefined) store.report({ kind: 'static-delta-failed', url, error: firstError, partial: { used: objects, failed } });
  return { url, entry, objects, failed, bytes: pack!.length };
}
