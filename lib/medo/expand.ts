// `medo expand` (alias `sync`): make a directory hold exactly what the targets name, cheaply when it
// already nearly does. Files whose content and metadata match are left alone (content is compared by
// hashing the file as a git blob, so an identical file is never rewritten); differing ones are replaced
// through a temp file, fsync and rename; names the tree does not have are reported, or removed with
// `delete`. Directory modes and mtimes are set last, deepest first, once nothing more is written in them.
//
// A destination that does not exist yet (or is an empty directory of ours) is built under a temp name beside
// it and renamed into place when complete: a reader or a crash sees no destination or the whole tree, and
// files in it are created at their names directly, which costs a third less than a temp name each.
//
// Nothing is written outside the destination: every directory on the way is one this walk created or
// lstat'ed as a real directory (a symlink in its place is removed, never followed), a new file is
// written under a fresh temp name (O_EXCL|O_NOFOLLOW) and linked to its name, a replacement is renamed
// over whatever was there, and metadata is set through descriptors opened with O_NOFOLLOW. Node has no
// openat(), so this holds against what the destination held when the
// walk looked, not against another process racing to swap directories for symlinks during it.
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, type Stats } from 'node:fs';
import { chmod, lstat, mkdir, readdir, readlink, realpath, rename, rm, rmdir, stat, unlink } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { MedoError } from '../errors.js';
import { hashObject } from '../oid.js';
import type { ObjectStore } from '../store.js';
import { tarballDetector } from './materialize/archive.js';
import { DEFAULT_DIR_PERM, expectedRoot, joinPath, type ExpectedDir, type ExpectedFile, type ExpectedNode, type ExpectedSymlink } from './materialize/expected.js';
import {
  createFile, fchmod, fstatBig, fsync, futimes, hashBlob, lutimesExact, lutimesExactSync, mtimeMatches, openNoFollow, stillSeen, withFd, writeFileReplacing, writeSymlinkReplacing, type SeenFile,
} from './materialize/fs-ops.js';
import { Limiter, settleAll, track } from './materialize/limiter.js';
import { FilePool } from './materialize/file-pool.js';
import type { FileItem, FileResult } from './materialize/file-worker.js';
import { readBlob } from './materialize/read-blob.js';
import type { Target } from './resolve-target.js';
import { unpackArchive } from './materialize/unpack.js';

export interface ExpandOptions {
  /** Remove what the tree does not name (default: only report it). */
  delete?: boolean;
  /** Filesystem operations in flight (default 32). */
  concurrency?: number;
  /** Called after each file or symlink is handled, with the bytes it holds. */
  onFile?: (bytes: number) => void;
  /** Unpack blob targets that are tarballs (default true); otherwise they are written as files. */
  unpack?: boolean;
  /**
   * The medo directory whose silos `store` reads. When given, new files and symlinks are created, and
   * existing regular files compared and fixed, on a pool of worker threads that read the silos
   * themselves (file-pool.ts).
   */
  medoRoot?: string;
  /** The host's cache of the medo directory's remote silos, which the pool's workers read too (--cache-dir). */
  cacheDir?: string;
  /** Worker threads for that pool (default: file-pool.ts defaultThreads()); 0 does that work on this thread. */
  threads?: number;
  /** Files of the destination hashed just before (by path below it): not hashed again while unchanged. */
  seen?: (path: string) => SeenFile | undefined;
}

interface ExpanderOptions extends ExpandOptions {
  /** `dest` is a directory this run made and nobody else writes in: files are created at their names directly. */
  fresh?: boolean;
}

export interface ExpandReport {
  dest: string;
  /** Files and symlinks created where nothing was. */
  written: number;
  /** Files and symlinks rewritten because content or type differed. */
  replaced: number;
  /** Same content; mode or mtime fixed in place. */
  updated: number;
  /** Content and metadata already right: not touched at all. */
  unchanged: number;
  dirsCreated: number;
  /** Bytes of file content written. */
  bytes: number;
  /** Paths the tree does not name, left in place (a directory ends in '/'). */
  extra: string[];
  /** Paths the tree does not name, removed (with `delete`). */
  removed: string[];
  /** Non-empty directories standing where the tree has a file or symlink, left in place without `delete`. */
  conflicts: string[];
}

