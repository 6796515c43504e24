// What must be undone however the suite ends: mounts it made and children still running. Each holder
// registers an undo function; a normal path calls its own and unregisters, and SIGINT, SIGTERM or an
// uncaught failure run whatever is left (synchronously, as the process is about to exit).
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';

const pending = new Set();

/** Registers `{ kill() }` (synchronous, idempotent); returns the function that unregisters it. */
export function track(holder) {
  pending.add(holder);
  return () => pending.delete(holder);
}

export function undoAll() {
  for (const h of [...pending].reverse()) {
    try {
      h.kill();
    } catch { /* keep going: every mount must be tried */ }
    pending.delete(h);
  }
}

const unescape = (m) => m.replace(/\\(\d{3})/g, (_, o) => String.fromCharCode(parseInt(o, 8)));
const mountTable = () => readFileSync('/proc/self/mountinfo', 'utf8').split('\n').filter(Boolean)
  .map((l) => l.split(' ')).map((f) => ({ dev: f[2], mnt: unescape(f[4]) }));

/** Mount points in this process's mount namespace that are at or below `dir`. */
export function mountsUnder(dir) {
  const prefix = dir.endsWith('/') ? dir : `${dir}/`;
  return mountTable().map((e) => e.mnt).filter((m) => m === dir || m.startsWith(prefix));
}

export const isMounted = (mnt) => mountsUnder(mnt).includes(mnt);

/** The FUSE connection of a mount: the minor number of its device, the name of its /sys/fs/fuse/connections entry. */
export function fuseConnection(mnt) {
  const e = mountTable().filter((x) => x.mnt === mnt).pop();
  return e === undefined ? undefined : e.dev.split(':')[1];
}

/**
 * Ends a FUSE connection from the kernel's side: every request waiting on it fails, so readers stuck in
 * D state (and a server deadlocked against them) come back. The last resort for a hung mount.
 */
export function abortConnection(id) {
  if (id === undefined) return;
  const dir = '/sys/fs/fuse/connections';
  if (!existsSync(`${dir}/${id}`)) spawnSync('mount', ['-t', 'fusectl', 'none', dir], { stdio: 'ignore' });
  try {
    writeFileSync(`${dir}/${id}/abort`, '1\n');
  } catch { /* already gone */ }
}

/**
 * A lazy unmount that never throws and never waits on the server: -c (no canonicalization) keeps umount
 * from stat()ing a mount point whose server may be stuck.
 */
export function lazyUnmount(mnt) {
  if (!isMounted(mnt)) return;
  spawnSync('umount', ['-l', '-c', mnt], { stdio: 'ignore', timeout: 10_000, killSignal: 'SIGKILL' });
  if (isMounted(mnt)) spawnSync('fusermount', ['-u', '-z', mnt], { stdio: 'ignore', timeout: 10_000, killSignal: 'SIGKILL' });
}

export function installSignalHandlers() {
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
    process.on(sig, () => {
      process.stderr.write(`\nsuite: ${sig}: unmounting and stopping\n`);
      undoAll();
      process.exit(130);
    });
  }
  process.on('exit', undoAll);
}
