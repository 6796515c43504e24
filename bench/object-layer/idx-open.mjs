// PackIndex.open plus one lookup of a present and one of an absent id, each in a fresh process
// (idx-probe.mjs), on synthetic indexes of several sizes.
import { execFileSync } from 'node:child_process';
import { mkdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { kb, mb, median, pad } from './table.mjs';

const HERE = dirname(fileURLToPath(import.meta.url));
const GENERATE = join(HERE, 'synthetic-idx.mjs');
const PROBE = join(HERE, 'idx-probe.mjs');

/** Makes (or reuses) a synthetic index of each size, then probes them alternately in fresh processes. */
export function benchIdx({ counts, outDir, reps }) {
  const dir = join(outDir, 'synthetic-idx');
  mkdirSync(dir, { recursive: true });
  const targets = counts.map((count) => {
    const path = join(dir, `${count}.idx`);
    const probe = JSON.parse(execFileSync(process.execPath, [GENERATE, path, String(count)]).toString());
    return { count, path, probe, runs: [] };
  });
  for (let i = 0; i < reps; i++) {
    for (const t of i % 2 ? [...targets].reverse() : targets) {
      const { present, presentOffset, absent } = t.probe;
      const t0 = process.hrtime.bigint();
      const out = execFileSync(process.execPath, ['--expose-gc', PROBE, t.path, present, String(presentOffset), absent]);
      const processMs = Number(process.hrtime.bigint() - t0) / 1e6;
      t.runs.push({ ...JSON.parse(out.toString()), processMs });
    }
  }
  return targets.map(({ count, path, runs }) => {
    const med = (k) => (runs[0][k] === null ? null : median(runs.map((r) => r[k])));
    return {
      count, idxBytes: statSync(path).size, runs,
      openMs: med('openMs'), hitMs: med('hitMs'), missMs: med('missMs'), totalMs: med('totalMs'), processMs: med('processMs'),
      rssDelta: med('rssDelta'), heapDelta: med('heapDelta'), buffersDelta: med('buffersDelta'), peakRss: med('peakRss'),
    };
  });
}

export function idxLines([small, big], { reps }) {
  const w = [12, 8, 8, 8, 10, 10, 10, 10, 10];
  const lines = [`PackIndex.open + 1 hit + 1 miss, fresh process each, median of ${reps}`];
  lines.push(pad(['objects', 'open ms', 'hit ms', 'miss ms', 'process ms', 'peak rss', 'rss delta', 'heap delta', 'buffers'], w));
  for (const r of [small, big]) {
    lines.push(pad([r.count.toLocaleString('en'), r.openMs.toFixed(3), r.hitMs.toFixed(3), r.missMs.toFixed(3), r.processMs.toFixed(0),
      mb(r.peakRss), kb(r.rssDelta), kb(r.heapDelta), kb(r.buffersDelta)], w));
  }
  const ratio = (k) => (big[k] === null ? '-' : `${(big[k] / small[k]).toFixed(2)}x`);
  lines.push(`${big.count.toLocaleString('en')} vs ${small.count.toLocaleString('en')}: open+lookups ${ratio('totalMs')}, ` +
    `process ${ratio('processMs')}, peak rss ${ratio('peakRss')}, ` +
    `retained heap+buffers ${kb(big.heapDelta + big.buffersDelta)} vs ${kb(small.heapDelta + small.buffersDelta)}`);
  return [...lines, ''];
}
