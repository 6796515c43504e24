#!/usr/bin/env node
// The benchmark suite of issue 6: medo's mount against the local disk, squashfuse_ll and git on the same
// trees in the same run, with the goals as pass/fail (docs/benchmarks.md, "The suite").
// Run it through `bash bench/suite.sh [options]`, which installs what it needs first. Root, /dev/fuse.
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, release, totalmem } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { privateBuild } from './suite/build.mjs';
import { renderChart } from './suite/chart.mjs';
import { installSignalHandlers, lazyUnmount, mountsUnder } from './suite/cleanup.mjs';
import { DATASET_NAMES, prepareDatasets } from './suite/datasets.mjs';
import { kernelSquashPeer, localPeer, medoPeer, squashPeer } from './suite/peers.mjs';
import { log, run } from './suite/proc.mjs';
import { renderMarkdown } from './suite/report.mjs';
import { Runner } from './suite/runner.mjs';
import { summarize } from './suite/stats.mjs';
import { workloads } from './suite/workloads.mjs';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const OUT = join(ROOT, 'bench', 'out', 'suite');
const USAGE = `usage: bash bench/suite.sh [--quick] [--runs N] [--only NAME,...] [--backend highlevel,lowlevel] [--publish]

  --quick      small subsets of the datasets and 1 run: for iterating (a few minutes once prepared)
  --runs N     runs per figure, reported as the median (default 3; 1 with --quick)
  --only LIST  workloads (mount find stat neg tar cat seq rand python objects ingest materialize) and/or
               datasets (${DATASET_NAMES.join(' ')}), comma-separated
  --backend L  the medo FUSE backends to try (MEDO_FUSE_BACKEND), default highlevel,lowlevel; one whose
               mount fails is skipped and named in the results
  --publish    also copy results.md, results.json and chart.svg to docs/benchmarks/
Results go to bench/out/suite/ (results.md, results.json, chart.svg); datasets are cached there too.
`;

const { values: opts } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false }, runs: { type: 'string' }, only: { type: 'string' },
    backend: { type: 'string', default: 'highlevel,lowlevel' }, publish: { type: 'boolean', default: false }, help: { type: 'boolean', short: 'h' },
  },
});
if (opts.help) {
  process.stdout.write(USAGE);
  process.exit(0);
}
const die = (msg) => {
  process.stderr.write(`suite: ${msg}\n`);
  process.exit(2);
};
const runs = Number(opts.runs ?? (opts.quick ? 1 : 3));
if (!Number.isInteger(runs) || runs < 1) die(`--runs must be a positive integer, got ${opts.runs}`);
const backends = opts.backend.split(',').map((s) => s.trim()).filter(Boolean);
if (process.getuid() !== 0) die('needs root: it drops the page cache and mounts with FUSE (run bash bench/suite.sh as root)');
if (!existsSync('/dev/fuse')) die('/dev/fuse is missing');
for (const tool of ['mksquashfs', 'squashfuse_ll', 'dpkg-deb', 'apt-get', 'git', 'xz']) {
  try { execFileSync('sh', ['-c', `command -v ${tool}`], { stdio: 'ignore' }); } catch { die(`${tool} is missing: run bash bench/suite.sh, which installs it`); }
}

installSignalHandlers();
mkdirSync(OUT, { recursive: true });
const MNT = join(OUT, 'mnt');
for (const m of mountsUnder(MNT)) lazyUnmount(m); // left by an earlier run that was killed hard

const build = privateBuild(ROOT, OUT);
const scratch = join(OUT, 'scratch');
mkdirSync(scratch, { recursive: true });
const wls = workloads({ probe: join(ROOT, 'bench', 'suite', 'probe.mjs'), build, quick: opts.quick, scratch });

// --only: workload names and dataset names, in any mix.
const tokens = (opts.only ?? '').split(',').map((s) => s.trim()).filter(Boolean);
for (const t of tokens) if (!DATASET_NAMES.includes(t) && !wls.some((w) => w.name === t)) die(`--only: ${t} is neither a workload nor a dataset\n${USAGE}`);
const onlyDs = tokens.filter((t) => DATASET_NAMES.includes(t));
const onlyWl = tokens.filter((t) => wls.some((w) => w.name === t));
const chosenWls = wls.filter((w) => onlyWl.length === 0 || onlyWl.includes(w.name));
const chosenDs = DATASET_NAMES.filter((d) => (onlyDs.length === 0 || onlyDs.includes(d)) && chosenWls.some((w) => w.datasets.includes(d)));
if (chosenDs.length === 0) die('--only leaves nothing to measure');

const loadStart = loadavg()[0];
const datasets = await prepareDatasets({ out: OUT, build, quick: opts.quick, names: chosenDs });
for (const d of datasets) {
  d.siloBytes = Number(execFileSync('du', ['-s', '-B1', join(d.silo, 'pack')]).toString().split('\t')[0]);
  d.imageBytes = statSync(d.image).size;
}

