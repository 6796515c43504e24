// A git repository mounted at several revisions (branch, annotated tag, commit id, tree id, rev:subdir, a
// bare clone's HEAD): every path, type, mode, size, symlink target and byte is git's view, with git's modes
// and the fixed time (no sidecar).
import test from 'ava';
import { writeFileSync, rmSync } from 'node:fs';
import { lstat, readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { constants } from 'node:fs';
import { git, initRepo, removeDir, sharedTempDir } from '../helpers/git-fixture.js';
import { expectedTree, readMountedTree, writeSourceTree } from '../helpers/mount-fixture.js';
import { removeMountpoint, startMount } from '../helpers/mount-process.js';

let root: string;
let work: string;
let bare: string;
let counter = 0;

const FIXED_MTIME_NS = 946_684_800n * 1_000_000_000n;

test.before(() => {
  root = sharedTempDir('medo-mount-git-');
  work = initRepo(join(root, 'work'));
  writeSourceTree(work);
  git(work, ['add', '-A']);
  git(work, ['commit', '-q', '-m', 'one']);
  git(work, ['tag', '-a', 'v1', '-m', 'version one']);
  writeFileSync(join(work, 'README.md'), 'changed\n');
  rmSync(join(work, 'many'), { recursive: true });
  git(work, ['add', '-A']);
  git(work, ['commit', '-q', '-m', 'two']);
  git(work, ['gc', '-q', '--aggressive']); // packs with deltas, as real repositories have
  writeFileSync(join(work, 'loose.txt'), 'a loose object\n');
  git(work, ['add', 'loose.txt']);
  git(work, ['commit', '-q', '-m', 'three']);
  bare = join(root, 'bare.git');
  git(root, ['clone', '-q', '--bare', work, bare]);
});

test.after.always(() => {
  if (root !== undefined) removeDir(root);
});

const revParse = (spec: string): string => git(work, ['rev-parse', spec]).toString().trim();

async function checkMount(t: import('ava').ExecutionContext, source: string, rev: string | undefined, treeish: string): Promise<void> {
  const mnt = join(root, `mnt-${counter++}`);
  t.teardown(() => removeMountpoint(mnt));
  const m = await startMount(source, mnt, rev === undefined ? [] : ['--rev', rev]);
  t.teardown(() => m.stop());
  const expected = expectedTree(source, treeish);
  const seen = new Map((await readMountedTree(mnt)).map((e) => [e.path, e]));
  t.deepEqual([...seen.keys()].sort(), expected.map((e) => e.path).sort());
  const problems: string[] = [];
  for (const e of expected) {
    const s = seen.get(e.path)!;
    const perm = e.type === 'dir' ? 0o755 : e.type === 'symlink' ? 0o777 : e.mode === 0o100755 ? 0o755 : 0o644;
    const type = e.type === 'dir' ? constants.S_IFDIR : e.type === 'symlink' ? constants.S_IFLNK : constants.S_IFREG;
    if (s.stat.mode !== BigInt(type | perm)) problems.push(`${e.path}: mode ${s.stat.mode.toString(8)}, git says ${e.mode.toString(8)}`);
    if (s.stat.mtimeNs !== FIXED_MTIME_NS) problems.push(`${e.path}: mtime ${s.stat.mtimeNs}`);
    if (e.type === 'dir') continue;
    if (s.stat.size !== BigInt(e.size)) problems.push(`${e.path}: size ${s.stat.size}, git says ${e.size}`);
    if (e.type === 'symlink' ? s.target !== e.content!.toString('utf8') : !s.content!.equals(e.content!)) problems.push(`${e.path}: content`);
  }
  t.deepEqual(problems, []);
  t.is((await m.stop()), 0);
}

test('branch', (t) => checkMount(t, work, 'main', 'main'));
test('annotated tag', (t) => checkMount(t, work, 'v1', 'v1'));
test('full commit id', (t) => checkMount(t, work, revParse('HEAD~1'), 'HEAD~1'));
test('tree id', (t) => checkMount(t, work, revParse('v1^{tree}'), 'v1^{tree}'));
test('rev:subdir', (t) => checkMount(t, work, 'v1:deep/a', 'v1:deep/a'));
test('default HEAD of a bare repository (packed refs)', (t) => checkMount(t, bare, undefined, 'HEAD'));

test('rev:file mounts the one file in the root', async (t) => {
  const mnt = join(root, 'mnt-file');
  t.teardown(() => removeMountpoint(mnt));
  const m = await startMount(work, mnt, ['--rev', 'HEAD:bin/run.sh']);
  t.teardown(() => m.stop());
  t.deepEqual(await readdir(mnt), ['run.sh']);
  t.is((await lstat(join(mnt, 'run.sh'))).mode & 0o7777, 0o755);
  t.true((await readFile(join(mnt, 'run.sh'))).equals(git(work, ['cat-file', 'blob', 'HEAD:bin/run.sh'])));
});
