// One process of readers for the load test (test/reliability/load.test.ts): `node load-reader.mjs
// PLAN.json`, where the plan names the mountpoints, how many readers to run and for how long, and
// every file the mounts show with its size, mode and sha1 (made from the source with git as oracle).
// Each reader loops over mixed workloads until the time is up:
//   walk    a tar-like pass over one mount: readdir everything, read every file whole, check its sha1
//   random  random ranges of big files, checked against the source's bytes
//   stat    an lstat storm over every path, checking type, size and mode
//   absent  lookups of names that are not there (ENOENT expected)
// and checks every byte and answer. Prints one JSON line: {ops: {walk, random, stat, absent}, bytes,
// errors: [first few problems]}. A reader of the mounts must not be the process that serves them.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { lstat, open, readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';

const plan = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const until = Date.now() + plan.seconds * 1000;
const files = plan.files; // [{path, size, mode, sha1, source}]
const big = files.filter((f) => f.size >= 64 * 1024);
const ops = { walk: 0, random: 0, stat: 0, absent: 0 };
const errors = [];
let bytes = 0;
let seed = plan.seed >>> 0;
const rand = () => {
  seed = (seed * 1664525 + 1013904223) >>> 0;
  return seed / 2 ** 32;
};
const pick = (a) => a[Math.floor(rand() * a.length)];
const problem = (what) => {
  if (errors.length < 20) errors.push(what);
};
const sha1 = (b) => createHash('sha1').update(b).digest('hex');

async function walk(mnt) {
  const seen = new Set();
  const go = async (dir, rel) => {
    for (const e of await readdir(join(mnt, dir), { withFileTypes: true })) {
      const p = rel === '' ? e.name : `${rel}/${e.name}`;
      seen.add(p);
      if (e.isDirectory()) await go(join(dir, e.name), p);
      else if (e.isFile()) {
        const want = byPath.get(p);
        const got = await readFile(join(mnt, p));
        bytes += got.length;
        if (want === undefined) problem(`walk: ${p} is not in the tree`);
        else if (sha1(got) !== want.sha1) problem(`walk: ${p}: wrong bytes`);
      }
    }
  };
  await go('', '');
  for (const f of files) if (!seen.has(f.path)) problem(`walk: ${f.path} missing from the listing`);
  ops.walk++;
}

const sources = new Map();
const sourceOf = (f) => {
  let b = sources.get(f.path);
  if (b === undefined) sources.set(f.path, (b = readFileSync(f.source)));
  return b;
};

async function randomReads(mnt) {
  const f = pick(big);
  const want = sourceOf(f);
  const h = await open(join(mnt, f.path), 'r');
  try {
    for (let i = 0; i < 16; i++) {
      const at = Math.floor(rand() * f.size);
      const n = Math.min(f.size - at, 1 + Math.floor(rand() * 65536));
      const buf = Buffer.alloc(n);
      const { bytesRead } = await h.read(buf, 0, n, at);
      bytes += bytesRead;
      if (bytesRead !== n || !buf.equals(want.subarray(at, at + n))) problem(`random: ${f.path} at ${at}+${n}: wrong bytes`);
    }
  } finally {
    await h.close();
  }
  ops.random++;
}

async function statStorm(mnt) {
  for (const f of files) {
    const st = await lstat(join(mnt, f.path));
    if (st.size !== f.size || (st.mode & 0o170777) !== f.mode) problem(`stat: ${f.path}: size ${st.size} mode ${st.mode.toString(8)}`);
  }
  ops.stat++;
}

async function absent(mnt) {
  for (let i = 0; i < 50; i++) {
    const f = pick(files);
    const p = `${f.path}.absent-${i}`;
    try {
      await lstat(join(mnt, p));
      problem(`absent: ${p} exists`);
    } catch (e) {
      if (e.code !== 'ENOENT' && e.code !== 'ENOTDIR') problem(`absent: ${p}: ${e.code}`);
    }
  }
  ops.absent++;
}

const byPath = new Map(files.map((f) => [f.path, f]));
const workloads = [walk, randomReads, statStorm, absent];

async function reader(k) {
  while (Date.now() < until) {
    const mnt = plan.mounts[(k + ops.walk + ops.random) % plan.mounts.length];
    const w = workloads[k % 4 === 0 ? 0 : Math.floor(rand() * workloads.length)];
    try {
      await w(mnt);
    } catch (e) {
      problem(`${w.name} on ${mnt}: ${e.code ?? e.message}`);
    }
  }
}

await Promise.all(Array.from({ length: plan.readers }, (_, k) => reader(k)));
process.stdout.write(`${JSON.stringify({ ops, bytes, errors })}\n`);
