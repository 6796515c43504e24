// Entry point of the process `medo mount` starts in the background: `node daemon/serve-process.js JSON`,
// where JSON is the ServeOptions. Starting here rather than at the CLI keeps the child to the modules a
// mount needs (no other verb is loaded), so the mount is ready sooner. Readiness goes to options.readyFd.
import { isMedoError } from '../lib/errors.js';
import { createLogger } from './log.js';
import { serve, type ServeOptions } from './serve.js';

const options = JSON.parse(process.argv[2] ?? '{}') as ServeOptions;
let code = 3;
try {
  code = await serve(options, createLogger(options.logLevel));
} catch (e) {
  // serve() already told the parent on the readiness pipe; this line is for the log file.
  createLogger(options.logLevel).fatal({ err: isMedoError(e) ? e.message : (e as Error).stack }, 'mount failed');
}
// The binding keeps a libuv handle open after an unmount from outside; nothing is left to wait for.
process.exit(code);
