// What `medo expand` and `medo verify` do before their own work: check --jobs and --threads, resolve the
// TREEPTR or MEDO_DIR argument, fetch what remote silos must supply into the cache, open the store, and
// set up progress.
import { defaultThreads } from '../../lib/medo/materialize/file-pool.js';
import type { MedoDir } from '../../lib/medo/medo-dir.js';
import { resolveTargets, treeptrRoots, type Target } from '../../lib/medo/resolve-target.js';
import type { ObjectStore } from '../../lib/store.js';
import { Progress } from '../progress.js';
import { usage } from '../run.js';
import { warmCache } from './prefetch.js';
import { REMOTE_OPTIONS, type RemoteValues } from './remote-options.js';

export const MATERIALIZE_OPTIONS = { jobs: { type: 'string' }, threads: { type: 'string' }, raw: { type: 'boolean' }, ...REMOTE_OPTIONS } as const;

export interface MaterializeValues extends RemoteValues {
  jobs?: string;
  threads?: string;
}

export interface Materialize {
  targets: Target[];
  medoDir: MedoDir;
  store: ObjectStore;
  progress: Progress;
  jobs: number;
  threads: number;
}

export async function setUpMaterialize(command: 'expand' | 'verify', source: string, values: MaterializeValues): Promise<Materialize> {
  const jobs = values.jobs === undefined ? 32 : Number(values.jobs);
  if (!Number.isInteger(jobs) || jobs < 1 || jobs > 1024) usage(`--jobs wants a whole number from 1 to 1024, got ${JSON.stringify(values.jobs)}`);
  const threadsOption = values.threads === undefined ? undefined : Number(values.threads);
  if (threadsOption !== undefined && !(Number.isInteger(threadsOption) && threadsOption >= 0 && threadsOption <= 64)) {
    usage(`--threads wants a whole number from 0 to 64, got ${JSON.stringify(values.threads)}`);
  }
  const resolved = resolveTargets(source);
  const roots = resolved.targets.flatMap((t) => treeptrRoots(t.treeptr));
  const { cacheDir } = await warmCache(resolved.medoDir, roots, values, command);
  const store = resolved.medoDir.openStore({ cacheDir });
  const progress = new Progress(command);
  // A tarball blob counts as one file in its .treeptr but unpacks to many: no percentage then.
  if (resolved.targets.every((t) => t.treeptr.tree !== undefined)) progress.counts.totalFiles = resolved.targets.reduce((n, t) => n + t.treeptr.files, 0);
  const threads = threadsOption ?? defaultThreads(progress.counts.totalFiles, resolved.targets.reduce((n, t) => n + t.treeptr.size, 0));
  return { targets: resolved.targets, medoDir: resolved.medoDir, store, progress, jobs, threads };
}
