#!/usr/bin/env node
// `medo expand` against `tar -xzf` of the same tree, in the same run (the goal: at most 1.0x).
// The tree is stored once with `medo add` and archived once with `tar -czf`; then, alternating, each
// extracts into a fresh directory. Every figure is a median over --reps runs; the ratio is medo/tar for
// wall time and for CPU time (user + system of the child, steadier when the machine is shared). Also
// timed: a re-run of expand over its own output (everything left alone) and `medo verify`.
// Usage: node bench/expand.mjs [--tree DIR] [--out DIR] [--reps N] [--fresh-fs]   (needs `npx tsc -p .` first)
//   --tree      the directory to use (default: this repository's node_modules)
//   --out       where the silo, archive and extractions go (default: bench/out/expand; its filesystem matters)
//   --fresh-fs  (root) extract each time into a new ext4 filesystem (an image in /dev/shm, loop-mounted):
//               on a used ext4, creating files just after many were deleted (the previous run's output)
//               makes the allocator skip every recently freed inode, which cost 36-55 s instead of 2 s for
//               98,000 files here; whoever runs second would pay for the other's rm -rf.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { childrenCpuMs, median } from './measure.mjs';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const MEDO = join(ROOT, 'bin', 'medo.js');
const GOAL_RATIO = 1.0;

const { values: opts } = parseArgs({
  options: { tree: { type: 'string' }, out: { type: 'string' }, reps: { type: 'string', default: '5' }, 'fresh-fs': { type: 'boolean' } },
});
const reps = Number(opts.reps);
if (!(Number.isInteger(reps) && reps >= 1)) throw new Error(`--reps must be a positive integer, got ${opts.reps}`);
const tree = resolve(opts.tree ?? join(ROOT, 'node_modules'));
const out = resolve(opts.out ?? join(ROOT, 'bench', 'out', 'expand'));
if (!existsSync(join(ROOT, 'dist', 'cli', 'medo', 'expand.js'))) throw new Error("dist/ is not built: run 'npx tsc -p .' first");

const log = (s) => process.stderr.write(`bench: ${s}\n`);

const FS_IMAGE = '/dev/shm/medo-bench-expand.img';
const FS_MOUNT = join(out, 'fs');

/** Runs `fn(dir)` with `dir` on a new, empty ext4 filesystem (--fresh-fs), or in `out` (cleared first). */
function inFreshDir(name, fn) {
  if (!opts['fresh-fs']) {
    const dir = join(out, name);
    rmSync(dir, { recursive: true, force: true });
    return fn(dir);
  }
  mkdirSync(FS_MOUNT, { recursive: true });
  writeFileSync(FS_IMAGE, '');
  execFileSync('truncate', ['-s', String(Math.max(2 * 2 ** 30, 3 * Number(treeBytes))), FS_IMAGE]);
  execFileSync('mkfs.ext4', ['-q', '-F', FS_IMAGE]);
  execFileSync('mount', ['-o', 'loop', FS_IMAGE, FS_MOUNT]);
  try {
    return fn(join(FS_MOUNT, name));
  } finally {
    execFileSync('umount', [FS_MOUNT]);
    rmSync(FS_IMAGE, { force: true });
  }
}

