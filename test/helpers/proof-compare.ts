// Oracles for the proof tests that share no code with medo: a walk of two directories with lstat that
// compares every path, type, permission bits, mtime, symlink target and file byte; a check of the
// metadata sidecar against the source's lstat; and git, reading the silo's packs in place.
import { spawnSync } from 'node:child_process';
import { lstatSync, readFileSync, readdirSync, readlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { git, initRepo } from './git-fixture.js';
import { inlineAttrs } from './tree-fixture.js';

export interface PathInfo {
  type: 'file' | 'dir' | 'symlink' | 'other';
  perm: number;
  mtimeNs: bigint;
  size: bigint;
  target?: Buffer;
}

/** Every path below `root` ('' for the root itself) with its lstat, symlinks not followed. */
export function walk(root: string): Map<string, PathInfo> {
  const out = new Map<string, PathInfo>();
  const visit = (rel: string): void => {
    const abs = rel === '' ? root : join(root, rel);
    const st = lstatSync(abs, { bigint: true });
    const type = st.isFile() ? 'file' : st.isDirectory() ? 'dir' : st.isSymbolicLink() ? 'symlink' : 'other';
    const info: PathInfo = { type, perm: Number(st.mode & 0o7777n), mtimeNs: st.mtimeNs, size: st.size };
    if (type === 'symlink') info.target = readlinkSync(abs, { encoding: 'buffer' });
    out.set(rel, info);
    if (type === 'dir') for (const name of readdirSync(abs).sort()) visit(rel === '' ? name : `${rel}/${name}`);
  };
  visit('');
  return out;
}

/** Files and symlinks (what a .treeptr counts), and the bytes of their blobs. */
export function blobTotals(paths: ReadonlyMap<string, PathInfo>): { files: number; size: number } {
  let files = 0;
  let size = 0;
  for (const p of paths.values()) {
    if (p.type === 'file' || p.type === 'symlink') {
      files++;
      size += p.type === 'file' ? Number(p.size) : p.target!.length;
    }
  }
  return { files, size };
}

const show = (rel: string): string => JSON.stringify(rel || '.');
const floorDiv = (a: bigint, b: bigint): bigint => (a < 0n && a % b !== 0n ? a / b - 1n : a / b);

/**
 * Every way `copy` differs from `original`: a path on one side only, type, permission bits (not a
 * symlink's, which Linux fixes at 0777), mtime to `mtimeUnitNs` (1000: microseconds), symlink target and,
 * when `contentOf` is given, file bytes (read from both roots and compared whole). Directories' sizes
 * are the filesystem's business and are not compared.
 */
export function treeDifferences(original: ReadonlyMap<string, PathInfo>, copy: ReadonlyMap<string, PathInfo>,
  options: { mtimeUnitNs: bigint; contentOf?: [string, string] }): string[] {
  const out: string[] = [];
  for (const [rel, a] of original) {
    const b = copy.get(rel);
    if (b === undefined) {
      out.push(`missing ${show(rel)} (${a.type})`);
      continue;
    }
    if (a.type !== b.type) {
      out.push(`type ${show(rel)}: ${b.type}, expected ${a.type}`);
      continue;
    }
    if (a.type !== 'symlink' && a.perm !== b.perm) out.push(`mode ${show(rel)}: ${b.perm.toString(8)}, expected ${a.perm.toString(8)}`);
    if (floorDiv(a.mtimeNs, options.mtimeUnitNs) !== floorDiv(b.mtimeNs, options.mtimeUnitNs)) {
      out.push(`mtime ${show(rel)}: ${b.mtimeNs} ns, expected ${a.mtimeNs} ns`);
    }
    if (a.type === 'symlink' && !a.target!.equals(b.target!)) out.push(`target ${show(rel)}: ${b.target}, expected ${a.target}`);
    if (a.type === 'file') {
      if (a.size !== b.size) out.push(`size ${show(rel)}: ${b.size}, expected ${a.size}`);
      else if (options.contentOf !== undefined && !readFileSync(join(options.contentOf[0], rel)).equals(readFileSync(join(options.contentOf[1], rel)))) {
        out.push(`content ${show(rel)}`);
      }
    }
  }
  for (const [rel, b] of copy) if (!original.has(rel)) out.push(`extra ${show(rel)} (${b.type})`);
  return out;
}

/** Directories with no file or symlink anywhere below them, the root excepted: what a git tree cannot hold. */
export function emptyDirs(paths: ReadonlyMap<string, PathInfo>): string[] {
  const holdsFile = new Set<string>();
  for (const [rel, p] of paths) {
    if (p.type === 'dir') continue;
    const parts = rel.split('/');
    for (let i = 1; i < parts.length; i++) holdsFile.add(parts.slice(0, i).join('/'));
  }
  return [...paths].filter(([rel, p]) => rel !== '' && p.type === 'dir' && !holdsFile.has(rel)).map(([rel]) => rel).sort();
}

/**
 * Differences between the metadata sidecar (its JSON text, docs/formats.md) and the source's lstat:
 * every path's permission bits and mtime to the nanosecond, and the empty directories.
 */
export function sidecarDifferences(paths: ReadonlyMap<string, PathInfo>, sidecarText: string): string[] {
  const j = JSON.parse(inlineAttrs(sidecarText)) as { paths: Record<string, number[]>; empty_dirs?: string[] };
  const out: string[] = [];
  const NS = 1_000_000_000n;
  for (const [rel, p] of paths) {
    const got = j.paths[rel];
    const sec = floorDiv(p.mtimeNs, NS);
    const want = [p.perm, Number(sec), Number(p.mtimeNs - sec * NS)];
    if (got === undefined) out.push(`sidecar lacks ${show(rel)}`);
    else if (got[0] !== want[0] || got[1] !== want[1] || (got[2] ?? 0) !== want[2]) out.push(`sidecar ${show(rel)}: ${JSON.stringify(got)}, lstat says ${JSON.stringify(want)}`);
  }
  for (const rel of Object.keys(j.paths)) if (!paths.has(rel)) out.push(`sidecar has ${show(rel)}, the source does not`);
  const empty = emptyDirs(paths);
  if (JSON.stringify([...(j.empty_dirs ?? [])].sort()) !== JSON.stringify(empty)) {
    out.push(`sidecar empty_dirs ${JSON.stringify(j.empty_dirs)}, the source has ${JSON.stringify(empty)}`);
  }
  return out;
}

/**
 * The tree id `git add -A && git write-tree` gives for `workTree`, in a fresh bare repository `repo` (the
 * work tree is only read). `-f` because git leaves out what .gitignore files and the user's excludes
 * name, while medo stores every file.
 */
export function gitWriteTree(workTree: string, repo: string): string {
  initRepo(repo, { bare: true });
  git(repo, ['--work-tree', workTree, 'add', '-A', '-f']);
  return git(repo, ['write-tree']).toString().trim();
}

/**
 * A bare repository whose only objects are the silo's packs, read in place: a silo's `pack/` has git's
 * layout, so the silo directory can be named in objects/info/alternates as it is.
 */
export function repoReadingSilo(siloDir: string, repo: string): string {
  initRepo(repo, { bare: true });
  writeFileSync(join(repo, 'objects', 'info', 'alternates'), `${siloDir}\n`);
  return repo;
}

/** `git ls-tree -r -t -z` of `tree`: every path with its mode, type and id, trees included. */
export function lsTree(repo: string, tree: string): Buffer {
  return git(repo, ['ls-tree', '-r', '-t', '-z', '--full-tree', tree]);
}

/** `git cat-file --batch-check` of each id: "<id> <type> <size>" or "<id> missing". */
export function batchCheck(repo: string, oids: readonly string[]): string[] {
  return git(repo, ['cat-file', '--batch-check'], oids.map((o) => `${o}\n`).join('')).toString().trimEnd().split('\n');
}

/** The ids in `ls-tree -r -t -z` output. */
export function idsOfListing(listing: Buffer): string[] {
  return listing.toString('utf8').split('\0').filter((l) => l !== '').map((l) => l.split(/[ \t]/)[2]!);
}

/** `git verify-pack -v` of one index (it re-hashes every object and checks both checksums). */
export function gitVerifyPack(cwd: string, idx: string): { status: number | null; stdout: string; stderr: string } {
  const env = { ...process.env, GIT_CONFIG_NOSYSTEM: '1', GIT_CONFIG_GLOBAL: '/dev/null', LC_ALL: 'C' };
  const r = spawnSync('git', ['verify-pack', '-v', idx], { cwd, env, encoding: 'utf8', maxBuffer: 1 << 28 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}
