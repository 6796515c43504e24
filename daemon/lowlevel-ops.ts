// FUSE operations over a MountSource for the low-level server (native/medo_fuse.c). The kernel names
// nodes by inode number; the source names them by path. Every inode number the kernel holds came from a
// lookup or readdirplus answer given here, so a map from number to path, filled as those answers go out,
// is all the translation needed (the numbers come from the mount's inode table and never change).
//
// Each request arrives as handler(op, id, ino, a, b) and is answered, now or after a read finishes,
// through the addon's reply functions with the same id. Every path through an op answers exactly once:
// the kernel waits for the answer, and a request never answered would hang its caller.
import { constants } from 'node:fs';
import { constants as osConstants } from 'node:os';
import { isMedoError } from '../lib/errors.js';
import { withFetch } from '../lib/mount/fetch-on-miss.js';
import { joinPath, type DeflatedRange, type DirEntry, type MountNode, type MountSource } from '../lib/mount/source.js';
import type { MountCounters } from './counters.js';
import { FsError, toErrno } from './errno.js';
import type { Logger } from './log.js';

/** The addon's functions that answer a request (native/medo_fuse.c says what each argument is). */
export interface ReplyFunctions {
  replyErr(h: unknown, id: number, errno: number): void;
  replyEntry(h: unknown, id: number, ino: number, mode: number, nlink: number, size: number, mtimeSec: number, mtimeNsec: number): void;
  replyAttr(h: unknown, id: number, ino: number, mode: number, nlink: number, size: number, mtimeSec: number, mtimeNsec: number): void;
  replyBuf(h: unknown, id: number, bytes: Uint8Array, length?: number): void;
  replyXattrSize(h: unknown, id: number, size: number): void;
  replyReadlink(h: unknown, id: number, target: string): void;
  replyStatfs(h: unknown, id: number, blocks: number, files: number, bsize: number, namemax: number): void;
  /** `dirIno` and `last` (this chunk ends the listing): the addon then answers the request past the end itself (OP.LISTED). */
  replyDir(h: unknown, id: number, plus: boolean, size: number, firstIndex: number, entries: Uint8Array, count: number, dirIno: number, last: boolean): void;
  store(h: unknown, ino: number, offset: number, bytes: Uint8Array): boolean;
  /** As store of a whole file, for content in a pack (`range`: rangeArray): inflated on the addon's threads. */
  storeDeflated?(h: unknown, ino: number, range: Float64Array, readId?: number, readOffset?: number, readSize?: number): boolean;
  /** As storeDeflated, held back until the kernel asks past the end of directory `dirIno`'s listing. */
  armDeflated?(h: unknown, dirIno: number, ino: number, range: Float64Array): boolean;
  /** Queues (`queue`) or drops what is still armed for `dirIno`. */
  releaseArmed?(h: unknown, dirIno: number, queue: boolean): void;
  /** Pushes the kernel took; `what` 1: of them, inflated by the addon; 2: reads the addon answered itself. */
  stored(h: unknown, what?: number): number;
  storeQueued(h: unknown): number;
  readonly DIRENT_HEADER: number;
}

/** A DeflatedRange and the file's size as the addon takes them: [fd, start, end, size, baseStart, baseEnd, baseSize, deltaSize]. */
function rangeArray(at: DeflatedRange, size: number): Float64Array {
  const d = at.delta;
  return Float64Array.of(at.fd, at.start, at.end, size, d?.baseStart ?? 0, d?.baseEnd ?? 0, d?.baseSize ?? 0, d?.size ?? 0);
}

export const OP = {
  INIT: 1, EXIT: 2, LOOKUP: 3, GETATTR: 4, READLINK: 5, READ: 6, READDIR: 7, READDIRPLUS: 8, GETXATTR: 9, LISTXATTR: 10, STATFS: 11,
  /** The addon answered the request past a listing's end (replyDir's `last`): nothing to answer, only to know. */
  LISTED: 12,
} as const;

