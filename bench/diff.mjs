#!/usr/bin/env node
// `medo diff` of two Linux trees that differ in one file (issue 16, part 1: the cost grows with the
// change, not with the tree). Tree A is the Linux source the suite downloads (Debian's linux-source-6.1);
// B is a copy (cp -a) with one line appended to kernel/sched/core.c. Both go into one silo with
// `medo add`, and into a bare git repository (`git add -A && git write-tree`) for the baselines measured
// in the same run:
//   git diff-tree -r A B        git's own diff of the same trees (it too skips equal subtrees)
//   medo ls -R A                a walk of every tree of A: what a diff that read everything would cost
// Each is a fresh process, timed by wall clock, median of --reps runs; medo's answer is checked against
// git's (the one path, its two blob ids) and its count of trees read is reported beside A's tree count.
// Usage: node bench/diff.mjs [--reps N]   (needs `npx tsc -p .` first)
import { execFileSync, spawnSync } from 'node:child_process';
import { appendFileSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { median } from './measure.mjs';
import { linuxTarball } from './suite/datasets.mjs';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const OUT = join(ROOT, 'bench', 'out', 'diff');
const MEDO = join(ROOT, 'bin', 'medo.js');
const SILO = join(ROOT, 'bin', 'silo.js');
const CHANGED = 'kernel/sched/core.c';
const { values: opts } = parseArgs({ options: { reps: { type: 'string', default: '5' } } });
const reps = Number(opts.reps);
if (!(Number.isInteger(reps) && reps >= 1)) throw new Error(`--reps must be a positive integer, got ${opts.reps}`);
const log = (s) => process.stderr.write(`bench: ${s}\n`);

async function prepare() {
  const stamp = join(OUT, 'ready.json');
  if (existsSync(stamp)) return JSON.parse(readFileSync(stamp, 'utf8'));
  rmSync(OUT, { recursive: true, force: true });
  mkdirSync(join(OUT, 'w.medo'), { recursive: true });
  const { txz, source } = await linuxTarball(join(ROOT, 'bench', 'out', 'suite', 'data', 'downloads'));
  const a = join(OUT, 'a');
  const b = join(OUT, 'b');
  log('unpacking the Linux source');
  mkdirSync(a);
  execFileSync('tar', ['-xJf', txz, '-C', a, '--strip-components=1', '--no-same-owner']);
  execFileSync('cp', ['-a', a, b]);
  appendFileSync(join(b, CHANGED), '/* medo bench: one changed line */\n');
  execFileSync(process.execPath, [SILO, 'init', join(OUT, 'silo')]);
  writeFileSync(join(OUT, 'w.medo', 'SILO.json'), `${JSON.stringify({ silos: ['../silo'] })}\n`);
  const trees = {};
  for (const [name, dir] of [['a', a], ['b', b]]) {
    log(`medo add ${name}`);
    execFileSync(process.execPath, [MEDO, 'add', dir, join(OUT, 'w.medo', `${name}.treeptr`)], { stdio: ['ignore', 'ignore', 'inherit'] });
    trees[name] = JSON.parse(readFileSync(join(OUT, 'w.medo', `${name}.treeptr`), 'utf8')).tree;
  }
  log('the same trees in git');
  const repo = join(OUT, 'git');
  execFileSync('git', ['init', '-q', '--bare', repo]);
  for (const [name, dir] of [['a', a], ['b', b]]) {
    execFileSync('git', ['--git-dir', repo, '--work-tree', dir, 'add', '-A', '-f'], { cwd: dir, stdio: 'ignore' });
    const t = execFileSync('git', ['--git-dir', repo, 'write-tree'], { encoding: 'utf8' }).trim();
    if (t !== trees[name]) throw new Error(`git's tree of ${name} is ${t}, medo add gave ${trees[name]}`);
  }
  const info = { source, trees, repo };
  writeFileSync(stamp, JSON.stringify(info));
  rmSync(a, { recursive: true, force: true });
  rmSync(b, { recursive: true, force: true });
  return info;
}

function timed(cmd, args, expectStatus = 0) {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(cmd, args, { maxBuffer: 1 << 30, encoding: 'utf8' });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.status !== expectStatus) throw new Error(`${cmd} ${args.join(' ')}: exit ${r.status}: ${r.stderr}`);
  return { ms, stdout: r.stdout };
}

const info = await prepare();
const { trees, repo } = info;
const pa = join(OUT, 'w.medo', 'a.treeptr');
const pb = join(OUT, 'w.medo', 'b.treeptr');
const treeCount = execFileSync('git', ['--git-dir', repo, 'ls-tree', '-r', '-t', trees.a], { encoding: 'utf8', maxBuffer: 1 << 30 })
  .split('\n').filter((l) => / tree /.test(l)).length + 1;

// The answers first: git's one path and ids, and medo's.
const gitOut = timed('git', ['--git-dir', repo, 'diff-tree', '-r', '--no-abbrev', trees.a, trees.b]).stdout.trim();
const medoOut = JSON.parse(timed(process.execPath, [MEDO, 'diff', '--json', pa, pb], 1).stdout);
const content = medoOut.changes.filter((c) => c.fields.includes('content') || c.status !== 'changed');
const [gm] = gitOut.split('\n').map((l) => /^:\d+ \d+ (\w+) (\w+) M\t(.*)$/.exec(l));
if (content.length !== 1 || gm === null || gm[3] !== CHANGED || content[0].path !== CHANGED || content[0].old.oid !== gm[1] || content[0].new.oid !== gm[2]) {
  throw new Error(`medo diff and git diff-tree disagree:\n${JSON.stringify(medoOut.changes)}\n${gitOut}`);
}

const runs = { medoDiff: [], medoDiffIds: [], gitDiff: [], medoLsR: [] };
for (let i = 0; i < reps; i++) {
  runs.medoDiff.push(timed(process.execPath, [MEDO, 'diff', pa, pb], 1).ms);
  runs.medoDiffIds.push(timed(process.execPath, [MEDO, 'diff', '--store', join(OUT, 'silo'), trees.a, trees.b], 1).ms);
  runs.gitDiff.push(timed('git', ['--git-dir', repo, 'diff-tree', '-r', trees.a, trees.b]).ms);
  runs.medoLsR.push(timed(process.execPath, [MEDO, 'ls', '-R', '--json', pa]).ms);
}
const m = Object.fromEntries(Object.entries(runs).map(([k, v]) => [k, median(v)]));
const nodeStart = median(Array.from({ length: reps }, () => timed(process.execPath, ['-e', '0']).ms));
const result = {
  source: info.source,
  reps,
  trees: treeCount,
  treesRead: medoOut.trees_read,
  ms: { ...m, nodeStart },
  diffVsFullWalk: m.medoDiff / m.medoLsR,
  diffVsGit: m.medoDiff / m.gitDiff,
};
process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
