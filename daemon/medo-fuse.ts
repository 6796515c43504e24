// The FUSE binding (@cocalc/fuse-native, pinned at exactly 2.4.3, high-level libfuse 2 API) with the mount
// options it has no keys for. Its _fuseOptions() builds the `-o` string passed to both fuse_mount() and
// fuse_new(); this subclass replaces it, which is safe only because the version is pinned.
//
// Options, and why (content is immutable, so the kernel may cache everything for as long as it likes):
//   ro, default_permissions      read-only at the VFS level; the kernel checks modes itself (no access op)
//   kernel_cache                 keep page cache across opens (libfuse sets keep_cache on every open)
//   entry/attr/negative_timeout  long: a name, its attributes and its absence never change
//   use_ino                      st_ino is ours (stable per path), not libfuse's node ids
//   fsname=medo, subtype=medo    /proc/mounts shows "medo ... fuse.medo": how `medo unmount` knows its own
//   max_read=131072              the kernel's largest read request without fuse 3's max_pages
// auto_cache is left off: it would re-check mtimes on open to drop the cache, for content that cannot change.
//
// Ops that JS does not need are not registered: the binding then leaves the fuse_operations slot NULL and
// libfuse answers by itself without crossing into JS (fuse.c: fuse_fs_open/opendir/release/releasedir
// return 0 when the op is missing; flush returns ENOSYS, which the kernel remembers and stops sending;
// access gives ENOSYS, which the kernel takes as "allowed", and default_permissions does the checking).
import { createRequire } from 'node:module';
import { EIO, ENODATA, ERANGE } from './errno.js';
import type { FuseOps } from './fuse-ops.js';
import { CACHE_TIMEOUT_SEC } from './mount.js';
import { installDirectUnmount } from './unmount.js';

const require = createRequire(import.meta.url);

export const MAX_READ = 128 << 10;

export interface MedoFuseOptions {
  allowOther?: boolean;
  allowRoot?: boolean;
  /** Allow mounting over a directory that is not empty (libfuse 2 refuses by default). */
  nonEmpty?: boolean;
  /** libfuse's debug output on stderr. */
  debug?: boolean;
  /**
   * Shorter entry and negative timeouts, for a medo directory that SIGHUP may re-read: libfuse 2's
   * high-level API (and the binding) has no per-reply timeouts and no way to invalidate a cached name, so a
   * .treeptr added or removed after the mount is seen by lookups only once these run out.
   */
  entryTimeoutSec?: number;
  negativeTimeoutSec?: number;
}

/** The binding's class, as far as medo uses it. */
interface FuseBase {
  ops: FuseOps;
  mnt: string;
  mount(cb: (err: Error | null) => void): void;
  unmount(cb: (err: Error | null) => void): void;
  _fuseOptions(): string;
}
type FuseConstructor = new (mnt: string, ops: FuseOps, opts: Record<string, unknown>) => FuseBase;

const Fuse = require('@cocalc/fuse-native') as FuseConstructor & { unmount(mnt: string, cb: (err: Error | null) => void): void };
// Before any mount: the binding's own unmounts then need no child process (daemon/unmount.ts says why).
installDirectUnmount();

type Signal = (res: number, ...rest: unknown[]) => void;

/**
 * The binding's per-mount native state (fuse_thread_t) lives in a JS Buffer, and holds a uv_async handle that
 * it registers with the event loop and never closes (its unmount only unrefs it). libuv walks every async
 * handle of the loop on each wake-up, so that Buffer must never be garbage collected: a daemon that mounts
 * and unmounts keeps these few KiB per mount for its lifetime (and the binding never joins the mount's
 * thread). Both are the binding's, bounded by the number of mounts made; the rest of a mount is freed.
 */
const pinnedNativeState: unknown[] = [];

export class MedoFuse extends Fuse {
  constructor(mountpoint: string, ops: FuseOps, private readonly medoOptions: MedoFuseOptions = {}) {
    // timeout: false: no per-op timer (each costs a setTimeout); every op here completes on its own.
    super(mountpoint, ops, { timeout: false, mkdir: false, force: false });
  }

  override mount(cb: (err: Error | null) => void): void {
    super.mount((err) => {
      const state = (this as unknown as { _thread?: unknown })._thread;
      if (state !== undefined) pinnedNativeState.push(state);
      cb(err);
    });
  }

  /**
   * After the unmount: the binding holds a reference to this object (and so to the ops and the source they
   * close over) for the life of the process, so the ops are swapped for ones that only answer EIO, and the
   * source can be garbage collected. A request still in flight on a lazily detached mount gets EIO.
   */
  release(): void {
    const dead: FuseOps = {} as FuseOps;
    for (const name of Object.keys(this.ops)) dead[name] = (...args: unknown[]) => (args[args.length - 1] as (err: number) => void)(EIO);
    this.ops = dead;
  }

  override _fuseOptions(): string {
    const o = [
      'ro', 'default_permissions', 'kernel_cache', 'use_ino',
      `entry_timeout=${this.medoOptions.entryTimeoutSec ?? CACHE_TIMEOUT_SEC}`, `attr_timeout=${CACHE_TIMEOUT_SEC}`,
      `negative_timeout=${this.medoOptions.negativeTimeoutSec ?? CACHE_TIMEOUT_SEC}`,
      'fsname=medo', 'subtype=medo', `max_read=${MAX_READ}`,
    ];
    if (this.medoOptions.allowOther) o.push('allow_other');
    if (this.medoOptions.allowRoot) o.push('allow_root');
    if (this.medoOptions.nonEmpty) o.push('nonempty');
    if (this.medoOptions.debug) o.push('debug');
    return `-o${o.join(',')}`;
  }

  /**
   * The binding copies the value into the caller's buffer without checking its size; getxattr(2) with a
   * buffer too small must fail with ERANGE rather than return a truncated value.
   */
  _op_getxattr(signal: Signal, path: string, name: string, valueBuf: Buffer, position: number): void {
    this.ops.getxattr(path, name, position, (err: number, value?: Buffer) => {
      if (err !== 0 || value === undefined) return signal(err !== 0 ? err : ENODATA, valueBuf.buffer);
      if (valueBuf.length > 0 && value.length > valueBuf.length) return signal(ERANGE, valueBuf.buffer);
      value.copy(valueBuf);
      return signal(value.length, valueBuf.buffer);
    });
  }

  /** fusermount -uz (what the binding's own unmount runs), for a mount this process may not hold. */
  static lazyUnmount(mountpoint: string): Promise<void> {
    return new Promise((resolve, reject) => Fuse.unmount(mountpoint, (err) => (err ? reject(err) : resolve())));
  }
}