const OP_NAMES = ['', 'init', 'exit', 'lookup', 'getattr', 'readlink', 'read', 'readdir', 'readdirplus', 'getxattr', 'listxattr', 'statfs', 'listed'];
const TYPE_BITS = { dir: constants.S_IFDIR, file: constants.S_IFREG, symlink: constants.S_IFLNK } as const;
const BLOCK = 4096;
/** Directory listings kept between the chunks of one `readdir` (the kernel asks for a buffer at a time). */
const LISTINGS_KEPT = 16;
/**
 * Directory prefetch: once a file of a directory is read, its other small files (at most PREFETCH_FILE_MAX,
 * PREFETCH_DIR_MAX in all) are pushed into the kernel's page cache, so reading them (tar, cp -r, a build)
 * needs no request at all. Only files whose inode the kernel already holds can be given pages.
 */
const PREFETCH_FILE_MAX = 128 << 10;
const PREFETCH_DIR_MAX = 8 << 20;
/** What the addon inflates for one directory's prefetch at most (its queue holds 16 MiB). */
const ROUTED_DIR_MAX = 16 << 20;
/** Listings whose files stay armed in the addon (armFiles) until they are read to the end. */
const ARMED_DIRS_KEPT = 16;
const PREFETCHED_DIRS_KEPT = 100_000;
/**
 * A walk that reads (tar, cp -r, a build): when a file was read within the last WALK_LISTINGS directory
 * listings, a directory's small files are pushed as soon as it is listed, ahead of the reads the walk
 * will make of them (the kernel's readdir order is the order they come in). A walk that only lists and
 * stats (find, ls -R) reads nothing and is never given pages it would not use.
 */
const WALK_LISTINGS = 2;
/**
 * A read of a file stored as a whole pack entry of ROUTED_READ_MIN to ROUTED_FILE_MAX bytes is handed to
 * the addon with the file (storeDeflated): a push thread inflates it, answers the read and pushes the rest
 * into the page cache. Smaller files are inflated inline (a hop to a thread costs more than they do);
 * larger ones are streamed here (inflate-cursor.ts). Prefetch routes files up to ROUTED_FILE_MAX too.
 */
const ROUTED_READ_MIN = 32 << 10;
const ROUTED_FILE_MAX = 8 << 20;
/** Bytes of small files pushed in one go, between yields to the requests waiting. */
const PUSH_RUN_BYTES = 256 << 10;
/**
 * A streamed read of a very large file that jumps ahead pushes what it passes over into the page cache
 * (inflate-cursor.ts), so random reads cost one pass of inflate. While the push queue is full (16 MiB) the
 * read waits, 1 ms at a time, at most SPILL_WAIT_MS in all; after that the rest is not pushed and the
 * reads that need it come back here. A read that pushed is answered once the kernel has taken the pushes:
 * otherwise the reader's next read, behind this one, would arrive before its page and inflate it again.
 */
const SPILL_WAIT_MS = 2000;

interface Listing {
  /** '.', '..', then the entries in the source's order. */
  names: string[];
  entries: (DirEntry | undefined)[];
  dir: MountNode;
  parent: MountNode;
}

const modeOf = (n: MountNode): number => TYPE_BITS[n.kind] | n.perm;
const direntSize = (nameBytes: number): number => (24 + nameBytes + 7) & ~7;
/** fuse_direntplus: a fuse_entry_out (128 bytes) before the dirent. */
const DIRENTPLUS_EXTRA = 128;

export class LowLevelOps {
  /**
   * Inode number -> path relative to the root, for every number the kernel has been given. Numbers are
   * handed out one after another (inode-table.ts), so a dense array (8 bytes a number) does for a map.
   */
  private readonly paths: (string | undefined)[] = [undefined, ''];
  private readonly listings = new Map<number, Listing>();
  private readonly tracing: boolean;
  /** Set once the mount is gone: every request still arriving (a lazily detached mount) gets EIO. */
  private released = false;
  /** Directories whose files were pushed (or are being pushed) into the page cache, by path. */
  private readonly prefetched = new Set<string>();
  /** Directories whose routed files are armed in the addon (armFiles), oldest first, until listed: the files armed. */
  private readonly armed = new Map<number, Set<number>>();
  /** Directory listings begun so far, and how many had begun at the last file read (WALK_LISTINGS). */
  private listingsBegun = 0;
  private readAtListing = -Infinity;