const IS_ROOT = process.getuid?.() === 0;
/** Operations queued for the limiter before the walk waits for them to drain. */
const MAX_BACKLOG = 4096;
/** Directories listed at once (Expander.walking). */
const WALKING_DIRS = 8;

interface DirRecord {
  node: ExpectedDir;
  abs: string;
  depth: number;
  /** Mode to put back on a directory we made writable for ourselves and whose mode the tree does not set. */
  restore?: number;
}

/** What is at a path now, as readdir's Dirent or lstat's Stats tell it. */
export interface EntryKind {
  isFile(): boolean;
  isDirectory(): boolean;
  isSymbolicLink(): boolean;
}

export class Expander {
  readonly report: ExpandReport;
  private readonly limiter: Limiter;
  /**
   * Directories being listed and handed out at once. Each holds its children's nodes while it does, so
   * without a bound a walk would start every directory of a large tree and hold the whole tree.
   */
  private readonly walking = new Limiter(WALKING_DIRS);
  private readonly dirs: DirRecord[] = [];
  /** Directories in which an existing file was replaced: fsync'd at the end so the renames last. */
  private readonly syncDirs = new Set<string>();
  /** Directories this run created: known to be empty, so not read back. */
  private readonly created = new Set<string>();
  /** Started on the first file to create: a re-run that creates nothing starts no threads. */
  private pool: FilePool | undefined;
  private readonly usePool: boolean;
  private readonly fresh: boolean;
  private failure: unknown;

  constructor(readonly store: ObjectStore, readonly dest: string, readonly options: ExpanderOptions = {}) {
    this.limiter = new Limiter(options.concurrency ?? 32);
    this.usePool = options.medoRoot !== undefined;
    this.fresh = options.fresh === true;
    if (this.fresh) this.created.add(dest);
    this.report = { dest, written: 0, replaced: 0, updated: 0, unchanged: 0, dirsCreated: 0, bytes: 0, extra: [], removed: [], conflicts: [] };
  }

  throwIfFailed(): void {
    this.failure ??= this.pool?.failed;
    if (this.failure !== undefined) throw this.failure;
  }

  /** Runs `fn` in a limiter slot, unless an earlier operation failed: then the whole walk winds down. */
  op<T>(fn: () => Promise<T>): Promise<T> {
    return this.limiter.run(async () => {
      this.throwIfFailed();
      try {
        return await fn();
      } catch (e) {
        this.failure ??= e;
        throw e;
      }
    });
  }

  async run(root: ExpectedNode): Promise<ExpandReport> {
    try {
      if (root.kind === 'archive') await unpackArchive(this, root);
      else if (root.kind === 'dir') await this.visit(root, this.dest, 0);
      else throw new MedoError('ERR_USAGE', 'the destination must be a directory');
      await this.pool?.finish();
    } finally {
      await this.pool?.close();
    }
    await this.finishDirs();
    return this.report;
  }

  private async visit(node: ExpectedDir, abs: string, depth: number): Promise<void> {
    const record: DirRecord = { node, abs, depth };
    this.dirs.push(record);
    const jobs: Promise<void>[] = [];
    try {
      // A directory's own listing and files hold a slot; its subdirectories (jobs) are waited for after
      // the slot is given back, so a parent never holds one its children need.
      await this.walking.run(async () => {
        await this.op(async () => this.makeWritable(record));
        if (node.opaque) return;
        const expected = node.children();
        const actual = this.created.has(abs) ? [] : await this.op(() => readdir(abs, { withFileTypes: true }));
        const have = new Map(actual.map((d) => [d.name, d]));
        await this.children(node, abs, expected, have, jobs, depth);
      });
    } finally {
      // Every job started is awaited, also when the loop stopped early: none is left running or unobserved.
      await settleAll(jobs);
    }
  }

