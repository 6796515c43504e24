// Processes for the suite: running a timed shell command, the CPU and peak memory of a serving process,
// dropping the kernel's caches, and quiet progress on stderr. Every child goes through `run`, so that an
// interrupt can end the ones still running (see cleanup.mjs).
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { childrenCpuMs } from '../measure.mjs';
import { track } from './cleanup.mjs';

const CLOCK_TICKS = 100; // USER_HZ, the unit of /proc/PID/stat: 100 on every Linux architecture we run on

// git without user or system configuration: nothing on this machine changes what it reads or writes.
export const GIT_ENV = { ...process.env, GIT_CONFIG_NOSYSTEM: '1', GIT_CONFIG_GLOBAL: '/dev/null', LC_ALL: 'C' };
for (const k of ['GIT_DIR', 'GIT_WORK_TREE', 'GIT_INDEX_FILE', 'GIT_OBJECT_DIRECTORY', 'GIT_ALTERNATE_OBJECT_DIRECTORIES']) delete GIT_ENV[k];

const tty = process.stderr.isTTY;
let transient = false;

/** A line that stays. */
export function log(text) {
  if (transient) process.stderr.write('\r\x1b[K');
  transient = false;
  process.stderr.write(`suite: ${text}\n`);
}

/** A line that the next one replaces (on a terminal; elsewhere nothing, to keep logs short). */
export function progress(text) {
  if (!tty) return;
  process.stderr.write(`\r\x1b[Ksuite: ${text.slice(0, (process.stderr.columns ?? 100) - 8)}`);
  transient = true;
}

export class CommandError extends Error {
  constructor(message, detail) {
    super(message);
    this.detail = detail;
  }
}

/**
 * Runs `sh -c cmd` and resolves with its wall time, the CPU time of it and its children (user + system,
 * from our own cutime/cstime once it is reaped) and its stdout. Rejects on a non-zero exit or a timeout
 * (after which `onTimeout` runs).
 * Asynchronous on purpose: a SIGINT is then handled while a long workload runs.
 */
export function run(cmd, { cwd, env, timeoutMs = 0, stdin = 'ignore', onTimeout, progressOf, stallMs = 120_000 } = {}) {
  return new Promise((resolve, reject) => {
    const cpu0 = childrenCpuMs();
    const t0 = performance.now();
    const child = spawn('sh', ['-c', cmd], { cwd, env: env ?? process.env, stdio: [stdin, 'pipe', 'pipe'], detached: true });
    const untrack = track({ kill: () => { try { process.kill(-child.pid, 'SIGKILL'); } catch { /* gone */ } } });
    let out = '';
    let err = '';
    child.stdout.on('data', (c) => { if (out.length < 1 << 20) out += c; });
    child.stderr.on('data', (c) => { err = (err + c).slice(-4000); });
    let timedOut;
    const stop = (why) => {
      if (timedOut !== undefined) return;
      timedOut = why;
      try { process.kill(-child.pid, 'SIGKILL'); } catch { /* gone */ }
      onTimeout?.(); // e.g. end a FUSE connection whose server hangs: its readers are unkillable until then
    };
    const timer = timeoutMs > 0 ? setTimeout(() => stop(`timed out after ${Math.round(timeoutMs / 1000)} s`), timeoutMs) : undefined;
    // A server that does no work at all for stallMs while its client waits is deadlocked, not slow.
    let last = progressOf?.() ?? null;
    let lastChange = performance.now();
    const watch = progressOf ? setInterval(() => {
      const now = progressOf();
      if (now !== last) [last, lastChange] = [now, performance.now()];
      else if (performance.now() - lastChange > stallMs) stop(`stalled: the server used no CPU for ${stallMs / 1000} s`);
    }, 5000) : undefined;
    const done = () => {
      clearTimeout(timer);
      clearInterval(watch);
      untrack();
    };
    child.on('error', (e) => { done(); reject(e); });
    child.on('close', (code, signal) => {
      const wallMs = performance.now() - t0;
      done();
      const cpu1 = childrenCpuMs();
      if (timedOut) reject(new CommandError(`${timedOut}: ${cmd}`, err.trim()));
      else if (code !== 0) reject(new CommandError(`exit ${code ?? signal}: ${cmd}`, err.trim()));
      else resolve({ wallMs, cpuMs: cpu0 === null || cpu1 === null ? null : cpu1 - cpu0, out: out.trim(), err: err.trim() });
    });
  });
}

/** User + system CPU milliseconds of a live process and all its threads, or null when it is gone. */
export function processCpuMs(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' '); // f[0] is field 3
    return ((Number(f[11]) + Number(f[12])) * 1000) / CLOCK_TICKS; // utime, stime
  } catch {
    return null;
  }
}

/** Peak resident set size (VmHWM) of a live process in bytes, or null. */
export function peakRss(pid) {
  try {
    const m = /^VmHWM:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'latin1'));
    return m ? Number(m[1]) * 1024 : null;
  } catch {
    return null;
  }
}

/**
 * 3: page cache, dentries and inodes (a cold start: everything comes from the disk again);
 * 2: dentries and inodes only (the file data stays cached: what a fresh mount of a cached silo sees).
 */
export async function dropCaches(level) {
  await run('sync');
  writeFileSync('/proc/sys/vm/drop_caches', `${level}\n`);
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Shell quoting for the commands the suite builds (paths under our own directories, but be safe). */
export const q = (s) => `'${String(s).replaceAll("'", "'\\''")}'`;