  constructor(private readonly native: ReplyFunctions, private handle: unknown, private source: MountSource,
    private readonly log: Logger, private readonly counters?: MountCounters, private readonly prefetch = true) {
    this.tracing = log.isLevelEnabled('trace');
  }

  /** Whether files stored as whole pack entries go to the addon to be inflated (storeDeflated). */
  private get routed(): boolean {
    return this.native.storeDeflated !== undefined && this.source.deflatedAt !== undefined;
  }

  /** File `n`'s place in its pack for the addon (rangeArray), when it is routed and no larger than `limit`. */
  private rangeFor(n: MountNode, limit = ROUTED_FILE_MAX): Float64Array | undefined {
    if (!this.routed || n.size === 0 || n.size > Math.min(limit, ROUTED_FILE_MAX)) return undefined;
    const at = this.source.deflatedAt!(n);
    return at === undefined ? undefined : rangeArray(at, n.size);
  }

  private addonReads = 0;

  private noteAddonReads(): void {
    const n = this.native.stored(this.handle, 2);
    if (n !== this.addonReads) {
      this.addonReads = n;
      this.readAtListing = this.listingsBegun;
    }
  }

  private get arming(): boolean {
    return this.routed && this.native.armDeflated !== undefined && this.native.releaseArmed !== undefined;
  }

  attach(handle: unknown): void {
    this.handle = handle;
  }

  release(): void {
    this.released = true;
    this.listings.clear();
    // Nothing reads the source once released (dispatch answers EIO first): let it be collected.
    this.source = null as unknown as MountSource;
  }

  /**
   * For each path, and each folder above it: the kernel forgets the name in its parent (a cached entry or
   * a cached absence) and the folder's attributes and listing. Only numbers the kernel was given matter.
   */
  invalidate(paths: readonly string[], invalEntry: (parent: number, name: string) => void, invalInode: (ino: number) => void): void {
    const inoOf = new Map<string, number>();
    this.paths.forEach((path, ino) => {
      if (path !== undefined) inoOf.set(path, ino);
    });
    const folders = new Set<string>();
    for (const path of paths) {
      for (let p = path; p !== ''; ) {
        const cut = p.lastIndexOf('/');
        const parent = cut < 0 ? '' : p.slice(0, cut);
        const parentIno = inoOf.get(parent);
        if (parentIno !== undefined) invalEntry(parentIno, p.slice(cut + 1));
        folders.add(parent);
        p = parent;
      }
      const ino = inoOf.get(path);
      if (ino !== undefined) invalInode(ino);
    }
    for (const f of folders) {
      const ino = inoOf.get(f);
      if (ino !== undefined) invalInode(ino);
    }
    this.listings.clear();
  }

  /** Dispatches one request; INIT and EXIT are the mount's (fuse-lowlevel.ts) and never reach here. */
  dispatch(op: number, id: number, ino: number, a: unknown, b: unknown): void {
    const name = OP_NAMES[op] ?? `op ${op}`;
    this.counters?.op(name);
    if (this.tracing) this.log.trace({ op: name, ino, a, b }, 'op');
    if (op === OP.LISTED) return this.released ? undefined : this.listed(ino, a === 1);
    if (this.released) return this.native.replyErr(this.handle, id, -toErrno(new FsError('EIO')).errno);
    try {
      switch (op) {
        case OP.LOOKUP: return this.lookup(id, ino, a as string);
        case OP.GETATTR: return this.answer(id, name, ino, () => this.replyAttr(id, this.node(ino)));
        case OP.READLINK: return this.answer(id, name, ino, () => this.native.replyReadlink(this.handle, id, this.readlink(ino)));
        case OP.READ: return this.read(id, ino, a as number, b as number);
        case OP.READDIR: return this.readdir(id, ino, a as number, b as number, false);
        case OP.READDIRPLUS: return this.readdir(id, ino, a as number, b as number, true);
        case OP.GETXATTR: return this.answer(id, name, ino, () => this.replyXattr(id, this.xattr(ino, a as string), b as number));
        case OP.LISTXATTR: return this.answer(id, name, ino, () => this.replyXattr(id, this.xattrNames(ino), a as number));
        case OP.STATFS: return this.answer(id, name, ino, () => {
          const s = this.source.statfs();
          this.native.replyStatfs(this.handle, id, Math.ceil(s.bytes / BLOCK), s.files, BLOCK, 255);
        });
        default: return this.native.replyErr(this.handle, id, osConstants.errno.ENOSYS);
      }
    } catch (e) {
      this.fail(id, name, ino, e);
    }
  }

