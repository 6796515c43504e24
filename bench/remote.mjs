#!/usr/bin/env node
// `medo expand` of a wedge whose silo is served by nginx on loopback (cold cache each time), against
// `curl URL | tar -xz` of the same tree as a .tar.gz from the same nginx (the goal: at most 1.0x).
// Medians over --reps runs, alternating; the ratio is medo/curl+tar wall time. nginx must be installed
// (scripts/setup.sh); it runs in the foreground with a generated config and is stopped at the end.
// `medo expand` runs twice per rep: with --whole-packs (one download per pack) and with Range requests per
// object (what a partial read does).
// Usage: node bench/remote.mjs [--tree DIR] [--out DIR] [--reps N]   (needs `npx tsc -p .` first)
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { startNginx } from './nginx.mjs';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const MEDO = join(ROOT, 'bin', 'medo.js');
const { values: opts } = parseArgs({ options: { tree: { type: 'string' }, out: { type: 'string' }, reps: { type: 'string', default: '3' } } });
const reps = Number(opts.reps);
const tree = resolve(opts.tree ?? join(ROOT, 'node_modules'));
const out = resolve(opts.out ?? join(ROOT, 'bench', 'out', 'remote'));
const log = (s) => process.stderr.write(`bench: ${s}\n`);
const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];

rmSync(out, { recursive: true, force: true });
mkdirSync(join(out, 'www', 'deps.silo'), { recursive: true });
mkdirSync(join(out, 'm.medo'), { recursive: true });
execFileSync(process.execPath, [join(ROOT, 'bin', 'silo.js'), 'init', join(out, 'www', 'deps.silo')]);
writeFileSync(join(out, 'm.medo', 'SILO.json'), JSON.stringify({ silos: [join(out, 'www', 'deps.silo')] }));
log(`medo add ${tree}`);
execFileSync(process.execPath, [MEDO, 'add', tree, join(out, 'm.medo', 'tree.treeptr')], { stdio: ['ignore', 'ignore', 'inherit'] });
log('tar -czf');
execFileSync('tar', ['-czf', join(out, 'www', 'tree.tar.gz'), '-C', tree, '.']);
const nginx = await startNginx({ root: join(out, 'www'), dir: join(out, 'nginx') });
writeFileSync(join(out, 'm.medo', 'SILO.json'), JSON.stringify({ silos: [`${nginx.origin}/deps.silo/`] }));
try {
  const time = (cmd, args, env) => {
    spawnSync('sync');
    const t0 = process.hrtime.bigint();
    const r = spawnSync(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, CI: '1', ...env } });
    if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')}: ${r.stderr}`);
    return Number(process.hrtime.bigint() - t0) / 1e6;
  };
  const medo = [];
  const ranges = [];
  const tar = [];
  for (let i = 0; i < reps; i++) {
    rmSync(join(out, 'dest'), { recursive: true, force: true });
    rmSync(join(out, 'cache'), { recursive: true, force: true });
    medo.push(time(process.execPath, [MEDO, 'expand', '--whole-packs', join(out, 'm.medo', 'tree.treeptr'), join(out, 'dest')], { MEDO_CACHE_DIR: join(out, 'cache') }));
    rmSync(join(out, 'dest'), { recursive: true, force: true });
    rmSync(join(out, 'cache'), { recursive: true, force: true });
    ranges.push(time(process.execPath, [MEDO, 'expand', join(out, 'm.medo', 'tree.treeptr'), join(out, 'dest')], { MEDO_CACHE_DIR: join(out, 'cache') }));
    rmSync(join(out, 'dest'), { recursive: true, force: true });
    mkdirSync(join(out, 'dest'));
    tar.push(time('sh', ['-c', `curl -sf ${nginx.origin}/tree.tar.gz | tar -xz -C ${join(out, 'dest')}`]));
  }
  const m = median(medo);
  const t = median(tar);
  const r = median(ranges);
  process.stdout.write(`${JSON.stringify({ tree, reps, wholePacksMs: m, rangesMs: r, curlTarMs: t, wholePacksRatio: m / t, rangesRatio: r / t, goal: 1.0 })}\n`);
} finally {
  await nginx.stop();
}
