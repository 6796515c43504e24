// Fixtures made at test time by driving real git, which is also the oracle: whatever our object layer
// reads must equal what `git cat-file` prints, byte for byte.
import type { ExecutionContext } from 'ava';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RawObject } from '../../lib/git/pack-file.js';
import type { ObjectType } from '../../lib/oid.js';

// Fixed identities and dates make every run produce the same object ids; no user or system config may
// change what git writes (compression, pack.*, core.*). GIT_DIR and friends would redirect git away from
// the fixture when the tests run from a git hook.
const GIT_ENV: NodeJS.ProcessEnv = (() => {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    GIT_CONFIG_NOSYSTEM: '1',
    GIT_CONFIG_GLOBAL: '/dev/null',
    GIT_AUTHOR_NAME: 'Medo Test',
    GIT_AUTHOR_EMAIL: 'test@medo.invalid',
    GIT_AUTHOR_DATE: '2024-01-01T00:00:00Z',
    GIT_COMMITTER_NAME: 'Medo Test',
    GIT_COMMITTER_EMAIL: 'test@medo.invalid',
    GIT_COMMITTER_DATE: '2024-01-01T00:00:00Z',
    GIT_TERMINAL_PROMPT: '0',
    LC_ALL: 'C',
  };
  for (const k of ['GIT_DIR', 'GIT_WORK_TREE', 'GIT_INDEX_FILE', 'GIT_OBJECT_DIRECTORY', 'GIT_ALTERNATE_OBJECT_DIRECTORIES', 'GIT_COMMON_DIR']) {
    delete env[k];
  }
  return env;
})();

/** A fresh directory under the system temp dir, removed when the test ends. */
export function tempDir(t: ExecutionContext, prefix = 'medo-test-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/**
 * A directory for fixtures shared by a whole test file (built in `test.before`, where `t.teardown` would
 * run as soon as the hook ends); the caller removes it in `test.after.always` with `removeDir`.
 */
export function sharedTempDir(prefix = 'medo-test-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

export function removeDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}

export function git(cwd: string, args: readonly string[], input?: string | Buffer): Buffer {
  return execFileSync('git', args, { cwd, env: GIT_ENV, input, maxBuffer: 1 << 30, stdio: ['pipe', 'pipe', 'pipe'] });
}

/** Output lines of a git command, without the empty line after the final newline. */
export function gitLines(cwd: string, args: readonly string[], input?: string | Buffer): string[] {
  const out = git(cwd, args, input).toString('utf8');
  return out === '' ? [] : out.replace(/\n$/, '').split('\n');
}

export function initRepo(dir: string, options: { bare?: boolean } = {}): string {
  mkdirSync(dir, { recursive: true });
  git(dir, ['init', '-q', '--initial-branch=main', ...(options.bare ? ['--bare'] : []), dir]);
  // Keep git from repacking behind a test's back.
  git(dir, ['config', 'gc.auto', '0']);
  return dir;
}

export interface GitObject extends RawObject {
  oid: string;
}

/**
 * Every object git sees at `cwd` (loose, packed and in alternates), listed by `--batch-all-objects
 * --batch-check` and read by one `cat-file --batch`, whose output is `<oid> <type> <size>\n<content>\n`.
 */
export function gitObjects(cwd: string): GitObject[] {
  const listed = gitLines(cwd, ['cat-file', '--batch-all-objects', '--batch-check']).map((line) => {
    const [oid, type, size] = line.split(' ');
    return { oid: oid!, type: type as ObjectType, size: Number(size) };
  });
  const out = git(cwd, ['cat-file', '--batch'], listed.map((o) => `${o.oid}\n`).join(''));
  const objects: GitObject[] = [];
  let at = 0;
  for (const o of listed) {
    const nl = out.indexOf(0x0a, at);
    const header = out.toString('latin1', at, nl);
    if (header !== `${o.oid} ${o.type} ${o.size}`) throw new Error(`cat-file --batch said ${JSON.stringify(header)} for ${o.oid}`);
    const end = nl + 1 + o.size;
    if (out[end] !== 0x0a) throw new Error(`cat-file --batch output for ${o.oid} is not newline-terminated`);
    objects.push({ oid: o.oid, type: o.type, content: out.subarray(nl + 1, end) });
    at = end + 1;
  }
  if (at !== out.length) throw new Error('cat-file --batch printed more than it was asked for');
  return objects;
}

/** Asserts that `read` returns every object of `expected` with git's type and exact bytes. */
export function assertReadsLikeGit(t: ExecutionContext, read: (oid: string) => RawObject | undefined, expected: readonly GitObject[]): void {
  t.true(expected.length > 0, 'the fixture has objects');
  const mismatches: string[] = [];
  for (const o of expected) {
    const got = read(o.oid);
    if (got === undefined) mismatches.push(`${o.oid}: not found`);
    else if (got.type !== o.type) mismatches.push(`${o.oid}: type ${got.type}, git says ${o.type}`);
    else if (!got.content.equals(o.content)) mismatches.push(`${o.oid}: ${got.content.length} bytes differ from git's ${o.content.length}`);
  }
  t.deepEqual(mismatches, []);
}

export interface VerifyPackLine {
  type: ObjectType;
  /** Inflated size of the entry's data: the object's size, or the delta's for a deltified entry. */
  size: number;
  sizeInPack: number;
  offset: number;
  depth: number;
  base?: string;
}

/**
 * `git verify-pack -v` for one pack, as a map from object id to its entry, plus git's own
 * "chain length = N: M objects" histogram. verify-pack also checks the pack's and index's checksums.
 */
export function verifyPack(cwd: string, idxPath: string): { entries: Map<string, VerifyPackLine>; chains: Map<number, number> } {
  const entries = new Map<string, VerifyPackLine>();
  const chains = new Map<number, number>();
  for (const line of gitLines(cwd, ['verify-pack', '-v', idxPath])) {
    const chain = /^chain length = (\d+): (\d+) objects?$/.exec(line);
    if (chain) {
      chains.set(Number(chain[1]), Number(chain[2]));
      continue;
    }
    const m = /^([0-9a-f]{40}) (\w+) +(\d+) (\d+) (\d+)(?: (\d+) ([0-9a-f]{40}))?$/.exec(line);
    if (!m) continue;
    entries.set(m[1]!, {
      type: m[2] as ObjectType,
      size: Number(m[3]),
      sizeInPack: Number(m[4]),
      offset: Number(m[5]),
      depth: m[6] === undefined ? 0 : Number(m[6]),
      ...(m[7] === undefined ? {} : { base: m[7] }),
    });
  }
  return { entries, chains };
}

/**
 * Packs every object git sees at `source` with `git pack-objects <args>` into `packDir` (created if need
 * be) and returns the pack's path without its extension.
 */
export function packAll(source: string, packDir: string, args: readonly string[]): string {
  mkdirSync(packDir, { recursive: true });
  const oids = git(source, ['cat-file', '--batch-all-objects', '--batch-check=%(objectname)']);
  const hash = git(source, ['pack-objects', '-q', ...args, join(packDir, 'pack')], oids).toString().trim();
  return join(packDir, `pack-${hash}`);
}
