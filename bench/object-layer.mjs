#!/usr/bin/env node
// Object-layer benchmark (docs/benchmarks.md, "Object layer"). Every figure is a ratio against a baseline
// measured in the same run:
//   1. `silo cat-file --batch` against `git cat-file --batch`, over every blob of a real, deltified
//      repository, with the same id list fed to both; outputs must be byte-identical.
//   2. PackIndex.open + two lookups on a 1,000,000-object index against a 1,000-object one, each in a
//      fresh process: time and memory must not grow with the object count.
// The cat-file dataset is npm release history (--dataset npm, the default) or the Linux source packed by git
// (--dataset linux: issue 13's goal, at most 1.1x git's time and no more memory than git).
// Usage: node bench/object-layer.mjs [--dataset npm|linux] [--reps N] [--idx-reps N] [--only cat-file|idx]
//   (needs `npx tsc -p .` first)
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { availableParallelism, loadavg } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { benchCatFile, catFileLines, datasetLines, datasetStats } from './object-layer/cat-file.mjs';
import { benchIdx, idxLines } from './object-layer/idx-open.mjs';
import { prepareLinuxRepo } from './object-layer/linux-repo.mjs';
import { prepareRepo } from './object-layer/npm-history-repo.mjs';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const OUT = join(ROOT, 'bench', 'out');
const SILO = join(ROOT, 'bin', 'silo.js');

const { values: opts } = parseArgs({
  options: { dataset: { type: 'string', default: 'npm' }, reps: { type: 'string', default: '5' }, 'idx-reps': { type: 'string', default: '7' }, only: { type: 'string' } },
});
if (opts.only !== undefined && opts.only !== 'cat-file' && opts.only !== 'idx') throw new Error(`--only must be cat-file or idx, got ${opts.only}`);
if (opts.dataset !== 'npm' && opts.dataset !== 'linux') throw new Error(`--dataset must be npm or linux, got ${opts.dataset}`);
// medo/git for cat-file --batch: the object-layer issue's target on npm history, issue 13's on Linux.
const GOAL_RATIO = opts.dataset === 'linux' ? 1.1 : 1.2;
const reps = Number(opts.reps);
const idxReps = Number(opts['idx-reps']);
if (!(Number.isInteger(reps) && reps >= 1)) throw new Error(`--reps must be a positive integer, got ${opts.reps}`);
if (!(Number.isInteger(idxReps) && idxReps >= 1)) throw new Error(`--idx-reps must be a positive integer, got ${opts['idx-reps']}`);

const log = (s) => process.stderr.write(`bench: ${s}\n`);

function warnIfDistStale() {
  const stale = [];
  const walk = (dir) => {
    for (const e of readdirSync(join(ROOT, dir), { withFileTypes: true })) {
      const rel = join(dir, e.name);
      if (e.isDirectory()) walk(rel);
      else if (rel.endsWith('.ts')) {
        const js = join(ROOT, 'dist', rel.replace(/\.ts$/, '.js'));
        if (!existsSync(js) || statSync(js).mtimeMs < statSync(join(ROOT, rel)).mtimeMs) stale.push(rel);
      }
    }
  };
  walk('lib');
  walk('cli');
  if (stale.length > 0) {
    const some = stale.slice(0, 3).join(', ') + (stale.length > 3 ? `, ... (${stale.length} files)` : '');
    log(`warning: dist/ is older than ${some}; run 'npx tsc -p .' to measure the current source`);
  }
}

mkdirSync(OUT, { recursive: true });
if (!existsSync(join(ROOT, 'dist', 'lib', 'git', 'pack-idx.js'))) throw new Error("dist/ is missing: run 'npx tsc -p .' first");
warnIfDistStale();
const result = {
  date: new Date().toISOString(),
  node: process.version,
  git: execFileSync('git', ['--version']).toString().trim(),
  cpus: availableParallelism(),
  reps,
  idxReps,
  goalRatio: GOAL_RATIO,
};
result.loadAverage = { start: loadavg() };
const lines = [`object layer  (node ${process.version}, ${result.git}, ${result.cpus} CPUs, load average ${loadavg()[0].toFixed(1)} at start)`];
if (opts.only !== 'idx') {
  result.datasetName = opts.dataset;
  result.repo = opts.dataset === 'linux' ? await prepareLinuxRepo(OUT, log) : prepareRepo(OUT, log);
  result.dataset = datasetStats(result.repo);
  result.catFile = [];
  for (const ordering of ['id', 'pack']) {
    log(`cat-file --batch, blobs in ${ordering} order`);
    result.catFile.push(benchCatFile({ silo: SILO, repo: result.repo, outDir: OUT, ordering, reps }));
  }
  lines.push(...datasetLines(result), ...catFileLines(result.catFile, { reps, goalRatio: GOAL_RATIO }));
}
if (opts.only !== 'cat-file') {
  log('pack index open and lookup');
  result.idx = benchIdx({ counts: [1_000, 1_000_000], outDir: OUT, reps: idxReps });
  lines.push(...idxLines(result.idx, { reps: idxReps }));
}
result.loadAverage.end = loadavg();
const jsonPath = join(OUT, opts.dataset === 'linux' ? 'object-layer-linux.json' : 'object-layer.json');
writeFileSync(jsonPath, `${JSON.stringify(result, null, 2)}\n`);
process.stdout.write(`${lines.join('\n')}results: ${relative(process.cwd(), jsonPath)}\n`);
