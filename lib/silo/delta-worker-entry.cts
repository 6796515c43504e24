// The file piscina loads in each delta-search worker; CommonJS for the reason hash-worker-entry.cts gives.
import type { DeltaSearchOutcome, DeltaSearchTask } from './delta-search.js';

let handler: Promise<(task: DeltaSearchTask) => DeltaSearchOutcome> | undefined;

module.exports = async (task: DeltaSearchTask): Promise<DeltaSearchOutcome> => {
  handler ??= import('./delta-search.js').then((m) => m.searchDeltas);
  return (await handler)(task);
};
