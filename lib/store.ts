// The interface every object store offers: a silo, a git repository, or a chain of them.
// Reads are synchronous on purpose: a lookup is a binary search and a positional read of a few KiB, and
// an inline inflate costs microseconds where a hop to the thread pool costs ~100 µs.
import type { RawObject } from './git/pack-file.js';

export type { RawObject };

export interface ObjectStore {
  /** Directory the store lives in, for messages. */
  readonly path: string;
  /** The object, or undefined when the store does not hold it. Throws on corruption or I/O failure. */
  read(oid: string): RawObject | undefined;
  has(oid: string): boolean;
  close(): void;
}