  private async children(node: ExpectedDir, abs: string, expected: ExpectedNode[], have: Map<string, EntryKind & { name: string }>,
    jobs: Promise<void>[], depth: number): Promise<void> {
    // Names come from tree entries, which are never empty, '.', '..' or hold a '/': no need for join()'s
    // normalizing, which a tree of 100,000 files would pay for each.
    const prefix = abs.endsWith('/') ? abs : `${abs}/`;
    for (const child of expected) {
      const name = child.path.slice(child.path.lastIndexOf('/') + 1);
      const d = have.size > 0 ? have.get(name) : undefined;
      if (d !== undefined) have.delete(name);
      const pooled = this.usePool && (child.kind === 'file' ? d === undefined || d.isFile()
        : child.kind === 'symlink' && child.target === undefined && (d === undefined || d.isSymbolicLink()));
      if (pooled) {
        // Waits only while the workers are behind.
        const accepted = this.toPool(child as ExpectedFile | ExpectedSymlink, prefix + name, d === undefined ? 'create' : 'sync');
        if (accepted !== undefined) await accepted;
        continue;
      }
      track(jobs, this.child(child, prefix + name, d, depth + 1));
      if (this.limiter.backlog > MAX_BACKLOG) await this.limiter.below(MAX_BACKLOG / 2);
    }
    for (const [name, d] of have) track(jobs, this.extra(joinPath(node.path, name), join(abs, name), d));
  }

  private async child(child: ExpectedNode, abs: string, d: EntryKind | undefined, depth: number): Promise<void> {
    switch (child.kind) {
      case 'dir':
        await this.op(() => this.ensureDir(child, abs, d));
        return this.visit(child, abs, depth);
      case 'file':
        return this.op(() => this.syncFile(child, abs, d));
      case 'symlink':
        return this.op(() => this.syncSymlink(child, abs, d));
      case 'archive':
        await this.op(() => this.ensureDir({ kind: 'dir', path: child.path, opaque: false, children: () => [] }, abs, d));
        return unpackArchive(this, child);
    }
  }

  /** Hands a file or symlink to the pool: to create where nothing is, or to compare with what is there and fix. */
  private toPool(n: ExpectedFile | ExpectedSymlink, abs: string, op: 'create' | 'sync'): Promise<void> | undefined {
    const item: FileItem = { op, kind: n.kind, abs, path: n.path, oid: n.oid, perm: n.kind === 'file' ? n.perm : 0o777 };
    if (n.kind === 'file') item.permExact = n.permExact;
    const seen = op === 'sync' && n.kind === 'file' ? this.options.seen?.(n.path) : undefined;
    if (seen !== undefined) item.seen = seen;
    if (this.fresh) item.direct = true;
    if (n.mtime !== undefined) item.mtime = n.mtime;
    this.pool ??= new FilePool(this.options.medoRoot!, this.options.threads, this.options.cacheDir);
    return this.pool.add(item, (r: FileResult) => {
      if (r.result === 'inspected' || r.result === 'other') return;
      if (r.result === 'replaced') this.syncDirs.add(abs.slice(0, abs.lastIndexOf('/')));
      this.count(r.result, r.size, r.result === 'written' || r.result === 'replaced' ? (n.kind === 'file' ? r.size : 0) : 0);
    });
  }

  /** Makes `abs` a real directory. */
  async ensureDir(node: ExpectedDir, abs: string, d: EntryKind | undefined): Promise<void> {
    if (d !== undefined && d.isDirectory()) return;
    if (d !== undefined) {
      // A symlink (wherever it points), file or special file where the tree has a directory: the entry
      // itself goes, its target is never looked at.
      await unlink(abs);
      this.report.replaced++;
    }
    const mode = ((node.perm ?? DEFAULT_DIR_PERM) | 0o700) & 0o777;
    if (this.fresh) mkdirSync(abs, mode);
    else await mkdir(abs, mode);
    this.created.add(abs);
    this.report.dirsCreated++;
  }

  /** We must be able to write into a directory while we fill it; its real mode is set at the end. */
  private async makeWritable(record: DirRecord): Promise<void> {
    if (IS_ROOT) return;
    const st = await lstat(record.abs);
    if ((st.mode & 0o700) === 0o700) return;
    await withFd(await openNoFollow(record.abs, true), (fd) => fchmod(fd, (st.mode & 0o7777) | 0o700));
    if (record.node.perm === undefined) record.restore = st.mode & 0o7777;
  }

