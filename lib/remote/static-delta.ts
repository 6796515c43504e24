// The client side of static deltas (lib/silo/static-delta.ts writes them). Before a wedge is fetched
// object by object, each remote silo's derived/deltas/index.json is read (a 404: none); an entry whose
// TO is the wanted tree and whose FROM this host holds whole (every object of FROM in a local silo or the
// cache, or FROM named with --have) is fetched: its .idx and .pack, checked against the sizes the index
// gives and their SHA-1 trailers, the .idx naming the pack's checksum. Then every entry is resolved
// against the host's own copy of FROM and hashed against the id the .idx gives it; only objects that
// match go into the cache. An entry that fails (wrong bytes, a base the host lacks because the delta was
// built against another FROM, a delta bomb over the size limit) is skipped and reported, and the usual
// per-object fetch that follows delivers it. Nothing here is trusted before it is checked.
import { createHash } from 'node:crypto';
import { MedoError } from '../errors.js';
import { PackFile, type RawObject } from '../git/pack-file.js';
import { PackIndex } from '../git/pack-idx.js';
import { MODE_GITLINK, MODE_TREE, parseTree } from '../git/tree.js';
import { BufferSource } from '../io/random-access.js';
import { OID_BYTES, oidFromBytes } from '../oid.js';
import { DELTA_INDEX, parseDeltaIndex, type StaticDeltaEntry } from '../silo/static-delta.js';
import type { RemoteSilo } from './remote-silo.js';
import { idxIntact } from './remote-silo.js';
import type { RemoteStore } from './remote-store.js';

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
  entry: StaticDeltaEntry;
  /** Objects checked and cached. */
  objects: number;
  /** Entries that failed their check (fetched one by one later). */
  failed: number;
  /** Bytes downloaded: the .idx and the .pack. */
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
    const entries = await deltaIndex(store, remote);
    for (const to of wanted) {
      if (store.holds(to) || results.some((r) => r.entry.to === to)) continue;
      const offered = entries.filter((e) => e.to === to
        && (options.have === undefined ? holdsWhole(e.from) || options.also?.hasTree(e.from) === true : options.have.includes(e.from)));
      offered.sort((a, b) => a.packBytes - b.packBytes);
      for (const entry of offered) {
        try {
          const r = await applyDelta(store, remote, entry, options.also);
          store.report({ kind: 'static-delta', url: r.url, from: entry.from, to: entry.to, objects: r.objects, bytes: r.bytes, failed: r.failed });
          results.push(r);
          break;
        } catch (e) {
          store.report({ kind: 'static-delta-failed', url: `${remote.url}derived/deltas/${entry.pack}.pack`, error: e as Error });
        }
      }
    }
  }
  return results;
}

/** A remote's delta index; none when it has none, or it cannot be had or read (reported). */
async function deltaIndex(store: RemoteStore, remote: RemoteSilo): Promise<StaticDeltaEntry[]> {
  const url = `${remote.url}derived/deltas/${DELTA_INDEX}`;
  try {
    const text = await store.http.get(url);
    return text === undefined ? [] : parseDeltaIndex(text.toString('utf8'), url).deltas;
  } catch (e) {
    store.report({ kind: 'static-delta-failed', url, error: e as Error });
    return [];
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

async function applyDelta(store: RemoteStore, remote: RemoteSilo, entry: StaticDeltaEntry, also: OtherBases | undefined): Promise<StaticDeltaResult> {
  const base = `${remote.url}derived/deltas/${entry.pack}`;
  const fail = (url: string, why: string): never => {
    throw new MedoError('ERR_REMOTE', `${url}: ${why}`, { path: url, url });
  };
  if (entry.packBytes > MAX_DELTA_PACK) fail(`${base}.pack`, `${entry.packBytes} bytes, over the ${MAX_DELTA_PACK}-byte limit for a static delta`);
  const idxBuf = await store.http.get(`${base}.idx`);
  if (idxBuf === undefined) fail(`${base}.idx`, 'listed in the delta index but not on the server (404)');
  if (!idxIntact(idxBuf!, entry.idxBytes)) fail(`${base}.idx`, `not the ${entry.idxBytes} bytes the delta index names, or fails its own checksum`);
  const packBuf = await store.http.get(`${base}.pack`);
  if (packBuf === undefined) fail(`${base}.pack`, 'listed in the delta index but not on the server (404)');
  const pack = packBuf!;
  if (pack.length !== entry.packBytes) fail(`${base}.pack`, `${pack.length} bytes, but the delta index says ${entry.packBytes}`);
  const trailer = pack.subarray(pack.length - OID_BYTES);
  if (!createHash('sha1').update(pack.subarray(0, pack.length - OID_BYTES)).digest().equals(trailer)) fail(`${base}.pack`, 'its SHA-1 trailer does not match its content');
  const idxPackSum = idxBuf!.subarray(idxBuf!.length - 2 * OID_BYTES, idxBuf!.length - OID_BYTES);
  if (!idxPackSum.equals(trailer)) fail(`${base}.idx`, 'names another pack than the one served');
  const index = PackIndex.open(new BufferSource(idxBuf!, `${base}.idx`));
  const file = new PackFile(index, new BufferSource(pack, `${base}.pack`), { baseCacheBytes: 64 << 20 });
  let objects = 0;
  let failed = 0;
  let firstError: Error | undefined;
  try {
    for (let i = 0; i < index.count; i++) {
      const oid = oidFromBytes(index.oidAt(i));
      try {
        const o = file.readAt(index.offsetAt(i), (b) => store.held(b) ?? also?.base(b));
        if (store.admit(oid, o)) objects++;
        else throw new MedoError('ERR_OBJECT_CORRUPT', `${base}.pack: the entry for ${oid} resolves to other bytes`, { oid, url: `${base}.pack` });
      } catch (e) {
        failed++;
        firstError ??= e as Error;
      }
    }
  } finally {
    file.close();
  }
  if (objects === 0 && firstError !== undefined) throw firstError;
  if (firstError !== undefined) store.report({ kind: 'static-delta-failed', url: `${base}.pack`, error: firstError });
  return { url: `${base}.pack`, entry, objects, failed, bytes: idxBuf!.length + pack.length };
}
