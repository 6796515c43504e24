// Load over time (issue 15, part 4): one medod serving 10 mounts, 64 concurrent readers in 4 processes
// (test/helpers/load-reader.mjs) running mixed workloads -- tar-like walks, random reads of big files,
// stat storms, absent names -- with every byte checked against the source. The daemon's resident
// memory and open file descriptors are sampled from /proc while it runs: neither may keep growing.
// MEDO_LOAD_SECONDS sets the length (default 60; the documented long run is 600, docs/reliability.md).
import test from 'ava';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { lstatSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { lstat } from 'node:fs/promises';
import { join } from 'node:path';
import { removeDir, sharedTempDir } from '../helpers/git-fixture.js';
import { buildMedoFixture, writeSourceTree } from '../helpers/mount-fixture.js';
import { REPO_ROOT, removeMountpoint } from '../helpers/mount-process.js';
import { fdCount, rssBytes, startDaemon, type RunningDaemon } from '../helpers/medod-process.js';

const SECONDS = Number(process.env.MEDO_LOAD_SECONDS ?? 60);
const MOUNTS = 10;
const PROCESSES = 4;
const READERS_EACH = 16;

let root: string;
let d: RunningDaemon | undefined;
let mnts: string[] = [];

test.after.always(async () => {
  await d?.stop(mnts);
  for (const m of mnts) removeMountpoint(m);
  if (root !== undefined) removeDir(root);
});

interface PlanFile { path: string; size: number; mode: number; sha1: string; source: string }

/** Regular files below `dir`, as the mount shows them below `prefix`. */
function sourceFiles(dir: string, prefix: string, rel = ''): Omit<PlanFile, 'mode'>[] {
  const out: Omit<PlanFile, 'mode'>[] = [];
  for (const e of readdirSync(join(dir, rel), { withFileTypes: true })) {
    const r = rel === '' ? e.name : `${rel}/${e.name}`;
    if (e.isDirectory()) out.push(...sourceFiles(dir, prefix, r));
    else if (e.isFile()) {
      const bytes = readFileSync(join(dir, r));
      out.push({ path: `${prefix}/${r}`, size: bytes.length, sha1: createHash('sha1').update(bytes).digest('hex'), source: join(dir, r) });
    }
  }
  return out;
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;

test(`${MOUNTS} mounts, ${PROCESSES * READERS_EACH} readers, ${SECONDS} s: every byte right, memory and fds flat`, async (t) => {
  t.timeout((SECONDS + 300) * 1000);
  root = sharedTempDir('medo-load-');
  const src = join(root, 'src');
  writeSourceTree(src);
  const fx = buildMedoFixture(root, src);
  d = await startDaemon(join(root, 'd'));
  mnts = Array.from({ length: MOUNTS }, (_, i) => join(root, `mnt-${i}`));
  for (const m of mnts) {
    mkdirSync(m);
    await d.request({ op: 'mount', source: fx.medoDir, mountpoint: m });
  }
  // The bytes come from the source; the modes the readers hold every answer to are the first mount's.
  const files: PlanFile[] = [];
  for (const f of [...sourceFiles(src, 'debian/bullseye/wedge'), { ...sourceFiles(src, 'x').find((x) => x.path === 'x/big.bin')!, path: 'tools/big.bin' }]) {
    files.push({ ...f, mode: (await lstat(join(mnts[0]!, f.path))).mode & 0o170777 });
  }
  t.true(files.length > 20 && files.some((f) => f.size >= 1 << 20), 'small files and big ones');
  for (const f of files) t.is(f.mode & 0o170000, lstatSync(f.source).mode & 0o170000, f.path);

  const samples: { rss: number; fds: number }[] = [];
  const sampler = setInterval(() => samples.push({ rss: rssBytes(d!.pid), fds: fdCount(d!.pid) }), Math.max(500, SECONDS * 10));
  const results = await Promise.all(Array.from({ length: PROCESSES }, (_, p) => {
    const plan = join(root, `plan-${p}.json`);
    writeFileSync(plan, JSON.stringify({ mounts: mnts, readers: READERS_EACH, seconds: SECONDS, seed: 1000 + p, files }));
    return new Promise<{ ops: Record<string, number>; bytes: number; errors: string[] }>((resolve, reject) => {
      const child = spawn(process.execPath, [join(REPO_ROOT, 'test', 'helpers', 'load-reader.mjs'), plan], {
        env: { ...process.env, UV_THREADPOOL_SIZE: String(READERS_EACH) }, stdio: ['ignore', 'pipe', 'inherit'],
      });
      let out = '';
      child.stdout.on('data', (c: Buffer) => (out += c.toString()));
      child.on('close', (code) => (code === 0 ? resolve(JSON.parse(out)) : reject(new Error(`reader ${p} exited ${code}: ${out}`))));
    });
  }));
  clearInterval(sampler);

  const errors = results.flatMap((r) => r.errors);
  t.deepEqual(errors.slice(0, 10), [], 'every answer right');
  const ops = { walk: 0, random: 0, stat: 0, absent: 0 };
  for (const r of results) for (const k of Object.keys(ops) as (keyof typeof ops)[]) ops[k] += r.ops[k] ?? 0;
  for (const [k, n] of Object.entries(ops)) t.true(n > 0, `${k} ran`);
  const bytes = results.reduce((n, r) => n + r.bytes, 0);
  const status = await d.status();
  t.is(status.mounts.length, MOUNTS);
  t.is(status.mounts.reduce((n, m) => n + m.counters.errors, 0), 0, 'the daemon counted no errors');
  t.is(d.child.exitCode, null);

  // Flat: after a warm-up quarter, the last quarter's median is within bounds of the second quarter's.
  const q = Math.floor(samples.length / 4);
  t.true(q >= 2, `${samples.length} samples`);
  const early = samples.slice(q, 2 * q);
  const late = samples.slice(3 * q);
  const rssEarly = median(early.map((s) => s.rss));
  const rssLate = median(late.map((s) => s.rss));
  const fdsEarly = median(early.map((s) => s.fds));
  const fdsLate = Math.max(...late.map((s) => s.fds));
  t.log(`${SECONDS} s: ${ops.walk} walks, ${ops.random} random-read batches, ${ops.stat} stat storms, ${ops.absent} absent batches; ` +
    `${(bytes / 2 ** 20).toFixed(0)} MiB read and checked; medod RSS ${(rssEarly / 2 ** 20).toFixed(0)} -> ${(rssLate / 2 ** 20).toFixed(0)} MiB, ` +
    `fds ${fdsEarly} -> ${fdsLate} (${samples.length} samples)`);
  t.true(rssLate <= rssEarly * 1.2 + 24 * 2 ** 20, `RSS grew from ${rssEarly} to ${rssLate}`);
  t.true(fdsLate <= fdsEarly + 4, `fds grew from ${fdsEarly} to ${fdsLate}`);
});
