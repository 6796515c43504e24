// Part 1, what N versions cost to keep: the silo after `medo add` of each version with whole objects
// (--no-delta-base) and with the default delta base, then after `silo repack -f` (deltas, its default
// window and depth), against git's repack of the same objects (--window=250 --depth=50). Each repack
// rep starts from a hard-linked copy of the same whole-object store: both tools replace files (write new,
// rename, unlink old), never write into one, so the template is never changed.
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gitRepack } from './git-side.mjs';
import { bytesUnder, git, medo, silo, sync } from './run.mjs';

/** A new silo and a medo directory naming it. */
export function newMedoDir(medoDir, siloDir) {
  rmSync(medoDir, { recursive: true, force: true });
  rmSync(siloDir, { recursive: true, force: true });
  silo(['init', siloDir]);
  mkdirSync(medoDir, { recursive: true });
  writeFileSync(join(medoDir, 'SILO.json'), JSON.stringify({ silos: [siloDir] }));
}

/** The .treeptr of version i: numbered, so that names sort in chain order. */
export const treeptrName = (i, v) => `${String(i).padStart(2, '0')}-${v.label.replace(/[^A-Za-z0-9.+-]+/g, '_')}.treeptr`;

/** Bytes the silo keeps objects in: loose objects and packs (with their indexes and the pack list). */
export const siloBytes = (siloDir) => bytesUnder(join(siloDir, 'objects')) + bytesUnder(join(siloDir, 'pack'));

/**
 * `medo add` of every version, in order, into a new silo: whole (`--no-delta-base`) or each against the
 * version before (`--delta-base`). Returns the .treeptrs read back, each add's time, and the silo's bytes.
 */
export function addVersions(versions, medoDir, siloDir, { whole }) {
  newMedoDir(medoDir, siloDir);
  const treeptrs = [];
  const adds = [];
  versions.forEach((v, i) => {
    const out = join(medoDir, treeptrName(i, v));
    const base = whole ? ['--no-delta-base'] : i === 0 ? [] : ['--delta-base', treeptrs[i - 1].path];
    sync();
    const t = medo(['add', ...base, v.dir, out]);
    adds.push({ wallMs: t.wallMs, cpuMs: t.cpuMs });
    treeptrs.push({ path: out, ...JSON.parse(readFileSync(out, 'utf8')) });
  });
  return { treeptrs, adds, bytes: siloBytes(siloDir) };
}

const linkCopy = (from, to) => {
  rmSync(to, { recursive: true, force: true });
  execFileSync('cp', ['-al', from, to]);
};

/** One `silo repack -f` of a copy of `template` at `dir`: time, bytes after, and its report. */
export function medoRepack(template, dir) {
  linkCopy(template, dir);
  sync();
  const t = silo(['repack', '-f', '--json', dir]);
  return { wallMs: t.wallMs, cpuMs: t.cpuMs, bytes: siloBytes(dir), report: JSON.parse(t.stdout) };
}

/** One git repack of a copy of `template` at `dir`. */
export function gitRepackCopy(template, dir) {
  linkCopy(template, dir);
  sync();
  return gitRepack(dir);
}

/** `git verify-pack` of every pack in the silo: [{ pack, ok, error? }]. */
export function verifySiloPacks(siloDir) {
  const packDir = join(siloDir, 'pack');
  return readdirSync(packDir).filter((f) => f.endsWith('.idx')).map((f) => {
    try {
      git(['verify-pack', join(packDir, f)]);
      return { pack: f, ok: true };
    } catch (e) {
      return { pack: f, ok: false, error: e.message };
    }
  });
}
