// A second chance for the blobs delta search left whole. It tries each object against its neighbours in
// name order, which finds the other versions of its path, so what stays whole is the root of each path's
// chain: the version the others are deltas of. Its nearest kin may well have another name: TypeScript 5.7
// split lib/_tsc.js out of lib/typescript.js, and its first lib/_tsc.js was stored whole (1 MB) where
// git's window of 250 finds a 28 KB delta against lib/typescript.js; and gcc-12's driver (1.3 MB) is a
// 191 KB delta of its cc1 (33 MB), another name 25 times its size. So each large blob left whole is tried
// against the few blobs of other paths nearest its size, from half to 32 times it (git's bound for a
// base), with the same extension (git's size-sorted window, narrowed by what medo knows: paths), and
// kept as a delta when that is smaller deflated. The new entries go to a fragment of their own as
// REF_DELTAs; repack.ts writes them in place of the whole ones, each after its base. No chain may loop or
// pass the depth limit.
import { deflateTight } from '../deflate.js';
import { MedoError } from '../errors.js';
import { applyDelta } from '../git/delta.js';
import { DeltaIndex, MAX_DELTA_BASE, createDelta } from '../git/delta-encode.js';
import { FragmentWriter, type FragmentEntry } from '../git/pack-fragment.js';
import { OID_BYTES, hashObject } from '../oid.js';
import { baseName, extensionOf, nearestInSize } from './delta-plan.js';
import type { DeltaParams, PlannedObject } from './delta-search.js';
import type { Silo } from './silo.js';

/** Blobs smaller than this are left as delta search made them: the gain is small, the search is not. */
export const ORPHAN_MIN_BYTES = 64 << 10;
/** Candidates tried per orphan. */
const CANDIDATES = 3;

interface Known {
  entry: FragmentEntry;
  path: string;
  size: number;
}

/**
 * Deltifies the orphans among `entries` (every entry of the new pack, by id; `objects` and `paths` are the
 * plan's) into a fragment at `fragment`; returns its entries, how many and the deepest chain it made, or
 * undefined when there was nothing to do.
 */
export function deltifyOrphans(silo: Silo, entries: ReadonlyMap<string, FragmentEntry>, objects: readonly PlannedObject[],
  paths: ReadonlyMap<string, string>, params: DeltaParams, fragment: string): { entries: FragmentEntry[]; deltas: number; maxDepth: number } | undefined {
  if (params.window === 0) return undefined;
  const blobs: Known[] = [];
  for (const o of objects) {
    const path = paths.get(o.oid) ?? '';
    const entry = entries.get(o.oid);
    if (o.type !== 'blob' || path === '' || entry === undefined) continue;
    if (o.size >= ORPHAN_MIN_BYTES / 2) blobs.push({ entry, path, size: o.size });
  }
  const orphans = blobs.filter((b) => b.entry.base === undefined && b.size >= ORPHAN_MIN_BYTES && b.size <= params.maxDeltaObject);
  if (orphans.length === 0) return undefined;
  const byExt = new Map<string, Known[]>();
  for (const b of blobs) {
    const ext = extensionOf(b.path);
    const list = byExt.get(ext);
    if (list === undefined) byExt.set(ext, [b]);
    else list.push(b);
  }

  // The chains as they stand, updated as orphans gain bases.
  const base = new Map<string, string>();
  const children = new Map<string, string[]>();
  const link = (oid: string, to: string): void => {
    base.set(oid, to);
    const list = children.get(to);
    if (list === undefined) children.set(to, [oid]);
    else list.push(oid);
  };
  for (const [oid, e] of entries) if (e.base !== undefined) link(oid, e.base);
  const depth = (oid: string): number => {
    let d = 0;
    for (let at = base.get(oid); at !== undefined; at = base.get(at)) d++;
    return d;
  };
  const height = (oid: string): number => {
    let h = 0;
    for (const c of children.get(oid) ?? []) h = Math.max(h, 1 + height(c));
    return h;
  };
  const below = (oid: string, root: string): boolean => {
    for (let at: string | undefined = oid; at !== undefined; at = base.get(at)) if (at === root) return true;
    return false;
  };

  const read = (oid: string): Buffer => {
    const o = silo.read(oid);
    if (o === undefined || o.type !== 'blob' || hashObject('blob', o.content) !== oid) {
      throw new MedoError('ERR_OBJECT_CORRUPT', `${oid} could not be read back from ${silo.path} as the blob it names`, { oid });
    }
    return o.content;
  };

  const out = new FragmentWriter(fragment);
  let deltas = 0;
  let maxDepth = 0;
  try {
    // Smallest first: a delta that removes is smaller than one that adds, so the larger of two kin is
    // better left whole as the other's base.
    for (const o of orphans.sort((a, b) => a.size - b.size)) {
      const wholeBytes = o.entry.length - o.entry.headerLength;
      const tall = height(o.entry.oid);
      // (Files of one name delta search's window, in name order, has already tried side by side.)
      const pool = nearestInSize(byExt.get(extensionOf(o.path)) ?? [], o.size, (c) => c.path)
        .filter((c) => baseName(c.path) !== baseName(o.path) && c.size <= MAX_DELTA_BASE);
      let target: Buffer | undefined;
      let best: { base: string; delta: Buffer; packed: Buffer } | undefined;
      let tried = 0;
      for (const c of pool) {
        if (tried >= CANDIDATES) break;
        if (below(c.entry.oid, o.entry.oid) || depth(c.entry.oid) + 1 + tall > params.depth) continue;
        tried++;
        target ??= read(o.entry.oid);
        const content = read(c.entry.oid);
        const delta = createDelta(new DeltaIndex(content), target, Math.min(Math.floor(target.length / 2) - OID_BYTES, best?.delta.length ?? Infinity));
        if (delta === undefined) continue;
        if (!applyDelta(content, delta, target.length).equals(target)) {
          throw new MedoError('ERR_INTERNAL', `delta encoder: the delta of ${o.entry.oid} against ${c.entry.oid} does not rebuild it`, { oid: o.entry.oid });
        }
        const packed = deflateTight(delta, params.level);
        if (packed.length < wholeBytes && (best === undefined || packed.length < best.packed.length)) best = { base: c.entry.oid, delta, packed };
      }
      if (best === undefined) continue;
      out.addRefDelta(o.entry.oid, best.base, best.delta.length, best.packed);
      link(o.entry.oid, best.base);
      deltas++;
      maxDepth = Math.max(maxDepth, depth(o.entry.oid) + tall);
    }
    out.close();
  } catch (e) {
    out.discard();
    throw e;
  }
  if (deltas === 0) {
    out.discard();
    return undefined;
  }
  return { entries: out.entries, deltas, maxDepth };
}
