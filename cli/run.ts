// What every command shares: turning errors into a one-line message and a documented exit code
// (docs/cli.md): 0 success, 1 a check found problems, 2 bad usage, 3 the operation failed.
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { MedoError, isMedoError } from '../lib/errors.js';

export const EXIT_OK = 0;
export const EXIT_PROBLEMS = 1;
export const EXIT_USAGE = 2;
export const EXIT_FAILED = 3;

export function usage(message: string): never {
  throw new MedoError('ERR_USAGE', message);
}

/** node:util parseArgs, with its errors turned into usage errors that name the option. */
export function parse<T extends ParseArgsConfig>(config: T): ReturnType<typeof parseArgs<T>> {
  try {
    return parseArgs(config);
  } catch (e) {
    return usage((e as Error).message);
  }
}

export async function runCli(program: string, main: () => Promise<number> | number): Promise<void> {
  // A reader that goes away (`medo reachable ... | head`) is not an error; without a listener, a later
  // asynchronous EPIPE would crash with a stack trace.
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') process.exit(EXIT_OK);
    process.stderr.write(`${program}: cannot write output: ${e.message}\n`);
    process.exit(EXIT_FAILED);
  });
  try {
    process.exitCode = await main();
  } catch (e) {
    if (isMedoError(e) && e.code === 'ERR_USAGE') {
      process.stderr.write(`${program}: ${e.message}\nTry '${program} --help'.\n`);
      process.exitCode = EXIT_USAGE;
    } else if (isMedoError(e)) {
      process.stderr.write(`${program}: ${e.message}\n`);
      process.exitCode = EXIT_FAILED;
    } else if ((e as NodeJS.ErrnoException).code === 'EPIPE') {
      process.exitCode = EXIT_OK; // the reader went away, as with `silo cat-file ... | head`
    } else if ((e as NodeJS.ErrnoException).code === 'ENOSPC' || (e as NodeJS.ErrnoException).code === 'EDQUOT') {
      // Every writer writes to a temp name and renames once complete, and removes the temp file when a
      // write fails: what the command made so far is gone, and what was there before is as it was.
      process.stderr.write(`${program}: no space left on the device (${(e as Error).message}); nothing half-written was kept: ` +
        'free some space and run the command again\n');
      process.exitCode = EXIT_FAILED;
    } else {
      const err = e as NodeJS.ErrnoException;
      process.stderr.write(`${program}: ${err.code !== undefined ? err.message : (err.stack ?? String(e))}\n`);
      process.exitCode = EXIT_FAILED;
    }
  }
}