function timed(cmd, args) {
  // Let the previous run's dirty pages reach the disk first, so that no run pays for another's writeback.
  spawnSync('sync');
  const cpu0 = childrenCpuMs();
  const t0 = process.hrtime.bigint();
  const r = spawnSync(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 1 << 26 });
  const wallMs = Number(process.hrtime.bigint() - t0) / 1e6;
  const cpu1 = childrenCpuMs();
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} exited with ${r.status ?? r.signal}: ${r.stderr}`);
  return { wallMs, cpuMs: cpu0 === null || cpu1 === null ? null : cpu1 - cpu0, stdout: r.stdout.toString() };
}

function prepare() {
  rmSync(out, { recursive: true, force: true });
  mkdirSync(join(out, 'deps.medo'), { recursive: true });
  execFileSync(process.execPath, [join(ROOT, 'bin', 'silo.js'), 'init', join(out, 'deps.silo')]);
  writeFileSync(join(out, 'deps.medo', 'SILO.json'), `${JSON.stringify({ silos: ['../deps.silo'] })}\n`);
  const ptr = join(out, 'deps.medo', 'tree.treeptr');
  log(`medo add ${tree}`);
  execFileSync(process.execPath, [MEDO, 'add', tree, ptr], { stdio: ['ignore', 'ignore', 'inherit'] });
  const tgz = join(out, 'tree.tar.gz');
  log('tar -czf');
  execFileSync('tar', ['-czf', tgz, '-C', tree, '.']);
  return { ptr, tgz, treeptr: JSON.parse(readFileSync(ptr, 'utf8')) };
}

const { ptr, tgz, treeptr } = prepare();
const treeBytes = treeptr.size;
const runs = { tar: [], medo: [], rerun: [], verify: [] };
for (let i = 0; i < reps; i++) {
  // Alternate which goes first, so neither always runs on the warmer cache.
  const order = i % 2 === 0 ? ['tar', 'medo'] : ['medo', 'tar'];
  for (const which of order) {
    if (which === 'tar') {
      inFreshDir('tar-out', (tarDest) => {
        mkdirSync(tarDest);
        runs.tar.push(timed('tar', ['-xzf', tgz, '-C', tarDest]));
      });
      continue;
    }
    inFreshDir('medo-out', (medoDest) => {
      runs.medo.push(timed(process.execPath, [MEDO, 'expand', ptr, medoDest]));
      const rerun = timed(process.execPath, [MEDO, 'expand', ptr, medoDest]);
      if (!/ 0 files written, 0 replaced, 0 metadata fixed, \d+ left alone/.test(rerun.stdout)) throw new Error(`re-run changed files: ${rerun.stdout}`);
      runs.rerun.push(rerun);
      runs.verify.push(timed(process.execPath, [MEDO, 'verify', ptr, medoDest]));
    });
  }
  log(`rep ${i + 1}/${reps}: tar ${runs.tar.at(-1).wallMs.toFixed(0)} ms, medo expand ${runs.medo.at(-1).wallMs.toFixed(0)} ms`);
}

const summary = (xs) => ({ wallMs: median(xs.map((x) => x.wallMs)), cpuMs: xs[0].cpuMs === null ? null : median(xs.map((x) => x.cpuMs)) });
const result = {
  tree, out, freshFs: opts['fresh-fs'] === true, files: treeptr.files, bytes: treeptr.size, reps,
  tar: summary(runs.tar), medoExpand: summary(runs.medo), medoRerun: summary(runs.rerun), medoVerify: summary(runs.verify),
};
result.wallRatio = result.medoExpand.wallMs / result.tar.wallMs;
result.cpuRatio = result.tar.cpuMs === null ? null : result.medoExpand.cpuMs / result.tar.cpuMs;
result.goal = GOAL_RATIO;
process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
log(`${treeptr.files} files, ${(treeptr.size / 1048576).toFixed(1)} MiB; medians of ${reps}:`);
log(`  tar -xzf     ${result.tar.wallMs.toFixed(0)} ms wall, ${result.tar.cpuMs?.toFixed(0)} ms CPU`);
log(`  medo expand  ${result.medoExpand.wallMs.toFixed(0)} ms wall, ${result.medoExpand.cpuMs?.toFixed(0)} ms CPU`);
log(`  re-run       ${result.medoRerun.wallMs.toFixed(0)} ms wall;  verify ${result.medoVerify.wallMs.toFixed(0)} ms wall`);
log(`  expand/tar   ${result.wallRatio.toFixed(2)}x wall, ${result.cpuRatio?.toFixed(2)}x CPU (goal: at most ${GOAL_RATIO.toFixed(1)}x wall)`);
