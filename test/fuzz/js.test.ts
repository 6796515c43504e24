// The Jazzer.js fuzz targets (fuzz/js/) in their short mode: every target runs MEDO_FUZZ_SECONDS (default
// 10) on seeds made from real data, and none may report a finding. About two and a half minutes for the
// twelve targets on CI's two cores; `bash fuzz/js/run.sh 600` is the long run.
import test from 'ava';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TargetResult } from '../../fuzz/js/run.js';
import { TARGETS } from '../../fuzz/js/seeds.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const SECONDS = Number(process.env.MEDO_FUZZ_SECONDS ?? 10);

test('every fuzz target runs on its seeds and finds nothing', async (t) => {
  // Fuzzing time, plus start-up, seeds and bundling; far less than this in practice.
  t.timeout((SECONDS + 30) * TARGETS.length * 1000 + 120_000);
  const dir = mkdtempSync(join(tmpdir(), 'medo-fuzz-test-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const summary = join(dir, 'summary.json');
  const { code, output } = await new Promise<{ code: number | null; output: string }>((resolve) => {
    const child = spawn('bash', [join(ROOT, 'fuzz', 'js', 'run.sh'), String(SECONDS)], {
      cwd: ROOT,
      env: { ...process.env, MEDO_FUZZ_SUMMARY: summary },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => { out += d.toString(); });
    child.stderr.on('data', (d: Buffer) => { out += d.toString(); });
    child.on('close', (c) => resolve({ code: c, output: out }));
  });
  t.is(code, 0, output);
  const results = JSON.parse(readFileSync(summary, 'utf8')) as TargetResult[];
  t.deepEqual(results.map((r) => r.target), [...TARGETS]);
  for (const r of results) {
    t.log(`${r.target}: ${r.executions} executions, cov ${r.initialCov} -> ${r.cov}, ft ${r.initialFt} -> ${r.ft}`);
    t.true(r.seeds > 0, `${r.target} had seeds`);
    t.true(r.executions > 0, `${r.target} ran`);
    t.true(r.cov > 0, `${r.target} reported coverage (the code under test was instrumented)`);
    t.is(r.exitCode, 0, `${r.target}: ${r.finding ?? ''}`);
    t.deepEqual(r.artifacts, [], `${r.target} wrote no crashing input`);
  }
});
