// The C in native/medo_core.c under libFuzzer with AddressSanitizer and UndefinedBehaviorSanitizer: a short
// run of fuzz/native/run.sh (MEDO_FUZZ_SECONDS per target, default 10). The script first checks that
// every target traps when its reference is spoilt on purpose, so a property that never runs fails here
// too; then each target must have run, found coverage, and reported nothing.
import test from 'ava';
import { spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const SCRIPT = join(ROOT, 'fuzz', 'native', 'run.sh');
const SECONDS = process.env.MEDO_FUZZ_SECONDS ?? '10';

const TARGETS = readdirSync(join(ROOT, 'fuzz', 'native'))
  .map((name) => /^fuzz_(\w+)\.c$/.exec(name)?.[1])
  .filter((name): name is string => name !== undefined)
  .sort();

function run(args: string[]): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(SCRIPT, args, { cwd: ROOT, env: { ...process.env, MEDO_FUZZ_WORK: '' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString('utf8')));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString('utf8')));
    child.on('error', reject);
    child.on('close', (status) => resolve({ status, stdout, stderr }));
  });
}

interface Figures {
  execs: number;
  cov: number;
  ft: number;
  corpus: number;
}

/** The "fuzz: TARGET execs=N cov=N ft=N corpus=N" lines, by target. */
function figures(stdout: string): Map<string, Figures> {
  const found = new Map<string, Figures>();
  for (const m of stdout.matchAll(/^fuzz: (\w+) execs=(\d+) cov=(\d+) ft=(\d+) corpus=(\d+)/gm)) {
    found.set(m[1]!, { execs: Number(m[2]), cov: Number(m[3]), ft: Number(m[4]), corpus: Number(m[5]) });
  }
  return found;
}

test('fuzz/native/run.sh: every target traps on a spoilt reference, then fuzzes clean', async (t) => {
  t.timeout(10 * 60_000);
  t.true(TARGETS.length >= 3, `targets: ${TARGETS.join(', ')}`);
  const r = await run([SECONDS]);
  t.log(r.stdout.trim());
  t.is(r.status, 0, r.stderr);
  for (const target of TARGETS) t.regex(r.stdout, new RegExp(`^self-test: ${target} trapped$`, 'm'));
  const got = figures(r.stdout);
  t.deepEqual([...got.keys()].sort(), TARGETS);
  for (const [target, f] of got) {
    t.true(f.execs > 0, `${target} ran no inputs`);
    t.true(f.cov > 0 && f.ft > 0, `${target} found no coverage`);
    t.true(f.corpus > 0, `${target} kept no corpus`);
  }
});

test('fuzz/native/run.sh refuses a duration that is not a whole number of seconds', async (t) => {
  const r = await run(['ten']);
  t.is(r.status, 2);
  t.regex(r.stderr, /usage/);
});
