#!/usr/bin/env node
// Workloads that a shell pipeline would drown in process start-up, timed inside one process around the
// loop only (start-up is the same for every peer and is not what is compared). Prints one JSON line.
//   node probe.mjs neg ROOT DIRS_JSON ROUNDS   stat() names that do not exist in each directory, ROUNDS
//                                              times over: a PATH / PYTHONPATH probe storm
//   node probe.mjs rand FILE COUNT BUDGET_MS [LIMIT]
//                                              reads of 4 KiB at COUNT pseudo-random aligned offsets (the
//                                              first LIMIT of them), stopping early after BUDGET_MS
import { closeSync, openSync, readSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';

const [mode, ...args] = process.argv.slice(2);

function timed(loop) {
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const extra = loop();
  const ms = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  return { ms, cpuMs: (cpu.user + cpu.system) / 1000, ...extra };
}

if (mode === 'neg') {
  const [root, dirsJson, rounds] = args;
  // What an interpreter asks for when it looks for a module in each directory of its path.
  const suffixes = ['', '.py', '.pyc', '.so', '.abi3.so', '.cpython-311-x86_64-linux-gnu.so', '/__init__.py'];
  const paths = [];
  for (const dir of JSON.parse(dirsJson)) {
    for (let i = 0; i < 40; i++) for (const s of suffixes) paths.push(join(root, dir, `nosuch_${i}${s}`));
  }
  const r = timed(() => {
    let hits = 0;
    for (let k = 0; k < Number(rounds); k++) for (const p of paths) if (statSync(p, { throwIfNoEntry: false }) !== undefined) hits++;
    return { calls: paths.length * Number(rounds), hits };
  });
  process.stdout.write(`${JSON.stringify(r)}\n`);
} else if (mode === 'rand') {
  const [file, count, budgetMs, limit] = args;
  const size = statSync(file).size;
  const blocks = Math.floor(size / 4096);
  let a = 12345; // mulberry32: the same offsets on every peer and every run
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const offsets = Array.from({ length: Number(count) }, () => Math.floor(next() * blocks) * 4096).slice(0, Number(limit ?? count));
  const buf = Buffer.alloc(4096);
  const fd = openSync(file, 'r');
  const r = timed(() => {
    const end = performance.now() + Number(budgetMs);
    let bytes = 0;
    let reads = 0;
    for (const off of offsets) {
      bytes += readSync(fd, buf, 0, 4096, off);
      if (++reads % 16 === 0 && performance.now() > end) break;
    }
    return { reads, of: Number(count), bytes };
  });
  closeSync(fd);
  process.stdout.write(`${JSON.stringify(r)}\n`);
} else {
  process.stderr.write('usage: probe.mjs neg ROOT DIRS_JSON ROUNDS | rand FILE COUNT BUDGET_MS [LIMIT]\n');
  process.exit(2);
}
