// GitRepo as git lays repositories out: a work tree with loose objects, the same after gc, a bare
// repository, a `.git` directory given directly, a `gitdir:` file, a linked work tree and a clone that
// borrows objects through objects/info/alternates. In each, every object git lists must read back equal
// to `git cat-file`.
import test from 'ava';
import { cpSync, mkdirSync, readdirSync, unlinkSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { GitRepo } from '../../../lib/git/git-repo.js';
import { assertReadsLikeGit, git, gitLines, gitObjects, initRepo, removeDir, sharedTempDir, tempDir } from '../../helpers/git-fixture.js';
import { makeHistory } from '../../helpers/history.js';
import { throwsCode } from '../../helpers/medo-error.js';

let root: string;
let source: string; // a work tree whose objects are all loose; tests that change a repository copy it

test.before(() => {
  root = sharedTempDir('medo-git-repo-');
  source = join(root, 'source');
  mkdirSync(source);
  makeHistory(source);
});

test.after.always(() => removeDir(root));

function copyOfSource(t: import('ava').ExecutionContext): string {
  const dir = join(tempDir(t), 'repo');
  cpSync(source, dir, { recursive: true, verbatimSymlinks: true });
  return dir;
}

function readsLikeGit(t: import('ava').ExecutionContext, openPath: string, gitCwd = openPath): GitRepo {
  const repo = GitRepo.open(openPath);
  t.teardown(() => repo.close());
  assertReadsLikeGit(t, (oid) => repo.read(oid), gitObjects(gitCwd));
  return repo;
}

test('a work tree with loose objects only', (t) => {
  const repo = readsLikeGit(t, source);
  t.is(repo.gitDir, join(source, '.git'));
  t.is(readdirSync(join(source, '.git', 'objects', 'pack')).length, 0, 'nothing is packed');
});

test('after gc --aggressive: packed objects and the unreachable ones left loose', (t) => {
  const dir = copyOfSource(t);
  git(dir, ['gc', '-q', '--aggressive']);
  t.true(readdirSync(join(dir, '.git', 'objects', 'pack')).some((n) => n.endsWith('.idx')));
  readsLikeGit(t, dir);
  readsLikeGit(t, join(dir, '.git'), dir); // the .git directory itself
});

test('a bare repository', (t) => {
  const bare = join(tempDir(t), 'bare.git');
  git(root, ['clone', '-q', '--bare', '--no-local', source, bare]);
  t.is(readsLikeGit(t, bare).gitDir, bare);
});

test('a work tree whose .git is a gitdir: file', (t) => {
  const dir = tempDir(t);
  const work = join(dir, 'work');
  const gitDir = join(dir, 'elsewhere.git');
  git(dir, ['init', '-q', `--separate-git-dir=${gitDir}`, work]);
  writeFileSync(join(work, 'f.txt'), 'content\n');
  git(work, ['add', '-A']);
  git(work, ['commit', '-q', '-m', 'one']);
  t.is(readsLikeGit(t, work).gitDir, gitDir);
});

test('a linked work tree reads the objects of its main repository', (t) => {
  const dir = copyOfSource(t);
  const linked = join(tempDir(t), 'linked');
  git(dir, ['worktree', 'add', '-q', linked, 'HEAD~2']);
  readsLikeGit(t, linked, dir);
});

test('a clone --shared reads its own objects and those of its alternate', (t) => {
  const clone = join(tempDir(t), 'clone');
  git(root, ['clone', '-q', '--shared', source, clone]);
  writeFileSync(join(clone, 'only-in-clone.txt'), 'this blob lives in the clone\n');
  git(clone, ['add', '-A']);
  git(clone, ['commit', '-q', '-m', 'clone commit']);
  const own = gitLines(clone, ['count-objects', '-v']).find((l) => l.startsWith('count: '));
  t.is(own, 'count: 3', 'the clone holds only its new commit, tree and blob');
  readsLikeGit(t, clone);
});

test('relative, commented, missing and looping alternates', (t) => {
  const dir = tempDir(t);
  const a = initRepo(join(dir, 'a'), { bare: true });
  const b = initRepo(join(dir, 'b'), { bare: true });
  const inA = git(a, ['hash-object', '-w', '--stdin'], 'in a\n').toString().trim();
  const inB = git(b, ['hash-object', '-w', '--stdin'], 'in b\n').toString().trim();
  // git resolves a relative entry against the objects directory holding the alternates file.
  writeFileSync(join(a, 'objects', 'info', 'alternates'),
    `# a comment\n${relative(join(a, 'objects'), join(b, 'objects'))}\n${join(dir, 'missing', 'objects')}\n\n`);
  writeFileSync(join(b, 'objects', 'info', 'alternates'), `${join(a, 'objects')}\n`); // back to a: a loop
  t.is(git(a, ['cat-file', 'blob', inB]).toString(), 'in b\n', 'git agrees the layout is valid');
  const repo = GitRepo.open(a);
  t.teardown(() => repo.close());
  t.is(repo.read(inA)?.content.toString(), 'in a\n');
  t.is(repo.read(inB)?.content.toString(), 'in b\n');
  t.is(repo.stores.length, 2, 'each objects directory is opened once');
});

test('absent objects are undefined; malformed ids and non-repositories are typed errors', (t) => {
  const repo = GitRepo.open(source);
  t.teardown(() => repo.close());
  t.is(repo.read('0'.repeat(40)), undefined);
  t.false(repo.has('0'.repeat(40)));
  throwsCode(t, () => repo.read('not-an-id'), 'ERR_BAD_OID');
  throwsCode(t, () => repo.read('A'.repeat(40)), 'ERR_BAD_OID');
  throwsCode(t, () => GitRepo.open(tempDir(t)), 'ERR_STORE_NOT_FOUND');
  throwsCode(t, () => GitRepo.open(join(root, 'does-not-exist')), 'ERR_STORE_NOT_FOUND');
});

test('objects packed after the repository was opened are still found', (t) => {
  const dir = copyOfSource(t);
  const repo = GitRepo.open(dir);
  t.teardown(() => repo.close());
  const objects = gitObjects(dir);
  t.truthy(repo.read(objects[0]!.oid), 'the pack list is scanned before the repack');
  // repack packs everything reachable and prune-packed deletes the loose copies behind our back; the
  // unreachable blobs stay loose.
  git(dir, ['repack', '-q', '-a', '-d']);
  git(dir, ['prune-packed']);
  t.regex(gitLines(dir, ['count-objects']).join(), /^2 objects,/, 'only the two unreachable blobs stay loose');
  assertReadsLikeGit(t, (oid) => repo.read(oid), objects);
});

test('a corrupt loose object is ERR_OBJECT_CORRUPT; the rest still read', (t) => {
  const dir = copyOfSource(t);
  const [victim, ...others] = gitObjects(dir);
  const file = join(dir, '.git', 'objects', victim!.oid.slice(0, 2), victim!.oid.slice(2));
  unlinkSync(file); // git writes loose objects read-only
  writeFileSync(file, 'not zlib at all');
  const repo = GitRepo.open(dir);
  t.teardown(() => repo.close());
  throwsCode(t, () => repo.read(victim!.oid), 'ERR_OBJECT_CORRUPT');
  assertReadsLikeGit(t, (oid) => repo.read(oid), others);
});

test('a broken pack is set aside as a problem; an index whose pack is gone is skipped; the other packs still read', (t) => {
  const dir = copyOfSource(t);
  git(dir, ['gc', '-q']);
  const packDir = join(dir, '.git', 'objects', 'pack');
  writeFileSync(join(packDir, 'pack-0000000000000000000000000000000000000000.idx'), 'garbage');
  writeFileSync(join(packDir, 'pack-0000000000000000000000000000000000000000.pack'), 'garbage');
  writeFileSync(join(packDir, 'pack-1111111111111111111111111111111111111111.idx'), 'an index without its pack');
  const repo = readsLikeGit(t, dir);
  const problems = repo.stores.flatMap((s) => (s as unknown as { packs: { problems: { code: string }[] } }).packs.problems);
  // The garbage pack is a problem; the lone .idx is what a pack being removed by gc or repack looks like
  // (its .pack goes first), so it is skipped without a problem and looked at again by the next scan.
  t.deepEqual(problems.map((p) => p.code), ['ERR_PACK_CORRUPT']);
  t.regex(problems[0]!.message, /pack-0{40}/);
});
