// Serving one mount in this process until SIGINT or SIGTERM (then a clean unmount), or until someone else
// unmounts it (`medo unmount`, fusermount -u). `medo mount --foreground` runs this; without --foreground,
// `medo mount` starts `medo mount --foreground --ready-fd 3` detached and waits for its readiness line.
// This is the stand-in for the daemon of docs/mount.md's next step: one process per mount, no control socket.
//
// Readiness protocol on --ready-fd (a pipe the parent holds): exactly one line, then the fd is closed:
//   "ready\n"               the mount answers requests
//   "error <message>\n"     it could not be set up; the process exits non-zero
import { closeSync, writeSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { isMedoError } from '../lib/errors.js';
import { openMountSource, type OpenedSource } from '../lib/mount/open-source.js';
import type { MountRemoteOptions } from '../lib/mount/remote-fetcher.js';
import { keepYoungGenerationSmall } from './heap.js';
import { createLogger, remoteEventLogger, type Logger } from './log.js';
import { mountSource, type MountHandle } from './mount.js';
import { medoMountDevice } from './mount-table.js';
import type { MedoFuseOptions } from './medo-fuse.js';

export interface ServeOptions {
  source: string;
  mountpoint: string;
  rev?: string;
  fuse?: MedoFuseOptions;
  logLevel?: string;
  /** Inherited pipe to report readiness on. */
  readyFd?: number;
  /** Cache and HTTP settings for remote silos (defaults: MEDO_CACHE_DIR, MEDO_HTTP_TIMEOUT). */
  remote?: MountRemoteOptions;
}

/** How often to check that the mount is still there (someone may unmount it from outside). */
const WATCH_INTERVAL_MS = 1000;

function notify(fd: number | undefined, line: string): void {
  if (fd === undefined) return;
  try {
    writeSync(fd, `${line.replace(/\n/g, ' ')}\n`);
    closeSync(fd);
  } catch {
    // the parent went away: nothing to tell
  }
}

/** Resolves with what ended the mount: a signal, or "unmounted" when it disappeared from the mount table. */
function untilDone(mountpoint: string, device: string | undefined, closed: Promise<unknown> | undefined): Promise<string> {
  return new Promise((resolve) => {
    let done = false;
    const finish = (why: string): void => {
      if (done) return;
      done = true;
      process.off('SIGINT', onInt);
      process.off('SIGTERM', onTerm);
      resolve(why);
    };
    const onInt = (): void => finish('SIGINT');
    const onTerm = (): void => finish('SIGTERM');
    process.on('SIGINT', onInt);
    process.on('SIGTERM', onTerm);
    // The low-level backend knows when the kernel lets go; the libfuse 2 one is watched in the mount table.
    void closed?.then(() => finish('unmounted'));
    (async () => {
      while (!done) {
        await sleep(WATCH_INTERVAL_MS, undefined, { ref: false });
        if (!done && (await medoMountDevice(mountpoint)) !== device) finish('unmounted');
      }
    })().catch(() => undefined);
  });
}

/** Serves until the mount ends; returns the exit code. Errors before readiness are thrown (and reported on readyFd). */
export async function serve(options: ServeOptions, log: Logger = createLogger(options.logLevel)): Promise<number> {
  keepYoungGenerationSmall();
  const started = performance.now();
  let opened: OpenedSource | undefined;
  let handle: MountHandle;
  try {
    opened = openMountSource({
      source: options.source, ...(options.rev !== undefined ? { rev: options.rev } : {}),
      remote: { ...options.remote, onEvent: remoteEventLogger(log) },
    });
    for (const p of opened.problems) log.warn({ source: opened.path }, p);
    handle = await mountSource(opened.source, options.mountpoint, { ...options.fuse, log });
  } catch (e) {
    opened?.close();
    notify(options.readyFd, `error ${isMedoError(e) ? e.message : (e as Error).message}`);
    throw e;
  }
  const device = await medoMountDevice(handle.mountpoint);
  log.info({ source: opened.path, kind: opened.kind, rev: options.rev, resolved: opened.resolved, mountpoint: handle.mountpoint, device, backend: handle.backend,
    ms: Math.round((performance.now() - started) * 10) / 10 }, 'mounted');
  notify(options.readyFd, 'ready');

  const why = await untilDone(handle.mountpoint, device, handle.closed);
  let code = 0;
  if (why !== 'unmounted') {
    try {
      await handle.unmount();
    } catch (e) {
      log.error({ mountpoint: handle.mountpoint, err: (e as Error).message }, 'unmount failed');
      code = 3;
    }
  }
  opened.close();
  log.info({ mountpoint: handle.mountpoint, reason: why }, 'unmounted');
  return code;
}
