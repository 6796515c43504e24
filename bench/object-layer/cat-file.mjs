// `silo cat-file --batch` against `git cat-file --batch` on the same repository and the same id list.
// Each tool runs as its own process with stdin and stdout redirected to files, exactly as a user runs it.
import { execFileSync, spawnSync } from 'node:child_process';
import { closeSync, openSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { childrenCpuMs } from '../measure.mjs';
import { mb, median, pad } from './table.mjs';

const NULL_SHA = '0'.repeat(40);
// git without user or system configuration, so that e.g. core.deltaBaseCacheLimit is git's default.
const GIT_ENV = { ...process.env, GIT_CONFIG_NOSYSTEM: '1', GIT_CONFIG_GLOBAL: '/dev/null' };

/** Wall and CPU time of one run with stdin and stdout redirected to files; throws on a non-zero exit. */
function timed(cmd, args, stdinPath, stdoutPath, env) {
  const input = openSync(stdinPath, 'r');
  const output = openSync(stdoutPath, 'w');
  try {
    const cpu0 = childrenCpuMs();
    const t0 = process.hrtime.bigint();
    const r = spawnSync(cmd, args, { stdio: [input, output, 'pipe'], env, maxBuffer: 1 << 20 });
    const wallMs = Number(process.hrtime.bigint() - t0) / 1e6;
    const cpu1 = childrenCpuMs();
    if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} exited with ${r.status ?? r.signal}: ${r.stderr}`);
    return { wallMs, cpuMs: cpu0 === null || cpu1 === null ? null : cpu1 - cpu0 };
  } finally {
    closeSync(input);
    closeSync(output);
  }
}

export function datasetStats(repo) {
  const lines = execFileSync('git', ['-C', repo, 'cat-file', '--batch-all-objects', '--batch-check=%(objectname) %(objecttype) %(objectsize) %(deltabase)'],
    { env: GIT_ENV, maxBuffer: 1 << 30 }).toString('latin1').split('\n').filter(Boolean);
  const stats = { objects: lines.length, blobs: 0, blobBytes: 0, deltifiedBlobs: 0, packBytes: 0 };
  for (const line of lines) {
    const [, type, size, base] = line.split(' ');
    if (type !== 'blob') continue;
    stats.blobs++;
    stats.blobBytes += Number(size);
    if (base !== NULL_SHA) stats.deltifiedBlobs++;
  }
  const packDir = join(repo, 'objects', 'pack');
  for (const n of readdirSync(packDir)) if (n.endsWith('.pack')) stats.packBytes += statSync(join(packDir, n)).size;
  return stats;
}

/** Blob ids in `git cat-file --batch-all-objects` order: sorted by id, or (`--unordered`) pack order. */
function blobIdFile(repo, ordering, outDir) {
  const args = ['-C', repo, 'cat-file', '--batch-all-objects', '--batch-check=%(objectname) %(objecttype)'];
  if (ordering === 'pack') args.push('--unordered');
  const ids = execFileSync('git', args, { env: GIT_ENV, maxBuffer: 1 << 30 }).toString('latin1')
    .split('\n').filter((l) => l.endsWith(' blob')).map((l) => l.slice(0, 40));
  const path = join(outDir, `blob-ids.${ordering}-order.txt`);
  writeFileSync(path, `${ids.join('\n')}\n`);
  return { path, count: ids.length };
}

const commands = (silo, repo) => ({
  git: ['git', ['-C', repo, 'cat-file', '--batch'], GIT_ENV],
  medo: [process.execPath, [silo, 'cat-file', '--batch', repo], process.env],
});

/** Peak RSS of one run, through GNU time when it is installed. */
function peakRss([cmd, args, env], idPath, outDir) {
  const report = join(outDir, 'time.txt');
  try {
    timed('/usr/bin/time', ['-f', '%M', '-o', report, cmd, ...args], idPath, '/dev/null', env);
    return Number(readFileSync(report, 'utf8').trim().split('\n').pop()) * 1024;
  } catch {
    return null;
  } finally {
    rmSync(report, { force: true });
  }
}

/**
 * Times both tools over every blob of `repo`, ids in `ordering` ('id' or 'pack'), `reps` times each.
 * Throws when the outputs differ.
 */
export function benchCatFile({ silo, repo, outDir, ordering, reps }) {
  const catFile = commands(silo, repo);
  const ids = blobIdFile(repo, ordering, outDir);
  // One checked run each (it also warms the page cache): the outputs must be the same bytes.
  const outs = { git: join(outDir, 'cat-file.git.out'), medo: join(outDir, 'cat-file.medo.out') };
  for (const tool of ['git', 'medo']) {
    const [cmd, args, env] = catFile[tool];
    timed(cmd, args, ids.path, outs[tool], env);
  }
  const cmp = spawnSync('cmp', [outs.git, outs.medo], { encoding: 'utf8' });
  if (cmp.status !== 0) {
    throw new Error(`silo cat-file --batch output differs from git's (${ordering} order): ${cmp.stdout}${cmp.stderr}` +
      `outputs kept in ${relative(process.cwd(), outDir)}`);
  }
  const outputBytes = statSync(outs.git).size;
  for (const f of Object.values(outs)) rmSync(f);

  const runs = { git: [], medo: [] };
  for (let i = 0; i < reps; i++) {
    // Alternate the order of the two tools so that drift (other load, page cache) hits both alike.
    for (const tool of i % 2 ? ['medo', 'git'] : ['git', 'medo']) {
      const [cmd, args, env] = catFile[tool];
      runs[tool].push(timed(cmd, args, ids.path, '/dev/null', env));
    }
  }
  const peak = { git: peakRss(catFile.git, ids.path, outDir), medo: peakRss(catFile.medo, ids.path, outDir) };
  const med = (tool, k) => (runs[tool][0][k] === null ? null : median(runs[tool].map((r) => r[k])));
  const wall = { git: med('git', 'wallMs'), medo: med('medo', 'wallMs') };
  const cpu = { git: med('git', 'cpuMs'), medo: med('medo', 'cpuMs') };
  return {
    ordering, blobs: ids.count, outputBytes, identical: true, runs,
    wallMs: wall, wallRatio: wall.medo / wall.git,
    cpuMs: cpu, cpuRatio: cpu.git === null ? null : cpu.medo / cpu.git,
    peakRss: peak,
  };
}

