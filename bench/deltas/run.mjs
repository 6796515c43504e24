// Child processes for the deltas benchmark: the built medo and silo CLIs, git and the rest, run to
// completion with their wall time and CPU time (user + system of the child and its children, from our
// own cutime/cstime once it is reaped). A non-zero exit throws, naming the command and its stderr.
import { spawnSync } from 'node:child_process';
import { lstatSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { childrenCpuMs } from '../measure.mjs';
import { GIT_ENV as NPM_GIT_ENV } from '../object-layer/npm-history-repo.mjs';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const MEDO = join(ROOT, 'bin', 'medo.js');
export const SILO = join(ROOT, 'bin', 'silo.js');

// git without user or system configuration, with a fixed identity, and nothing of ours in the way.
export const GIT_ENV = { ...NPM_GIT_ENV, LC_ALL: 'C' };
for (const k of ['GIT_DIR', 'GIT_WORK_TREE', 'GIT_INDEX_FILE', 'GIT_OBJECT_DIRECTORY', 'GIT_ALTERNATE_OBJECT_DIRECTORIES']) delete GIT_ENV[k];

export class CommandFailed extends Error {}
/** Two tools disagree about the same data (tree ids): the run's figures would mean nothing. */
export class Mismatch extends Error {}

/**
 * Runs `cmd args` and returns { wallMs, cpuMs, stdout (text), stdoutBytes, stderr, status }. `ok` lists the exit statuses that
 * are not failures (default [0]); `input` is written to its stdin.
 */
export function timed(cmd, args, { env, cwd, input, ok = [0] } = {}) {
  const cpu0 = childrenCpuMs();
  const t0 = process.hrtime.bigint();
  const r = spawnSync(cmd, args, { cwd, env: env ?? process.env, input, maxBuffer: 1 << 30, stdio: [input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'] });
  const wallMs = Number(process.hrtime.bigint() - t0) / 1e6;
  const cpuMs = childrenCpuMs() - cpu0;
  if (r.error !== undefined) throw r.error;
  const res = { wallMs, cpuMs, stdout: r.stdout.toString(), stdoutBytes: r.stdout.length, stderr: r.stderr.toString(), status: r.status };
  if (!ok.includes(r.status)) {
    throw new CommandFailed(`${[cmd, ...args].join(' ')}: exit ${r.status ?? r.signal}\n${res.stderr.trim().split('\n').slice(-8).join('\n')}`);
  }
  return res;
}

// CI=1: no progress lines, whatever stderr is.
export const medo = (args, opts = {}) => timed(process.execPath, [MEDO, ...args], { ...opts, env: { ...process.env, CI: '1', ...opts.env } });
export const silo = (args, opts = {}) => timed(process.execPath, [SILO, ...args], { ...opts, env: { ...process.env, CI: '1', ...opts.env } });
export const git = (args, opts = {}) => timed('git', args, { ...opts, env: { ...GIT_ENV, ...opts.env } });

/** Writeback of earlier work must not land inside the next timing. */
export const sync = () => spawnSync('sync');

/** Apparent bytes (st_size) of every file below `dir`; links are not followed. */
export function bytesUnder(dir) {
  let n = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) n += bytesUnder(p);
    else n += lstatSync(p).size;
  }
  return n;
}
