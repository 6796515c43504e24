// The low-level FUSE backend: native/medo_fuse.c (libfuse 3, built by `npm ci` into build/Release/) with
// the ops of lowlevel-ops.ts. daemon/mount.ts chooses it over the libfuse 2 binding (medo-fuse.ts) when the
// addon loads; MEDO_FUSE_BACKEND=highlevel|lowlevel forces one.
//
// Mount options, and why (content is immutable, so the kernel may cache everything for as long as it likes):
//   ro, default_permissions      read-only at the VFS level; the kernel checks modes itself (no access op)
//   fsname=medo, subtype=medo    /proc/mounts shows "medo ... fuse.medo": how `medo unmount` knows its own
// Entry, attribute and negative timeouts go with each answer; page cache, readdir cache and symlink cache
// are kept because the addon answers no open (native/medo_fuse.c).
import { createRequire } from 'node:module';
import { MedoError } from '../lib/errors.js';
import { findAddon } from '../lib/native.js';
import type { MountSource } from '../lib/mount/source.js';
import type { MountCounters } from './counters.js';
import type { Logger } from './log.js';
import { LowLevelOps, OP, type ReplyFunctions } from './lowlevel-ops.js';
import { unmountPath } from './unmount.js';

interface Addon extends ReplyFunctions {
  mount(mountpoint: string, options: string, debug: boolean, handler: (op: number, id: number, ino: number, a: unknown, b: unknown) => void,
    uid: number, gid: number, entryTimeout: number, attrTimeout: number, negativeTimeout: number): unknown;
  destroy(h: unknown): void;
  ref(h: unknown, ref: boolean): void;
  setTimeouts(h: unknown, entry: number, negative: number): void;
  invalEntry(h: unknown, parent: number, name: string): number;
  invalInode(h: unknown, ino: number): number;
  CAP_NO_OPEN: number;
}

let loaded: { addon?: Addon; error?: string } | undefined;

/** The addon, or why there is none (not built, built for another Node, libfuse 3 missing). */
export function lowLevelAddon(): { addon?: Addon; error?: string } {
  if (loaded === undefined) {
    const file = findAddon('medo_fuse');
    if (file === undefined) loaded = { error: 'build/Release/medo_fuse.node is not built (npm ci builds it; it needs libfuse3-dev)' };
    else {
      try {
        loaded = { addon: createRequire(import.meta.url)(file) as Addon };
      } catch (e) {
        loaded = { error: `cannot load ${file}: ${(e as Error).message}` };
      }
    }
  }
  return loaded;
}

export interface LowLevelOptions {
  allowOther?: boolean;
  allowRoot?: boolean;
  debug?: boolean;
  entryTimeoutSec: number;
  attrTimeoutSec: number;
  negativeTimeoutSec: number;
  uid: number;
  gid: number;
  log: Logger;
  counters?: MountCounters;
  /** Push a directory's small files into the page cache once one is read (default true; MEDO_MOUNT_PREFETCH=0 turns it off). */
  prefetch?: boolean;
}

export class LowLevelMount {
  private handle: unknown;
  private readonly ops: LowLevelOps;
  private readonly addon: Addon;
  private readyWaiter: { resolve: () => void; reject: (e: Error) => void } | undefined;
  /** Resolves once the kernel has ended the connection (unmounted, or aborted) and the session is freed. */
  readonly closed: Promise<number>;
  private onClosed!: (status: number) => void;
  /** Capabilities the kernel granted at FUSE_INIT. */
  granted = 0;

  constructor(readonly mountpoint: string, source: MountSource, private readonly options: LowLevelOptions) {
    const { addon, error } = lowLevelAddon();
    if (addon === undefined) throw new MedoError('ERR_MOUNT_FAILED', `the low-level FUSE backend is unavailable: ${error}`);
    this.addon = addon;
    this.ops = new LowLevelOps(addon, undefined, source, options.log, options.counters,
      options.prefetch ?? process.env.MEDO_MOUNT_PREFETCH !== '0');
    // "prefetch": files the kernel has taken into its page cache ahead of any read (lowlevel-ops.ts).
    if (options.counters !== undefined) options.counters.sampled = (): Record<string, number> => (this.handle === undefined ? {} : {
      prefetch: addon.stored(this.handle), prefetchInflated: addon.stored(this.handle, 1), readsInAddon: addon.stored(this.handle, 2),
    });
    this.closed = new Promise((resolve) => {
      this.onClosed = resolve;
    });
  }

  /** Mounts, and resolves once the kernel's FUSE_INIT has been answered: the mount serves requests then. */
  mount(): Promise<void> {
    const o = this.options;
    const opts = ['ro', 'default_permissions', 'fsname=medo', 'subtype=medo'];
    if (o.allowOther) opts.push('allow_other');
    if (o.allowRoot) opts.push('allow_root');
    return new Promise<void>((resolve, reject) => {
      this.readyWaiter = { resolve, reject };
      try {
        this.handle = this.addon.mount(this.mountpoint, opts.join(','), o.debug ?? false, (op, id, ino, a, b) => this.onRequest(op, id, ino, a, b),
          o.uid, o.gid, o.entryTimeoutSec, o.attrTimeoutSec, o.negativeTimeoutSec);
      } catch (e) {
        this.readyWaiter = undefined;
        reject(e);
        return;
      }
      this.ops.attach(this.handle);
    });
  }

  private onRequest(op: number, id: number, ino: number, a: unknown, b: unknown): void {
    if (op === OP.INIT) {
      this.granted = ino;
      this.readyWaiter?.resolve();
      this.readyWaiter = undefined;
    } else if (op === OP.EXIT) {
      this.addon.destroy(this.handle);
      this.readyWaiter?.reject(new MedoError('ERR_MOUNT_FAILED', `the mount at ${this.mountpoint} ended before it was ready`, { path: this.mountpoint }));
      this.readyWaiter = undefined;
      this.onClosed(b as number);
    } else {
      this.ops.dispatch(op, id, ino, a, b);
    }
  }

  /** Unmounts lazily (a busy mount goes once its last user does); `closed` resolves when the kernel lets go. */
  async unmount(): Promise<void> {
    const r = await unmountPath(this.mountpoint, true);
    if (!r.ok) throw new MedoError('ERR_MOUNT_FAILED', r.message, { path: this.mountpoint });
  }

  /** Whether a live mount keeps the process's event loop alive (it does by default). */
  ref(keep: boolean): void {
    this.addon.ref(this.handle, keep);
  }

  setTimeouts(entrySec: number, negativeSec: number): void {
    this.addon.setTimeouts(this.handle, entrySec, negativeSec);
  }

  invalidate(paths: readonly string[]): void {
    this.ops.invalidate(paths, (parent, name) => this.addon.invalEntry(this.handle, parent, name), (ino) => this.addon.invalInode(this.handle, ino));
  }

  /** After the unmount: requests still arriving on a lazily detached mount get EIO, and the source can go. */
  release(): void {
    this.ops.release();
  }
}
