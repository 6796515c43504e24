// The ways of reading a dataset that the suite compares: the local disk (the prepared tree on ext4),
// squashfuse_ll on the squashfs image, and `medo mount --foreground` with each FUSE backend. `open(ds)`
// gives { root, pid?, mountMs?, serverMs?, close() }; a mount is registered with cleanup.mjs until closed,
// so an interrupt or a failure never leaves it behind.
import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { abortConnection, fuseConnection, isMounted, lazyUnmount, track } from './cleanup.mjs';
import { peakRss, processCpuMs, sleep } from './proc.mjs';

const READY_TIMEOUT_MS = 120_000;
const EXIT_TIMEOUT_MS = 20_000;

export function localPeer() {
  return { name: 'local', label: 'local disk', kind: 'dir', open: async (ds) => ({ root: ds.root, close: async () => undefined }) };
}

async function gone(pid, ms) {
  for (const end = performance.now() + ms; performance.now() < end;) {
    if (!existsSync(`/proc/${pid}`)) return true;
    await sleep(20);
  }
  return false;
}

/** The pid of the squashfuse_ll that serves `mnt` (it daemonizes, so it is not our child). */
function squashfusePid(image, mnt) {
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const argv = readFileSync(`/proc/${d}/cmdline`, 'utf8').split('\0');
      if (argv[0].endsWith('squashfuse_ll') && argv.includes(image) && argv.includes(mnt)) return Number(d);
    } catch { /* exited meanwhile */ }
  }
  return undefined;
}

export function squashPeer(mntBase) {
  const mnt = join(mntBase, 'squashfuse_ll');
  return {
    name: 'squashfuse_ll', label: 'squashfuse_ll', kind: 'mount',
    backing: (ds) => [ds.image],
    async open(ds) {
      mkdirSync(mnt, { recursive: true });
      lazyUnmount(mnt);
      let conn;
      const abort = () => abortConnection(conn);
      const untrack = track({ kill: () => { abort(); lazyUnmount(mnt); } });
      const t0 = performance.now();
      // It returns once the kernel has the mount (libfuse daemonizes after mounting).
      await new Promise((res, rej) => execFile('squashfuse_ll', [ds.image, mnt], { timeout: READY_TIMEOUT_MS }, (e, _o, se) => (e ? rej(new Error(`squashfuse_ll: ${e.message} ${se}`)) : res())));
      const mountMs = performance.now() - t0;
      conn = fuseConnection(mnt);
      const pid = squashfusePid(ds.image, mnt);
      return {
        root: mnt, pid, mountMs, abort,
        cpuMs: () => (pid === undefined ? null : processCpuMs(pid)),
        peakRss: () => (pid === undefined ? null : peakRss(pid)),
        async close() {
          await new Promise((res) => execFile('umount', [mnt], { timeout: EXIT_TIMEOUT_MS }, () => res()));
          if (isMounted(mnt)) {
            abort();
            lazyUnmount(mnt);
          }
          if (pid !== undefined && !(await gone(pid, EXIT_TIMEOUT_MS))) process.kill(pid, 'SIGKILL');
          untrack();
        },
      };
    },
  };
}

/**
 * The same squashfs image mounted by the kernel on a loop device (issue 17's physical limit): no FUSE
 * round trips and no user-space server, so no pid to sample. Needs the kernel's squashfs and loop support.
 */
