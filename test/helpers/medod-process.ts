// medod for tests: a daemon run from the sources (tsx) with its own --socket and --state-dir in a temp
// directory (never /run/medo or /var/lib/medo). Readiness is the daemon's own "medod ready" log line, never
// a sleep. Teardown always stops it and lazily unmounts whatever it may have left.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { request, type DaemonStatus, type Request } from '../../lib/daemon-protocol.js';
import { REPO_ROOT, forceUnmount, medoArgs } from './mount-process.js';

export const MEDOD_MAIN = join(REPO_ROOT, 'daemon', 'medod-main.ts');

export interface RunningDaemon {
  child: ChildProcess;
  pid: number;
  socket: string;
  stateDir: string;
  /** Its JSON log lines so far. */
  log(): string;
  logLines(): Record<string, unknown>[];
  /** Resolves with the exit code (null after a signal) once the process is gone. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  request<T = unknown>(req: Request): Promise<T>;
  status(): Promise<DaemonStatus>;
  /** SIGTERM and wait; then lazily unmount `mountpoints` if anything is left. Idempotent. */
  stop(mountpoints?: readonly string[]): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Starts medod with socket and state under `dir`; resolves once it logs that it is ready. */
export async function startDaemon(dir: string, extra: readonly string[] = []): Promise<RunningDaemon> {
  const socket = join(dir, 'medod.sock');
  const stateDir = join(dir, 'state');
  const child = spawn(process.execPath, ['--import', 'tsx', MEDOD_MAIN, '--socket', socket, '--state-dir', stateDir, ...extra], {
    cwd: REPO_ROOT,
    env: { ...process.env, MEDO_SOCKET: '', NOTIFY_SOCKET: '' },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  // 'close', not 'exit': the log lines written just before exiting may still be in the pipe at 'exit'.
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) => child.once('close', (code, signal) => r({ code, signal })));
  const ready = new Promise<boolean>((resolve) => {
    child.stderr!.setEncoding('utf8');
    child.stderr!.on('data', (c: string) => {
      stderr += c;
      if (stderr.includes('"msg":"medod ready"')) resolve(true);
    });
    void exited.then(() => resolve(false));
  });
  let stopping: Promise<{ code: number | null; signal: NodeJS.Signals | null }> | undefined;
  const d: RunningDaemon = {
    child,
    pid: child.pid!,
    socket,
    stateDir,
    log: () => stderr,
    logLines: () => stderr.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>),
    exited,
    request: <T>(req: Request) => request<T>(req, { socket, timeoutMs: 60_000 }),
    status: () => request<DaemonStatus>({ op: 'status' }, { socket, timeoutMs: 60_000 }),
    stop: (mountpoints = []) => {
      stopping ??= (async () => {
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
        const r = await exited;
        for (const m of mountpoints) forceUnmount(m);
        return r;
      })();
      return stopping;
    },
  };
  if (!(await ready)) throw new Error(`medod did not start:\n${stderr}`);
  return d;
}

/** `medo ARGS` from the sources, talking to `socket`. */
export function medoCli(args: readonly string[], socket: string): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, medoArgs(args), {
    cwd: REPO_ROOT, encoding: 'utf8', env: { ...process.env, MEDO_SOCKET: socket },
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

export function fdCount(pid: number): number {
  return readdirSync(`/proc/${pid}/fd`).length;
}

export function rssBytes(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(m?.[1] ?? 0) * 1024;
}

/** Lines of /proc/self/mounts that are medo mounts under `prefix`. */
export function medoMountsUnder(prefix: string): string[] {
  return readFileSync('/proc/self/mounts', 'utf8').split('\n').filter((l) => l.split(' ')[2] === 'fuse.medo' && (l.split(' ')[1] ?? '').startsWith(prefix));
}