  private fail(id: number, op: string, ino: number, e: unknown): void {
    const { errno, expected } = toErrno(e);
    // An op that waited on a fetch may end after the mount is gone (its source released): nothing to report.
    if (!expected && !this.released) {
      if (this.counters !== undefined) this.counters.errors++;
      const data = isMedoError(e) ? e.data : {};
      const path = this.paths[ino];
      this.log.error({ op, path, ino, errno, code: (e as { code?: unknown }).code, oid: data.oid, silo: data.store, file: data.path, offset: data.offset, url: data.url,
        err: isMedoError(e) ? e.message : e instanceof Error ? e.stack : String(e) }, `${op} ${path ?? `inode ${ino}`} failed`);
    } else if (this.tracing) {
      this.log.trace({ op, ino, errno }, 'op refused');
    }
    this.native.replyErr(this.handle, id, -errno);
  }

  /**
   * Runs `work`, which ends by answering the request; if it throws (now, or in the promise it returns),
   * answers an errno instead. The answer is part of the work because its arguments read attributes made
   * on first use (a size from an object's header, a mode from the metadata sidecar) that may need an
   * object the host cache lacks: withFetch then fetches it and runs the work again. The native reply is
   * always a work's last step, so a work that throws has answered nothing yet.
   */
  private answer(id: number, op: string, ino: number, work: () => void | Promise<void>): void {
    let result: void | Promise<void>;
    try {
      result = withFetch(this.source, work);
    } catch (e) {
      return this.fail(id, op, ino, e);
    }
    if (result instanceof Promise) result.catch((e: unknown) => this.fail(id, op, ino, e));
  }

  private pathOf(ino: number): string {
    const path = this.paths[ino];
    // Only after a medo directory was re-read without the name: the kernel's number is stale.
    if (path === undefined) throw new FsError('ENOENT');
    return path;
  }

  private node(ino: number): MountNode {
    const node = this.source.lookup(this.pathOf(ino));
    if (node === undefined) throw new FsError('ENOENT');
    return node;
  }

  private replyAttr(id: number, n: MountNode): void {
    this.native.replyAttr(this.handle, id, n.ino, modeOf(n), n.nlink, n.size, n.mtimeSec, n.mtimeNsec);
  }

  private lookup(id: number, parent: number, name: string): void {
    const path = joinPath(this.pathOf(parent), name);
    this.answer(id, 'lookup', parent, () => {
      const n = this.source.lookup(path);
      if (n === undefined) return this.native.replyEntry(this.handle, id, 0, 0, 0, 0, 0, 0);
      if (this.paths[n.ino] === undefined) this.setPath(n.ino, path);
      this.native.replyEntry(this.handle, id, n.ino, modeOf(n), n.nlink, n.size, n.mtimeSec, n.mtimeNsec);
    });
  }

  private setPath(ino: number, path: string): void {
    // Filled up to the number first: an index far past the end would turn the array into a dictionary.
    while (this.paths.length < ino) this.paths.push(undefined);
    this.paths[ino] = path;
  }

  private readlink(ino: number): string {
    const n = this.node(ino);
    if (n.kind !== 'symlink') throw new FsError('EINVAL');
    return this.source.readlink(n);
  }

