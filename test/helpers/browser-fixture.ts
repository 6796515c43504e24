// A silo and a medo directory with a history, for the silo browser's tests: version 1 of a wedge (the
// sample tree: modes, symlinks, empty directories, awkward names, a 3 MiB binary), version 2 added with
// version 1 as its delta base (a thin pack of REF_DELTA entries), both committed to git as the same
// .treeptr, and an opaque tarball kept as a loose blob. Real git hashes the same directories into an
// oracle repository, whose objects the browser's answers are compared with.
import { execFileSync } from 'node:child_process';
import { chmodSync, cpSync, mkdirSync, readFileSync, rmSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from './cli-process.js';
import { git, initRepo } from './git-fixture.js';
import { makeMedoLayout, makeSampleTree } from './medo-fixture.js';

export interface BrowserFixture {
  siloDir: string;
  medoDir: string;
  /** A git repository holding every tree and blob of both versions (the oracle). */
  oracle: string;
  v1: string;
  v2: string;
  /** The opaque blob's id. */
  blob: string;
}

export function cli(program: 'medo' | 'silo', args: readonly string[]): string {
  return execFileSync(process.execPath, [join(ROOT, 'bin', `${program}.js`), ...args], { encoding: 'utf8', env: { ...process.env, CI: '1' }, stdio: ['ignore', 'pipe', 'pipe'] });
}

function oracleTree(oracle: string, dir: string): string {
  const env = { GIT_DIR: join(oracle, '.git'), GIT_WORK_TREE: dir, GIT_INDEX_FILE: join(oracle, `index-${Math.random()}`) };
  execFileSync('git', ['add', '-A', '.'], { cwd: dir, env: { ...process.env, ...env } });
  return execFileSync('git', ['write-tree'], { cwd: dir, env: { ...process.env, ...env }, encoding: 'utf8' }).trim();
}

/** Version 2: edits, an addition, a removal, a mode change, a file become a symlink, a file become a directory. */
function makeVersion2(v1: string, v2: string): void {
  cpSync(v1, v2, { recursive: true, verbatimSymlinks: true, preserveTimestamps: true });
  writeFileSync(join(v2, 'README'), 'hello medo, version 2\n');
  writeFileSync(join(v2, 'many/f007.txt'), `${readFileSync(join(v2, 'many/f007.txt'), 'utf8')}one more line\n`);
  writeFileSync(join(v2, 'doc/manual.txt'), readFileSync(join(v2, 'doc/manual.txt'), 'utf8').replace('line 1000:', 'line 1000 (revised):'));
  writeFileSync(join(v2, 'NEWS'), 'version 2: changed README\n');
  rmSync(join(v2, 'etc/readonly.conf'));
  chmodSync(join(v2, 'lib/python3/site.py'), 0o755);
  unlinkSync(join(v2, 'share/empty-file'));
  symlinkSync('../README', join(v2, 'share/empty-file'));
  rmSync(join(v2, 'many/f010.txt'));
  mkdirSync(join(v2, 'many/f010.txt'));
  writeFileSync(join(v2, 'many/f010.txt/now-a-dir'), 'inside\n');
}

export function makeBrowserFixture(root: string): BrowserFixture {
  const { siloDir, medoDir } = makeMedoLayout(root);
  initRepo(medoDir);
  const v1Src = join(root, 'v1');
  const v2Src = join(root, 'v2');
  makeSampleTree(v1Src);
  // Big enough that version 2's edit of one line is stored as a delta.
  mkdirSync(join(v1Src, 'doc'));
  writeFileSync(join(v1Src, 'doc/manual.txt'), Array.from({ length: 2000 }, (_, i) => `line ${i}: the manual of the sample wedge\n`).join(''));
  makeVersion2(v1Src, v2Src);
  const oracle = initRepo(join(root, 'oracle'));
  const v1 = oracleTree(oracle, v1Src);
  const v2 = oracleTree(oracle, v2Src);

  const ptr = join(medoDir, 'pkg', 'sample.treeptr');
  cli('medo', ['add', '--url', 'https://example.org/sample-1.tar.gz', v1Src, ptr]);
  cpSync(ptr, join(medoDir, 'pkg', 'sample-1.treeptr'));
  git(medoDir, ['add', '-A']);
  git(medoDir, ['commit', '-q', '-m', 'sample 1']);
  cli('medo', ['add', '--delta-base', join(medoDir, 'pkg', 'sample-1.treeptr'), v2Src, ptr]);
  git(medoDir, ['add', '-A']);
  git(medoDir, ['commit', '-q', '-m', 'sample 2']);

  const tarball = join(root, 'upstream.tar');
  execFileSync('tar', ['-cf', tarball, '-C', v1Src, 'README', 'many']);
  cli('medo', ['add', '--blob', tarball, join(medoDir, 'upstream.tar.treeptr')]);
  git(medoDir, ['add', '-A']);
  git(medoDir, ['commit', '-q', '-m', 'upstream tarball']);
  const blob = (JSON.parse(readFileSync(join(medoDir, 'upstream.tar.treeptr'), 'utf8')) as { blob: string }).blob;
  execFileSync('git', ['hash-object', '-w', tarball], { cwd: oracle });

  const t1 = (JSON.parse(execFileSync('git', ['show', 'HEAD~2:pkg/sample.treeptr'], { cwd: medoDir, encoding: 'utf8' })) as { tree: string }).tree;
  const t2 = (JSON.parse(readFileSync(ptr, 'utf8')) as { tree: string }).tree;
  if (t1 !== v1 || t2 !== v2) throw new Error(`medo add gave trees ${t1} and ${t2}, git gives ${v1} and ${v2}`);
  return { siloDir, medoDir, oracle, v1, v2, blob };
}
