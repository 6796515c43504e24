// Runs every Jazzer.js fuzz target in fuzz/js/targets/ for SECONDS each (default 20; MEDO_FUZZ_SECONDS
// too), one after the other, on seeds made from real data (seeds.ts), and prints each target's
// executions and coverage as libFuzzer reports them. Exits 1 on any finding (an exception that is not a
// MedoError, a broken property, a timeout, a crash, running out of memory) or a target that did not run.
//
//   bash fuzz/js/run.sh [SECONDS] [TARGET...]
//
// Jazzer.js 2.1.0 instruments modules as CommonJS require() loads them; medo is ESM, so each target is
// bundled with its share of lib/ into one CommonJS file by esbuild (tsx's own copy), which Jazzer then
// instruments whole: coverage feedback covers lib/, not just the target. MEDO_NO_NATIVE=1 makes lib/
// take its JavaScript paths; the delta and loose-object targets load the native helper themselves,
// when it is built, to hold it to the same answers.
//
// MEDO_FUZZ_SUMMARY=FILE writes the figures as JSON (test/fuzz/js.test.ts reads them). The seeds, the
// corpora grown and any crashing inputs are in a temp dir, removed after a clean run and kept (and named)
// after a finding.
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { TARGETS, makeSeeds, type Target } from './seeds.js';

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, '..', '..');

/**
 * Targets run in Jazzer's async mode: those whose parsers are async (streams, sockets), and those that
 * call node:zlib's sync functions on bad data, which (Node 20) keep about 16 KiB per failed call until
 * the event loop turns; --sync never turns it, and a 120 s run of those reached libFuzzer's 2 GiB limit.
 * The rest run with --sync.
 */
const ASYNC: ReadonlySet<Target> = new Set(['tar', 'daemon-protocol', 'http', 'remote-pack', 'pack-file', 'loose-object']);
/** libFuzzer dictionaries (dict/): the tokens of text formats, which byte mutations rarely spell out. */
const DICTS: Partial<Record<Target, string>> = { treeptr: 'json', meta: 'json', 'daemon-protocol': 'json', http: 'http', tar: 'tar' };

export interface TargetResult {
  target: Target;
  seconds: number;
  seeds: number;
  executions: number;
  execPerSec: number;
  /** libFuzzer's "cov" (coverage counters hit) and "ft" (features) after the seeds, and at the end. */
  initialCov: number;
  initialFt: number;
  cov: number;
  ft: number;
  corpus: number;
  exitCode: number | null;
  finding: string | undefined;
  artifacts: string[];
}

function parseArgs(argv: string[]): { seconds: number; targets: Target[] } {
  const [first, ...rest] = argv;
  const seconds = Number(first ?? process.env.MEDO_FUZZ_SECONDS ?? 20);
  if (!(Number.isInteger(seconds) && seconds > 0)) throw new Error(`usage: run.sh [SECONDS] [TARGET...]: SECONDS must be a whole number > 0, got ${first}`);
  for (const t of rest) if (!(TARGETS as readonly string[]).includes(t)) throw new Error(`unknown target ${t} (known: ${TARGETS.join(', ')})`);
  return { seconds, targets: rest.length > 0 ? rest as Target[] : [...TARGETS] };
}

async function bundle(targets: readonly Target[], out: string): Promise<void> {
  const esbuild = createRequire(createRequire(import.meta.url).resolve('tsx/package.json'))('esbuild') as typeof import('esbuild');
  await esbuild.build({
    entryPoints: targets.map((t) => join(here, 'targets', `${t}.ts`)),
    outdir: out,
    outExtension: { '.js': '.cjs' },
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    // Stack traces of findings then name the TypeScript lines.
    sourcemap: 'inline',
    // npm packages stay require()s (resolved through NODE_PATH) and uninstrumented; lib/ is in the bundle.
    packages: 'external',
    // import.meta.url of each lib/ module becomes the bundle's own URL.
    define: { 'import.meta.url': '__bundleUrl' },
    banner: { js: 'const __bundleUrl = require("node:url").pathToFileURL(__filename).href;' },
    logLevel: 'warning',
  });
}

const num = (s: string | undefined): number => (s === undefined ? 0 : Number(s));

