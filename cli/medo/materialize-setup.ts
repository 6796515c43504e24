// What `medo expand` and `medo verify` do before their own work: check --jobs and --threads, resolve the
// TREEPTR or MEDO_DIR argument, fetch what remote silos must supply into the cache, open the store, and
// set up progress.
import { readdir } from 'node:fs/promises';
import { defaultThreads } from '../../lib/medo/materialize/file-pool.js';
import type { MedoDir } from '../../lib/medo/medo-dir.js';
import { resolveTargets, treeptrRoots, type Target } from '../../lib/medo/resolve-target.js';
import type { ObjectStore } from '../../lib/store.js';
import { Progress, formatBytes } from '../progress.js';
import { usage } from '../run.js';
import type { SeenFile } from '../../lib/medo/materialize/fs-ops.js';
import { OldCopy } from '../../lib/medo/old-copy.js';
import { warmCache, type OldCopyUse, type WarmReport } from './prefetch.js';
import { REMOTE_OPTIONS, isHaveDir, type RemoteValues } from './remote-options.js';

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
  warm: WarmReport;
  /** DEST's files as the scan of an upgrade in place hashed them, for the expand not to hash them again. */
  seen?: (path: string) => SeenFile | undefined;
}

/**
 * An expand into a non-empty DEST, from remote silos: DEST may hold an older version, expanded before.
 * It is scanned (every file hashed) so that what it holds is neither fetched nor written again.
 */
async function oldCopyIn(dest: string | undefined, targets: readonly Target[], inPlace: boolean): Promise<OldCopyUse | undefined> {
  if (dest === undefined) return undefined;
  const roots = targets.flatMap((t) => (t.treeptr.tree === undefined ? [] : [{ tree: t.treeptr.tree, rel: t.rel }]));
  if (roots.length === 0) return undefined;
  try {
    if ((await readdir(dest)).length === 0) return undefined;
  } catch {
    return undefined;
  }
  try {
    return { oldCopy: await OldCopy.scan(dest), roots, inPlace };
  } catch (e) {
    process.stderr.write(`medo: warning: ${dest} could not be scanned for what it already holds (${(e as Error).message}); fetching everything\n`);
    return undefined;
  }
}

export async function setUpMaterialize(command: 'expand' | 'verify', source: string, values: MaterializeValues, dest?: string): Promise<Materialize> {
  const jobs = values.jobs === undefined ? 32 : Number(values.jobs);
  if (!Number.isInteger(jobs) || jobs < 1 || jobs > 1024) usage(`--jobs wants a whole number from 1 to 1024, got ${JSON.stringify(values.jobs)}`);
  const threadsOption = values.threads === undefined ? undefined : Number(values.threads);
  if (threadsOption !== undefined && !(Number.isInteger(threadsOption) && threadsOption >= 0 && threadsOption <= 64)) {
    usage(`--threads wants a whole number from 0 to 64, got ${JSON.stringify(values.threads)}`);
  }
  const resolved = resolveTargets(source);
  const roots = resolved.targets.flatMap((t) => treeptrRoots(t.treeptr));
  // An old copy: a --have directory, else DEST itself.
  const haveDirs = (values.have ?? []).filter(isHaveDir);
  if (haveDirs.length > 1) usage('--have names at most one directory');
  if (haveDirs.length > 0 && command !== 'expand') usage('--have DIR is for expand');
  const from = haveDirs[0] ?? dest;
  const old = resolved.medoDir.remoteUrls().length > 0 ? await oldCopyIn(from, resolved.targets, from === dest) : undefined;
  if (old !== undefined) {
    process.stderr.write(`medo: ${from} already holds ${formatBytes(old.oldCopy.bytes)} (tree ${old.oldCopy.tree}): fetching only what differs\n`);
  }
  const warm = await warmCache(resolved.medoDir, roots, values, command, old);
  const { cacheDir } = warm;
  const pinned = warm.pinned;
  if (pinned !== undefined && pinned.trees + pinned.blobs > 0) {
    process.stderr.write(`medo: taken from ${from} itself, not fetched: ${pinned.trees} tree(s), ${pinned.blobs} file(s) it holds elsewhere (${formatBytes(pinned.bytes)})\n`);
  }
  const store = resolved.medoDir.openStore({ cacheDir });
  const progress = new Progress(command);
  // A tarball blob counts as one file in its .treeptr but unpacks to many: no percentage then.
  if (resolved.targets.every((t) => t.treeptr.tree !== undefined)) progress.counts.totalFiles = resolved.targets.reduce((n, t) => n + t.treeptr.files, 0);
  const threads = threadsOption ?? defaultThreads(progress.counts.totalFiles, resolved.targets.reduce((n, t) => n + t.treeptr.size, 0));
  const seen = old?.inPlace === true ? (path: string): SeenFile | undefined => old.oldCopy.seen(path) : undefined;
  return { targets: resolved.targets, medoDir: resolved.medoDir, store, progress, jobs, threads, warm, ...(seen === undefined ? {} : { seen }) };
}