  /** Clears a directory standing where a file or symlink goes; false (a conflict) if it is not empty and may not be removed. */
  private async clearDir(path: string, abs: string): Promise<boolean> {
    if ((await readdir(abs)).length === 0) {
      await rmdir(abs);
      return true;
    }
    if (!this.options.delete) {
      this.report.conflicts.push(path);
      return false;
    }
    await rm(abs, { recursive: true, force: true });
    this.report.removed.push(`${path}/`);
    return true;
  }

  async syncFile(f: ExpectedFile, abs: string, d: EntryKind | undefined, content?: Buffer): Promise<void> {
    const blob = (): Buffer => content ?? readBlob(this.store, f.oid, f.path);
    if (d === undefined) {
      const data = blob();
      await createFile(abs, data, { perm: f.perm, mtime: f.mtime, durable: false, direct: this.fresh });
      this.count('written', data.length, data.length);
      return;
    }
    if (d.isDirectory() && !(await this.clearDir(f.path, abs))) return;
    if (d.isFile()) {
      const done = await withFd(await openNoFollow(abs), async (fd) => {
        const st = await fstatBig(fd);
        const size = Number(st.size);
        const seen = this.options.seen?.(f.path);
        const oid = stillSeen(st, seen) ? seen.oid : await hashBlob(fd, size);
        if (oid !== f.oid) return false;
        const permOk = f.permExact ? Number(st.mode & 0o7777n) === f.perm : ((st.mode & 0o100n) !== 0n) === ((f.perm & 0o100) !== 0);
        const mtimeOk = f.mtime === undefined || mtimeMatches(st, f.mtime);
        if (permOk && mtimeOk) {
          this.count('unchanged', size, 0);
          return true;
        }
        // A second link to this inode may live outside the destination: give the path its own file.
        if (st.nlink !== 1n) return false;
        if (!permOk) await fchmod(fd, f.perm);
        if (!mtimeOk) await futimes(fd, f.mtime!);
        this.count('updated', size, 0);
        return true;
      });
      if (done) return;
    }
    const data = blob();
    await writeFileReplacing(abs, data, { perm: f.perm, mtime: f.mtime, durable: d.isFile() });
    this.syncDirs.add(abs.slice(0, abs.lastIndexOf('/')));
    this.count('replaced', data.length, data.length);
  }

  async syncSymlink(s: ExpectedSymlink, abs: string, d: EntryKind | undefined, target?: Buffer): Promise<void> {
    // The link that is there, when it is the one wanted, needs no blob (an upgrade in place has not
    // fetched what the destination already holds).
    const have = d?.isSymbolicLink() ? await readlink(abs, { encoding: 'buffer' }) : undefined;
    const want = have !== undefined && hashObject('blob', have) === s.oid ? have : target ?? s.target ?? readBlob(this.store, s.oid, s.path);
    if (have !== undefined) {
      if (have.equals(want)) {
        if (s.mtime === undefined || mtimeMatches(await lstat(abs, { bigint: true }), s.mtime)) return this.count('unchanged', want.length, 0);
        await lutimesExact(abs, s.mtime);
        return this.count('updated', want.length, 0);
      }
    }
    if (d?.isDirectory() && !(await this.clearDir(s.path, abs))) return;
    await writeSymlinkReplacing(abs, want, s.mtime);
    this.count(d === undefined ? 'written' : 'replaced', want.length, 0);
  }

  private count(kind: 'written' | 'replaced' | 'updated' | 'unchanged', size: number, written: number): void {
    this.report[kind]++;
    this.report.bytes += written;
    this.options.onFile?.(size);
  }

  async extra(path: string, abs: string, d: EntryKind): Promise<void> {
    const shown = d.isDirectory() ? `${path}/` : path;
    if (!this.options.delete) {
      this.report.extra.push(shown);
      return;
    }
    await this.op(() => rm(abs, { recursive: true, force: true }));
    this.report.removed.push(shown);
  }

  /** Registers a directory whose mode and mtime are set at the end (the unpacker's directories). */
  addDir(node: ExpectedDir, abs: string, depth: number): void {
    this.dirs.push({ node, abs, depth });
  }

  private async finishDirs(): Promise<void> {
    const byDepth = new Map<number, DirRecord[]>();
    for (const r of this.dirs) {
      const level = byDepth.get(r.depth);
      if (level === undefined) byDepth.set(r.depth, [r]);
      else level.push(r);
    }
    for (const depth of [...byDepth.keys()].sort((a, b) => b - a)) {
      await settleAll(byDepth.get(depth)!.map((r) => this.op(() => this.finishDir(r))));
    }
    for (const dir of this.syncDirs) {
      await this.op(async () => withFd(await openNoFollow(dir, true), fsync));
    }
  }

