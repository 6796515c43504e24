// Hashing and deflating blobs in parallel on a piscina pool, feeding one PackWriter.
//
// Small files are batched per task so the ~100 µs hop to a worker is paid once per batch, not per
// file; tasks in flight are bounded in number and bytes, so memory stays bounded however large the input.
//
// The worker file: piscina needs compiled JavaScript, and this module runs either compiled (from dist/,
// where the worker's entry hash-worker-entry.cjs sits next to it) or from TypeScript under tsx (tests,
// `node --import tsx`), where lib/medo/ingest/ holds no .cjs. So the pool looks for the entry next to this module
// first, then at the same place under the repository's dist/ (what `npx tsc -p .` writes); if neither
// exists it hashes on the calling thread (correct, only slower). A protocol number in every task catches
// a dist/ build older than the source that calls it.
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { findUpward } from '../../native.js';
import { startPool, type Pool } from '../../pool.js';
import { MedoError, errorFromData } from '../../errors.js';
import type { PackWriter } from '../../git/pack-writer.js';
import { HASH_PROTOCOL, hashBatch, type HashItem, type HashOutcome, type HashTask, type HashedBlob } from './hash-worker.js';

export interface BlobHasherOptions {
  /** Worker threads; 0 hashes on the calling thread. Default: os.availableParallelism(). */
  threads?: number;
  /** The silo being written: blobs it already holds are not deflated again. */
  siloPath?: string;
  /** zlib level for pack entries (git's default is 6). */
  level?: number;
  /** Largest blob accepted, in bytes. */
  maxSize?: number;
}

interface Job {
  item: HashItem;
  bytes: number;
  done: (blob: HashedBlob) => void;
}

const BATCH_BYTES = 1 << 20;
const BATCH_ITEMS = 256;
const MAX_INFLIGHT_BYTES = 256 << 20;

/** The compiled worker, or undefined when there is none to run (see the header comment). */
export function findWorkerFile(): string | undefined {
  // Beside this module (dist/), else the compiled one above it (from the sources, or from the bundle).
  const here = fileURLToPath(new URL('./hash-worker-entry.cjs', import.meta.url));
  return existsSync(here) ? here : findUpward('dist/lib/medo/ingest/hash-worker-entry.cjs');
}

export class BlobHasher {
  private readonly pool: Pool | undefined;
  private readonly maxTasks: number;
  private batch: Job[] = [];
  private batchBytes = 0;
  private inflightTasks = 0;
  private inflightBytes = 0;
  private readonly inflight = new Set<Promise<void>>();
  private failure: unknown;
  private closed = false;
  private discard = false;
  private readonly level: number;
  private readonly maxSize: number;
  /** Blobs written as deltas against a delta base. */
  deltas = 0;

  constructor(private readonly writer: PackWriter, private readonly options: BlobHasherOptions = {}) {
    const threads = options.threads ?? availableParallelism();
    if (!Number.isInteger(threads) || threads < 0) throw new MedoError('ERR_USAGE', `threads must be a whole number >= 0, not ${threads}`);
    this.level = options.level ?? 6;
    if (!Number.isInteger(this.level) || this.level < 0 || this.level > 9) throw new MedoError('ERR_USAGE', `level must be 0 to 9, not ${this.level}`);
    this.maxSize = options.maxSize ?? 4 * 1024 ** 3;
    const filename = threads > 0 ? findWorkerFile() : undefined;
    // minThreads = maxThreads: piscina would otherwise respawn threads for each burst.
    this.pool = filename === undefined ? undefined
      : startPool({ filename, minThreads: threads, maxThreads: threads, idleTimeout: 60_000, execArgv: [] });
    // A worker that dies outside a task (e.g. cannot load) is an error event: a failure, not a crash.
    this.pool?.on('error', (e: unknown) => {
      this.failure ??= e;
    });
    this.maxTasks = Math.max(2, threads * 2);
  }

