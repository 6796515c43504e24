#!/usr/bin/env node
// The mount against the local disk and squashfuse_ll, in one run, as ratios (docs/mount.md, "Performance").
//   node bench/mount.mjs [--only NAME] [--runs N] [--backend lowlevel,highlevel]
//                                                         (root, /dev/fuse; builds its own copy of dist/)
// Datasets: a large tree of many small files (/usr/share) and a Python install (pyenv's 3.11.7), each put in
// a silo (git write-tree, then its objects packed without deltas, as a silo holds them) with a metadata
// sidecar and a .treeptr, and into a squashfs image (gzip, like the silo's zlib). Built once and cached in
// bench/out/mount/. For each: mount time; `find | wc -l` and `tar -cf - . | wc -c` cold (first pass on a
// fresh mount) and warm (second pass); for Python, `python3 -c 'import json, ssl, asyncio, email'`.
// The backing files (local tree, pack, image) are in the host page cache in every case: "cold" is the
// filesystem's own cold cost (lookups, inflation, page cache of the mount), not disk I/O.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, lstatSync, mkdirSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { readyLine } from './measure.mjs';

const ROOT = resolve(import.meta.dirname, '..');
const OUT = join(ROOT, 'bench', 'out', 'mount');
const { values } = parseArgs({
  options: { only: { type: 'string' }, runs: { type: 'string', default: '5' }, backend: { type: 'string', default: 'lowlevel,highlevel' } },
});
const RUNS = Number(values.runs);
// Each medo FUSE backend (MEDO_FUSE_BACKEND) gets its own columns, measured in the same run.
const BACKENDS = values.backend.split(',').filter((b) => b !== '');
for (const b of BACKENDS) if (b !== 'lowlevel' && b !== 'highlevel') throw new Error(`--backend: unknown backend ${b} (lowlevel, highlevel)`);

// A private build, so a concurrent `tsc` into dist/ cannot change the code under measurement.
const DIST = join(OUT, 'dist');
mkdirSync(OUT, { recursive: true });
spawnSync(join(ROOT, 'node_modules/.bin/tsc'), ['-p', join(ROOT, 'tsconfig.json'), '--outDir', DIST], { stdio: 'ignore' });
// lib/inflate.ts finds the native helper in build/ beside dist/.
if (existsSync(join(ROOT, 'build')) && !existsSync(join(DIST, 'build'))) symlinkSync(join(ROOT, 'build'), join(DIST, 'build'));
const { Silo } = await import(join(DIST, 'lib/silo/silo.js'));
const { TreeMeta } = await import(join(DIST, 'lib/medo/meta.js'));
const { writeTreeptr } = await import(join(DIST, 'lib/medo/treeptr.js'));

const DATASETS = [
  { name: 'usr-share', dir: '/usr/share', what: 'a large tree of small files' },
  { name: 'python-3.11.7', dir: '/root/.pyenv/versions/3.11.7', what: 'a Python install', python: 'bin/python3' },
].filter((d) => values.only === undefined || d.name === values.only);

const log = (...a) => process.stderr.write(`${a.join(' ')}\n`);
const GIT_ENV = { ...process.env, GIT_CONFIG_NOSYSTEM: '1', GIT_CONFIG_GLOBAL: '/dev/null', LC_ALL: 'C' };

function ensureTools() {
  const missing = [['mksquashfs', 'squashfs-tools'], ['squashfuse_ll', 'squashfuse']].filter(([bin]) => spawnSync('which', [bin]).status !== 0);
  if (missing.length === 0) return;
  log(`installing ${missing.map(([, p]) => p).join(' ')} (apt-get)`);
  execFileSync('apt-get', ['install', '-y', '-qq', '--no-install-recommends', ...missing.map(([, p]) => p)], { stdio: ['ignore', 'ignore', 'inherit'] });
}

/** Permission bits and mtimes of everything, and the empty directories (as `medo add` records them). */
function metaFor(dir) {
  const meta = new TreeMeta();
  const hasFile = new Set();
  const dirs = [];
  const walk = (rel) => {
    const full = rel === '' ? dir : join(dir, rel);
    const st = lstatSync(full, { bigint: true });
    if (!st.isDirectory() && !st.isFile() && !st.isSymbolicLink()) return; // sockets, fifos: git skips them too
    meta.set(rel, Number(st.mode & 0o7777n), Number(st.mtimeNs / 1_000_000_000n), Number(st.mtimeNs % 1_000_000_000n));
    if (!st.isDirectory()) {
      for (let p = rel; p !== '';) {
        p = p.includes('/') ? p.slice(0, p.lastIndexOf('/')) : '';
        if (hasFile.has(p)) break;
        hasFile.add(p);
      }
      return;
    }
    dirs.push(rel);
    for (const name of readdirSync(full)) walk(rel === '' ? name : `${rel}/${name}`);
  };
  walk('');
  for (const d of dirs) if (d !== '' && !hasFile.has(d)) meta.emptyDirs.add(d);
  return meta;
}

