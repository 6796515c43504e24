// Directory fixtures for `medo add`, with the oracles they are checked against: `git add -A && git
// write-tree` for the tree id, and `find -printf` for permission bits and mtimes.
import { execFileSync } from 'node:child_process';
import { chmodSync, linkSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { Silo } from '../../lib/silo/silo.js';
import { git } from './git-fixture.js';

export type FixtureEntry =
  | { path: string; file: string | Buffer; perm?: number; mtime?: string }
  | { path: string; symlink: string; mtime?: string }
  | { path: string; dir: true; perm?: number; mtime?: string }
  | { path: string; hardlink: string };

/**
 * Creates the entries under `root` (parents first), then sets every mtime given as "SEC.NSEC" with
 * `touch -h -d @SEC.NSEC`, deepest first so that setting a file's time does not disturb its directory's.
 */
export function makeTree(root: string, entries: readonly FixtureEntry[]): void {
  mkdirSync(root, { recursive: true });
  for (const e of entries) {
    const abs = join(root, e.path);
    mkdirSync(dirname(abs), { recursive: true });
    if ('file' in e) {
      writeFileSync(abs, e.file);
      chmodSync(abs, e.perm ?? 0o644);
    } else if ('symlink' in e) {
      symlinkSync(e.symlink, abs);
    } else if ('dir' in e) {
      mkdirSync(abs, { recursive: true });
    } else {
      linkSync(join(root, e.hardlink), abs);
    }
  }
  // Directory modes last: a 0555 directory could not be written into.
  for (const e of entries) if ('dir' in e) chmodSync(join(root, e.path), e.perm ?? 0o755);
  const timed = entries.filter((e): e is FixtureEntry & { mtime: string } => 'mtime' in e && e.mtime !== undefined)
    .sort((a, b) => b.path.split('/').length - a.path.split('/').length);
  for (const e of timed) execFileSync('touch', ['-h', '-d', `@${e.mtime}`, join(root, e.path)]);
}

/** The tree id `git add -A && git write-tree` gives for `dir`, with the repository kept outside it. */
export function gitWriteTree(dir: string, gitDir: string): string {
  git(dir, ['init', '-q', '--bare', gitDir]);
  const env = ['--git-dir', gitDir, '--work-tree', dir];
  git(dir, [...env, 'add', '-A']);
  return git(dir, [...env, 'write-tree']).toString().trim();
}

/** path ('' for the root) -> [permission bits, mtime seconds, mtime nanoseconds] of everything in `dir`, as GNU find reports them. */
export function findMeta(dir: string): Map<string, [number, number, number]> {
  const out = execFileSync('find', [dir, '-printf', '%P\\0%m\\0%T@\\0'], { maxBuffer: 1 << 28 }).toString('utf8').split('\0');
  const paths = new Map<string, [number, number, number]>();
  for (let i = 0; i + 2 < out.length; i += 3) {
    const [sec, frac = ''] = out[i + 2]!.split('.');
    paths.set(out[i]!, [parseInt(out[i + 1]!, 8), Number(sec), Number(frac.slice(0, 9).padEnd(9, '0'))]);
  }
  return paths;
}

/**
 * A sidecar's JSON text with each path's attrs inline (version 1's shape), whichever version it is: what
 * tests compare and index by path.
 */
export function inlineAttrs(text: string): string {
  const j = JSON.parse(text) as { version: number; attrs?: number[][]; paths: Record<string, number[] | number>; empty_dirs?: string[] };
  if (j.version !== 2) return text;
  const paths = Object.fromEntries(Object.entries(j.paths).map(([p, v]) => [p, typeof v === 'number' ? j.attrs![v] : v]));
  return JSON.stringify({ format: 'medo-meta', version: 1, paths, empty_dirs: j.empty_dirs ?? [] });
}

/** A sidecar's "paths" as the same map, from its JSON text (version 2's indices into "attrs" looked up). */
export function sidecarPaths(text: string): Map<string, [number, number, number]> {
  const j = JSON.parse(text) as { version: number; attrs?: number[][]; paths: Record<string, number[] | number> };
  const attrs = (v: number[] | number): number[] => (typeof v === 'number' ? j.attrs![v]! : v);
  return new Map(Object.entries(j.paths).map(([p, v]) => [p, [attrs(v)[0]!, attrs(v)[1]!, attrs(v)[2] ?? 0]]));
}

/** Entries that exercise git's rules and the sidecar: exec bits, symlinks, empty dirs, odd names, hard links. */
export const RICH_TREE: readonly FixtureEntry[] = [
  { path: 'README', file: 'hello\n', mtime: '1700000000.123456789' },
  { path: 'bin/run', file: '#!/bin/sh\necho run\n', perm: 0o755, mtime: '1700000001' },
  { path: 'bin/owner-exec-only', file: 'x', perm: 0o700, mtime: '1700000002.5' },
  { path: 'bin/group-exec-only', file: 'y', perm: 0o654 },
  { path: 'ro/readonly', file: 'r', perm: 0o444 },
  { path: 'setuid', file: 's', perm: 0o4755 },
  { path: 'empty-file', file: '' },
  { path: 'link-to-readme', symlink: 'README', mtime: '1600000000.000000001' },
  { path: 'dangling', symlink: 'does/not/exist' },
  { path: 'abs-link', symlink: '/etc/passwd' },
  { path: 'empty', dir: true, perm: 0o700, mtime: '1500000000' },
  { path: 'nested/empty/deeper', dir: true, perm: 0o555 },
  { path: 'sort/a-', file: '1' },
  { path: 'sort/a/b', file: '2' },
  { path: 'sort/a.b', file: '3' },
  { path: 'sort/a0', file: '4' },
  { path: 'names/with space', file: 'sp' },
  { path: 'names/quote"s and \'apostrophes\'', file: 'q' },
  { path: 'names/new\nline', file: 'nl' },
  { path: 'names/tab\there', file: 't' },
  { path: 'names/back\\slash', file: 'bs' },
  { path: 'names/ünïcödé-日本語', file: 'u' },
  { path: 'names/emoji-😀', file: 'e' },
  { path: 'names/-dash', file: 'd' },
  { path: 'hard/one', file: 'shared by two names\n', perm: 0o640, mtime: '1650000000.25' },
  { path: 'hard/two', hardlink: 'hard/one' },
  { path: 'same/content-a', file: 'same\n' },
  { path: 'same/content-b', file: 'same\n', perm: 0o755 },
  { path: 'ro', dir: true, perm: 0o555, mtime: '1400000000' },
];

/** A medo directory `m/` under `root` whose SILO.json names the silo `s/`. */
export function makeMedo(root: string): { medo: string; silo: string } {
  const silo = join(root, 's');
  Silo.init(silo).close();
  const medo = join(root, 'm');
  mkdirSync(medo, { recursive: true });
  writeFileSync(join(medo, 'SILO.json'), '{"silos": ["../s"]}\n');
  return { medo, silo };
}
