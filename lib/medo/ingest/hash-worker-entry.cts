// The file piscina loads in each worker. Piscina require()s its worker file first, and Node 20's require()
// of an ES module (hash-worker.js) can abort the whole process ("v8::Module::IsGraphAsync must be used
// on an instantiated module", seen in a full test run); this file is CommonJS and imports it the usual way.
import type { HashOutcome, HashTask } from './hash-worker.js';

let handler: Promise<(task: HashTask) => HashOutcome> | undefined;

module.exports = async (task: HashTask): Promise<HashOutcome> => {
  handler ??= import('./hash-worker.js').then((m) => m.hashBatch);
  return (await handler)(task);
};
