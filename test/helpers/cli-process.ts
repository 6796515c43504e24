// The compiled CLI (node bin/<program>.js, after `npx tsc -p .`) as child processes that run at the same
// time: each call starts one and resolves with its exit code and output when it ends.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));

export interface Ran {
  args: readonly string[];
  code: number | null;
  stdout: string;
  stderr: string;
}

export function assertBuilt(...files: string[]): void {
  for (const f of files) {
    if (!existsSync(join(ROOT, 'dist', f))) throw new Error(`dist/${f} is missing: build with 'npx tsc -p .' first`);
  }
}

/** Runs `program args...` to its end; `stdin` is written to it and closed; `extraEnv` adds to this process's environment. */
export function runCli(program: 'medo' | 'silo', args: readonly string[], stdin = '', extraEnv: NodeJS.ProcessEnv = {}): Promise<Ran> {
  const env = { ...process.env, CI: '1', ...extraEnv };
  for (const k of ['GIT_DIR', 'GIT_WORK_TREE', 'GIT_INDEX_FILE', 'GIT_OBJECT_DIRECTORY']) delete env[k];
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(ROOT, 'bin', `${program}.js`), ...args], { cwd: ROOT, env, stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    child.on('error', reject);
    child.on('close', (code) => resolve({ args, code, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') }));
    child.stdin.end(stdin);
  });
}

/** A one-line account of a run that failed, for assertion messages. */
export function describeRun(r: Ran): string {
  return `${r.args.join(' ')} -> exit ${r.code}: ${r.stderr.trim() || r.stdout.trim()}`;
}
