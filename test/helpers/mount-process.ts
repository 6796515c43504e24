// Real FUSE mounts for tests, served by a child process (`medo mount --foreground --ready-fd 3`, run from
// the TypeScript sources through tsx): a process must never read a mount it serves itself. The test waits
// for the child's readiness line, never a sleep, and always unmounts in teardown.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import type { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const MEDO_CLI = join(REPO_ROOT, 'cli', 'medo.ts');

/** Runs `medo ARGS` from the sources; the same command line tests use for the CLI. */
export function medoArgs(args: readonly string[]): string[] {
  return ['--import', 'tsx', MEDO_CLI, ...args];
}

export interface RunningMount {
  mnt: string;
  child: ChildProcess;
  /** Everything the server wrote on stderr so far (its JSON log lines). */
  log(): string;
  /** SIGTERM, wait for the exit, and make sure nothing stays mounted. Idempotent. */
  stop(): Promise<number | null>;
}

export function isMounted(mnt: string): boolean {
  const abs = resolve(mnt);
  return readFileSync('/proc/self/mountinfo', 'utf8').split('\n')
    .some((l) => l.split(' ')[4]?.replace(/\\040/g, ' ') === abs);
}

/** fusermount -u -z, for teardown: safe when nothing is mounted. */
export function forceUnmount(mnt: string): void {
  if (isMounted(mnt)) spawnSync('fusermount', ['-u', '-z', mnt], { stdio: 'ignore' });
}

function readLine(stream: Readable): Promise<string> {
  return new Promise((resolveLine) => {
    let text = '';
    stream.setEncoding('utf8');
    stream.on('data', (c: string) => {
      text += c;
      if (text.includes('\n')) resolveLine(text.slice(0, text.indexOf('\n')));
    });
    stream.on('end', () => resolveLine(text));
    stream.on('error', () => resolveLine(text));
  });
}

/** Mounts SOURCE at `mnt` (created if need be) and resolves once the server says it is ready. */
export async function startMount(source: string, mnt: string, extra: readonly string[] = [], env: NodeJS.ProcessEnv = {}): Promise<RunningMount> {
  mkdirSync(mnt, { recursive: true });
  const child = spawn(process.execPath, medoArgs(['mount', '--foreground', source, mnt, '--ready-fd', '3', ...extra]), {
    cwd: REPO_ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr!.setEncoding('utf8');
  child.stderr!.on('data', (c: string) => {
    stderr += c;
  });
  // 'close', not 'exit': the last log lines may still be in the pipe at 'exit'.
  const exited = new Promise<number | null>((r) => child.once('close', (code) => r(code)));
  let stopped: Promise<number | null> | undefined;
  const stop = (): Promise<number | null> => {
    stopped ??= (async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      const code = await exited;
      forceUnmount(mnt);
      return code;
    })();
    return stopped;
  };
  const line = await readLine(child.stdio[3] as Readable);
  if (line !== 'ready') {
    await stop();
    throw new Error(`mount of ${source} at ${mnt} failed: ${JSON.stringify(line)}\n${stderr}`);
  }
  return { mnt, child, log: () => stderr, stop };
}

/** Removes a mountpoint directory after its mount is gone. */
export function removeMountpoint(mnt: string): void {
  forceUnmount(mnt);
  rmSync(mnt, { recursive: true, force: true });
}