/** The figures libFuzzer printed: the INITED line, the last status line, and the final stats. */
export function parseLog(log: string): Pick<TargetResult, 'executions' | 'execPerSec' | 'initialCov' | 'initialFt' | 'cov' | 'ft' | 'corpus'> {
  const status = [...log.matchAll(/^#(\d+)\s+(\w+)\s+cov: (\d+) ft: (\d+) corp: (\d+)\/\S+.*?(?:exec\/s: (\d+))?/gm)];
  const inited = status.find((m) => m[2] === 'INITED');
  const last = status[status.length - 1];
  const executed = /^stat::number_of_executed_units: (\d+)/m.exec(log)?.[1] ?? /^Done (\d+) runs/m.exec(log)?.[1] ?? last?.[1];
  return {
    executions: num(executed),
    execPerSec: num(/^stat::average_exec_per_sec:\s+(\d+)/m.exec(log)?.[1] ?? last?.[6]),
    initialCov: num(inited?.[3]),
    initialFt: num(inited?.[4]),
    cov: num(last?.[3]),
    ft: num(last?.[4]),
    corpus: num(last?.[5]),
  };
}

function runTarget(target: Target, bundleFile: string, corpus: string, artifacts: string, seconds: number, logFile: string): Promise<{ code: number | null; log: string }> {
  mkdirSync(artifacts, { recursive: true });
  const cli = join(root, 'node_modules', '@jazzer.js', 'core', 'dist', 'cli.js');
  const args = [cli, bundleFile, corpus, ...(ASYNC.has(target) ? [] : ['--sync']), '--timeout=10000', '--',
    `-max_total_time=${seconds}`, '-rss_limit_mb=2048', '-max_len=65536', '-print_final_stats=1', `-artifact_prefix=${artifacts}/`,
    ...(DICTS[target] === undefined ? [] : [`-dict=${join(here, 'dict', `${DICTS[target]}.dict`)}`])];
  return new Promise((resolvePromise) => {
    const child = spawn(process.execPath, args, {
      cwd: artifacts,
      // MEDO_FUZZ_TMP: the run's own temp dir for the files and sockets targets make (a finding ends the
      // process with _Exit, before any cleanup of theirs).
      env: { ...process.env, MEDO_NO_NATIVE: '1', MEDO_ROOT: root, MEDO_FUZZ_TMP: artifacts, NODE_PATH: join(root, 'node_modules') },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let log = '';
    child.stdout.on('data', (d: Buffer) => { log += d.toString(); });
    child.stderr.on('data', (d: Buffer) => { log += d.toString(); });
    // A hung target (libFuzzer's own -timeout fires inside one input) still ends: well after the budget.
    const killer = setTimeout(() => child.kill('SIGKILL'), (seconds + 120) * 1000);
    child.on('close', (code) => {
      clearTimeout(killer);
      writeFileSync(logFile, log);
      resolvePromise({ code, log });
    });
  });
}

/** The lines that say what the finding was: Jazzer's "==N== Uncaught Exception" block or libFuzzer's "ERROR:". */
function findingOf(log: string): string | undefined {
  const m = /^(==\d+== (?:Uncaught Exception|ERROR).*(?:\n(?!#|INFO|MS:|artifact_prefix).*){0,12})/m.exec(log);
  return m?.[1];
}

export async function runAll(seconds: number, targets: readonly Target[]): Promise<{ results: TargetResult[]; dir: string }> {
  execFileSync('bash', [join(here, 'addon', 'build.sh')], { stdio: 'inherit' });
  if (!existsSync(join(root, 'dist', 'cli', 'medo.js'))) execFileSync('npx', ['tsc', '-p', join(root, 'tsconfig.json')], { cwd: root, stdio: 'inherit' });
  const dir = mkdtempSync(join(tmpdir(), 'medo-fuzz-js-'));
  const seeds = await makeSeeds(root, join(dir, 'seeds'));
  await bundle(targets, join(dir, 'bundles'));
  const results: TargetResult[] = [];
  for (const target of targets) {
    const artifacts = join(dir, 'artifacts', target);
    const corpus = join(dir, 'seeds', 'corpus', target);
    const { code, log } = await runTarget(target, join(dir, 'bundles', `${target}.cjs`), corpus, artifacts, seconds, join(dir, `${target}.log`));
    // The first written is the finding; in async mode libFuzzer's exit handler may dump the unit it had moved on to.
    const found = readdirSync(artifacts).filter((f) => /^(crash|timeout|oom|leak|slow-unit)-/.test(f)).map((f) => join(artifacts, f))
      .sort((a, b) => statSync(a).mtimeMs - statSync(b).mtimeMs);
    const r: TargetResult = { target, seconds, seeds: seeds[target], ...parseLog(log), exitCode: code, finding: findingOf(log), artifacts: found };
    if (code !== 0 && r.finding === undefined) r.finding = log.split('\n').slice(-25).join('\n');
    results.push(r);
    const figures = `${r.executions} executions (${r.execPerSec}/s), cov ${r.initialCov} -> ${r.cov}, ft ${r.initialFt} -> ${r.ft}, corpus ${r.seeds} -> ${r.corpus}`;
    console.log(`fuzz ${target.padEnd(16)} ${code === 0 ? 'ok     ' : 'FINDING'} ${figures}`);
    if (code !== 0) console.log(`${r.finding}\n  log: ${join(dir, `${target}.log`)}\n  inputs: ${found.join(' ') || '(none written)'}`);
  }
  return { results, dir };
}

async function main(): Promise<void> {
  const { seconds, targets } = parseArgs(process.argv.slice(2));
  const { results, dir } = await runAll(seconds, targets);
  if (process.env.MEDO_FUZZ_SUMMARY) writeFileSync(process.env.MEDO_FUZZ_SUMMARY, `${JSON.stringify(results, null, 2)}\n`);
  const bad = results.filter((r) => r.exitCode !== 0 || r.executions === 0 || r.artifacts.length > 0);
  if (bad.length === 0) {
    rmSync(dir, { recursive: true, force: true });
    console.log(`fuzz: ${results.length} targets, no findings`);
    return;
  }
  console.log(`fuzz: ${bad.length} of ${results.length} targets failed: ${bad.map((r) => r.target).join(', ')} (seeds, corpora and inputs kept in ${dir})`);
  process.exitCode = 1;
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) await main();
