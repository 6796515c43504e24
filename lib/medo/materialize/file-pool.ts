// The per-file work of expand and verify (file-worker.ts), in batches on a piscina pool. Batches pay the
// ~100 µs hop to a worker once per few dozen files; tasks in flight are bounded, so the tree walk waits
// when the disk falls behind.
//
// The worker file, as for ingest/hash-pool.ts: next to this module when running compiled, else under the
// repository's dist/ (tests run the TypeScript through tsx); with neither, batches run on the calling
// thread, correct and only slower. FILE_PROTOCOL catches a dist/ build older than its caller.
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { findUpward } from '../../native.js';
import { startPool, type Pool } from '../../pool.js';
import { MedoError, errorFromData } from '../../errors.js';
import { FILE_PROTOCOL, runFileTask, type FileItem, type FileOutcome, type FileResult, type FileTask } from './file-worker.js';

const BATCH_ITEMS = 128;

export function findFileWorker(): string | undefined {
  // Beside this module (dist/), else the compiled one above it (from the sources, or from the bundle).
  const here = fileURLToPath(new URL('./file-worker-entry.cjs', import.meta.url));
  return existsSync(here) ? here : findUpward('dist/lib/medo/materialize/file-worker-entry.cjs');
}

/**
 * Threads for a pool handling about `files` files of `bytes` bytes in all: the cores (inflating and
 * hashing are the CPU work) and two more, so that a thread blocked on a slow disk leaves the cores busy;
 * fewer for a small tree and none for a tiny one, since starting a worker costs tens of milliseconds.
 */
export function defaultThreads(files = Infinity, bytes = Infinity): number {
  if (files < 64 && bytes < 4 << 20) return 0;
  return Math.max(1, Math.min(availableParallelism() + 2, 16, Math.ceil(files / 1000), Math.ceil(bytes / (16 << 20)) + 1));
}

interface Pending {
  item: FileItem;
  done: (result: FileResult) => void;
}

export class FilePool {
  private readonly pool: Pool | undefined;
  private readonly maxTasks: number;
  private readonly umask = process.umask();
  private batch: Pending[] = [];
  private readonly inflight = new Set<Promise<void>>();
  private failure: unknown;
  private closed = false;

  /**
   * `medoRoot`: the medo directory whose silos hold the blobs; only 'inspect' items can do without.
   * `cacheDir`: the host's cache of its remote silos, when not the default one.
   */
  constructor(private readonly medoRoot: string | undefined, threads = defaultThreads(), private readonly cacheDir?: string) {
    if (!Number.isInteger(threads) || threads < 0) throw new MedoError('ERR_USAGE', `threads must be a whole number >= 0, not ${threads}`);
    const filename = threads > 0 ? findFileWorker() : undefined;
    // minThreads = maxThreads: piscina would otherwise respawn threads for each burst.
    this.pool = filename === undefined ? undefined
      : startPool({ filename, minThreads: threads, maxThreads: threads, idleTimeout: 60_000, execArgv: [] });
    this.maxTasks = Math.max(2, threads * 2);
  }

  get failed(): unknown {
    return this.failure;
  }

  /**
   * Queues an item; `done` gets its result once handled. Returns undefined when the item was taken at once,
   * else a promise that resolves when it is; throws (or rejects) with the first failure. Most items are
   * taken at once, and a promise per file of a large tree costs more than handling the answer.
   */
  add(item: FileItem, done: (result: FileResult) => void): Promise<void> | undefined {
    if (this.failure !== undefined) throw this.failure;
    // Waiting here, before the item is taken, is what bounds memory: with several producers (one per
    // directory being walked), waiting after taking a full batch would let each hold one more.
    if (this.inflight.size >= this.maxTasks) return this.addWhenRoom(item, done);
    this.batch.push({ item, done });
    if (this.batch.length >= BATCH_ITEMS) this.dispatch();
    return undefined;
  }

  private async addWhenRoom(item: FileItem, done: (result: FileResult) => void): Promise<void> {
    while (this.inflight.size >= this.maxTasks && this.failure === undefined) await Promise.race(this.inflight);
    await this.add(item, done);
  }

  /** Waits for every queued item; rejects with the first failure. */
  async finish(): Promise<void> {
    if (this.batch.length > 0 && this.failure === undefined) this.dispatch();
    while (this.inflight.size > 0) await Promise.race(this.inflight);
    if (this.failure !== undefined) throw this.failure;
  }

  async close(): Promise<void> {
    await Promise.allSettled(this.inflight);
    if (this.closed) return;
    this.closed = true;
    await this.pool?.destroy();
  }

  /** Sends the batch to a worker (add() has waited for room). */
  private dispatch(): void {
    const jobs = this.batch;
    this.batch = [];
    const task: FileTask = { protocol: FILE_PROTOCOL, items: jobs.map((j) => j.item), umask: this.umask };
    if (this.medoRoot !== undefined) task.medoRoot = this.medoRoot;
    if (this.cacheDir !== undefined) task.cacheDir = this.cacheDir;
    const run: Promise<void> = this.run(task).then(
      (outcome) => this.settle(jobs, outcome),
      (e: unknown) => {
        this.failure ??= e;
      },
    ).finally(() => this.inflight.delete(run));
    this.inflight.add(run);
  }

  private run(task: FileTask): Promise<FileOutcome> {
    if (this.pool === undefined) return new Promise((resolve) => setImmediate(() => resolve(runFileTask(task))));
    return this.pool.run(task) as Promise<FileOutcome>;
  }

  private settle(jobs: Pending[], outcome: FileOutcome): void {
    if (!outcome.ok) {
      this.failure ??= errorFromData(outcome.error);
      return;
    }
    outcome.results.forEach((r, i) => jobs[i]!.done(r));
  }
}
