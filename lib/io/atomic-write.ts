// Atomic file creation: write a temp file in the destination's directory, fsync it, rename it over the
// final name, fsync the directory. A crash leaves at most a stray temp file, never a half-written file
// under its final name.
import { randomBytes } from 'node:crypto';
import { closeSync, fsyncSync, openSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';

export const TEMP_PREFIX = '.tmp-';

export function tempPathFor(finalPath: string): string {
  return join(dirname(finalPath), `${TEMP_PREFIX}${basename(finalPath)}-${process.pid}-${randomBytes(4).toString('hex')}`);
}

export function fsyncDir(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

export function writeAll(fd: number, data: Uint8Array, position?: number): void {
  let done = 0;
  while (done < data.length) {
    done += writeSync(fd, data, done, data.length - done, position === undefined ? null : position + done);
  }
}

/** Writes `data` to `finalPath` atomically (see above). `mode` applies to the new file. */
export function writeFileAtomic(finalPath: string, data: Uint8Array | string, mode = 0o644): void {
  const tmp = tempPathFor(finalPath);
  const fd = openSync(tmp, 'wx', mode);
  try {
    writeAll(fd, typeof data === 'string' ? Buffer.from(data, 'utf8') : data);
    fsyncSync(fd);
  } catch (e) {
    closeSync(fd);
    unlinkSync(tmp);
    throw e;
  }
  closeSync(fd);
  try {
    renameSync(tmp, finalPath);
  } catch (e) {
    unlinkSync(tmp);
    throw e;
  }
  fsyncDir(dirname(finalPath));
}
