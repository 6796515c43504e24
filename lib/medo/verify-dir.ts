// `medo verify`: does a directory hold exactly what the targets name? Every file is hashed as a git blob
// and compared by id; modes, mtimes (to the microsecond, what expand can set) and symlink targets are
// compared; names on either side only are reported. Without a sidecar only the executable bit of a file
// counts and mtimes are not compared. Nothing is written and no symlink is followed.
//
// Every blob the tree names must be in the store too (a silo that cannot give the tree back is not a
// match, whatever the directory holds): a missing one is ERR_OBJECT_MISSING, not a difference.
import type { Dirent } from 'node:fs';
import { lstat, readdir, readlink, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { MedoError } from '../errors.js';
import type { ObjectStore } from '../store.js';
import { ArchiveLayout, tarballDetector, tarEntries } from './materialize/archive.js';
import { expectedRoot, type ExpectedDir, type ExpectedFile, type ExpectedNode, type ExpectedSymlink, type Mtime } from './materialize/expected.js';
import { FilePool } from './materialize/file-pool.js';
import type { FileResult } from './materialize/file-worker.js';
import { mtimeFromStat, mtimeMatches } from './materialize/fs-ops.js';
import { Limiter, settleAll, track } from './materialize/limiter.js';
import { assertHas, readBlob } from './materialize/read-blob.js';
import type { Target } from './resolve-target.js';

const MAX_BACKLOG = 4096;

export type DifferenceKind = 'missing' | 'extra' | 'type' | 'content' | 'mode' | 'mtime' | 'target';

export interface Difference {
  kind: DifferenceKind;
  /** '/'-separated below the directory; a directory ends in '/'; '' is the directory itself. */
  path: string;
  expected?: string;
  actual?: string;
}

export interface VerifyReport {
  dir: string;
  ok: boolean;
  /** Sorted by path. */
  differences: Difference[];
  /** Files and symlinks compared, and the bytes hashed. */
  files: number;
  bytes: number;
}

export interface VerifyOptions {
  /** Directory reads and symlink checks in flight (default 32). */
  concurrency?: number;
  /** Worker threads that hash files (default: file-pool.ts defaultThreads()); 0 hashes on this thread. */
  threads?: number;
  onFile?: (bytes: number) => void;
  /** Compare tarball blob targets with their unpacked entries (default true), as expand unpacks them. */
  unpack?: boolean;
  /** Compare mtimes to the whole second only: for a copy out of a format that keeps no more (SquashFS). */
  mtimeSeconds?: boolean;
}

function kindOf(d: { isFile(): boolean; isDirectory(): boolean; isSymbolicLink(): boolean }): string {
  return d.isFile() ? 'file' : d.isDirectory() ? 'directory' : d.isSymbolicLink() ? 'symlink' : 'special file';
}

const expectedKind = (n: ExpectedNode): string => (n.kind === 'dir' || n.kind === 'archive' ? 'directory' : n.kind);

export function formatMode(perm: number): string {
  return perm.toString(8).padStart(4, '0');
}

export function formatMtime(m: Mtime): string {
  const micros = String(Math.floor(m.nsec / 1000)).padStart(6, '0');
  const date = new Date(m.sec * 1000);
  // A sidecar may claim any whole number of seconds; past what Date can show, print the raw number.
  if (Number.isNaN(date.getTime())) return `@${m.sec}.${micros}`;
  return `${date.toISOString().replace(/\.000Z$/, '')}.${micros}Z`;
}

class Verifier {
  readonly differences: Difference[] = [];
  files = 0;
  bytes = 0;
  private readonly limiter: Limiter;
  /** Started on the first file to hash. */
  private pool: FilePool | undefined;

  constructor(private readonly store: ObjectStore, private readonly dir: string, private readonly options: VerifyOptions) {
    this.limiter = new Limiter(options.concurrency ?? 32);
  }

  private diff(kind: DifferenceKind, path: string, expected?: string, actual?: string): void {
    const d: Difference = { kind, path };
    if (expected !== undefined) d.expected = expected;
    if (actual !== undefined) d.actual = actual;
    this.differences.push(d);
  }

  private abs(path: string): string {
    return path === '' ? this.dir : join(this.dir, ...path.split('/'));
  }

  async node(n: ExpectedNode, d: Dirent | undefined, fromStore: boolean): Promise<void> {
    const shown = n.kind === 'dir' || n.kind === 'archive' ? (n.path === '' ? '' : `${n.path}/`) : n.path;
    if (d === undefined) {
      if (fromStore && n.kind !== 'dir' && n.kind !== 'archive') assertHas(this.store, n.oid, n.path);
      this.diff('missing', shown, expectedKind(n));
      return;
    }
    const actual = kindOf(d);
    if (actual !== expectedKind(n)) {
      this.diff('type', shown, expectedKind(n), actual);
      return;
    }
    if (n.kind === 'file') await this.file(n, fromStore);
    else if (n.kind === 'symlink') await this.limiter.run(() => this.symlink(n));
    else if (n.kind === 'dir') await this.directory(n, fromStore);
    else await this.archive(n.path, n.oid);
  }

  private async archive(path: string, oid: string): Promise<void> {
    const label = `tarball ${oid} (${path === '' ? 'the target' : path})`;
    const layout = new ArchiveLayout(path, label);
    for await (const e of tarEntries(readBlob(this.store, oid, path), label)) layout.add(e);
    await this.directory(layout.nodes.get('') as ExpectedDir, false);
  }

  private async directory(n: ExpectedDir, fromStore: boolean): Promise<void> {
    const shown = n.path === '' ? '' : `${n.path}/`;
    const abs = this.abs(n.path);
    const st = await this.limiter.run(() => lstat(abs, { bigint: true }));
    this.metadata(shown, { mode: Number(st.mode), mtimeNs: st.mtimeNs }, n.perm, true, n.mtime);
    if (n.opaque) return;
    const expected = n.children();
    const have = new Map((await this.limiter.run(() => readdir(abs, { withFileTypes: true }))).map((d) => [d.name, d]));
    const jobs: Promise<void>[] = [];
    try {
      for (const child of expected) {
        const name = child.path.slice(child.path.lastIndexOf('/') + 1);
        track(jobs, this.node(child, have.get(name), fromStore));
        have.delete(name);
        // Do not queue a whole large tree at once, one closure per file.
        if (this.limiter.backlog > MAX_BACKLOG) await this.limiter.below(MAX_BACKLOG / 2);
      }
    } finally {
      await settleAll(jobs);
    }
    for (const [name, d] of have) this.diff('extra', `${shown}${name}${d.isDirectory() ? '/' : ''}`, undefined, kindOf(d));
  }

  private metadata(shown: string, st: { mode: number; mtimeNs: bigint }, perm: number | undefined, permExact: boolean, mtime: Mtime | undefined): void {
    const have = st.mode & 0o7777;
    if (perm !== undefined) {
      if (permExact && have !== perm) this.diff('mode', shown, formatMode(perm), formatMode(have));
      const x = (p: number): string => ((p & 0o100) !== 0 ? 'executable' : 'not executable');
      if (!permExact && x(have) !== x(perm)) this.diff('mode', shown, x(perm), x(have));
    }
    const same = (): boolean => (this.options.mtimeSeconds === true ? st.mtimeNs / 1_000_000_000n === BigInt(mtime!.sec) : mtimeMatches(st, mtime!));
    if (mtime !== undefined && !same()) this.diff('mtime', shown, formatMtime(mtime), formatMtime(mtimeFromStat(st)));
  }

  /** Hashes the file on the pool; the comparison runs when the result comes back (see run()). */
  private file(f: ExpectedFile, fromStore: boolean): Promise<void> {
    if (fromStore) assertHas(this.store, f.oid, f.path);
    this.pool ??= new FilePool(undefined, this.options.threads);
    const accepted = this.pool.add({ op: 'inspect', kind: 'file', abs: this.abs(f.path), path: f.path, oid: f.oid, perm: f.perm }, (r: FileResult) => {
      if (r.result !== 'inspected') {
        this.diff('type', f.path, 'file', 'no longer a regular file');
        return;
      }
      if (r.oid !== f.oid) this.diff('content', f.path, f.oid, r.oid);
      this.metadata(f.path, r, f.perm, f.permExact, f.mtime);
      this.count(r.size);
    });
    return accepted ?? Promise.resolve();
  }

  private async symlink(s: ExpectedSymlink): Promise<void> {
    const want = s.target ?? readBlob(this.store, s.oid, s.path);
    const abs = this.abs(s.path);
    const have = await readlink(abs, { encoding: 'buffer' });
    if (!have.equals(want)) this.diff('target', s.path, want.toString('utf8'), have.toString('utf8'));
    if (s.mtime !== undefined) {
      const st = await lstat(abs, { bigint: true });
      this.metadata(s.path, { mode: Number(st.mode), mtimeNs: st.mtimeNs }, undefined, true, s.mtime);
    }
    this.count(want.length);
  }

  private count(bytes: number): void {
    this.files++;
    this.bytes += bytes;
    this.options.onFile?.(bytes);
  }

  async run(root: ExpectedNode): Promise<void> {
    let st;
    try {
      st = await stat(this.dir);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
      this.diff('missing', '', 'directory');
      return;
    }
    if (!st.isDirectory()) throw new MedoError('ERR_USAGE', `${this.dir} is not a directory`, { path: this.dir });
    try {
      if (root.kind === 'archive') await this.archive(root.path, root.oid);
      else if (root.kind === 'dir') await this.directory(root, true);
      else throw new MedoError('ERR_USAGE', 'a single file target is verified within its directory');
      await this.pool?.finish();
    } finally {
      await this.pool?.close();
    }
  }
}

/** Compares `dir` with `root` (materialize/expected.ts). */
export async function verifyAgainst(root: ExpectedNode, store: ObjectStore, dir: string, options: VerifyOptions = {}): Promise<VerifyReport> {
  const v = new Verifier(store, dir, options);
  await v.run(root);
  const differences = v.differences.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : a.kind < b.kind ? -1 : a.kind > b.kind ? 1 : 0));
  return { dir, ok: differences.length === 0, differences, files: v.files, bytes: v.bytes };
}

/** Compares `dir` with resolved targets (lib/medo/resolve-target.ts), laid out as expand lays them out. */
export function verifyTargets(targets: readonly Target[], store: ObjectStore, dir: string, options: VerifyOptions = {}): Promise<VerifyReport> {
  return verifyAgainst(expectedRoot(targets, store, tarballDetector(store, options.unpack ?? true)), store, dir, options);
}