export function kernelSquashPeer(mntBase) {
  const mnt = join(mntBase, 'kernel-squashfs');
  return {
    name: 'kernel-squashfs', label: 'kernel squashfs (loop)', kind: 'mount',
    backing: (ds) => [ds.image],
    async open(ds) {
      mkdirSync(mnt, { recursive: true });
      lazyUnmount(mnt);
      const untrack = track({ kill: () => lazyUnmount(mnt) });
      const t0 = performance.now();
      await new Promise((res, rej) => execFile('mount', ['-t', 'squashfs', '-o', 'loop,ro', ds.image, mnt], { timeout: READY_TIMEOUT_MS },
        (e, _o, se) => (e ? rej(new Error(`mount -t squashfs: ${e.message} ${se}`)) : res())));
      const mountMs = performance.now() - t0;
      return {
        root: mnt, mountMs,
        async close() {
          // umount of a loop mount set up by mount(8) also frees its loop device (autoclear).
          await new Promise((res) => execFile('umount', [mnt], { timeout: EXIT_TIMEOUT_MS }, () => res()));
          if (isMounted(mnt)) lazyUnmount(mnt);
          untrack();
        },
      };
    },
  };
}

export function medoPeer(backend, build, mntBase) {
  const mnt = join(mntBase, `medo-${backend}`);
  return {
    name: `medo-${backend}`, label: `medo ${backend}`, kind: 'mount', backend,
    backing: (ds) => [join(ds.silo, 'pack'), join(ds.silo, 'objects')],
    async open(ds) {
      mkdirSync(mnt, { recursive: true });
      lazyUnmount(mnt);
      const t0 = performance.now();
      const child = spawn(process.execPath, [build.medo, 'mount', '--foreground', ds.treeptr, mnt, '--ready-fd', '3', '--log-level', 'info'], {
        env: { ...process.env, MEDO_FUSE_BACKEND: backend }, stdio: ['ignore', 'ignore', 'pipe', 'pipe'],
      });
      let conn;
      const abort = () => abortConnection(conn ?? fuseConnection(mnt));
      const kill = () => {
        try { child.kill('SIGKILL'); } catch { /* gone */ }
        abort(); // a server stuck in the kernel (D state) does not die of SIGKILL until its connection ends
        lazyUnmount(mnt);
      };
      const untrack = track({ kill });
      let stderr = '';
      child.stderr.on('data', (c) => { stderr = (stderr + c).slice(-20_000); });
      const exited = new Promise((r) => child.once('exit', (code, sig) => r(code ?? sig)));
      const line = await Promise.race([
        new Promise((r) => {
          let text = '';
          child.stdio[3].on('data', (c) => { text += c; if (text.includes('\n')) r(text.trim()); });
          child.stdio[3].on('end', () => r(text.trim() || 'error (the ready pipe closed without a word)'));
        }),
        sleep(READY_TIMEOUT_MS).then(() => `error no answer in ${READY_TIMEOUT_MS / 1000} s`),
      ]);
      const mountMs = performance.now() - t0;
      if (line !== 'ready') {
        kill();
        untrack();
        const why = stderr.split('\n').map((l) => { try { return JSON.parse(l).msg; } catch { return l; } }).filter(Boolean).slice(-3).join('; ');
        throw new Error(`medo mount (${backend}): ${line.replace(/^error /, '')}${why ? ` [${why}]` : ''}`);
      }
      // The "mounted" line is written (synchronously) before "ready".
      const mounted = stderr.split('\n').map((l) => { try { return JSON.parse(l); } catch { return {}; } }).find((l) => l.msg === 'mounted') ?? {};
      if (mounted.backend !== undefined && mounted.backend !== backend) {
        kill();
        untrack();
        throw new Error(`medo mount: asked for the ${backend} backend, got ${mounted.backend}`);
      }
      conn = fuseConnection(mnt);
      return {
        root: mnt, pid: child.pid, mountMs, serverMs: mounted.ms, abort,
        cpuMs: () => processCpuMs(child.pid),
        peakRss: () => peakRss(child.pid),
        async close() {
          if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
          const code = await Promise.race([exited, sleep(EXIT_TIMEOUT_MS).then(() => 'timeout')]);
          if (code === 'timeout') {
            kill();
            await Promise.race([exited, sleep(EXIT_TIMEOUT_MS)]);
          } else if (isMounted(mnt)) lazyUnmount(mnt);
          untrack();
        },
      };
    },
  };
}
