// Run in a fresh process by object-layer.mjs: opens one pack index, looks up an id it holds and one it
// does not, and prints timings and memory deltas as JSON. Usage: idx-probe.mjs IDX PRESENT OFFSET ABSENT
import { readFileSync } from 'node:fs';
import { PackIndex } from '../../dist/lib/git/pack-idx.js';
import { FileSource } from '../../dist/lib/io/random-access.js';

const [path, presentHex, offsetText, absentHex] = process.argv.slice(2);
if (absentHex === undefined || typeof globalThis.gc !== 'function') {
  throw new Error('usage: node --expose-gc idx-probe.mjs IDX PRESENT_ID OFFSET ABSENT_ID');
}
const present = Buffer.from(presentHex, 'hex');
const absent = Buffer.from(absentHex, 'hex');

globalThis.gc();
const before = process.memoryUsage();
const t0 = performance.now();
const idx = PackIndex.open(new FileSource(path));
const t1 = performance.now();
const hit = idx.lookup(present);
const t2 = performance.now();
const miss = idx.lookup(absent);
const t3 = performance.now();
globalThis.gc();
const after = process.memoryUsage(); // `idx` is still live: this is what an open index retains

if (hit !== Number(offsetText) || miss !== undefined) {
  throw new Error(`${path}: lookup(${presentHex}) = ${hit} (want ${offsetText}), lookup(${absentHex}) = ${miss} (want undefined)`);
}
// Peak RSS of this process image. Not getrusage's maxRSS: Linux carries that over from the parent
// across fork and exec, so it would measure the benchmark driver.
const hwm = /^VmHWM:\s+(\d+) kB/m.exec(readFileSync('/proc/self/status', 'utf8'));
process.stdout.write(`${JSON.stringify({
  count: idx.count,
  openMs: t1 - t0,
  hitMs: t2 - t1,
  missMs: t3 - t2,
  totalMs: t3 - t0,
  rssDelta: after.rss - before.rss,
  heapDelta: after.heapUsed - before.heapUsed,
  buffersDelta: after.arrayBuffers - before.arrayBuffers,
  peakRss: hwm === null ? null : Number(hwm[1]) * 1024,
})}\n`);
idx.src.close();
