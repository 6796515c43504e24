#!/usr/bin/env node
// Time to first byte of one file from a cold mount of a remote wedge (the goal: under 50 ms on
// loopback), against the same read from a cold mount of the same wedge in a local silo, in this one run.
// The silo is made by `medo add` of --tree (default node_modules) and served by nginx on loopback.
//
// Each rep, alternating: a new `medo mount --foreground` of the remote medo directory with an EMPTY host
// cache, then one of the local medo directory (the silo's files are in the page cache: a cold mount, not
// a cold disk). Once the mount says ready, the clock starts; `open` + the first 4 KiB `read` of one small
// file (a few directories deep) stop it: every tree on the path, the metadata sidecar, the pack list and
// the pack's .idx are fetched inside that time. Then a second file elsewhere in the tree, same mount (the
// pack list and .idx are cached by then: what each further file costs). The bytes nginx sent for the
// remote reads are taken from its access log. Medians over --reps; ratios are remote / local.
// The machine may be shared with other work: read the ratio, and the median over several reps.
// Usage: node bench/mount-remote.mjs [--tree DIR] [--out DIR] [--reps N]   (needs `npx tsc -p .` first)
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { median } from './measure.mjs';
import { startNginx } from './nginx.mjs';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const MEDO = join(ROOT, 'bin', 'medo.js');
const { values: opts } = parseArgs({ options: { tree: { type: 'string' }, out: { type: 'string' }, reps: { type: 'string', default: '7' } } });
const reps = Number(opts.reps);
if (!(Number.isInteger(reps) && reps >= 1)) throw new Error(`--reps must be a positive integer, got ${opts.reps}`);
const tree = resolve(opts.tree ?? join(ROOT, 'node_modules'));
const out = resolve(opts.out ?? join(ROOT, 'bench', 'out', 'mount-remote'));
const log = (s) => process.stderr.write(`bench: ${s}\n`);
const GOAL_MS = 50;

const mnt = join(out, 'mnt');
spawnSync('fusermount', ['-u', '-z', mnt], { stdio: 'ignore' });
rmSync(out, { recursive: true, force: true });
for (const d of ['www/deps.silo', 'local.medo', 'remote.medo', 'nginx', 'mnt']) mkdirSync(join(out, d), { recursive: true });
const nginx = await startNginx({ root: join(out, 'www'), dir: join(out, 'nginx'), accessLog: true });
const siloUrl = `${nginx.origin}/deps.silo/`;

execFileSync(process.execPath, [join(ROOT, 'bin', 'silo.js'), 'init', join(out, 'www', 'deps.silo')]);
writeFileSync(join(out, 'local.medo', 'SILO.json'), JSON.stringify({ silos: [join(out, 'www', 'deps.silo')] }));
log(`medo add ${tree}`);
execFileSync(process.execPath, [MEDO, 'add', tree, join(out, 'local.medo', 'tree.treeptr')], { stdio: ['ignore', 'ignore', 'inherit'] });
writeFileSync(join(out, 'remote.medo', 'SILO.json'), JSON.stringify({ silos: [siloUrl] }));
writeFileSync(join(out, 'remote.medo', 'tree.treeptr'), readFileSync(join(out, 'local.medo', 'tree.treeptr')));
const packBytes = readdirSync(join(out, 'www', 'deps.silo', 'pack')).filter((f) => f.endsWith('.pack'))
  .reduce((n, f) => n + statSync(join(out, 'www', 'deps.silo', 'pack', f)).size, 0);

