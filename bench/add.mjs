#!/usr/bin/env node
// `medo add` against git on the same tree, in the same run (docs/benchmarks.md, "Ingest"). The issue's goals:
//   time  `medo add DIR` into a fresh silo vs `git add -A && git write-tree` plus `git repack -a -d` in a
//         fresh repository (what it takes git to hold the same tree packed): at most 1.0x;
//   size  the silo (du) vs a `tar -czf` of the tree: at most 1.1x.
// Also timed: a re-add of the unchanged tree into the same silo (nothing written). Every time is a median
// over --reps runs, medo and git alternating which goes first; wall time and CPU time (user + system of the
// child and its threads and children, from /proc/self/stat), each as a medo/git ratio.
// Usage: node bench/add.mjs [--tree DIR] [--out DIR] [--reps N]   (needs `npx tsc -p .` first)
//   --tree  the directory to add (default: /root/.pyenv/versions/3.11.7 if present, else this repository's node_modules)
//   --out   where the silos, repositories and archive go (default: bench/out/add; its filesystem matters)
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { availableParallelism, loadavg } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { childrenCpuMs, median } from './measure.mjs';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const MEDO = join(ROOT, 'bin', 'medo.js');
const SILO = join(ROOT, 'bin', 'silo.js');
const TIME_GOAL = 1.0;
const SIZE_GOAL = 1.1;
const PYENV = '/root/.pyenv/versions/3.11.7';

const { values: opts } = parseArgs({
  options: { tree: { type: 'string' }, out: { type: 'string' }, reps: { type: 'string', default: '3' } },
});
const reps = Number(opts.reps);
if (!(Number.isInteger(reps) && reps >= 1)) throw new Error(`--reps must be a positive integer, got ${opts.reps}`);
const tree = resolve(opts.tree ?? (existsSync(PYENV) ? PYENV : join(ROOT, 'node_modules')));
if (!existsSync(tree) || !statSync(tree).isDirectory()) throw new Error(`--tree: ${tree} is not a directory`);
const out = resolve(opts.out ?? join(ROOT, 'bench', 'out', 'add'));
if (!existsSync(join(ROOT, 'dist', 'cli', 'medo', 'add.js'))) throw new Error("dist/ is not built: run 'npx tsc -p .' first");

// git without user or system configuration, so that nothing changes what it writes or how hard it packs.
const GIT_ENV = { ...process.env, GIT_CONFIG_NOSYSTEM: '1', GIT_CONFIG_GLOBAL: '/dev/null', LC_ALL: 'C' };
for (const k of ['GIT_DIR', 'GIT_WORK_TREE', 'GIT_INDEX_FILE', 'GIT_OBJECT_DIRECTORY', 'GIT_ALTERNATE_OBJECT_DIRECTORIES']) delete GIT_ENV[k];

const log = (s) => process.stderr.write(`bench: ${s}\n`);

/**
 * Runs the commands one after the other and times them together. Dirty pages of earlier runs reach the
 * disk first (`sync`, untimed), so that no run pays for another's writeback; within the sequence nothing
 * is synced, so git's add and repack are charged like medo's one command.
 */