  private read(id: number, ino: number, size: number, offset: number): void {
    this.readAtListing = this.listingsBegun;
    this.answer(id, 'read', ino, () => {
      const n = this.node(ino);
      if (n.kind === 'dir') throw new FsError('EISDIR');
      const range = n.size >= ROUTED_READ_MIN && offset < n.size ? this.rangeFor(n) : undefined;
      if (range !== undefined && this.native.storeDeflated!(this.handle, ino, range, id, offset, size)) {
        if (this.counters !== undefined) this.counters.bytesRead += Math.min(size, n.size - offset);
        if (this.prefetch) this.prefetchSiblings(ino);
        return;
      }
      // A small file asked for whole (the usual first read): inline, into a reused buffer, answered at once.
      const whole = offset === 0 && n.size <= size && this.source.readNow !== undefined ? this.source.readNow(n) : undefined;
      if (whole !== undefined) {
        if (this.counters !== undefined) this.counters.bytesRead += whole.length;
        this.native.replyBuf(this.handle, id, whole, size);
        if (this.prefetch) this.prefetchSiblings(ino);
        return;
      }
      let spilled = false;
      const spill = (at: number, bytes: Buffer): Promise<void> => {
        spilled = true;
        return this.spill(ino, at, bytes);
      };
      return this.source.read(n, offset, size, spill).then(async (data) => {
        if (spilled) await this.pushed();
        if (this.counters !== undefined) this.counters.bytesRead += Math.min(data.length, size);
        this.native.replyBuf(this.handle, id, data, size);
        if (this.prefetch) this.prefetchSiblings(ino);
      });
    });
  }

  private spill(ino: number, offset: number, bytes: Buffer): Promise<void> {
    return this.until(() => this.native.store(this.handle, ino, offset, bytes));
  }

  /** Resolves once the page-cache pushes are taken (or after SPILL_WAIT_MS). */
  private pushed(): Promise<void> {
    return this.until(() => this.native.storeQueued(this.handle) === 0);
  }

  /** Tries `done` every millisecond until it holds, the mount goes, or SPILL_WAIT_MS have passed. */
  private async until(done: () => boolean): Promise<void> {
    for (let waited = 0; !this.released && waited < SPILL_WAIT_MS && !done(); waited++) {
      await new Promise((resolve) => setTimeout(resolve, 1));
    }
  }

  private prefetchSiblings(ino: number): void {
    const path = this.paths[ino];
    if (path === undefined) return;
    const cut = path.lastIndexOf('/');
    this.prefetchDir(cut < 0 ? '' : path.slice(0, cut), ino);
  }

  /**
   * Pushes the small files of `dir` the kernel knows (but `except`) into the page cache, once per
   * directory; with `armed`, all but those the addon was given armed (armFiles).
   */
  private prefetchDir(dir: string, except?: number, armed?: ReadonlySet<number>): void {
    if (this.prefetched.has(dir)) return;
    if (this.prefetched.size >= PREFETCHED_DIRS_KEPT) this.prefetched.clear();
    this.prefetched.add(dir);
    let entries: DirEntry[] | undefined;
    try {
      entries = this.source.list(dir);
    } catch {
      return;
    }
    const known = (entries ?? []).filter((e) => e.kind === 'file' && e.ino !== except && this.paths[e.ino] !== undefined);
    if (known.length > 0) void this.pushFiles(known, armed);
  }

  /**
   * Pushes the files of one directory. A file stored as a whole pack entry is only routed: the addon reads
   * and inflates it on its own threads (storeDeflated), every core at work while this thread answers the
   * walk's requests. The others (deltas, loose or remote objects) are read here, in runs of PUSH_RUN_BYTES
   * between yields: a reader walking the directory asks for the next file a few tens of microseconds after
   * the last, so a yield per file would let it overtake the pushes.
   */
  private async pushFiles(entries: DirEntry[], armed: ReadonlySet<number> | undefined): Promise<void> {
    let budget = PREFETCH_DIR_MAX;
    let routedBudget = ROUTED_DIR_MAX;
    let run = 0;
    for (const e of entries) {
      if (run >= PUSH_RUN_BYTES || run === 0) {
        await new Promise((resolve) => setImmediate(resolve));
        run = 1;
      }
      if (this.released || budget <= 0) return;
      try {
        if (armed?.has(e.ino)) continue;
        const n = e.node();
        const size = n.size;
        if (size === 0) continue;
        const range = this.rangeFor(n, routedBudget);
        // Refused when the addon holds as many files as it takes at once: then pushed from here.
        if (range !== undefined && this.native.storeDeflated!(this.handle, n.ino, range)) {
          routedBudget -= size;
          continue;
        }
        if (size > PREFETCH_FILE_MAX || size > budget) continue;
        budget -= size;
        run += size;
        // store() copies the bytes before it returns, so readNow's reused buffer is safe here.
        this.native.store(this.handle, n.ino, 0, this.source.readNow?.(n) ?? await this.source.read(n, 0, size));
      } catch {
        // A damaged or missing object: the read that needs it reports it.
      }
    }
  }

