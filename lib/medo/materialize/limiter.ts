// Bounded concurrency for filesystem work: at most `limit` operations run at once, the rest wait in
// order. Node's fs.promises run on libuv's thread pool; a few dozen in flight keep it and the disk busy
// without queueing a promise per file of a large tree at once.
export class Limiter {
  private active = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(readonly limit: number) {
    if (!Number.isInteger(limit) || limit < 1) throw new RangeError(`concurrency must be a positive integer, got ${limit}`);
  }

  /** Operations waiting for a slot. */
  get backlog(): number {
    return this.waiting.length;
  }

  /**
   * Resolves once the backlog is at most `n`: a producer awaits this so that a large tree is not queued
   * whole, one closure per file, before the disk has caught up.
   */
  below(n: number): Promise<void> {
    if (this.waiting.length <= n) return Promise.resolve();
    return new Promise<void>((resolve) => this.drained.push({ n, resolve }));
  }

  /** Producers waiting in below(), each woken once the backlog is down to its `n`. */
  private drained: { n: number; resolve: () => void }[] = [];

  async run<T>(fn: () => Promise<T> | T): Promise<T> {
    if (this.active >= this.limit) await new Promise<void>((resolve) => this.waiting.push(resolve));
    else this.active++;
    try {
      return await fn();
    } finally {
      const next = this.waiting.shift();
      // The slot passes straight to the next waiter, so `active` only drops when nobody waits.
      if (next !== undefined) next();
      else this.active--;
      if (this.drained.length > 0) this.wakeProducers();
    }
  }

  private wakeProducers(): void {
    const backlog = this.waiting.length;
    const still: { n: number; resolve: () => void }[] = [];
    for (const p of this.drained) {
      if (p.n >= backlog) p.resolve();
      else still.push(p);
    }
    this.drained = still;
  }
}

/** Awaits every promise, then throws the first rejection: no operation is left running behind a failure. */
export async function settleAll(promises: readonly Promise<unknown>[]): Promise<void> {
  const results = await Promise.allSettled(promises);
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed !== undefined) throw failed.reason;
}

/**
 * Adds a job to a list that settleAll() will await later. A handler is attached now: a job that fails
 * while its producer is still awaiting something else must not count as an unhandled rejection (which
 * ends the process); settleAll still sees the failure.
 */
export function track(jobs: Promise<unknown>[], job: Promise<unknown>): void {
  job.catch(() => undefined);
  jobs.push(job);
}