export function datasetLines(result) {
  const d = result.dataset;
  return [`dataset ${relative(process.cwd(), result.repo)}: ${d.objects} objects, ${d.blobs} blobs (${mb(d.blobBytes)}, ` +
    `${d.deltifiedBlobs} deltified), pack ${mb(d.packBytes)}`, ''];
}

export function catFileLines(rows, { reps, goalRatio }) {
  const w = [11, 9, 9, 7, 9, 9, 7, 10, 10];
  const lines = [`cat-file --batch over every blob to /dev/null, median of ${reps}; outputs checked byte-identical; ` +
    `ms (cpu = user + sys), peak rss; goal medo/git <= ${goalRatio}`];
  lines.push(pad(['ids in', 'git wall', 'medo wall', 'ratio', 'git cpu', 'medo cpu', 'ratio', 'git rss', 'medo rss'], w));
  const ms = (n) => (n === null ? '-' : n.toFixed(0));
  const x = (n) => (n === null ? '-' : `${n.toFixed(2)}x`);
  for (const r of rows) {
    lines.push(pad([`${r.ordering} order`, ms(r.wallMs.git), ms(r.wallMs.medo), x(r.wallRatio), ms(r.cpuMs.git), ms(r.cpuMs.medo), x(r.cpuRatio),
      mb(r.peakRss.git), mb(r.peakRss.medo)], w));
  }
  return [...lines, ''];
}
