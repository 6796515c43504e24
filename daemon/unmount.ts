// Unmounting without a child process where we can. libfuse 2 blocks only SIGTERM, SIGINT, SIGHUP and
// SIGQUIT in its threads, so the SIGCHLD of a `fusermount` child may be handled on one of them; when the
// binding cancels that thread at unmount while it holds libuv's signal lock, the main thread blocks on
// the lock forever (seen once in ~25 full test runs). A root daemon calls umount2(2) itself (native
// helper); anyone else, or a build without the helper, runs fusermount as before.
import { execFile } from 'node:child_process';
import { createRequire } from 'node:module';
import { constants } from 'node:os';
import { native } from '../lib/native.js';

const COMMAND_TIMEOUT_MS = 30_000;
const direct = native !== undefined && process.getuid?.() === 0;

export interface UnmountResult {
  ok: boolean;
  message: string;
}

function errnoName(errno: number): string {
  const entry = Object.entries(constants.errno).find(([, v]) => v === errno);
  return entry === undefined ? `errno ${errno}` : entry[0];
}

export function unmountPath(mountpoint: string, lazy: boolean): Promise<UnmountResult> {
  if (direct) {
    const errno = native!.unmount(mountpoint, lazy);
    return Promise.resolve(errno === 0 ? { ok: true, message: '' } : { ok: false, message: `umount ${mountpoint}: ${errnoName(errno)}` });
  }
  return new Promise((resolve) => {
    execFile('fusermount', lazy ? ['-u', '-z', mountpoint] : ['-u', mountpoint], { timeout: COMMAND_TIMEOUT_MS, killSignal: 'SIGKILL' },
      (err, _out, stderr) => resolve({ ok: err === null, message: String(stderr).trim() || (err?.message ?? '') }));
  });
}

/**
 * The binding's static unmount (`fusermount -uz` through a shell), which its own close and re-open paths
 * call, replaced by unmountPath when we can unmount directly. Safe only because the binding is pinned at
 * exactly 2.4.3, as for MedoFuse._fuseOptions().
 */
export function installDirectUnmount(): void {
  if (!direct) return;
  const Fuse = createRequire(import.meta.url)('@cocalc/fuse-native') as { unmount: (mnt: string, cb: (err: Error | null) => void) => void };
  Fuse.unmount = (mnt, cb) => {
    void unmountPath(mnt, true).then((r) => cb(r.ok ? null : new Error(r.message)));
  };
}
