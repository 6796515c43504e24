// Runs on a piscina worker thread (compiled: dist/lib/medo/materialize/file-worker.js), or inline when
// there is no pool: the per-file work of expand and verify, with synchronous system calls, in batches.
//   create   a file or symlink where nothing is: inflate its blob from the medo directory's silos and
//            write it to a temp file beside it (O_EXCL|O_NOFOLLOW), set mode and mtime through the
//            descriptor, then link(2) it to its name, which fails rather than replace anything
//   sync     a regular file that is there: hash it as a git blob; same id: fix a wrong mode or mtime in
//            place (or, when other hard links share the inode, give it a file of its own); other id:
//            write a temp file beside it, fsync, rename it over. A symlink that is there: same target:
//            fix its mtime; other target: a new symlink renamed over it
//   inspect  a regular file that is there: its blob id, mode and mtime, for verify
// Spread over threads this is where the time goes: inflating and hashing run on every core, and a thread
// blocked on a slow disk does not hold up the others. Nothing follows a symlink: files are opened with
// O_NOFOLLOW, and a path that turned into something else since the caller looked is replaced or reported.
// Errors do not cross the thread boundary with their class or code, so they come back as data.
import { createHash } from 'node:crypto';
import {
  closeSync, constants, fchmodSync, fstatSync, fsyncSync, lstatSync, openSync, readSync, readlinkSync, renameSync,
  symlinkSync, unlinkSync, writeSync, type BigIntStats,
} from 'node:fs';
import { MedoError, isMedoError, type ErrorCode, type ErrorData } from '../../errors.js';
import { hashObject, objectHeader } from '../../oid.js';
import type { ObjectStore } from '../../store.js';
import { MedoDir } from '../medo-dir.js';
import type { Mtime } from './expected.js';
import { createFileNative, futimesExactSync, stillSeen, type SeenFile, lutimesExactSync, mtimeMatches, publishNewSync, tempBeside } from './fs-ops.js';
import { readBlob } from './read-blob.js';

const { O_RDONLY, O_WRONLY, O_CREAT, O_EXCL, O_NOFOLLOW } = constants;

/** Bumped whenever FileTask or FileOutcome change, so a stale compiled worker is caught, not misread. */
export const FILE_PROTOCOL = 4;

export interface FileItem {
  op: 'create' | 'sync' | 'inspect';
  kind: 'file' | 'symlink';
  /** Absolute path; for 'create' it must not exist and its directory must. */
  abs: string;
  /** Path below the destination, for messages. */
  path: string;
  oid: string;
  perm: number;
  /** 'sync': compare all permission bits (a sidecar's); otherwise only the executable bit. */
  permExact?: boolean;
  /** 'create' in a directory nobody else sees yet (expand's staging directory): write at the name directly. */
  direct?: boolean;
  mtime?: Mtime;
  /** 'sync': what the file there was when last hashed, if it was. */
  seen?: SeenFile;
}

/** What became of one item. 'inspect' gives what it found; 'other' means no longer a regular file. */
export type FileResult =
  | { result: 'written' | 'unchanged' | 'updated' | 'replaced'; size: number }
  | { result: 'inspected'; oid: string; size: number; mode: number; mtimeNs: bigint }
  | { result: 'other' };

export interface FileTask {
  protocol: number;
  /** The medo directory whose silos hold the blobs ('create' and 'sync'). */
  medoRoot?: string;
  /** The host's cache of medoRoot's remote silos (the command's --cache-dir), when it has any. */
  cacheDir?: string;
  items: FileItem[];
  /** The creating process's umask: a new file's mode needs an fchmod only when the umask changed it. */
  umask: number;
}

export type FileOutcome =
  | { ok: true; results: FileResult[] }
  | { ok: false; error: { code: ErrorCode | string; message: string; data: ErrorData } };

// Content is immutable and a worker serves one command: the store stays open for the worker's life.
let cached: { root: string; cacheDir: string | undefined; store: ObjectStore } | undefined;