/** silo + medo directory + squashfs image for `ds`, built once. */
function prepare(ds) {
  const base = join(OUT, ds.name);
  const stamp = join(base, 'ready.json');
  if (existsSync(stamp)) return JSON.parse(readFileSync(stamp, 'utf8'));
  rmSync(base, { recursive: true, force: true });
  mkdirSync(base, { recursive: true });
  const repo = join(base, 'work.git');
  const git = (args, input) => execFileSync('git', ['--git-dir', repo, ...args], { env: GIT_ENV, input, maxBuffer: 1 << 30, cwd: ds.dir });
  log(`${ds.name}: git write-tree of ${ds.dir} ...`);
  execFileSync('git', ['init', '-q', '--bare', repo], { env: GIT_ENV });
  const env = { ...GIT_ENV, GIT_INDEX_FILE: join(base, 'index') };
  execFileSync('git', ['--git-dir', repo, '--work-tree', ds.dir, '-c', 'core.excludesFile=/dev/null', 'add', '-A', '-f', '.'], { env, cwd: ds.dir });
  const tree = execFileSync('git', ['--git-dir', repo, 'write-tree'], { env }).toString().trim();
  log(`${ds.name}: packing into a silo ...`);
  const siloDir = join(base, 'silo');
  Silo.init(siloDir).close();
  const oids = git(['cat-file', '--batch-all-objects', '--batch-check=%(objectname)']);
  git(['pack-objects', '-q', '--window=0', '--depth=0', join(siloDir, 'pack', 'pack')], oids);
  let bytes = 0;
  let files = 0;
  for (const line of git(['ls-tree', '-r', '-l', '-z', tree]).toString().split('\0')) {
    if (line === '') continue;
    bytes += Number(line.split(/\s+/)[3]);
    files++;
  }
  log(`${ds.name}: sidecar ...`);
  const silo = Silo.open(siloDir);
  const meta = silo.writeLoose('blob', Buffer.from(metaFor(ds.dir).serialize(), 'utf8')).oid;
  silo.close();
  const medoDir = join(base, 'bench.medo');
  mkdirSync(medoDir, { recursive: true });
  writeFileSync(join(medoDir, 'SILO.json'), `${JSON.stringify({ version: 1, silos: ['../silo'] })}\n`);
  const treeptr = join(medoDir, `${ds.name}.treeptr`);
  writeTreeptr(treeptr, { tree, size: bytes, files, meta });
  log(`${ds.name}: mksquashfs ...`);
  const image = join(base, 'image.sqfs');
  execFileSync('mksquashfs', [ds.dir, image, '-comp', 'gzip', '-noappend', '-quiet', '-no-progress'], { stdio: ['ignore', 'ignore', 'inherit'] });
  rmSync(repo, { recursive: true, force: true });
  rmSync(join(base, 'index'), { force: true });
  const info = { tree, treeptr, image, bytes, files };
  writeFileSync(stamp, JSON.stringify(info));
  return info;
}

const mounted = (mnt) => readFileSync('/proc/self/mountinfo', 'utf8').split('\n').some((l) => l.split(' ')[4] === mnt);

/** Mounts with medo (served by a child) and resolves with its unmount function and the times. */
async function mountMedo(source, mnt, backend) {
  mkdirSync(mnt, { recursive: true });
  const t0 = performance.now();
  const child = spawn(process.execPath, [join(DIST, 'cli/medo.js'), 'mount', '--foreground', source, mnt, '--ready-fd', '3', '--log-level', 'info'],
    { stdio: ['ignore', 'ignore', 'pipe', 'pipe'], env: { ...process.env, MEDO_FUSE_BACKEND: backend } });
  let stderr = '';
  child.stderr.on('data', (c) => (stderr += c));
  const line = await readyLine(child.stdio[3]);
  const wall = performance.now() - t0;
  if (line !== 'ready') throw new Error(`medo mount failed: ${line}\n${stderr}`);
  const server = JSON.parse(stderr.split('\n').find((l) => l.includes('"mounted"'))).ms;
  return {
    wall, server,
    unmount: async () => {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
      if (mounted(mnt)) spawnSync('fusermount', ['-u', '-z', mnt]);
    },
  };
}

async function mountSquash(image, mnt) {
  mkdirSync(mnt, { recursive: true });
  const t0 = performance.now();
  execFileSync('squashfuse_ll', [image, mnt]); // returns once mounted (daemonizes after)
  const wall = performance.now() - t0;
  return { wall, unmount: async () => { spawnSync('fusermount', ['-u', mnt]); if (mounted(mnt)) spawnSync('fusermount', ['-u', '-z', mnt]); } };
}

