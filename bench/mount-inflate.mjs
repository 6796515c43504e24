#!/usr/bin/env node
// Inline vs off-thread inflation, the measurement behind the mount's 1 MiB inline limit (docs/mount.md):
// zlib.inflateSync on the main thread against async zlib on the libuv pool, one at a time and four at once,
// for half-random content (what compresses like real files). Run: node bench/mount-inflate.mjs
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import { deflateSync, inflate, inflateSync } from 'node:zlib';

const inflateAsync = promisify(inflate);
const BUDGET_MS = 400;

async function perOp(fn, batch = 1) {
  const t0 = performance.now();
  let n = 0;
  while (performance.now() - t0 < BUDGET_MS) {
    await fn();
    n += batch;
  }
  return (performance.now() - t0) / n;
}

console.log('| size | inflateSync | async zlib (one) | async, 4 at once (each) | async / sync |');
console.log('| --- | --- | --- | --- | --- |');
for (const size of [64 << 10, 256 << 10, 1 << 20, 4 << 20, 10 << 20]) {
  const raw = Buffer.alloc(size);
  const rnd = randomBytes(size);
  for (let i = 0; i < size; i++) raw[i] = i % 2 ? rnd[i] : 65 + (i % 7);
  const z = deflateSync(raw);
  const options = { maxOutputLength: size, chunkSize: size + 1 };
  const sync = await perOp(() => inflateSync(z, options));
  const one = await perOp(() => inflateAsync(z, options));
  const four = await perOp(() => Promise.all([1, 2, 3, 4].map(() => inflateAsync(z, options))), 4);
  const kib = size >> 10;
  console.log(`| ${kib >= 1024 ? `${kib >> 10} MiB` : `${kib} KiB`} | ${sync.toFixed(2)} ms | ${one.toFixed(2)} ms | ${four.toFixed(2)} ms | ${(one / sync).toFixed(2)}x |`);
}
