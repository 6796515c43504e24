// Walks a directory without following symlinks and reports every file, symlink and directory with the
// metadata the sidecar keeps (permission bits, mtime in seconds and nanoseconds). Names are read as
// bytes: one that is not valid UTF-8 is refused by name (ERR_NAME_ENCODING), never mangled. Devices,
// sockets and fifos are refused (ERR_SPECIAL_FILE) or, when asked, skipped with a warning.
//
// Each directory is read with synchronous calls (cheaper than a libuv hop per lstat); the walk is an
// async generator, so the consumer's waits (the hash pool's backpressure) let worker results in between
// entries.
import { lstatSync, readdirSync, readlinkSync, statSync, type BigIntStats } from 'node:fs';
import { join } from 'node:path';
import { MedoError } from '../../errors.js';
import { quoteBytes } from '../../git/quote.js';
import type { Stat } from './build-tree.js';

export interface ScannedEntry {
  /** '/'-separated, relative to the root; '' for the root itself. */
  path: string;
  /** Absolute path on disk. */
  abs: string;
  kind: 'file' | 'dir' | 'symlink';
  stat: Stat;
  /** Bytes, as lstat reports them (a symlink's is its target's length). */
  size: number;
  /** A symlink's target, as raw bytes. */
  target?: Buffer;
  /** For a file with more than one link: identifies its inode, so hard links are read once. */
  inode?: string;
}

export interface ScanOptions {
  /** Skip devices, sockets and fifos (with a warning) instead of refusing them. */
  skipSpecial?: boolean;
  onWarning?: (message: string) => void;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });
const NS = 1_000_000_000n;

export function statOf(st: BigIntStats): Stat {
  // Floor division, so that times before 1970 keep 0 <= nsec < 1e9.
  let sec = st.mtimeNs / NS;
  let nsec = st.mtimeNs % NS;
  if (nsec < 0n) {
    sec -= 1n;
    nsec += NS;
  }
  return { perm: Number(st.mode & 0o7777n), mtimeSec: Number(sec), mtimeNsec: Number(nsec) };
}

function specialKind(st: BigIntStats): string {
  if (st.isCharacterDevice()) return 'character device';
  if (st.isBlockDevice()) return 'block device';
  if (st.isFIFO()) return 'fifo';
  if (st.isSocket()) return 'socket';
  return 'file of unknown type';
}

export async function* scanDir(root: string, options: ScanOptions = {}): AsyncGenerator<ScannedEntry> {
  const rootStat = statSync(root, { bigint: true });
  if (!rootStat.isDirectory()) throw new MedoError('ERR_USAGE', `${root} is not a directory`, { path: root });
  yield { path: '', abs: root, kind: 'dir', stat: statOf(rootStat), size: 0 };
  const pending: { path: string; abs: string }[] = [{ path: '', abs: root }];
  while (pending.length > 0) {
    const dir = pending.pop()!;
    const names = readdirSync(dir.abs, { encoding: 'buffer' });
    for (const raw of names) {
      let name: string;
      try {
        name = utf8.decode(raw);
      } catch {
        const shown = dir.path === '' ? quoteBytes(raw) : `${dir.path}/${quoteBytes(raw)}`;
        throw new MedoError('ERR_NAME_ENCODING', `${shown} (in ${root}): the file name is not valid UTF-8; refusing to store it under another name`,
          { path: shown });
      }
      const path = dir.path === '' ? name : `${dir.path}/${name}`;
      const abs = join(dir.abs, name);
      const st = lstatSync(abs, { bigint: true });
      const stat = statOf(st);
      if (st.isDirectory()) {
        pending.push({ path, abs });
        yield { path, abs, kind: 'dir', stat, size: 0 };
      } else if (st.isFile()) {
        const entry: ScannedEntry = { path, abs, kind: 'file', stat, size: Number(st.size) };
        if (st.nlink > 1n) entry.inode = `${st.dev}:${st.ino}`;
        yield entry;
      } else if (st.isSymbolicLink()) {
        yield { path, abs, kind: 'symlink', stat, size: Number(st.size), target: readlinkSync(abs, { encoding: 'buffer' }) };
      } else {
        const what = specialKind(st);
        if (!options.skipSpecial) {
          throw new MedoError('ERR_SPECIAL_FILE', `${JSON.stringify(path)} (in ${root}) is a ${what}; only files, directories and symlinks can be stored (--skip-special skips them)`,
            { path });
        }
        options.onWarning?.(`skipping ${JSON.stringify(path)}: a ${what}`);
      }
    }
  }
}
