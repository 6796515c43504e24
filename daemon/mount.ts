// Mounting one MountSource at a mountpoint, and taking it down. The promise resolves once the kernel has
// sent FUSE_INIT, so the mount is ready for readers when it does.
//
// Two FUSE backends serve the same MountSource: the low-level libfuse 3 addon (fuse-lowlevel.ts: inode
// numbers, no open/release round trips, readdirplus, per-answer timeouts), used whenever it is built, and
// the libfuse 2 binding (medo-fuse.ts + fuse-ops.ts), the fallback. MEDO_FUSE_BACKEND=lowlevel|highlevel
// (or MountOptions.backend) picks one; a backend asked for by name that cannot load is an error.
import { readdir, stat, writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { MedoError } from '../lib/errors.js';
import type { MountSource } from '../lib/mount/source.js';
import type { MountCounters } from './counters.js';
import { LowLevelMount, lowLevelAddon } from './fuse-lowlevel.js';
import type { Logger } from './log.js';
import { isMedoMount, medoMountDevice } from './mount-table.js';
import type { MedoFuseOptions } from './medo-fuse.js';

export const BACKENDS = ['lowlevel', 'highlevel'] as const;
export type Backend = (typeof BACKENDS)[number];

/** Seconds the kernel may keep entries, attributes and negative entries: a day (they never change). */
export const CACHE_TIMEOUT_SEC = 86_400;

export interface MountHandle {
  readonly mountpoint: string;
  readonly backend: Backend;
  /** Low-level backend only: resolves once the kernel has ended the mount (unmounted, or aborted). */
  readonly closed?: Promise<unknown>;
  /**
   * Low-level backend only: makes the kernel forget what it cached at these paths and their folders (names
   * added or removed by a re-read of a medo directory), so they show at once.
   */
  invalidate?(paths: readonly string[]): void;
  /** Unmounts (lazily, so a busy mount goes away once its last user does). */
  unmount(): Promise<void>;
  /** Once the mount is gone and its source closed: drops the binding's hold on the source (see MedoFuse.release). */
  release(): void;
}

/** Checks what libfuse would report only as "fuse failed". */
async function checkMountpoint(mountpoint: string, nonEmpty: boolean): Promise<void> {
  let st;
  try {
    st = await stat(mountpoint);
  } catch (e) {
    throw new MedoError('ERR_MOUNT_FAILED', `mountpoint ${mountpoint} does not exist (${(e as NodeJS.ErrnoException).code})`, { path: mountpoint });
  }
  if (!st.isDirectory()) throw new MedoError('ERR_MOUNT_FAILED', `mountpoint ${mountpoint} is not a directory`, { path: mountpoint });
  if (await isMedoMount(mountpoint)) throw new MedoError('ERR_MOUNT_FAILED', `${mountpoint} is already a medo mount`, { path: mountpoint });
  if (!nonEmpty && (await readdir(mountpoint)).length > 0) {
    throw new MedoError('ERR_MOUNT_FAILED', `mountpoint ${mountpoint} is not empty (use -o nonempty to mount over it)`, { path: mountpoint });
  }
}

export interface MountOptions extends MedoFuseOptions {
  log: Logger;
  counters?: MountCounters;
  /** Default: MEDO_FUSE_BACKEND, else lowlevel when its addon loads, else highlevel. */
  backend?: Backend;
  /** Give up (and detach) when the kernel has not finished the mount in this long (default: wait forever). */
  readyTimeoutMs?: number;
  uid?: number;
  gid?: number;
}

/**
 * The kernel reads a FUSE file ahead by its device's read_ahead_kb, 128 KiB by default, whatever the
 * 1 MiB requests the low-level backend accepts. A large file read cold then waits on one 128 KiB inflate
 * after another; with 4 MiB several requests are in flight (1 MiB each). Measured on a 43 MiB file: 300
 * MB/s at 128 KiB, 450 MB/s at 4 MiB. Only root may set it; for anyone else the default stays.
 */
export const READ_AHEAD_KB = 4096;

async function raiseReadahead(mountpoint: string, log: Logger): Promise<void> {
  if (process.getuid?.() !== 0) return;
  const device = await medoMountDevice(mountpoint);
  if (device === undefined || !/^\d+:\d+$/.test(device)) return;
  await writeFile(`/sys/class/bdi/${device}/read_ahead_kb`, `${READ_AHEAD_KB}\n`).catch((e: unknown) =>
    log.debug({ mountpoint, device, err: (e as Error).message }, 'cannot raise read-ahead'));
}

/** The backend a mount gets, and why when it is not the one asked for. */
export function chooseBackend(asked: string | undefined = process.env.MEDO_FUSE_BACKEND || undefined): { backend: Backend; note?: string } {
  if (asked !== undefined && !(BACKENDS as readonly string[]).includes(asked)) {
    throw new MedoError('ERR_USAGE', `unknown FUSE backend ${JSON.stringify(asked)} (MEDO_FUSE_BACKEND): use ${BACKENDS.join(' or ')}`);
  }
  const { addon, error } = lowLevelAddon();
  if (asked === 'lowlevel' && addon === undefined) throw new MedoError('ERR_MOUNT_FAILED', `the low-level FUSE backend is unavailable: ${error}`);
  if (asked !== undefined) return { backend: asked as Backend };
  return addon !== undefined ? { backend: 'lowlevel' } : { backend: 'highlevel', note: `using the libfuse 2 backend: ${error}` };
}

export async function mountSource(source: MountSource, mountpoint: string, options: MountOptions): Promise<MountHandle> {
  const mnt = resolve(mountpoint);
  const { backend, note } = chooseBackend(options.backend);
  if (note !== undefined) options.log.warn({ mountpoint: mnt }, note);
  await checkMountpoint(mnt, options.nonEmpty ?? false);
  const owner = { uid: options.uid ?? process.getuid?.() ?? 0, gid: options.gid ?? process.getgid?.() ?? 0 };
  const ready = <T>(mounting: Promise<T>, onTimeout: () => void): Promise<T> => {
    if (options.readyTimeoutMs === undefined) return mounting;
    let timer: NodeJS.Timeout;
    return Promise.race([mounting, new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        reject(new MedoError('ERR_MOUNT_FAILED', `the mount at ${mnt} did not become ready within ${options.readyTimeoutMs} ms`, { path: mnt }));
        onTimeout();
      }, options.readyTimeoutMs);
    })]).finally(() => clearTimeout(timer));
  };
  const failed = (err: Error): MedoError => new MedoError('ERR_MOUNT_FAILED',
    `cannot mount at ${mnt}: ${err.message} (is /dev/fuse there, and may this user mount?)`, { path: mnt }, { cause: err });

  if (backend === 'lowlevel') {
    const m = new LowLevelMount(mnt, source, {
      ...(options.allowOther !== undefined ? { allowOther: options.allowOther } : {}),
      ...(options.allowRoot !== undefined ? { allowRoot: options.allowRoot } : {}),
      ...(options.debug !== undefined ? { debug: options.debug } : {}),
      // Long timeouts even for a medo directory that may be re-read: invalidate() tells the kernel what changed.
      entryTimeoutSec: CACHE_TIMEOUT_SEC,
      attrTimeoutSec: CACHE_TIMEOUT_SEC,
      negativeTimeoutSec: CACHE_TIMEOUT_SEC,
      ...owner,
      log: options.log,
      ...(options.counters !== undefined ? { counters: options.counters } : {}),
    });
    try {
      await ready(m.mount(), () => void m.unmount().catch(() => undefined));
    } catch (e) {
      throw e instanceof MedoError ? e : failed(e as Error);
    }
    await raiseReadahead(mnt, options.log);
    let unmounted: Promise<void> | undefined;
    return {
      mountpoint: mnt,
      backend,
      closed: m.closed,
      invalidate: (paths) => m.invalidate(paths),
      unmount: () => (unmounted ??= m.unmount()),
      release: () => m.release(),
    };
  }

  const { createOps } = await import('./fuse-ops.js');
  const { MedoFuse } = await import('./medo-fuse.js');
  const fuse = new MedoFuse(mnt, createOps(source, options.log, owner, options.counters), options);
  await ready(new Promise<void>((resolveMount, reject) => {
    fuse.mount((err) => (err ? reject(failed(err)) : resolveMount()));
  }), () => void MedoFuse.lazyUnmount(mnt).catch(() => undefined));
  let unmounted: Promise<void> | undefined;
  return {
    mountpoint: mnt,
    backend,
    unmount: () => {
      unmounted ??= new Promise<void>((res, rej) => fuse.unmount((err) => (err ? rej(err) : res())));
      return unmounted;
    },
    release: () => fuse.release(),
  };
}