function storeFor(root: string | undefined, cacheDir: string | undefined): ObjectStore {
  if (root === undefined) throw new MedoError('ERR_USAGE', 'a file task that reads blobs needs medoRoot');
  if (cached?.root !== root || cached.cacheDir !== cacheDir) {
    cached?.store.close();
    cached = { root, cacheDir, store: MedoDir.open(root).openStore(cacheDir === undefined ? {} : { cacheDir }) };
  }
  return cached.store;
}

function writeAll(fd: number, content: Uint8Array): void {
  for (let done = 0; done < content.length;) done += writeSync(fd, content, done, content.length - done, done);
}

function fill(fd: number, item: FileItem, content: Uint8Array, opened: number, umask: number): void {
  writeAll(fd, content);
  if (item.perm !== (opened & ~umask)) fchmodSync(fd, item.perm);
  if (item.mtime !== undefined) futimesExactSync(fd, item.mtime);
}

function create(item: FileItem, store: ObjectStore, umask: number): FileResult {
  const content = readBlob(store, item.oid, item.path);
  if (item.kind === 'symlink') {
    symlinkSync(content, item.abs);
    if (item.mtime !== undefined) lutimesExactSync(item.abs, item.mtime);
    return { result: 'written', size: content.length };
  }
  // At its name directly in a directory nobody sees yet; elsewhere given its name by linkat(2) or link(2)
  // once complete: never a half-written file under the final name.
  const direct = item.direct === true;
  if (createFileNative(item.abs, content, item.perm, item.perm !== ((item.perm & 0o777) & ~umask), item.mtime, direct)) {
    return { result: 'written', size: content.length };
  }
  // Without the native helper (or unnamed files here): at its name directly, or under a temp name linked to
  // its name once complete.
  const target = direct ? item.abs : tempBeside(item.abs);
  const fd = openSync(target, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, item.perm & 0o777);
  try {
    fill(fd, item, content, item.perm & 0o777, umask);
    closeSync(fd);
    if (!direct) publishNewSync(target, item.abs);
  } catch (e) {
    try {
      closeSync(fd);
    } catch {
      // already closed
    }
    try {
      unlinkSync(target);
    } catch {
      // already published or never created
    }
    throw e;
  }
  return { result: 'written', size: content.length };
}

/** Replaces whatever is at item.abs: temp file beside it, fsync, rename (a reader sees old or new, never a mix). */
function replace(item: FileItem, store: ObjectStore, umask: number): FileResult {
  const content = readBlob(store, item.oid, item.path);
  const tmp = tempBeside(item.abs);
  if (item.kind === 'symlink') {
    symlinkSync(content, tmp);
    try {
      if (item.mtime !== undefined) lutimesExactSync(tmp, item.mtime);
      renameSync(tmp, item.abs);
    } catch (e) {
      unlinkSync(tmp);
      throw e;
    }
    return { result: 'replaced', size: content.length };
  }
  const fd = openSync(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0o600);
  try {
    fill(fd, item, content, 0o600, umask);
    fsyncSync(fd);
    closeSync(fd);
    renameSync(tmp, item.abs);
  } catch (e) {
    try {
      closeSync(fd);
    } catch {
      // already closed
    }
    unlinkSync(tmp);
    throw e;
  }
  return { result: 'replaced', size: content.length };
}

/** Opens an existing regular file without following a symlink; undefined when it is no longer one. */
function openRegular(abs: string): { fd: number; st: BigIntStats } | undefined {
  let fd: number;
  try {
    fd = openSync(abs, O_RDONLY | O_NOFOLLOW);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ELOOP' || code === 'ENOENT' || code === 'ENXIO') return undefined;
    throw e;
  }
  const st = fstatSync(fd, { bigint: true });
  if (!st.isFile()) {
    closeSync(fd);
    return undefined;
  }
  return { fd, st };
}

