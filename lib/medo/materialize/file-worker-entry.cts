// The file piscina loads in each worker: CommonJS, importing file-worker.js the usual way (piscina would
// require() it, and Node 20's require() of an ES module can abort the process: hash-worker-entry.cts).
import type { FileOutcome, FileTask } from './file-worker.js';

let handler: Promise<(task: FileTask) => FileOutcome> | undefined;

module.exports = async (task: FileTask): Promise<FileOutcome> => {
  handler ??= import('./file-worker.js').then((m) => m.runFileTask);
  return (await handler)(task);
};