function timed(steps) {
  spawnSync('sync');
  const cpu0 = childrenCpuMs();
  const t0 = process.hrtime.bigint();
  const stdout = [];
  for (const [cmd, args, env] of steps) {
    const r = spawnSync(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], env: env ?? process.env, maxBuffer: 1 << 26 });
    if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} exited with ${r.status ?? r.signal}: ${r.stderr}`);
    stdout.push(r.stdout.toString());
  }
  const wallMs = Number(process.hrtime.bigint() - t0) / 1e6;
  const cpu1 = childrenCpuMs();
  return { wallMs, cpuMs: cpu0 === null || cpu1 === null ? null : cpu1 - cpu0, stdout };
}

/** Bytes a directory takes on disk (du), and its apparent size (du -b). */
function du(path) {
  const allocated = Number(execFileSync('du', ['-s', '-B1', path]).toString().split('\t')[0]);
  const apparent = Number(execFileSync('du', ['-s', '-b', path]).toString().split('\t')[0]);
  return { allocated, apparent };
}

function freshSilo(dir) {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(join(dir, 'deps.medo'), { recursive: true });
  execFileSync(process.execPath, [SILO, 'init', join(dir, 'deps.silo')], { stdio: 'ignore' });
  writeFileSync(join(dir, 'deps.medo', 'SILO.json'), `${JSON.stringify({ silos: ['../deps.silo'] })}\n`);
  return { silo: join(dir, 'deps.silo'), ptr: join(dir, 'deps.medo', 'tree.treeptr') };
}

function freshRepo(dir) {
  rmSync(dir, { recursive: true, force: true });
  execFileSync('git', ['init', '-q', '--bare', dir], { env: GIT_ENV });
  execFileSync('git', ['--git-dir', dir, 'config', 'gc.auto', '0'], { env: GIT_ENV });
  return dir;
}

// `-f`: git leaves out what .gitignore files name, medo stores every file; with it both store the same set.
const gitSteps = (repo) => [
  ['git', ['--git-dir', repo, '--work-tree', tree, 'add', '-A', '-f'], GIT_ENV],
  ['git', ['--git-dir', repo, 'write-tree'], GIT_ENV],
  ['git', ['--git-dir', repo, 'repack', '-a', '-d', '-q'], GIT_ENV],
];

rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });
const result = {
  date: new Date().toISOString(),
  node: process.version,
  git: execFileSync('git', ['--version']).toString().trim(),
  cpus: availableParallelism(),
  loadAverage: { start: loadavg() },
  tree, out, reps, goals: { time: TIME_GOAL, size: SIZE_GOAL },
};

// The archive also brings the tree into the page cache before anything is timed.
const tgz = join(out, 'tree.tar.gz');
log(`tar -czf ${tree}`);
result.tarGz = { ...timed([['tar', ['-czf', tgz, '-C', tree, '.']]]), bytes: statSync(tgz).size };
delete result.tarGz.stdout;

const runs = { medo: [], git: [], readd: [] };
for (let i = 0; i < reps; i++) {
  const { silo, ptr } = freshSilo(join(out, 'medo'));
  const repo = freshRepo(join(out, 'git.git'));
  let gitTree;
  const order = i % 2 === 0 ? ['medo', 'git'] : ['git', 'medo'];
  for (const which of order) {
    if (which === 'medo') {
      runs.medo.push(timed([[process.execPath, [MEDO, 'add', tree, ptr]]]));
    } else {
      const r = timed(gitSteps(repo));
      gitTree = r.stdout[1].trim();
      runs.git.push(r);
    }
  }
  const treeptr = JSON.parse(readFileSync(ptr, 'utf8'));
  if (treeptr.tree !== gitTree) throw new Error(`medo's tree ${treeptr.tree} is not git's ${gitTree}: they did not store the same thing`);
  const readd = timed([[process.execPath, [MEDO, 'add', tree, ptr]]]);
  if (!/ 0 new objects; .* unchanged\n$/.test(readd.stdout[0])) throw new Error(`the re-add wrote something: ${readd.stdout[0]}`);
  runs.readd.push(readd);
  result.files = treeptr.files;
  result.bytes = treeptr.size;
  result.treeId = treeptr.tree;
  result.siloSize = du(silo);
  result.gitRepoSize = du(repo);
  log(`rep ${i + 1}/${reps}: medo add ${runs.medo.at(-1).wallMs.toFixed(0)} ms, git add+write-tree+repack ${runs.git.at(-1).wallMs.toFixed(0)} ms, re-add ${readd.wallMs.toFixed(0)} ms`);
}

const summary = (xs) => ({
  wallMs: median(xs.map((x) => x.wallMs)),
  cpuMs: xs[0].cpuMs === null ? null : median(xs.map((x) => x.cpuMs)),
  samples: xs.map((x) => ({ wallMs: Math.round(x.wallMs), cpuMs: x.cpuMs === null ? null : Math.round(x.cpuMs) })),
});
result.medoAdd = summary(runs.medo);
result.gitAddWriteTreeRepack = summary(runs.git);
result.medoReadd = summary(runs.readd);
result.timeRatio = {
  wall: result.medoAdd.wallMs / result.gitAddWriteTreeRepack.wallMs,
  cpu: result.medoAdd.cpuMs === null ? null : result.medoAdd.cpuMs / result.gitAddWriteTreeRepack.cpuMs,
};
result.sizeRatio = { du: result.siloSize.allocated / result.tarGz.bytes, apparent: result.siloSize.apparent / result.tarGz.bytes };
result.loadAverage.end = loadavg();
const jsonPath = join(ROOT, 'bench', 'out', 'add.json');
mkdirSync(dirname(jsonPath), { recursive: true });
writeFileSync(jsonPath, `${JSON.stringify(result, null, 2)}\n`);

const MiB = (b) => `${(b / 2 ** 20).toFixed(1)} MiB`;
const ms = (x) => `${x.toFixed(0).padStart(7)} ms`;
const row = (name, s) => `  ${name.padEnd(40)}${ms(s.wallMs)} wall ${s.cpuMs === null ? '' : `${ms(s.cpuMs)} CPU`}`;
const goal = (ratio, g) => (ratio <= g ? 'goal met' : 'goal NOT met');
const lines = [
  `ingest (medo add)  node ${process.version}, ${result.git}, ${result.cpus} CPUs, load average ${result.loadAverage.start[0].toFixed(1)} at start`,
  `tree ${tree}: ${result.files} files and symlinks, ${MiB(result.bytes)}; medians of ${reps}`,
  row('medo add (fresh silo)', result.medoAdd),
  row('git add -A + write-tree + repack -a -d', result.gitAddWriteTreeRepack),
  `  ${'medo/git'.padEnd(40)}${result.timeRatio.wall.toFixed(2).padStart(7)}x wall ${result.timeRatio.cpu === null ? '' : `${result.timeRatio.cpu.toFixed(2).padStart(7)}x CPU`}` +
    `   (goal: at most ${TIME_GOAL.toFixed(1)}x wall: ${goal(result.timeRatio.wall, TIME_GOAL)})`,
  row('medo add again (nothing written)', result.medoReadd),
  `  ${'silo (du)'.padEnd(40)}${MiB(result.siloSize.allocated).padStart(10)}   apparent ${MiB(result.siloSize.apparent)}`,
  `  ${'tar -czf'.padEnd(40)}${MiB(result.tarGz.bytes).padStart(10)}   (${result.tarGz.wallMs.toFixed(0)} ms wall to make)`,
  `  ${'git repository after repack (du)'.padEnd(40)}${MiB(result.gitRepoSize.allocated).padStart(10)}`,
  `  ${'silo/tar.gz'.padEnd(40)}${result.sizeRatio.du.toFixed(2).padStart(9)}x   apparent ${result.sizeRatio.apparent.toFixed(2)}x   (goal: at most ${SIZE_GOAL.toFixed(1)}x: ${goal(result.sizeRatio.du, SIZE_GOAL)})`,
];
process.stdout.write(`${lines.join('\n')}\nresults: ${relative(process.cwd(), jsonPath)}\n`);