function timed(cmd, cwd) {
  const t0 = performance.now();
  const out = execFileSync('sh', ['-c', cmd], { cwd, maxBuffer: 1 << 26 }).toString().trim();
  return { ms: performance.now() - t0, out };
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const FIND = 'find . | wc -l';
const TAR = 'tar -cf - . | wc -c';

async function passes(kind, mountFn, dir) {
  // find and tar each start on a fresh mount: the first pass is cold, the next ones warm.
  const r = {};
  for (const [name, cmd] of [['find', FIND], ['tar', TAR]]) {
    const m = mountFn ? await mountFn() : undefined;
    try {
      const cold = timed(cmd, dir);
      const warm = Array.from({ length: RUNS }, () => timed(cmd, dir));
      r[name] = { cold: cold.ms, warm: median(warm.map((w) => w.ms)), out: cold.out };
      if (m && name === 'find') r.mount = m;
    } finally {
      await m?.unmount();
    }
  }
  log(`  ${kind}: find ${r.find.out} entries, tar ${r.tar.out} bytes`);
  return r;
}

const IMPORTS = "import json, ssl, asyncio, email";
function pythonRuns(python) {
  const env = { ...process.env, PYTHONDONTWRITEBYTECODE: '1', PYTHONNOUSERSITE: '1' };
  delete env.PYTHONHOME;
  delete env.PYTHONPATH;
  const once = () => {
    const t0 = performance.now();
    execFileSync(python, ['-c', IMPORTS], { env, stdio: ['ignore', 'ignore', 'inherit'] });
    return performance.now() - t0;
  };
  const cold = once();
  return { cold, warm: median(Array.from({ length: RUNS }, once)) };
}

const fmt = (ms) => (ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${ms.toFixed(1)} ms`);
const ratio = (a, b) => `${(a / b).toFixed(2)}x`;

ensureTools();
const loadBefore = loadavg()[0];
const rows = [];
for (const ds of DATASETS) {
  if (!existsSync(ds.dir)) {
    log(`${ds.name}: ${ds.dir} is missing, skipped`);
    continue;
  }
  const info = prepare(ds);
  log(`${ds.name}: ${info.files} files, ${(info.bytes / 2 ** 20).toFixed(0)} MiB`);
  const mnt = join(OUT, ds.name, 'mnt');
  const sq = join(OUT, ds.name, 'mnt-squash');
  for (const m of [mnt, sq]) if (mounted(m)) spawnSync('fusermount', ['-u', '-z', m]);
  const local = await passes('local', undefined, ds.dir);
  const squash = await passes('squashfuse_ll', () => mountSquash(info.image, sq), sq);
  const medo = {};
  for (const b of BACKENDS) medo[b] = await passes(`medo ${b}`, () => mountMedo(info.treeptr, mnt, b), mnt);
  const row = { ds, info, local, squash, medo };
  if (ds.python) {
    row.py = { local: pythonRuns(join(ds.dir, ds.python)), medo: {} };
    for (const b of BACKENDS) {
      const m = await mountMedo(info.treeptr, mnt, b);
      try {
        row.py.medo[b] = pythonRuns(join(mnt, ds.python));
      } finally {
        await m.unmount();
      }
    }
    const s = await mountSquash(info.image, sq);
    try {
      row.py.squash = pythonRuns(join(sq, ds.python));
    } finally {
      await s.unmount();
    }
  }
  rows.push(row);
}

const lines = [];
const cols = BACKENDS.map((b) => `medo ${b} | ${b} / local | ${b} / squashfuse`).join(' | ');
lines.push(`| dataset | measure | local disk | squashfuse_ll | ${cols} |`);
lines.push(`| --- | --- | --- | --- | ${BACKENDS.map(() => '--- | --- | ---').join(' | ')} |`);
const cells = (get, local, squash) => BACKENDS.map((b) => `${fmt(get(b))} | ${ratio(get(b), local)} | ${ratio(get(b), squash)}`).join(' | ');
for (const { ds, info, local, squash, medo, py } of rows) {
  const name = `${ds.name} (${info.files} files, ${(info.bytes / 2 ** 20).toFixed(0)} MiB)`;
  const mounts = BACKENDS.map((b) => `${fmt(medo[b].mount.server)} / ${fmt(medo[b].mount.wall)} | | ${ratio(medo[b].mount.server, squash.mount.wall)}`).join(' | ');
  lines.push(`| ${name} | mount (medo: server / command) | - | ${fmt(squash.mount.wall)} | ${mounts} |`);
  for (const [m, label] of [['find', 'find | wc -l'], ['tar', 'tar -cf - . | wc -c']]) {
    for (const phase of ['cold', 'warm']) {
      lines.push(`| | ${label}, ${phase} | ${fmt(local[m][phase])} | ${fmt(squash[m][phase])} | ${cells((b) => medo[b][m][phase], local[m][phase], squash[m][phase])} |`);
    }
  }
  if (py) {
    for (const phase of ['cold', 'warm']) {
      lines.push(`| | python3 -c '${IMPORTS}', ${phase} | ${fmt(py.local[phase])} | ${fmt(py.squash[phase])} | ${cells((b) => py.medo[b][phase], py.local[phase], py.squash[phase])} |`);
    }
  }
}
lines.push('', `${cpus().length} CPUs; 1-minute load average ${loadBefore.toFixed(1)} before, ${loadavg()[0].toFixed(1)} after (other work on the machine slows FUSE round trips most).`);
const table = lines.join('\n');
process.stdout.write(`${table}\n`);
writeFileSync(join(OUT, 'results.md'), `${table}\n`);