  /**
   * A listing has been answered to its end. Asked past the end, the kernel holds every entry's inode
   * (readdirplus linked them before the reader's next getdents): a reading walk gets the files pushed now.
   * Not sooner: a push for an inode the kernel has not linked yet is dropped.
   */
  private listed(ino: number, plus: boolean): void {
    this.listings.delete(ino);
    const dirPath = this.paths[ino];
    // An armed listing's routed files were queued by the addon at its end (or are now, when this side
    // answered the request past the end); the rest are pushed from here.
    const armed = this.armed.get(ino);
    if (armed !== undefined) {
      this.armed.delete(ino);
      this.native.releaseArmed!(this.handle, ino, true);
    }
    if (dirPath !== undefined && plus && this.prefetch && (armed !== undefined || this.listingsBegun - this.readAtListing <= WALK_LISTINGS)) {
      this.prefetchDir(dirPath, undefined, armed);
    }
  }

  /**
   * Arms the routed files of a reading walk's listing, as its last chunk goes out: the addon queues them
   * itself when the kernel asks past the end (by then it holds their inodes), with no crossing into
   * JavaScript between the listing and the pushes. What the addon still holds armed when listed() runs
   * is queued then. Listings never read to their end are dropped, oldest first, beyond ARMED_DIRS_KEPT.
   */
  private armFiles(dirIno: number, l: Listing): void {
    let budget = ROUTED_DIR_MAX;
    const armed = new Set<number>();
    for (const e of l.entries) {
      if (e === undefined || e.kind !== 'file' || this.paths[e.ino] === undefined) continue;
      try {
        const n = e.node();
        const range = this.rangeFor(n, budget);
        if (range === undefined) continue;
        budget -= n.size;
        if (this.native.armDeflated!(this.handle, dirIno, n.ino, range)) armed.add(n.ino);
      } catch {
        // A damaged or missing object: the read that needs it reports it.
      }
    }
    if (armed.size === 0) return;
    this.armed.set(dirIno, armed);
    if (this.armed.size > ARMED_DIRS_KEPT) {
      const oldest = this.armed.keys().next().value!;
      this.armed.delete(oldest);
      this.native.releaseArmed!(this.handle, oldest, false);
    }
  }

  private listing(ino: number): Listing {
    let l = this.listings.get(ino);
    if (l !== undefined) return l;
    const path = this.pathOf(ino);
    const dir = this.node(ino);
    if (dir.kind !== 'dir') throw new FsError('ENOTDIR');
    const entries = this.source.list(path) ?? [];
    const parent = path === '' ? dir : this.source.lookup(path.includes('/') ? path.slice(0, path.lastIndexOf('/')) : '') ?? dir;
    l = { names: ['.', '..', ...entries.map((e) => e.name)], entries: [undefined, undefined, ...entries], dir, parent };
    if (this.listings.size >= LISTINGS_KEPT) this.listings.delete(this.listings.keys().next().value!);
    this.listings.set(ino, l);
    return l;
  }

