// The cat-file dataset: a git repository whose history is successive published versions of a few npm
// packages, one commit per version, then `git gc --aggressive` so that blobs sit in long delta chains,
// as they do in real repositories. Tarballs come from the npm registry (`npm pack`) and are cached, and
// so is the finished repository: it is rebuilt only when DATASET below changes.
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statfsSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

// Versions are committed interleaved: step i commits the i-th version of every package that has one.
export const DATASET = {
  typescript: ['5.0.4', '5.1.6', '5.2.2', '5.3.3', '5.4.5', '5.5.4', '5.6.3', '5.7.3', '5.8.3', '5.9.3'],
  rxjs: ['7.0.0', '7.0.1', '7.1.0', '7.2.0', '7.3.0', '7.3.1', '7.4.0', '7.5.0', '7.5.2', '7.5.4', '7.5.5', '7.5.7', '7.6.0',
    '7.7.0', '7.8.0', '7.8.1', '7.8.2'],
  'date-fns': ['2.16.1', '2.17.0', '2.18.0', '2.19.0', '2.20.0', '2.21.0', '2.21.3', '2.22.1', '2.23.0', '2.24.0', '2.25.0',
    '2.26.0', '2.27.0', '2.28.0', '2.29.1', '2.29.3', '2.30.0', '3.0.0', '3.3.1', '3.6.0', '4.0.0', '4.1.0'],
  lodash: ['4.17.15', '4.17.19', '4.17.20', '4.17.21'],
};

// Fixed identity and dates: the same DATASET gives the same object ids on every machine.
export const GIT_ENV = {
  ...process.env,
  GIT_AUTHOR_NAME: 'medo bench',
  GIT_AUTHOR_EMAIL: 'bench@medo.invalid',
  GIT_COMMITTER_NAME: 'medo bench',
  GIT_COMMITTER_EMAIL: 'bench@medo.invalid',
  GIT_CONFIG_NOSYSTEM: '1',
  GIT_CONFIG_GLOBAL: '/dev/null',
};

/** The file `npm pack NAME@VERSION` writes (a scope's @ dropped, its / a dash). */
export const tarballName = (name, version) => `${name.replace(/^@/, '').replace('/', '-')}-${version}.tgz`;

/** Fetches into `cacheDir` (with one `npm pack`) the tarballs of `dataset` ({ name: [versions] }) it lacks. */
export function fetchTarballs(cacheDir, dataset = DATASET) {
  mkdirSync(cacheDir, { recursive: true });
  const missing = Object.entries(dataset).flatMap(([name, versions]) =>
    versions.filter((v) => !existsSync(join(cacheDir, tarballName(name, v)))).map((v) => `${name}@${v}`));
  if (missing.length === 0) return;
  execFileSync('npm', ['pack', ...missing, '--pack-destination', cacheDir, '--silent'], { cwd: cacheDir, stdio: ['ignore', 'ignore', 'inherit'] });
}

const git = (repo, args, env = GIT_ENV) => execFileSync('git', ['-C', repo, ...args], { env, stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 1 << 30 });

// Extracting 53 tarballs (up to ~6,000 files each) and writing ~36,000 loose objects is mostly file-system
// work; on tmpfs it took a third of the time it took on disk here. Only the packed result (~23 MB) is
// copied into `outDir`.
const SCRATCH_MIN_BYTES = 2 ** 31;

function scratchDir(outDir) {
  try {
    const fs = statfsSync('/dev/shm');
    if (fs.bavail * fs.bsize >= SCRATCH_MIN_BYTES) return mkdtempSync('/dev/shm/medo-bench-');
  } catch {
    // no tmpfs here: build in place
  }
  return mkdtempSync(join(outDir, 'scratch-'));
}

function buildRepo(tarballs, repo, work) {
  execFileSync('git', ['init', '-q', '--bare', repo], { env: GIT_ENV });
  const inWork = (args, env) => execFileSync('git', ['--git-dir', repo, '--work-tree', '.', '-c', 'gc.auto=0', ...args],
    { cwd: work, env, stdio: ['ignore', 'ignore', 'inherit'] });
  const steps = Math.max(...Object.values(DATASET).map((v) => v.length));
  let commit = 0;
  for (let i = 0; i < steps; i++) {
    for (const [name, versions] of Object.entries(DATASET)) {
      const version = versions[i];
      if (version === undefined) continue;
      const dir = join(work, name);
      rmSync(dir, { recursive: true, force: true });
      mkdirSync(dir, { recursive: true });
      execFileSync('tar', ['xzf', join(tarballs, tarballName(name, version)), '-C', dir, '--strip-components=1', '--no-same-owner']);
      const date = `${1700000000 + commit++ * 3600} +0000`;
      const env = { ...GIT_ENV, GIT_AUTHOR_DATE: date, GIT_COMMITTER_DATE: date };
      inWork(['add', '-A', '.'], env);
      inWork(['commit', '-q', '--no-verify', '-m', `${name} ${version}`], env);
    }
  }
  git(repo, ['gc', '-q', '--aggressive', '--prune=now']);
  const packs = readdirSync(join(repo, 'objects', 'pack')).filter((n) => n.endsWith('.pack'));
  if (packs.length !== 1) throw new Error(`expected one pack after gc in ${repo}, found ${packs.length}`);
}

/** Path of the prepared bare repository under `outDir`, built first when missing or made from another DATASET. */
export function prepareRepo(outDir, log) {
  outDir = resolve(outDir);
  const tarballs = join(outDir, 'tarballs');
  const repo = join(outDir, 'npm-history.git');
  const stamp = join(outDir, 'npm-history.json');
  const spec = JSON.stringify(DATASET);
  if (existsSync(stamp) && readFileSync(stamp, 'utf8') === spec && existsSync(repo)) return repo;

  log('fetching tarballs (npm pack)');
  fetchTarballs(tarballs);
  log('committing every version, then git gc --aggressive (a minute or two)');
  rmSync(stamp, { force: true });
  rmSync(repo, { recursive: true, force: true });
  const scratch = scratchDir(outDir);
  try {
    const built = join(scratch, 'repo.git');
    const work = join(scratch, 'work');
    mkdirSync(work);
    buildRepo(tarballs, built, work);
    cpSync(built, repo, { recursive: true });
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
  writeFileSync(stamp, spec);
  return repo;
}