  /** True when hashing runs on worker threads. */
  get parallel(): boolean {
    return this.pool !== undefined;
  }

  /**
   * Queues a blob; `done` gets its id once hashed (and, if new, appended to the pack). Resolves when the
   * job is accepted, which may wait for earlier tasks to finish; rejects with the first failure.
   */
  async add(item: HashItem, bytes: number, done: (blob: HashedBlob) => void): Promise<void> {
    if (this.failure !== undefined) throw this.failure;
    this.batch.push({ item, bytes, done });
    this.batchBytes += bytes;
    if (this.batchBytes >= BATCH_BYTES || this.batch.length >= BATCH_ITEMS) await this.dispatch();
  }

  /** Waits for every queued blob; rejects with the first failure. */
  async finish(): Promise<void> {
    if (this.batch.length > 0 && this.failure === undefined) await this.dispatch();
    while (this.inflight.size > 0) await Promise.race(this.inflight);
    if (this.failure !== undefined) throw this.failure;
  }

  /** Stops the workers. Results of tasks still running are awaited but discarded (nothing more reaches the pack). */
  async close(): Promise<void> {
    this.discard = true;
    await Promise.allSettled(this.inflight);
    if (this.closed) return;
    this.closed = true;
    await this.pool?.destroy();
  }

  private async dispatch(): Promise<void> {
    const jobs = this.batch;
    const bytes = this.batchBytes;
    this.batch = [];
    this.batchBytes = 0;
    while (this.inflight.size > 0 && (this.inflightTasks >= this.maxTasks || this.inflightBytes + bytes > MAX_INFLIGHT_BYTES)) {
      await Promise.race(this.inflight);
    }
    if (this.failure !== undefined) throw this.failure;
    const task: HashTask = { protocol: HASH_PROTOCOL, items: jobs.map((j) => j.item), level: this.level, maxSize: this.maxSize };
    if (this.options.siloPath !== undefined) task.siloPath = this.options.siloPath;
    this.inflightTasks++;
    this.inflightBytes += bytes;
    const run = this.run(task).then(
      (outcome) => this.settle(jobs, outcome),
      (e: unknown) => {
        this.failure ??= e;
      },
    ).finally(() => {
      this.inflightTasks--;
      this.inflightBytes -= bytes;
      this.inflight.delete(run);
    });
    this.inflight.add(run);
  }

  private run(task: HashTask): Promise<HashOutcome> {
    if (this.pool === undefined) {
      // Hash on this thread, but still asynchronously, so callers see the same ordering either way.
      return new Promise((resolve) => setImmediate(() => resolve(hashBatch(task))));
    }
    // Contents that own their whole ArrayBuffer move to the worker instead of being copied.
    const transferList = task.items.flatMap((i) =>
      i.content !== undefined && i.content.byteOffset === 0 && i.content.byteLength === i.content.buffer.byteLength && i.content.byteLength > 0
        ? [i.content.buffer as ArrayBuffer] : []);
    return this.pool.run(task, transferList.length > 0 ? { transferList } : {}) as Promise<HashOutcome>;
  }

  private settle(jobs: Job[], outcome: HashOutcome): void {
    if (!outcome.ok) {
      this.failure ??= errorFromData(outcome.error);
      return;
    }
    if (this.failure !== undefined || this.discard) return;
    try {
      outcome.blobs.forEach((blob, i) => {
        if (blob.compressed !== undefined && blob.deltaBase !== undefined) {
          this.writer.addDeltaCompressed(blob.oid, blob.deltaBase, blob.deltaSize!, blob.compressed);
          this.deltas++;
        } else if (blob.compressed !== undefined) this.writer.addCompressed(blob.oid, 'blob', blob.size, blob.compressed);
        jobs[i]!.done(blob);
      });
    } catch (e) {
      this.failure ??= e; // e.g. a full disk under the pack's temp file
    }
  }
}