  private async finishDir(r: DirRecord): Promise<void> {
    const perm = r.node.perm ?? r.restore;
    const mtime = r.node.mtime;
    if (perm === undefined && mtime === undefined) return;
    if (this.fresh) {
      // Made by this run inside the private staging directory, where nobody else can put a symlink in its
      // place: set by path, one call each, without opening and comparing first.
      if (perm !== undefined) chmodSync(r.abs, perm);
      if (mtime !== undefined) lutimesExactSync(r.abs, mtime);
      return;
    }
    await withFd(await openNoFollow(r.abs, true), async (fd) => {
      const st = await fstatBig(fd);
      if (perm !== undefined && Number(st.mode & 0o7777n) !== perm) await fchmod(fd, perm);
      if (mtime !== undefined && !mtimeMatches(st, mtime)) await futimes(fd, mtime);
    });
  }
}

/**
 * Expands `root` (from materialize/expected.ts) into `dest`, creating it if need be. The destination
 * itself is the one path followed if it is a symlink: the caller named it.
 */
export async function expandInto(root: ExpectedNode, store: ObjectStore, dest: string, options: ExpandOptions = {}): Promise<ExpandReport> {
  let existing: Stats | undefined;
  try {
    existing = await stat(dest);
    if (!existing.isDirectory()) throw new MedoError('ERR_USAGE', `${dest} exists and is not a directory`, { path: dest });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
  const final = existing === undefined ? resolve(dest) : await realpath(dest);
  const staging = await stagingFor(final, existing);
  if (staging === undefined) {
    if (existing === undefined) await mkdir(final, { recursive: true });
    return new Expander(store, await realpath(final), options).run(root);
  }
  try {
    const report = await new Expander(store, staging, { ...options, fresh: true }).run(root);
    // The tree's root mode, when it has one, is set; otherwise the mode the destination had, or a new
    // directory's, replaces the staging directory's private 0700.
    if (root.kind !== 'dir' || root.perm === undefined) await chmod(staging, existing !== undefined ? existing.mode & 0o7777 : 0o777 & ~process.umask());
    // Replaces the destination only if it is still an empty directory (or still absent).
    await rename(staging, final).catch((e: NodeJS.ErrnoException) => {
      if (e.code !== 'ENOTEMPTY' && e.code !== 'EEXIST' && e.code !== 'ENOTDIR') throw e;
      throw new MedoError('ERR_USAGE', `${dest} was created or filled by someone else while this expand was building it; run expand again`, { path: dest });
    });
    return { ...report, dest: final };
  } catch (e) {
    await rm(staging, { recursive: true, force: true }).catch(() => undefined);
    throw e;
  }
}

/**
 * A new, private directory beside `final` to build the tree in, when `final` does not exist or is an
 * empty directory of ours on the same filesystem as its parent (so that rename(2) can replace it); else
 * undefined, and the tree is expanded in place.
 */
async function stagingFor(final: string, existing: Stats | undefined): Promise<string | undefined> {
  const parent = dirname(final);
  if (parent === final) return undefined;
  await mkdir(parent, { recursive: true });
  if (existing !== undefined) {
    if (existing.uid !== process.getuid?.() || (await stat(parent)).dev !== existing.dev || (await readdir(final)).length > 0) return undefined;
  }
  const staging = join(parent, `.medo-expand-${basename(final).slice(0, 100)}-${process.pid}-${randomBytes(4).toString('hex')}`);
  try {
    await mkdir(staging, 0o700);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'EACCES' || code === 'EPERM' || code === 'EROFS') return undefined;
    throw e;
  }
  return staging;
}

/** Expands resolved targets (lib/medo/resolve-target.ts) into `dest`. */
export function expandTargets(targets: readonly Target[], store: ObjectStore, dest: string, options: ExpandOptions = {}): Promise<ExpandReport> {
  const root = expectedRoot(targets, store, tarballDetector(store, options.unpack ?? true));
  return expandInto(root, store, dest, options);
}