// Which medo backends mount here: each is tried once on the smallest dataset.
const fsPeers = [localPeer(), squashPeer(MNT)];
const skipped = [];
// The kernel's own squashfs on a loop device, where the kernel can: the physical limit for a mount.
{
  const probeDs = datasets.find((d) => d.name === 'python') ?? datasets[0];
  const peer = kernelSquashPeer(MNT);
  try {
    const h = await peer.open(probeDs);
    await h.close();
    fsPeers.push(peer);
  } catch (e) {
    skipped.push({ backend: 'kernel-squashfs', reason: e.message.split('\n')[0] });
    log(`kernel squashfs skipped: ${e.message.split('\n')[0]}`);
  }
}
if (chosenWls.some((w) => w.kind !== 'tool')) {
  const probeDs = datasets.find((d) => d.name === 'python') ?? datasets[0];
  for (const b of backends) {
    const peer = medoPeer(b, build, MNT);
    try {
      const h = await peer.open(probeDs);
      await h.close();
      fsPeers.push(peer);
    } catch (e) {
      skipped.push({ backend: b, reason: e.message.split('\n')[0] });
      log(`backend ${b} skipped: ${e.message.split('\n')[0]}`);
    }
  }
}
const medoPeers = fsPeers.filter((p) => p.backend);

const commit = (() => {
  try {
    const head = execFileSync('git', ['-C', ROOT, 'rev-parse', '--short', 'HEAD']).toString().trim();
    const dirty = execFileSync('git', ['-C', ROOT, 'status', '--porcelain', '--untracked-files=no', '--', 'lib', 'cli', 'daemon', 'native']).toString().trim();
    return dirty ? `${head} with uncommitted changes` : head;
  } catch {
    return 'unknown';
  }
})();
const meta = {
  date: new Date().toISOString().replace(/\.\d+Z$/, 'Z'), cpus: cpus().length, cpuModel: cpus()[0]?.model?.trim() ?? '?',
  memGiB: Math.round(totalmem() / 2 ** 30), kernel: release(), node: process.version, commit,
  squashfuse: (() => { try { return execFileSync('dpkg-query', ['-W', '-f=${Version}', 'squashfuse']).toString(); } catch { return '?'; } })(),
  argv: process.argv.slice(2).filter((a) => a !== '--publish').join(' '), runs, quick: opts.quick, skipped,
  load: { start: loadStart, end: loadStart },
};

const runner = new Runner({ runs, timeoutMs: (opts.quick ? 10 : 40) * 60_000 });
const rows = [];
const labels = Object.fromEntries([...fsPeers.map((p) => [p.name, p.label]), ['git', 'git archive / cat-file'], ['silo', 'silo cat-file'], ['tar', 'tar'], ['medo', 'medo add / expand']]);
const jsonOf = () => JSON.stringify({
  meta, datasets, backends: { measured: medoPeers.map((p) => p.backend), skipped },
  rows: rows.map((r) => ({ ...r, medians: Object.fromEntries(Object.entries(r.peers).map(([p, c]) => [p, summarize(c)])) })),
}, (_, v) => (typeof v === 'string' && v.startsWith(`${ROOT}/`) ? relative(ROOT, v) : v), 1); // paths relative to the checkout
const writeAtomic = (file, text) => {
  writeFileSync(`${file}.tmp`, text);
  renameSync(`${file}.tmp`, file);
};

for (const ds of datasets) {
  for (const wl of chosenWls.filter((w) => w.datasets.includes(ds.name))) {
    for (const state of wl.states) {
      const peers = wl.kind === 'mount' ? fsPeers.filter((p) => p.kind === 'mount') : fsPeers;
      rows.push(await runner.measure(ds, wl, state, peers));
      writeAtomic(join(OUT, 'results.partial.json'), jsonOf());
    }
  }
}
meta.load.end = loadavg()[0];

const md = renderMarkdown({ meta, datasets, rows, wls, fsPeers, medoPeers });
const svg = renderChart({
  rows, wls, labels,
  title: 'medo against the local disk: median time as a ratio (log scale; left of 1x is faster)',
  subtitle: `${meta.date}, ${meta.cpus} CPUs, load ${meta.load.start.toFixed(1)}–${meta.load.end.toFixed(1)}, ${runs} run(s) per figure${opts.quick ? ', --quick' : ''}; medo ${commit}`,
});
writeAtomic(join(OUT, 'results.md'), md);
writeAtomic(join(OUT, 'results.json'), `${jsonOf()}\n`);
writeAtomic(join(OUT, 'chart.svg'), svg);
await run(`rm -f ${join(OUT, 'results.partial.json')}`);
process.stdout.write(md);
log(`results in ${OUT}/results.md, results.json, chart.svg`);
if (opts.publish) {
  const docs = join(ROOT, 'docs', 'benchmarks');
  mkdirSync(docs, { recursive: true });
  for (const f of ['results.md', 'results.json', 'chart.svg']) copyFileSync(join(OUT, f), join(docs, f));
  log(`published to ${docs}`);
}