const HASH_CHUNK = 1 << 20;

function hashOpen(fd: number, size: number): string {
  const h = createHash('sha1').update(objectHeader('blob', size));
  const buf = Buffer.allocUnsafe(Math.min(Math.max(size, 1), HASH_CHUNK));
  let pos = 0;
  for (;;) {
    const n = readSync(fd, buf, 0, buf.length, pos);
    if (n === 0) break;
    h.update(buf.subarray(0, n));
    pos += n;
  }
  // A file that grew or shrank while we read it matches nothing.
  if (pos !== size) h.update(Buffer.from('\0size changed while hashing'));
  return h.digest('hex');
}

function syncSymlink(item: FileItem, store: ObjectStore, umask: number): FileResult {
  let have: Buffer | undefined;
  try {
    have = readlinkSync(item.abs, { encoding: 'buffer' });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EINVAL' && (e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
  // The link that is there, when it is the one wanted, needs no blob: an upgrade in place has not
  // fetched what the destination already holds.
  if (have === undefined || hashObject('blob', have) !== item.oid) return replace(item, store, umask);
  const want = have;
  if (item.mtime === undefined || mtimeMatches(lstatSync(item.abs, { bigint: true }), item.mtime)) {
    return { result: 'unchanged', size: want.length };
  }
  lutimesExactSync(item.abs, item.mtime);
  return { result: 'updated', size: want.length };
}

function sync(item: FileItem, store: ObjectStore, umask: number): FileResult {
  if (item.kind === 'symlink') return syncSymlink(item, store, umask);
  const open = openRegular(item.abs);
  if (open === undefined) return replace(item, store, umask);
  const { fd, st } = open;
  let result: FileResult | undefined;
  try {
    const size = Number(st.size);
    if ((stillSeen(st, item.seen) ? item.seen.oid : hashOpen(fd, size)) === item.oid) {
      const have = Number(st.mode & 0o7777n);
      const permOk = item.permExact === true ? have === item.perm : (have & 0o100) === (item.perm & 0o100);
      const mtimeOk = item.mtime === undefined || mtimeMatches(st, item.mtime);
      if (permOk && mtimeOk) result = { result: 'unchanged', size };
      else if (st.nlink === 1n) {
        // Any other hard link might live outside the destination; with one link, fixing in place is safe.
        if (!permOk) fchmodSync(fd, item.perm);
        if (!mtimeOk) futimesExactSync(fd, item.mtime!);
        result = { result: 'updated', size };
      }
    }
  } finally {
    closeSync(fd);
  }
  return result ?? replace(item, store, umask);
}

function inspect(item: FileItem): FileResult {
  const open = openRegular(item.abs);
  if (open === undefined) return { result: 'other' };
  try {
    const size = Number(open.st.size);
    return { result: 'inspected', oid: hashOpen(open.fd, size), size, mode: Number(open.st.mode & 0o7777n), mtimeNs: open.st.mtimeNs };
  } finally {
    closeSync(open.fd);
  }
}

export function runFileTask(task: FileTask): FileOutcome {
  try {
    if (task.protocol !== FILE_PROTOCOL) {
      throw new MedoError('ERR_USAGE', `file worker speaks protocol ${FILE_PROTOCOL}, asked for ${task.protocol}: rebuild dist/ with 'npx tsc -p .'`);
    }
    const results = task.items.map((item): FileResult => {
      if (item.op === 'inspect') return inspect(item);
      const store = storeFor(task.medoRoot, task.cacheDir);
      return item.op === 'create' ? create(item, store, task.umask) : sync(item, store, task.umask);
    });
    return { ok: true, results };
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    const data: ErrorData = isMedoError(e) ? e.data : err.path === undefined ? {} : { path: err.path };
    return { ok: false, error: { code: isMedoError(e) ? e.code : (err.code ?? 'EIO'), message: err.message ?? String(e), data } };
  }
}

export default runFileTask;
