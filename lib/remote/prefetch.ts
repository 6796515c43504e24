// Warming the cache for whole wedges: every tree and blob below the given roots is made present in the
// cache, a bounded number of jobs at a time. Trees are read as they arrive, so the walk and the fetches
// overlap. The blobs of one tree go as one batch (RemoteStore.ensureMany), so that neighbours in a
// remote pack share a Range request; blobs are not kept in memory once cached.
import { MODE_GITLINK, MODE_TREE, parseTree } from '../git/tree.js';
import type { RawObject } from '../git/pack-file.js';
import type { RemoteStore } from './remote-store.js';

export interface PrefetchProgress {
  objects: number;
  bytes: number;
}

export interface PrefetchOptions {
  /** Jobs in flight (default 16: enough to keep the HTTP client's own limit busy). */
  parallel?: number;
  onObject?: (p: PrefetchProgress) => void;
  /** Blobs not to fetch (the host has them some other way); they are not counted. */
  skipBlob?: (oid: string) => boolean;
}

/** Blobs per batch: bounds the memory one batch holds (its runs and inflated objects). */
const BATCH = 256;

type Job = { oids: string[] };

/** Ensures every object reachable from `roots` (tree or blob ids) is in the cache. */
export async function prefetch(store: RemoteStore, roots: readonly string[], options: PrefetchOptions = {}): Promise<PrefetchProgress> {
  const parallel = options.parallel ?? 16;
  const progress: PrefetchProgress = { objects: 0, bytes: 0 };
  // A root may be a blob (a .treeptr of one file): each root is its own job, and only trees have children.
  const queue: Job[] = [...new Set(roots)].map((oid) => ({ oids: [oid] }));
  const seen = new Set<string>(roots);
  let active = 0;
  let failure: unknown;
  const done = (oid: string, obj: RawObject): void => {
    progress.objects++;
    progress.bytes += obj.content.length;
    options.onObject?.(progress);
    if (obj.type !== 'tree') return;
    const blobs: string[] = [];
    for (const e of parseTree(obj.content, oid)) {
      if (e.mode === MODE_GITLINK || seen.has(e.oid)) continue;
      seen.add(e.oid);
      if (e.mode === MODE_TREE) queue.push({ oids: [e.oid] });
      else if (options.skipBlob?.(e.oid) !== true) blobs.push(e.oid);
    }
    for (let i = 0; i < blobs.length; i += BATCH) queue.push({ oids: blobs.slice(i, i + BATCH) });
  };
  return new Promise((resolve, reject) => {
    const pump = (): void => {
      if (failure !== undefined) {
        if (active === 0) reject(failure);
        return;
      }
      while (active < parallel && queue.length > 0) {
        const job = queue.shift()!;
        active++;
        const run = job.oids.length === 1
          ? store.ensure(job.oids[0]!).then((obj) => done(job.oids[0]!, obj))
          : store.ensureMany(job.oids).then((got) => {
            for (const oid of job.oids) done(oid, got.get(oid)!);
          });
        run.then(() => {
          active--;
          pump();
        }, (e: unknown) => {
          active--;
          failure ??= e;
          pump();
        });
      }
      if (active === 0 && queue.length === 0) resolve(progress);
    };
    pump();
  });
}
