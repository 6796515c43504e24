#!/usr/bin/env node
// Reading a tree out of a delta pack against reading it out of a whole-object pack (issue 13, part 4: at
// most 1.2x). The same tree is put in two silos: one as `medo add` writes it (objects whole), and a copy
// of that silo after `silo repack -f` (git's OFS_DELTA entries, window 10, depth 50). Then, alternating,
// each rep times for both: `medo expand` into an empty directory (on a new ext4 in /dev/shm), and `tar -cf - . | wc -c` of a fresh
// `medo mount --foreground` (CPU: the mount server's and tar's). The packs are in the host's page cache throughout; outputs are checked (the
// expanded trees by `medo verify`, the tar streams by their byte counts).
// Usage: node bench/delta-reads.mjs [--tree DIR] [--reps N]   (root, /dev/fuse; needs `npx tsc -p .` first)
//   The default tree is the Linux source the suite downloads (Debian's linux-source-6.1).
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { childrenCpuMs, median, readyLine } from './measure.mjs';
import { linuxTarball } from './suite/datasets.mjs';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const OUT = join(ROOT, 'bench', 'out', 'delta-reads');
const MEDO = join(ROOT, 'bin', 'medo.js');
const SILO = join(ROOT, 'bin', 'silo.js');
const GOAL = 1.2;
const { values: opts } = parseArgs({ options: { tree: { type: 'string' }, reps: { type: 'string', default: '3' } } });
const reps = Number(opts.reps);
if (!(Number.isInteger(reps) && reps >= 1)) throw new Error(`--reps must be a positive integer, got ${opts.reps}`);
const log = (s) => process.stderr.write(`bench: ${s}\n`);

async function defaultTree() {
  const dir = join(OUT, 'linux');
  if (existsSync(join(dir, 'Makefile'))) return dir;
  const { txz } = await linuxTarball(join(ROOT, 'bench', 'out', 'suite', 'data', 'downloads'));
  log('unpacking the Linux source');
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  execFileSync('tar', ['-xJf', txz, '-C', dir, '--strip-components=1', '--no-same-owner']);
  return dir;
}

const packBytes = (silo) => readdirSync(join(silo, 'pack')).filter((n) => n.endsWith('.pack'))
  .reduce((n, f) => n + statSync(join(silo, 'pack', f)).size, 0);

/** The two silos, each with a medo directory naming the tree; rebuilt when the tree's path changes. */
function prepare(tree) {
  const stamp = join(OUT, 'ready.json');
  if (existsSync(stamp)) {
    const info = JSON.parse(readFileSync(stamp, 'utf8'));
    if (info.tree === tree) return info;
  }
  for (const n of ['whole', 'delta']) rmSync(join(OUT, n), { recursive: true, force: true });
  rmSync(stamp, { force: true });
  const medoDir = (n) => join(OUT, n, 'm.medo');
  mkdirSync(medoDir('whole'), { recursive: true });
  execFileSync(process.execPath, [SILO, 'init', join(OUT, 'whole', 'silo')]);
  writeFileSync(join(medoDir('whole'), 'SILO.json'), `${JSON.stringify({ silos: ['../silo'] })}\n`);
  log(`medo add ${tree}`);
  execFileSync(process.execPath, [MEDO, 'add', tree, join(medoDir('whole'), 'tree.treeptr')], { stdio: ['ignore', 'ignore', 'inherit'] });
  cpSync(join(OUT, 'whole'), join(OUT, 'delta'), { recursive: true });
  log('silo repack -f (deltas)');
  const t0 = process.hrtime.bigint();
  const repack = JSON.parse(execFileSync(process.execPath, [SILO, 'repack', '-f', '--json', join(OUT, 'delta', 'silo')]).toString());
  const repackMs = Number(process.hrtime.bigint() - t0) / 1e6;
  const info = {
    tree,
    files: Number(execFileSync('sh', ['-c', 'find . -type f | wc -l'], { cwd: tree }).toString().trim()),
    repack: { ms: repackMs, objects: repack.objects, deltas: repack.deltas, maxDepth: repack.maxDepth },
    packBytes: { whole: packBytes(join(OUT, 'whole', 'silo')), delta: packBytes(join(OUT, 'delta', 'silo')) },
  };
  writeFileSync(stamp, JSON.stringify(info, null, 2));
  return info;
}