/** Small files (1 to 64 KiB) at depth 3 or more, in path order: the reads are of the middle one and one a quarter in. */
function smallFiles(dir, rel = '', acc = []) {
  for (const e of readdirSync(join(dir, rel), { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
    const p = rel === '' ? e.name : `${rel}/${e.name}`;
    if (e.isDirectory()) smallFiles(dir, p, acc);
    else if (e.isFile() && p.split('/').length >= 3) {
      const size = statSync(join(dir, p)).size;
      if (size >= 1024 && size <= 64 << 10) acc.push(p);
    }
  }
  return acc;
}
const candidates = smallFiles(tree);
if (candidates.length < 2) throw new Error(`${tree} has too few files of 1-64 KiB at depth 3 or more`);
const [first, second] = [candidates[candidates.length >> 1], candidates[candidates.length >> 2]];
log(`first file ${first}, then ${second}`);

const now = () => Number(process.hrtime.bigint()) / 1e6;

const bytesSent = nginx.bytesSent;

/** Mounts `medoDir` (with an empty cache) and resolves once it is ready, with a stop function. */
async function coldMount(medoDir) {
  rmSync(join(out, 'cache'), { recursive: true, force: true });
  const started = now();
  const child = spawn(process.execPath, [MEDO, 'mount', '--foreground', medoDir, mnt, '--cache-dir', join(out, 'cache'), '--ready-fd', '3', '--log-level', 'error'],
    { stdio: ['ignore', 'ignore', 'inherit', 'pipe'] });
  const line = await new Promise((r) => {
    let text = '';
    child.stdio[3].on('data', (c) => { text += c; });
    child.stdio[3].on('close', () => r(text.trim()));
  });
  if (line !== 'ready') throw new Error(`mount of ${medoDir} failed: ${line}`);
  const ready = now() - started;
  return {
    ready,
    stop: async () => {
      const closed = new Promise((r) => child.once('close', r));
      child.kill('SIGTERM');
      await closed;
      spawnSync('fusermount', ['-u', '-z', mnt], { stdio: 'ignore' });
    },
  };
}

/** open + the first 4 KiB read, in ms; checked against the file on disk. */
async function firstByte(rel) {
  const buf = Buffer.alloc(4096);
  const t0 = now();
  const fh = await open(join(mnt, 'tree', rel));
  try {
    const { bytesRead } = await fh.read(buf, 0, buf.length, 0);
    const ms = now() - t0;
    const want = readFileSync(join(tree, rel)).subarray(0, 4096);
    if (!buf.subarray(0, bytesRead).equals(want)) throw new Error(`${rel}: the mount's bytes differ from the tree's`);
    return ms;
  } finally {
    await fh.close();
  }
}

const m = { remoteReady: [], remoteFirst: [], remoteSecond: [], localReady: [], localFirst: [], localSecond: [], bytes: [], requests: [] };
try {
  await bytesSent(); // what `medo add` and the start-up left in the log
  for (let i = 0; i < reps; i++) {
    log(`rep ${i + 1}/${reps}`);
    for (const kind of ['remote', 'local']) {
      spawnSync('sync');
      const mount = await coldMount(join(out, `${kind}.medo`));
      try {
        m[`${kind}Ready`].push(mount.ready);
        m[`${kind}First`].push(await firstByte(first));
        m[`${kind}Second`].push(await firstByte(second));
      } finally {
        await mount.stop();
      }
      if (kind === 'remote') {
        const sent = await bytesSent();
        m.bytes.push(sent.bytes);
        m.requests.push(sent.requests);
      }
    }
  }
  const med = (k) => Math.round(median(m[k]) * 10) / 10;
  const ratio = (a, b) => Math.round((median(m[a]) / median(m[b])) * 100) / 100;
  process.stdout.write(`${JSON.stringify({
    tree, packBytes, firstFile: first, secondFile: second, reps,
    remoteFirstByteMs: med('remoteFirst'), localFirstByteMs: med('localFirst'), firstByteRatio: ratio('remoteFirst', 'localFirst'),
    goalMs: GOAL_MS, goalMet: median(m.remoteFirst) < GOAL_MS,
    remoteSecondFileMs: med('remoteSecond'), localSecondFileMs: med('localSecond'), secondFileRatio: ratio('remoteSecond', 'localSecond'),
    remoteMountReadyMs: med('remoteReady'), localMountReadyMs: med('localReady'),
    bytesFromServer: median(m.bytes), requestsToServer: median(m.requests),
    remoteFirstByteRunsMs: m.remoteFirst.map((x) => Math.round(x * 10) / 10),
    localFirstByteRunsMs: m.localFirst.map((x) => Math.round(x * 10) / 10),
  })}\n`);
} finally {
  await nginx.stop();
  spawnSync('fusermount', ['-u', '-z', mnt], { stdio: 'ignore' });
}
