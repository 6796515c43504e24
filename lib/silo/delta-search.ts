// Delta search, git's way (pack-objects' find_deltas): walk the objects in the planned order (delta-plan.ts
// puts versions of one path next to each other), try each against the last few objects of its type (the
// window), and keep the smallest delta that beats both half the object and the deltas already found, with
// the chain depth bounded; unlike git, a delta is then kept only when it is smaller in the pack (deflated)
// than the object whole. Output is a pack fragment (git/pack-fragment.ts): the whole objects and
// OFS_DELTAs in order, every base before its deltas.
//
// It runs on a piscina worker thread (compiled: dist/lib/silo/delta-search.js, through
// delta-worker-entry.cjs), one task per slice of the plan, or inline on the calling thread. Every object
// is read back and checked against its id before it is used, and every delta is applied once and
// compared with its target before it is written, so an encoder fault can cost space but never data.
import { deflateTight } from '../deflate.js';
import { MedoError, isMedoError, type ErrorAsData } from '../errors.js';
import { applyDelta } from '../git/delta.js';
import { DeltaIndex, MAX_DELTA_BASE, createDelta } from '../git/delta-encode.js';
import type { PackFile } from '../git/pack-file.js';
import { FragmentWriter, type FragmentEntry } from '../git/pack-fragment.js';
import { OID_BYTES, type ObjectType } from '../oid.js';
import { loadPackEntry } from './pack-rewrite.js';
import { Silo } from './silo.js';

/** Bumped whenever the task or result shape changes, so a stale compiled worker is caught, not misread. */
export const DELTA_PROTOCOL = 2;

export type ObjectSource = { pack: string; offset: number; length: number } | { loose: true };

export interface PlannedObject {
  oid: string;
  type: ObjectType;
  size: number;
  src: ObjectSource;
  /** nameHash of its path (delta-plan.ts): slices of a plan are cut only where it changes. */
  hash: number;
}

export interface DeltaParams {
  /** Objects each one is tried against (git's --window; 0 stores everything whole). */
  window: number;
  /** Longest delta chain (git's --depth). */
  depth: number;
  /** Bytes the window may hold, contents and indexes together; the oldest go first. */
  windowMemory: number;
  /** Objects larger than this are stored whole and never used as bases (git's core.bigFileThreshold). */
  maxDeltaObject: number;
  /** zlib level for new entries. */
  level: number;
}

export const DEFAULT_DELTA_PARAMS: DeltaParams = {
  window: 10, depth: 50, windowMemory: 256 << 20, maxDeltaObject: 512 << 20, level: 6,
};

/** Objects smaller than this are not worth a delta (git's rule too). */
const MIN_DELTA_OBJECT = 50;

/**
 * A delta whose compressed size is at most 1/this of its object's raw size is kept without deflating the
 * object whole to compare: text seldom compresses that far, so such a delta all but always wins.
 */
const WHOLE_ZLIB_CHECK = 16;

export interface DeltaSearchTask {
  protocol: number;
  siloPath: string;
  objects: PlannedObject[];
  /** The fragment file to create. */
  fragment: string;
  params: DeltaParams;
}

export interface DeltaSearchStats {
  whole: number;
  deltas: number;
  /** Longest chain made. */
  maxDepth: number;
}

export type DeltaSearchOutcome =
  | { ok: true; fragment: string; entries: FragmentEntry[]; stats: DeltaSearchStats }
  | { ok: false; error: ErrorAsData };

interface Slot {
  oid: string;
  type: ObjectType;
  content: Buffer;
  depth: number;
  index?: DeltaIndex;
  bytes: number;
}

interface Best {
  slot: Slot;
  delta: Buffer;
}

/** Runs one task; errors come back as data (their class does not cross a thread boundary). */
export function searchDeltas(task: DeltaSearchTask): DeltaSearchOutcome {
  if (task.protocol !== DELTA_PROTOCOL) {
    return { ok: false, error: { code: 'ERR_INTERNAL', message: `delta worker speaks protocol ${DELTA_PROTOCOL}, task is ${task.protocol}: rebuild dist/ (npx tsc -p .)`, data: {} } };
  }
  try {
    return { ok: true, ...search(task) };
  } catch (e) {
    if (isMedoError(e)) return { ok: false, error: { code: e.code, message: e.message, data: e.data } };
    // A system error (a full disk: ENOSPC) keeps its code, which callers and the CLI's message go by.
    const code = (e as NodeJS.ErrnoException).code;
    if (typeof code === 'string' && /^E[A-Z0-9]+$/.test(code)) return { ok: false, error: { code, message: (e as Error).message, data: {} } };
    return { ok: false, error: { code: 'ERR_INTERNAL', message: (e as Error).stack ?? String(e), data: {} } };
  }
}

