// The second cat-file dataset (issue 13, part 4): the Linux source tree from Debian's linux-source-6.1,
// committed once into a git repository and packed by git itself (`git add -A` then `git repack -a -d`,
// git's default window and depth), so that the pack holds git's own deltas. The source tarball is the one
// the suite downloads (bench/out/suite/data/downloads/, shared); the repository is kept in
// bench/out/linux.git and rebuilt only when its recipe below changes.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { linuxTarball } from '../suite/datasets.mjs';

const RECIPE = 'linux-source-6.1, git add -A -f, one commit, git repack -a -d (git defaults)';

const GIT_ENV = {
  ...process.env,
  GIT_AUTHOR_NAME: 'medo bench', GIT_AUTHOR_EMAIL: 'bench@medo.invalid', GIT_AUTHOR_DATE: '1700000000 +0000',
  GIT_COMMITTER_NAME: 'medo bench', GIT_COMMITTER_EMAIL: 'bench@medo.invalid', GIT_COMMITTER_DATE: '1700000000 +0000',
  GIT_CONFIG_NOSYSTEM: '1', GIT_CONFIG_GLOBAL: '/dev/null',
};

/** Path of the prepared bare repository under `outDir`, built first when missing or made by another recipe. */
export async function prepareLinuxRepo(outDir, log) {
  outDir = resolve(outDir);
  const repo = join(outDir, 'linux.git');
  const stamp = join(outDir, 'linux.json');
  if (existsSync(stamp) && readFileSync(stamp, 'utf8') === RECIPE && existsSync(repo)) return repo;
  const { txz } = await linuxTarball(join(outDir, 'suite', 'data', 'downloads'));
  rmSync(stamp, { force: true });
  rmSync(repo, { recursive: true, force: true });
  mkdirSync(outDir, { recursive: true });
  const scratch = mkdtempSync(join(outDir, 'linux-scratch-'));
  try {
    log('unpacking the Linux source, git add, git repack -a -d (several minutes)');
    execFileSync('tar', ['-xJf', txz, '-C', scratch, '--no-same-owner']);
    const [top] = execFileSync('ls', [scratch]).toString().split('\n');
    const work = join(scratch, top);
    const git = (args) => execFileSync('git', ['-C', work, '-c', 'gc.auto=0', ...args],
      { env: GIT_ENV, stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 1 << 26 }).toString().trim();
    git(['init', '-q']);
    // -f: the tarball carries the kernel's .gitignore files, which would leave some of its files out.
    git(['add', '-A', '-f', '.']);
    const files = Number(git(['ls-files']).split('\n').length);
    if (files < 10_000) throw new Error(`git add of the Linux source in ${work} staged only ${files} files`);
    const tree = git(['write-tree']);
    const commit = git(['commit-tree', tree, '-m', 'linux']);
    git(['update-ref', 'refs/heads/main', commit]);
    git(['symbolic-ref', 'HEAD', 'refs/heads/main']);
    git(['repack', '-a', '-d', '-q']);
    git(['prune', '--expire=now']);
    git(['config', 'core.bare', 'true']);
    rmSync(join(work, '.git', 'index'));
    execFileSync('mv', [join(work, '.git'), repo]);
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
  writeFileSync(stamp, RECIPE);
  return repo;
}