  /**
   * Entries from index `first` that fit in `size` bytes, packed for the addon (DIRENT_HEADER bytes and the
   * name each). With `plus` each carries its attributes, so the kernel needs no lookup afterwards.
   */
  private readdir(id: number, ino: number, size: number, first: number, plus: boolean): void {
    this.answer(id, plus ? 'readdirplus' : 'readdir', ino, () => {
      const l = this.listing(ino);
      const names: Buffer[] = [];
      let room = size;
      for (let i = first; i < l.names.length; i++) {
        const bytes = Buffer.from(l.names[i]!, 'utf8');
        const need = direntSize(bytes.length) + (plus ? DIRENTPLUS_EXTRA : 0);
        if (need > room) break;
        room -= need;
        names.push(bytes);
      }
      const header = this.native.DIRENT_HEADER;
      const dirPath = this.paths[ino]!;
      const out = Buffer.allocUnsafe(names.reduce((s, b) => s + header + b.length, 0));
      let pos = 0;
      names.forEach((bytes, k) => {
        const i = first + k;
        const e = l.entries[i];
        const dots = e === undefined ? (i === 0 ? l.dir : l.parent) : undefined;
        let entryIno = dots?.ino ?? e!.ino;
        let mode = dots !== undefined ? TYPE_BITS.dir : TYPE_BITS[e!.kind];
        let nlink = 0, fileSize = 0, mtimeSec = 0, mtimeNsec = 0;
        if (plus) {
          try {
            const n = dots ?? e!.node();
            [entryIno, mode, nlink, fileSize, mtimeSec, mtimeNsec] = [n.ino, modeOf(n), n.nlink, n.size, n.mtimeSec, n.mtimeNsec];
            // Numbers are per path and never change: a name listed before needs no new path string.
            if (e !== undefined && this.paths[e.ino] === undefined) this.setPath(e.ino, e.path ?? joinPath(dirPath, e.name));
          } catch {
            // An object that is damaged, or that the host cache of remote silos lacks: the name goes out
            // without attributes (nlink 0) and its own lookup answers for it, fetching what it needs then.
            // A listing does not fetch every file of the directory just to say how big each one is.
            nlink = 0;
          }
        }
        out.writeDoubleLE(entryIno, pos);
        out.writeUInt32LE(mode, pos + 8);
        out.writeUInt32LE(nlink, pos + 12);
        out.writeDoubleLE(fileSize, pos + 16);
        out.writeDoubleLE(mtimeSec, pos + 24);
        out.writeUInt32LE(mtimeNsec, pos + 32);
        out.writeUInt16LE(bytes.length, pos + 36);
        bytes.copy(out, pos + header);
        pos += header + bytes.length;
      });
      // A chunk that holds the rest of the listing: the addon answers the kernel's next request, past the
      // end, itself, and tells us (OP.LISTED).
      const last = names.length > 0 && first + names.length === l.names.length;
      this.native.replyDir(this.handle, id, plus, size, first, out, names.length, ino, last);
      // Armed once the reply is out, so the reader does not wait for it: when the kernel's request past
      // the end comes first, the addon finds nothing armed, and listed() queues them instead. (Reads the
      // addon answered from what it was pushing count as the walk's reads.)
      const begun = this.listingsBegun + (first === 0 && names.length > 0 ? 1 : 0);
      if (last && plus && this.prefetch && this.arming) this.noteAddonReads();
      if (last && plus && this.prefetch && this.arming && begun - this.readAtListing <= WALK_LISTINGS) this.armFiles(ino, l);
      if (first === 0 && names.length > 0) this.listingsBegun++;
      // The kernel asks until it gets an empty answer: the listing is done with then.
      if (names.length === 0) this.listed(ino, plus);
    });
  }

  private xattr(ino: number, name: string): Buffer {
    const v = this.source.xattr(this.node(ino), name);
    if (v === undefined) throw new FsError('ENODATA');
    return v;
  }

  private xattrNames(ino: number): Buffer {
    return Buffer.from(this.source.xattrNames(this.node(ino)).map((n) => `${n}\0`).join(''), 'utf8');
  }

  /** getxattr(2)/listxattr(2) semantics: size 0 asks for the length; a value longer than the buffer is ERANGE. */
  private replyXattr(id: number, value: Buffer, size: number): void {
    if (size === 0) this.native.replyXattrSize(this.handle, id, value.length);
    else if (value.length > size) this.native.replyErr(this.handle, id, osConstants.errno.ERANGE);
    else this.native.replyBuf(this.handle, id, value);
  }
}