function search(task: DeltaSearchTask): { fragment: string; entries: FragmentEntry[]; stats: DeltaSearchStats } {
  const p = task.params;
  const silo = Silo.open(task.siloPath);
  const packs = new Map<string, PackFile>(silo.packs.list().map((pack) => [pack.path, pack]));
  const out = new FragmentWriter(task.fragment);
  const stats: DeltaSearchStats = { whole: 0, deltas: 0, maxDepth: 0 };
  try {
    const window: Slot[] = [];
    for (const o of task.objects) {
      const { content, zlib } = load(silo, packs, o);
      const candidate = p.window > 0 && content.length >= MIN_DELTA_OBJECT && content.length <= p.maxDeltaObject;
      let whole = zlib;
      let best: Best | undefined;
      let nearest: Slot | undefined;
      let packedDelta: Buffer | undefined;
      // git's size rules weigh a delta against its object uncompressed; a delta of regular text (copies
      // and a few new bytes a line) compresses worse than the text itself, so the smallest delta can be no
      // smaller in the pack than the object whole, and slower to read. Weighed compressed, it is kept only
      // when it is smaller; else the next best base is tried. The whole object's zlib is at hand for a
      // whole entry; otherwise it is made only for a delta big enough to lose.
      for (const tried = new Set<Slot>(); candidate; tried.add(best.slot)) {
        best = findBest(window, o.type, content, p, tried);
        if (best === undefined) break;
        nearest ??= best.slot;
        // The delta must give the target back before it replaces the target.
        if (!applyDelta(best.slot.content, best.delta, content.length).equals(content)) {
          throw new MedoError('ERR_INTERNAL', `delta encoder: the delta of ${o.oid} against ${best.slot.oid} does not rebuild it`, { oid: o.oid });
        }
        packedDelta = deflateTight(best.delta, p.level);
        if (whole === undefined && packedDelta.length > content.length / WHOLE_ZLIB_CHECK) whole = deflateTight(content, p.level);
        if (whole === undefined || packedDelta.length < whole.length) break;
      }
      let depth = 0;
      if (best !== undefined) {
        out.addOfsDelta(o.oid, best.slot.oid, best.delta.length, packedDelta!);
        depth = best.slot.depth + 1;
        stats.deltas++;
        stats.maxDepth = Math.max(stats.maxDepth, depth);
      } else {
        out.addWhole(o.oid, o.type, content.length, whole ?? deflateTight(content, p.level));
        stats.whole++;
      }
      if (!candidate) continue;
      // An object at the depth limit cannot be a base; the base just used is moved to the newest end,
      // so it is tried first and stays longest (git does the same).
      if (depth < p.depth) {
        window.push({ oid: o.oid, type: o.type, content, depth, bytes: content.length });
      }
      // (The base of the smallest delta, kept or not: the window is as git's would be.)
      if (nearest !== undefined) {
        const at = window.indexOf(nearest);
        if (at >= 0) window.push(...window.splice(at, 1));
      }
      // Contents and the indexes made while searching count against the memory bound.
      let windowBytes = window.reduce((n, s) => n + s.bytes, 0);
      while (window.length > p.window || (windowBytes > p.windowMemory && window.length > 1)) windowBytes -= window.shift()!.bytes;
    }
    out.close();
    return { fragment: task.fragment, entries: out.entries, stats };
  } catch (e) {
    out.discard();
    throw e;
  } finally {
    silo.close();
  }
}

/** git's try_delta limits over the window (but `skip`), newest first: the smallest delta within them, if any. */
function findBest(window: readonly Slot[], type: ObjectType, target: Buffer, p: DeltaParams, skip: ReadonlySet<Slot>): Best | undefined {
  let best: Best | undefined;
  for (let j = window.length - 1; j >= 0; j--) {
    const slot = window[j]!;
    if (slot.type !== type || slot.depth >= p.depth || skip.has(slot)) continue;
    const baseSize = slot.content.length;
    if (baseSize > MAX_DELTA_BASE || target.length < baseSize / 32) continue;
    // Half the object (less an id's worth) for a first delta, then whatever beats the best so far; both
    // scaled down as the chain through this base gets deeper, so shallow bases win ties of size.
    const limit = best === undefined ? Math.floor(target.length / 2) - OID_BYTES : best.delta.length;
    const refDepth = best === undefined ? 1 : best.slot.depth + 1;
    const maxSize = Math.floor((limit * (p.depth - slot.depth)) / (p.depth - refDepth + 1));
    if (maxSize <= 0) continue;
    const grows = target.length > baseSize ? target.length - baseSize : 0;
    if (grows >= maxSize) continue;
    if (slot.index === undefined) {
      slot.index = new DeltaIndex(slot.content);
      slot.bytes += slot.index.bytes;
    }
    const delta = createDelta(slot.index, target, maxSize);
    if (delta !== undefined) best = { slot, delta };
  }
  return best;
}

function load(silo: Silo, packs: ReadonlyMap<string, PackFile>, o: PlannedObject): { content: Buffer; zlib?: Buffer } {
  if ('loose' in o.src) {
    const raw = silo.readLoose(o.oid);
    if (raw === undefined) throw new MedoError('ERR_OBJECT_MISSING', `loose object ${o.oid} vanished from ${silo.path} while being packed`, { oid: o.oid });
    return { content: raw.content };
  }
  const pack = packs.get(o.src.pack);
  if (pack === undefined) throw new MedoError('ERR_OBJECT_MISSING', `${o.src.pack} vanished from ${silo.path} while being repacked`, { path: o.src.pack, oid: o.oid });
  const loaded = loadPackEntry(silo, pack, { oid: o.oid, offset: o.src.offset, length: o.src.length });
  if (loaded.type !== o.type) {
    throw new MedoError('ERR_OBJECT_CORRUPT', `${o.src.pack}: ${o.oid} at offset ${o.src.offset} is a ${loaded.type}, planned as a ${o.type}`, { oid: o.oid, path: o.src.pack });
  }
  return loaded;
}
