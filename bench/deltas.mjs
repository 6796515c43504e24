#!/usr/bin/env node
// Issue 13, versions stored and shipped as differences, measured on chains of real versions made at run
// time (bench/deltas/datasets.mjs: npm releases, Debian packages, CPython prefixes):
//   1. the silo after adding every version whole, after `silo repack -f`, against git's repack of the
//      same trees (size goal: at most 1.05x git; time goal: at most 1.0x), and git verify-pack of its pack;
//   2. bytes nginx sends for version B to a host holding A: object by object, with a static delta,
//      against git's thin pack and zstd --patch-from (goal: the static delta no larger than the thin pack);
//   3. time to upgrade an expanded A to B in place against a full expand of B, both with a cold cache.
// Prints markdown tables, writes every sample to bench/out/deltas.json. Exits 1 only when something is
// wrong (trees that differ, a failed verify, a published delta left unused), never because of a goal.
// Usage: node bench/deltas.mjs [--quick] [--only NAME,...] [--reps N] [--keep]   (needs `npx tsc -p .` first)
import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, loadavg } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { runChain } from './deltas/chain.mjs';
import { CHAINS, QUICK, prepareChain } from './deltas/datasets.mjs';
import { CommandFailed, Mismatch } from './deltas/run.mjs';
import { GOALS, formatTables } from './deltas/table.mjs';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const OUT = join(ROOT, 'bench', 'out');
const { values: opts } = parseArgs({
  options: { quick: { type: 'boolean' }, only: { type: 'string' }, reps: { type: 'string' }, keep: { type: 'boolean' } },
});
const reps = Number(opts.reps ?? (opts.quick ? 1 : 3));
if (!(Number.isInteger(reps) && reps >= 1)) throw new Error(`--reps must be a positive integer, got ${opts.reps}`);
let chains = opts.quick ? [QUICK] : CHAINS;
if (opts.only !== undefined) {
  const names = opts.only.split(',');
  const unknown = names.filter((n) => !CHAINS.some((c) => c.name === n));
  if (unknown.length > 0) throw new Error(`--only: no chain named ${unknown.join(', ')} (chains: ${CHAINS.map((c) => c.name).join(', ')})`);
  chains = chains.filter((c) => names.includes(c.name));
  if (chains.length === 0) throw new Error(`--only ${opts.only}: --quick runs ${QUICK.name} only`);
}
for (const tool of ['git', 'zstd', 'tar', 'npm']) {
  try {
    execFileSync(tool, ['--version'], { stdio: 'ignore' });
  } catch {
    throw new Error(`${tool} is not installed (scripts/setup.sh)`);
  }
}
// An interrupt ends the run through process.exit, whose handlers stop nginx (bench/nginx.mjs).
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => process.exit(130));

const log = (s) => process.stderr.write(`deltas: ${s}\n`);
const version = (cmd, args) => execFileSync(cmd, args).toString().trim().split('\n')[0];
const result = {
  started: new Date().toISOString(), node: process.version, git: version('git', ['--version']), zstd: version('zstd', ['--version']),
  cpus: availableParallelism(), loadAverage: { start: loadavg() }, quick: opts.quick === true, reps, goals: GOALS, chains: [], problems: [],
};
const workRoot = join(OUT, 'deltas', 'work');
for (const chain of chains) {
  let versions;
  try {
    versions = prepareChain(chain, OUT, log);
  } catch (e) {
    // npm or apt could not deliver (no network?): nothing measured, and the exit says so.
    log(`${chain.name}: could not be made: ${e.message}`);
    result.problems.push(`${chain.name}: the data could not be made: ${e.message.split('\n')[0]}`);
    result.chains.push({ name: chain.name, error: e.message });
    continue;
  }
  if (!Array.isArray(versions)) {
    log(`${chain.name}: skipped: ${versions.skipped}`);
    result.chains.push({ name: chain.name, skipped: versions.skipped });
    continue;
  }
  try {
    result.chains.push(await runChain(chain.name, versions, { work: join(workRoot, chain.name), reps, log, problems: result.problems }));
  } catch (e) {
    // A command that failed, or trees that differ: the other chains still run, and the exit says so.
    if (!(e instanceof CommandFailed || e instanceof Mismatch)) throw e;
    log(`${chain.name}: failed: ${e.message}`);
    result.problems.push(`${chain.name}: ${e.message}`);
    result.chains.push({ name: chain.name, error: e.message });
  } finally {
    if (!opts.keep) rmSync(join(workRoot, chain.name), { recursive: true, force: true });
  }
}
if (!opts.keep) rmSync(workRoot, { recursive: true, force: true });
result.loadAverage.end = loadavg();
mkdirSync(OUT, { recursive: true });
const jsonPath = join(OUT, 'deltas.json');
writeFileSync(jsonPath, `${JSON.stringify(result, null, 2)}\n`);
process.stdout.write(`${formatTables(result)}\nresults: ${relative(process.cwd(), jsonPath)}\n`);
process.exitCode = result.problems.length > 0 ? 1 : 0;
