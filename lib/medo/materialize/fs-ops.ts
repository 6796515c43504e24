// The filesystem primitives of expand and verify. Everything below the destination is opened with
// O_NOFOLLOW or created with O_EXCL under a fresh temp name, and metadata is set through the open file,
// so a symlink planted in the destination is replaced or reported, never followed.
//
// Mtimes: Node's utimes goes through libuv, which takes a double of seconds and keeps microseconds. With
// the native helper (setTimes, createFile) they are set to the nanosecond, so that an expanded tree gives
// back the very sidecar it came from (an upgrade in place offers it as a delta base); without it, to the
// microsecond. Either way they are compared to the microsecond, so a filesystem that keeps less than
// nanoseconds does not make every rerun touch every file.
import { createHash, randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import type { BigIntStats } from 'node:fs';
import { link, lstat, rename, symlink, unlink } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { getSystemErrorName, promisify } from 'node:util';
import { TEMP_PREFIX } from '../../io/atomic-write.js';
import { native } from '../../native.js';
import { objectHeader } from '../../oid.js';
import type { Mtime } from './expected.js';

const { O_RDONLY, O_WRONLY, O_CREAT, O_EXCL, O_NOFOLLOW, O_DIRECTORY } = fs.constants;

const HASH_CHUNK = 1 << 20;

/** A temp name beside `abs`. Unlike io/atomic-write's it does not embed the final name, which may
 * already be as long as a name can be. */
export function tempBeside(abs: string): string {
  return join(dirname(abs), `${TEMP_PREFIX}medo-${process.pid}-${randomBytes(6).toString('hex')}`);
}

export function micros(m: Mtime): bigint {
  return BigInt(m.sec) * 1_000_000n + BigInt(Math.floor(m.nsec / 1000));
}

export function statMicros(st: { mtimeNs: bigint }): bigint {
  // Floor division, also for times before 1970.
  const ns = st.mtimeNs;
  const q = ns / 1000n;
  return ns < 0n && q * 1000n !== ns ? q - 1n : q;
}

export function mtimeMatches(st: { mtimeNs: bigint }, m: Mtime): boolean {
  return statMicros(st) === micros(m);
}

export function mtimeFromStat(st: { mtimeNs: bigint }): Mtime {
  const us = statMicros(st);
  const sec = us / 1_000_000n;
  const frac = us - sec * 1_000_000n;
  return frac < 0n ? { sec: Number(sec - 1n), nsec: Number(frac + 1_000_000n) * 1000 } : { sec: Number(sec), nsec: Number(frac) * 1000 };
}

/**
 * Seconds as utimes wants them. libuv keeps `floor(fraction * 1e9)` rounded down to the microsecond; a
 * double near 2^31 is exact to ~240 ns, so aiming at the middle of the microsecond lands inside it.
 */
export function utimeSeconds(m: Mtime): number {
  return m.sec + (Math.floor(m.nsec / 1000) * 1000 + 500) / 1e9;
}

// The callback API, promisified: per call it costs a fraction of what a FileHandle does, and a large tree
// makes hundreds of thousands of these calls.
const pOpen = promisify(fs.open);
const pClose = promisify(fs.close);
const pRead = (fd: number, buf: Uint8Array, offset: number, length: number, position: number): Promise<number> =>
  new Promise((resolve, reject) => fs.read(fd, buf, offset, length, position, (e, n) => (e ? reject(e) : resolve(n))));
const pWrite = (fd: number, buf: Uint8Array, offset: number, length: number, position: number): Promise<number> =>
  new Promise((resolve, reject) => fs.write(fd, buf, offset, length, position, (e, n) => (e ? reject(e) : resolve(n))));
const pFchmod = promisify(fs.fchmod);
const pFutimes = promisify(fs.futimes);
const pFsync = promisify(fs.fsync);
const pFstat = promisify(fs.fstat) as unknown as (fd: number, o: { bigint: true }) => Promise<BigIntStats>;

export const fstatBig = (fd: number): Promise<BigIntStats> => pFstat(fd, { bigint: true });
export const fchmod = (fd: number, perm: number): Promise<void> => pFchmod(fd, perm);
export const futimes = (fd: number, m: Mtime): Promise<void> =>
  (nativeTimes(`descriptor ${fd}`, fd, m) ? Promise.resolve() : pFutimes(fd, utimeSeconds(m), utimeSeconds(m)));

/**
 * Sets atime and mtime through the native helper (of `fd`, else of `abs` not followed); false when it is
 * not built. An errno is thrown as Node's calls throw it.
 */
function nativeTimes(abs: string, fd: number, m: Mtime): boolean {
  const setTimes = native?.setTimes;
  if (setTimes === undefined) return false;
  const errno = setTimes(fd >= 0 ? '' : abs, fd, m.sec, m.nsec);
  if (errno === 0) return true;
  const code = getSystemErrorName(-errno);
  throw Object.assign(new Error(`${code}: utimensat ${abs}`), { code, errno: -errno, syscall: 'utimensat', path: abs });
}

/** Sets the times of `abs` itself (a symlink is not followed) to `m`. */
export function lutimesExactSync(abs: string, m: Mtime): void {
  if (!nativeTimes(abs, -1, m)) fs.lutimesSync(abs, utimeSeconds(m), utimeSeconds(m));
}

/** Sets the times of `fd` to `m`. */
export function futimesExactSync(fd: number, m: Mtime): void {
  if (!nativeTimes(`descriptor ${fd}`, fd, m)) fs.futimesSync(fd, utimeSeconds(m), utimeSeconds(m));
}

/** lutimesExactSync for the async callers (one short system call: no hop to the thread pool is worth it). */
export const lutimesExact = async (abs: string, m: Mtime): Promise<void> => lutimesExactSync(abs, m);
export const fsync = (fd: number): Promise<void> => pFsync(fd);

/** Opens an existing regular file or directory without following a symlink (ELOOP if it is one). */
export function openNoFollow(abs: string, directory = false): Promise<number> {
  return pOpen(abs, O_RDONLY | O_NOFOLLOW | (directory ? O_DIRECTORY : 0));
}

/** Runs `fn` with `fd`, closing it whatever happens. */
export async function withFd<T>(fd: number, fn: (fd: number) => Promise<T>): Promise<T> {
  try {
    return await fn(fd);
  } finally {
    await pClose(fd);
  }
}

/** `git hash-object` of an open file's current content. */
export async function hashBlob(fd: number, size: number): Promise<string> {
  const h = createHash('sha1').update(objectHeader('blob', size));
  const buf = Buffer.allocUnsafe(Math.min(Math.max(size, 1), HASH_CHUNK));
  let pos = 0;
  for (;;) {
    const n = await pRead(fd, buf, 0, buf.length, pos);
    if (n === 0) break;
    h.update(buf.subarray(0, n));
    pos += n;
  }
  // A file that grew or shrank while we read it does not match whatever it is compared with.
  if (pos !== size) h.update(Buffer.from('\0size changed while hashing'));
  return h.digest('hex');
}

/** The whole content of an open file. */
export async function readAll(fd: number): Promise<Buffer> {
  const st = await fstatBig(fd);
  const buf = Buffer.allocUnsafe(Number(st.size));
  let pos = 0;
  while (pos < buf.length) {
    const n = await pRead(fd, buf, pos, buf.length - pos, pos);
    if (n === 0) break;
    pos += n;
  }
  return buf.subarray(0, pos);
}

async function writeAll(fd: number, data: Uint8Array): Promise<void> {
  let done = 0;
  while (done < data.length) done += await pWrite(fd, data, done, data.length - done, done);
}

export interface WriteOptions {
  perm: number;
  mtime?: Mtime;
  /** fsync before the rename: a crash must not lose the file this one replaces. */
  durable: boolean;
  /**
   * Create the file at its name directly (O_EXCL): for a directory nobody else sees until the whole tree
   * is in it (expand's staging directory), where a temp name would only cost time.
   */
  direct?: boolean;
}

// The kernel applies the umask to a new file's mode; an fchmod is only needed when that changes it.
const UMASK = process.umask();

/** Fills a file just created with mode `opened`, and sets its mode and mtime through the descriptor. */
async function fill(fd: number, content: Uint8Array, o: WriteOptions, opened: number): Promise<void> {
  if (content.length > 0) await writeAll(fd, content);
  if (o.perm !== (opened & ~UMASK)) await pFchmod(fd, o.perm);
  if (o.mtime !== undefined) await futimes(fd, o.mtime);
  if (o.durable) await pFsync(fd);
}

/**
 * Creates `abs`, which must not exist. The content goes to a temp file beside it first, which link(2) then
 * gives its final name: a reader or a crash never sees a half-written file under that name, and like
 * O_EXCL the link fails (EEXIST) rather than replace anything that appeared there meanwhile. With
 * `o.direct` it is written at its name (O_EXCL), and removed if it cannot be finished.
 */
export async function createFile(abs: string, content: Uint8Array, o: WriteOptions): Promise<void> {
  const target = o.direct ? abs : tempBeside(abs);
  const fd = await pOpen(target, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, o.perm & 0o777);
  try {
    await withFd(fd, () => fill(fd, content, o, o.perm & 0o777));
    if (!o.direct) await publishNew(target, abs);
  } catch (e) {
    await unlink(target).catch(() => undefined);
    throw e;
  }
}

// Filesystems without hard links answer link(2) with one of these; there a rename into a name that is
// still absent does the same job.
const NO_HARD_LINKS = new Set(['EPERM', 'EOPNOTSUPP', 'ENOTSUP', 'EMLINK']);

async function publishNew(tmp: string, abs: string): Promise<void> {
  try {
    await link(tmp, abs);
  } catch (e) {
    if (!NO_HARD_LINKS.has((e as NodeJS.ErrnoException).code ?? '')) throw e;
    const there = await lstat(abs).then(() => true, () => false);
    if (there) throw Object.assign(new Error(`EEXIST: file already exists, ${abs}`), { code: 'EEXIST' });
    await rename(tmp, abs);
    return;
  }
  await unlink(tmp);
}

const CREATE_STAGES = ['', 'open', 'write', 'fchmod', 'futimens', 'linkat'];
// open(O_TMPFILE) answers these where the filesystem (or kernel) has no unnamed files; linkat through
// /proc/self/fd answers ENOENT without /proc. Then a temp name does the job.
const NO_TMPFILE = new Set(['EOPNOTSUPP', 'EISDIR', 'EINVAL']);
let tmpfileWorks = true;

/**
 * Creates `abs`, which must not exist, in one native call that writes it, sets its mode (when `chmod`) and
 * its mtime (to the nanosecond), and never replaces anything (EEXIST). `direct`: at its name, for a
 * directory nobody else sees yet; otherwise as an unnamed file linked to its name once complete. False
 * when that is not available here (no addon; for a linked file, no O_TMPFILE on this filesystem or no
 * /proc): the caller then does it with Node's calls.
 */
export function createFileNative(abs: string, content: Uint8Array, perm: number, chmod: boolean, mtime: Mtime | undefined, direct: boolean): boolean {
  const createFile = native?.createFile;
  if (createFile === undefined || (!direct && !tmpfileWorks)) return false;
  const r = createFile(abs, direct ? '' : dirname(abs), content, perm, chmod, mtime?.sec ?? 0, mtime?.nsec ?? -1);
  if (r === 0) return true;
  const stage = -r >> 16;
  const errno = -r & 0xffff;
  const code = getSystemErrorName(-errno);
  if (!direct && ((stage === 1 && NO_TMPFILE.has(code)) || (stage === 5 && code === 'ENOENT' && !fs.existsSync('/proc/self/fd')))) {
    tmpfileWorks = false;
    return false;
  }
  const syscall = CREATE_STAGES[stage] ?? 'create';
  throw Object.assign(new Error(`${code}: ${syscall} ${abs}`), { code, errno: -errno, syscall, path: abs });
}

/** publishNew with synchronous calls, for the worker threads. */
export function publishNewSync(tmp: string, abs: string): void {
  try {
    fs.linkSync(tmp, abs);
  } catch (e) {
    if (!NO_HARD_LINKS.has((e as NodeJS.ErrnoException).code ?? '')) throw e;
    if (fs.existsSync(abs)) throw Object.assign(new Error(`EEXIST: file already exists, ${abs}`), { code: 'EEXIST' });
    fs.renameSync(tmp, abs);
    return;
  }
  fs.unlinkSync(tmp);
}

/**
 * Writes `content` to a new temp file beside `abs`, sets its mode and mtime, then renames it over `abs`.
 * A reader sees the old file or the new one, never a mix; whatever was at `abs` (a symlink, a hard link
 * to a file elsewhere) is replaced, not written through.
 */
export async function writeFileReplacing(abs: string, content: Uint8Array, o: WriteOptions): Promise<void> {
  const tmp = tempBeside(abs);
  const fd = await pOpen(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0o600);
  try {
    await withFd(fd, () => fill(fd, content, o, 0o600));
    await rename(tmp, abs);
  } catch (e) {
    await unlink(tmp).catch(() => undefined);
    throw e;
  }
}

/** Creates a symlink under a temp name and renames it over `abs`. */
export async function writeSymlinkReplacing(abs: string, target: Buffer, mtime: Mtime | undefined): Promise<void> {
  const tmp = tempBeside(abs);
  await symlink(target, tmp);
  try {
    if (mtime !== undefined) await lutimesExact(tmp, mtime);
    await rename(tmp, abs);
  } catch (e) {
    await unlink(tmp).catch(() => undefined);
    throw e;
  }
}

/**
 * A regular file hashed a moment ago (an upgrade in place scans the destination first): while its inode,
 * size and ctime are those, its content is the blob `oid` (any write or change moves the ctime), so it
 * need not be hashed again.
 */
export interface SeenFile {
  oid: string;
  ino: bigint;
  size: number;
  ctimeNs: bigint;
}

/** Whether the file `st` describes is still the one `seen` (so it holds `seen.oid`). */
export function stillSeen(st: BigIntStats, seen: SeenFile | undefined): seen is SeenFile {
  return seen !== undefined && st.ino === seen.ino && st.ctimeNs === seen.ctimeNs && Number(st.size) === seen.size;
}
