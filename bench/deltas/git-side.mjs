// git's side of the deltas benchmark, and the oracle: a bare repository with one commit per version of
// the same trees medo stored (their ids must be equal), git's own repack of it, the thin pack git would
// send from one version to the next, and the tree id git computes for a directory medo expanded.
import { existsSync, mkdirSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Mismatch, git } from './run.mjs';

// No bitmaps: repack would write one (a bare repository's default), which medo's pack has no
// counterpart of, and pack-objects walking with one finds no thin bases: here it sent a changed 131 KB
// file of @types/node whole (24 KB) where without it the thin pack was 621 bytes.
const inRepo = (repo, args, opts = {}) => git(['--git-dir', repo, '-c', 'gc.auto=0', '-c', 'repack.writeBitmaps=false', '-c', 'pack.useBitmaps=false', ...args], opts);

/** The id of the tree git sees in `dir` (every file, .gitignore or not), through a scratch index. */
export function gitTreeOf(repo, dir, indexFile) {
  rmSync(indexFile, { force: true });
  const env = { GIT_INDEX_FILE: indexFile };
  inRepo(repo, ['--work-tree', dir, 'add', '-A', '-f'], { cwd: dir, env });
  const tree = inRepo(repo, ['write-tree'], { env }).stdout.trim();
  rmSync(indexFile, { force: true });
  return tree;
}

/**
 * A bare repository at `repo` with one commit per version (each the parent of the next, tagged v0, v1,
 * ...), then packed whole (`--window=0`), as the silo's adds with --no-delta-base are: both repacks then
 * start from whole objects in packs. Throws when a tree id differs from medo's. Returns the commit ids.
 */
export function commitVersions(repo, versions, treeIds, scratch) {
  rmSync(repo, { recursive: true, force: true });
  git(['init', '-q', '--bare', repo]);
  const commits = [];
  versions.forEach((v, i) => {
    const tree = gitTreeOf(repo, v.dir, join(scratch, 'index'));
    if (tree !== treeIds[i]) throw new Mismatch(`${v.label}: git's tree ${tree} is not medo's ${treeIds[i]} (${v.dir})`);
    const date = `${1700000000 + i * 3600} +0000`;
    const env = { GIT_AUTHOR_DATE: date, GIT_COMMITTER_DATE: date };
    const parent = i > 0 ? ['-p', commits[i - 1]] : [];
    commits.push(inRepo(repo, ['commit-tree', tree, ...parent, '-m', v.label], { env }).stdout.trim());
    inRepo(repo, ['update-ref', `refs/tags/v${i}`, commits[i]]);
  });
  inRepo(repo, ['update-ref', 'refs/heads/main', commits.at(-1)]);
  inRepo(repo, ['repack', '-a', '-d', '-q', '--window=0']);
  return commits;
}

/** Bytes of the repository's objects: packs, their indexes and any loose object. */
export function objectBytes(repo) {
  const objects = join(repo, 'objects');
  let n = 0;
  const walk = (d) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      if (e.isDirectory()) walk(join(d, e.name));
      else if (e.isFile() && d !== join(objects, 'info')) n += statSync(join(d, e.name)).size;
    }
  };
  walk(objects);
  return n;
}

/** `git repack -a -d -f --window=250 --depth=50` (git's --aggressive settings): its time and the size after. */
export function gitRepack(repo) {
  const t = inRepo(repo, ['repack', '-a', '-d', '-f', '-q', '--window=250', '--depth=50']);
  return { wallMs: t.wallMs, cpuMs: t.cpuMs, bytes: objectBytes(repo) };
}

/**
 * What git sends from commit `a` to `b`: the thin pack (deltas may use A's objects as bases) that
 * upload-pack makes for a fetch, and for reference the same objects as a self-contained pack. The input
 * is revisions, not `rev-list --objects` output: --thin makes pack-objects walk the revisions itself,
 * since it needs the edge (A's side) to find bases, and it refuses an object list then.
 */
export function gitThinPack(repo, a, b) {
  const revs = `${b}\n^${a}\n`;
  const thin = inRepo(repo, ['pack-objects', '--revs', '--thin', '--stdout', '-q', '--delta-base-offset'], { input: revs });
  const whole = inRepo(repo, ['pack-objects', '--revs', '--stdout', '-q', '--delta-base-offset'], { input: revs });
  const objects = inRepo(repo, ['rev-list', '--objects', '--count', b, `^${a}`]).stdout.trim();
  return { thinBytes: thin.stdoutBytes, thinMs: thin.wallMs, packBytes: whole.stdoutBytes, objects: Number(objects) };
}

/** A bare repository whose objects are `reference`'s (through alternates): tree ids are computed without copying blobs. */
export function checkRepo(dir, reference) {
  if (!existsSync(dir)) git(['init', '-q', '--bare', dir]);
  mkdirSync(join(dir, 'objects', 'info'), { recursive: true });
  writeFileSync(join(dir, 'objects', 'info', 'alternates'), `${join(reference, 'objects')}\n`);
  return dir;
}