function timed(cmd, args, options = {}) {
  spawnSync('sync');
  const cpu0 = childrenCpuMs();
  const t0 = process.hrtime.bigint();
  const r = spawnSync(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 1 << 26, ...options });
  const wallMs = Number(process.hrtime.bigint() - t0) / 1e6;
  const cpu1 = childrenCpuMs();
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} exited with ${r.status ?? r.signal}: ${r.stderr}`);
  return { wallMs, cpuMs: cpu0 === null || cpu1 === null ? null : cpu1 - cpu0, stdout: r.stdout.toString() };
}

const FS_IMAGE = '/dev/shm/medo-bench-delta-reads.img';

/**
 * Runs `fn(dir)` with `dir` on a new, empty ext4 filesystem (an image in /dev/shm, loop-mounted): on a used
 * ext4, an expand right after an `rm -rf` of the last one pays for the inode allocator skipping recently
 * freed inodes (docs/benchmarks.md, "Materialize"), which would swamp the difference measured here.
 */
function inFreshFs(bytes, fn) {
  const mnt = join(OUT, 'fs');
  mkdirSync(mnt, { recursive: true });
  writeFileSync(FS_IMAGE, '');
  execFileSync('truncate', ['-s', String(Math.max(2 * 2 ** 30, 3 * bytes)), FS_IMAGE]);
  execFileSync('mkfs.ext4', ['-q', '-F', FS_IMAGE]);
  execFileSync('mount', ['-o', 'loop', FS_IMAGE, mnt]);
  try {
    return fn(join(mnt, 'expanded'));
  } finally {
    execFileSync('umount', [mnt]);
    rmSync(FS_IMAGE, { force: true });
  }
}

const mounted = (mnt) => readFileSync('/proc/self/mountinfo', 'utf8').split('\n').some((l) => l.split(' ')[4] === mnt);

async function tarOfFreshMount(treeptr, mnt) {
  mkdirSync(mnt, { recursive: true });
  // CPU time is the mount server's and tar's together: the server counts once it has exited.
  const cpu0 = childrenCpuMs();
  let result;
  const child = spawn(process.execPath, [MEDO, 'mount', '--foreground', treeptr, mnt, '--ready-fd', '3'], { stdio: ['ignore', 'ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (c) => (stderr += c));
  const exited = new Promise((r) => child.once('exit', r));
  try {
    const line = await readyLine(child.stdio[3]);
    if (line !== 'ready') throw new Error(`medo mount failed: ${line}\n${stderr}`);
    // tar runs in a shell child: this process serves nothing, but it must not block on the mount either.
    const r = timed('sh', ['-c', 'tar -cf - . | wc -c'], { cwd: mnt });
    result = { wallMs: r.wallMs, bytes: Number(r.stdout.trim()) };
  } finally {
    child.kill('SIGTERM');
    await exited;
    if (mounted(mnt)) spawnSync('fusermount', ['-u', '-z', mnt]);
  }
  const cpu1 = childrenCpuMs();
  return { ...result, cpuMs: cpu0 === null || cpu1 === null ? null : cpu1 - cpu0 };
}

const tree = resolve(opts.tree ?? await defaultTree());
mkdirSync(OUT, { recursive: true });
const info = prepare(tree);
const treeBytes = JSON.parse(readFileSync(join(OUT, 'whole', 'm.medo', 'tree.treeptr'), 'utf8')).size;
log(`${info.files} files; whole pack ${(info.packBytes.whole / 2 ** 20).toFixed(0)} MiB, delta pack ${(info.packBytes.delta / 2 ** 20).toFixed(0)} MiB ` +
  `(${info.repack.deltas} deltas of ${info.repack.objects} objects)`);
const runs = { expand: { whole: [], delta: [] }, tar: { whole: [], delta: [] } };
const loadStart = loadavg();
for (let i = 0; i < reps; i++) {
  for (const kind of i % 2 === 0 ? ['whole', 'delta'] : ['delta', 'whole']) {
    const treeptr = join(OUT, kind, 'm.medo', 'tree.treeptr');
    inFreshFs(treeBytes, (dest) => {
      runs.expand[kind].push(timed(process.execPath, [MEDO, 'expand', treeptr, dest]));
      timed(process.execPath, [MEDO, 'verify', treeptr, dest]);
    });
    runs.tar[kind].push(await tarOfFreshMount(treeptr, join(OUT, 'mnt')));
  }
  const [a, b] = [runs.tar.whole.at(-1).bytes, runs.tar.delta.at(-1).bytes];
  if (a !== b) throw new Error(`tar of the two mounts gave ${a} and ${b} bytes`);
  log(`rep ${i + 1}/${reps}: expand ${runs.expand.whole.at(-1).wallMs.toFixed(0)} / ${runs.expand.delta.at(-1).wallMs.toFixed(0)} ms, ` +
    `tar ${runs.tar.whole.at(-1).wallMs.toFixed(0)} / ${runs.tar.delta.at(-1).wallMs.toFixed(0)} ms (whole / delta)`);
}

const sum = (xs) => ({ wallMs: median(xs.map((x) => x.wallMs)), cpuMs: xs[0].cpuMs === null ? null : median(xs.map((x) => x.cpuMs)) });
const result = { date: new Date().toISOString(), node: process.version, reps, loadAverage: { start: loadStart, end: loadavg() }, goal: GOAL, ...info, rows: [] };
const lines = [`delta pack against whole-object pack, ${relative(process.cwd(), tree) || '.'} (${info.files} files), median of ${reps}; goal delta/whole <= ${GOAL}`,
  `| workload | whole | delta | ratio | cpu whole | cpu delta | ratio |`, '|---|---|---|---|---|---|---|'];
for (const [name, what] of [['expand', 'medo expand into an empty directory'], ['tar', 'tar -cf - . of a fresh mount']]) {
  const w = sum(runs[name].whole);
  const d = sum(runs[name].delta);
  const row = { workload: name, what, whole: w, delta: d, wallRatio: d.wallMs / w.wallMs, cpuRatio: w.cpuMs && d.cpuMs / w.cpuMs };
  result.rows.push(row);
  const cpu = (x) => (x === null ? '-' : `${(x / 1000).toFixed(2)} s`);
  lines.push(`| ${what} | ${(w.wallMs / 1000).toFixed(2)} s | ${(d.wallMs / 1000).toFixed(2)} s | ${row.wallRatio.toFixed(2)}x | ${cpu(w.cpuMs)} | ${cpu(d.cpuMs)} | ${row.cpuRatio?.toFixed(2) ?? '-'}x |`);
}
writeFileSync(join(OUT, 'results.json'), `${JSON.stringify(result, null, 2)}\n`);
process.stdout.write(`${lines.join('\n')}\nresults: ${relative(process.cwd(), join(OUT, 'results.json'))}\n`);
