// Delta search on both cores: the plan is cut into contiguous slices of about equal bytes, cut only where
// the name hash changes (so the versions of a path stay together), and each slice is searched on its own
// worker thread into its own fragment file. Slices are independent, so the pack is the fragments in plan
// order. Small plans, and runs without a compiled worker (see hash-pool.ts), search on this thread.
import { existsSync, unlinkSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { findUpward } from '../native.js';
import { startPool } from '../pool.js';
import { MedoError, errorFromData } from '../errors.js';
import { tempPathFor } from '../io/atomic-write.js';
import { DELTA_PROTOCOL, searchDeltas, type DeltaParams, type DeltaSearchOutcome, type DeltaSearchTask, type PlannedObject } from './delta-search.js';

export interface DeltaRunOptions {
  /** Worker threads; 0 searches on the calling thread. Default: os.availableParallelism(). */
  threads?: number;
}

/** Below this many bytes in all, threads cost more than they save. */
const MIN_THREADED_BYTES = 4 << 20;

export type FinishedSlice = Extract<DeltaSearchOutcome, { ok: true }>;

function findWorkerFile(): string | undefined {
  // Beside this module (dist/), else the compiled one above it (from the sources, or from the bundle).
  const here = fileURLToPath(new URL('./delta-worker-entry.cjs', import.meta.url));
  return existsSync(here) ? here : findUpward('dist/lib/silo/delta-worker-entry.cjs');
}

/** Cuts `objects` into at most `n` runs of about equal size, each starting where the name hash changes. */
export function slicePlan(objects: readonly PlannedObject[], n: number): PlannedObject[][] {
  const total = objects.reduce((s, o) => s + o.size, 0);
  const slices: PlannedObject[][] = [];
  let current: PlannedObject[] = [];
  let bytes = 0;
  for (let i = 0; i < objects.length; i++) {
    const o = objects[i]!;
    const full = slices.length < n - 1 && bytes >= total / n;
    if (full && current.length > 0 && (o.type !== current[current.length - 1]!.type || o.hash !== current[current.length - 1]!.hash)) {
      slices.push(current);
      current = [];
      bytes = 0;
    }
    current.push(o);
    bytes += o.size;
  }
  if (current.length > 0) slices.push(current);
  return slices;
}

/**
 * Searches deltas for `objects` (planned order) and returns the finished fragments in that order; the
 * caller splices them and deletes the files. On failure every fragment made is deleted.
 */
export async function runDeltaSearch(siloPath: string, objects: readonly PlannedObject[], params: DeltaParams, options: DeltaRunOptions = {}): Promise<FinishedSlice[]> {
  const threads = options.threads ?? availableParallelism();
  if (!Number.isInteger(threads) || threads < 0) throw new MedoError('ERR_USAGE', `threads must be a whole number >= 0, not ${threads}`);
  const bytes = objects.reduce((s, o) => s + o.size, 0);
  const filename = threads > 0 && bytes >= MIN_THREADED_BYTES ? findWorkerFile() : undefined;
  const slices = slicePlan(objects, filename === undefined ? 1 : threads);
  const tasks: DeltaSearchTask[] = slices.map((s, i) => ({
    protocol: DELTA_PROTOCOL, siloPath, objects: s, params, fragment: tempPathFor(join(siloPath, 'pack', `fragment-${i}.pack`)),
  }));
  let outcomes: DeltaSearchOutcome[];
  if (filename === undefined || tasks.length < 2) {
    outcomes = [];
    for (const task of tasks) {
      const r = searchDeltas(task);
      outcomes.push(r);
      if (!r.ok) break;
    }
  } else {
    const pool = startPool({ filename, minThreads: tasks.length, maxThreads: tasks.length, execArgv: [] });
    try {
      outcomes = await Promise.all(tasks.map((t) => pool.run(t) as Promise<DeltaSearchOutcome>));
    } finally {
      await pool.destroy();
    }
  }
  const failed = outcomes.find((o) => !o.ok);
  if (failed !== undefined || outcomes.length < tasks.length) {
    for (const o of outcomes) if (o.ok) discard(o.fragment);
    const e = failed !== undefined && !failed.ok ? failed.error : { code: 'ERR_INTERNAL', message: 'delta search stopped early', data: {} };
    throw errorFromData(e);
  }
  return outcomes as FinishedSlice[];
}

export function discard(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    // already gone
  }
}
