// Mounting one MountSource at a mountpoint, and taking it down. The promise resolves once the kernel has
// sent FUSE_INIT (the binding calls back from its init op), so the mount is ready for readers when it does.
import { readdir, stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { MedoError } from '../lib/errors.js';
import type { MountSource } from '../lib/mount/source.js';
import type { MountCounters } from './counters.js';
import { createOps } from './fuse-ops.js';
import type { Logger } from './log.js';
import { isMedoMount } from './mount-table.js';
import { MedoFuse, type MedoFuseOptions } from './medo-fuse.js';

export interface MountHandle {
  readonly mountpoint: string;
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
  /** Give up (and detach) when the kernel has not finished the mount in this long (default: wait forever). */
  readyTimeoutMs?: number;
  uid?: number;
  gid?: number;
}

export async function mountSource(source: MountSource, mountpoint: string, options: MountOptions): Promise<MountHandle> {
  const mnt = resolve(mountpoint);
  await checkMountpoint(mnt, options.nonEmpty ?? false);
  const owner = { uid: options.uid ?? process.getuid?.() ?? 0, gid: options.gid ?? process.getgid?.() ?? 0 };
  const fuse = new MedoFuse(mnt, createOps(source, options.log, owner, options.counters), options);
  await new Promise<void>((resolveMount, reject) => {
    const timer = options.readyTimeoutMs === undefined ? undefined : setTimeout(() => {
      reject(new MedoError('ERR_MOUNT_FAILED', `the mount at ${mnt} did not become ready within ${options.readyTimeoutMs} ms`, { path: mnt }));
      MedoFuse.lazyUnmount(mnt).catch(() => undefined);
    }, options.readyTimeoutMs);
    fuse.mount((err) => {
      clearTimeout(timer);
      if (err) reject(new MedoError('ERR_MOUNT_FAILED', `cannot mount at ${mnt}: ${err.message} (is /dev/fuse there, and may this user mount?)`,
        { path: mnt }, { cause: err }));
      else resolveMount();
    });
  });
  let unmounted: Promise<void> | undefined;
  return {
    mountpoint: mnt,
    unmount: () => {
      unmounted ??= new Promise<void>((res, rej) => fuse.unmount((err) => (err ? rej(err) : res())));
      return unmounted;
    },
    release: () => fuse.release(),
  };
}
