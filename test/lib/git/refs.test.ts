// Revisions resolved by lib/git/refs.ts must agree with `git rev-parse`: loose and packed refs, symbolic
// and detached HEAD, annotated and nested tags, remote-tracking refs, worktrees, ~N / ^N / ^{...}, rev:path.
import test from 'ava';
import { writeFileSync, mkdirSync, chmodSync } from 'node:fs';
import { join } from 'node:path';
import { GitRepo } from '../../../lib/git/git-repo.js';
import { resolveRev } from '../../../lib/git/refs.js';
import { git, initRepo, removeDir, sharedTempDir } from '../../helpers/git-fixture.js';

let root: string;
let work: string;
let bare: string;
let worktree: string;
const ids: Record<string, string> = {};

const revParse = (cwd: string, spec: string): string => git(cwd, ['rev-parse', '--verify', '--end-of-options', spec]).toString().trim();

function commit(message: string, files: Record<string, string>): string {
  for (const [p, content] of Object.entries(files)) {
    mkdirSync(join(work, p, '..'), { recursive: true });
    writeFileSync(join(work, p), content);
  }
  git(work, ['add', '-A']);
  git(work, ['commit', '-q', '-m', message]);
  return revParse(work, 'HEAD');
}

test.before(() => {
  root = sharedTempDir('medo-refs-');
  work = initRepo(join(root, 'work'));
  ids.c1 = commit('one', { 'a.txt': 'a1\n', 'sub/dir/x.txt': 'x1\n', 'bin/run': '#!/bin/sh\n' });
  chmodSync(join(work, 'bin/run'), 0o755);
  ids.c1b = commit('exec', {});
  git(work, ['tag', '-a', 'v1', '-m', 'version 1']);
  git(work, ['tag', 'light1']);
  git(work, ['tag', '-a', 'v1-outer', '-m', 'a tag of a tag', 'v1']);
  git(work, ['tag', 'tree-tag', revParse(work, 'HEAD^{tree}')]);
  git(work, ['checkout', '-q', '-b', 'feature']);
  ids.f1 = commit('feature', { 'feature.txt': 'f\n', 'sub/dir/x.txt': 'x-feature\n' });
  git(work, ['checkout', '-q', 'main']);
  ids.c2 = commit('two', { 'a.txt': 'a2\n', 'sub/new.txt': 'n\n' });
  git(work, ['merge', '-q', '--no-ff', '-m', 'merge feature', 'feature']);
  git(work, ['update-ref', 'refs/remotes/origin/main', ids.c1!]);
  git(work, ['symbolic-ref', 'refs/remotes/origin/HEAD', 'refs/remotes/origin/main']);
  // Pack everything, then move one branch so that a loose ref overrides its packed value.
  git(work, ['pack-refs', '--all']);
  git(work, ['branch', '-f', 'feature', ids.c2!]);
  git(work, ['branch', 'after-pack', ids.c1!]);
  bare = join(root, 'bare.git');
  git(root, ['clone', '-q', '--bare', work, bare]);
  worktree = join(root, 'wt');
  git(work, ['worktree', 'add', '-q', '--detach', worktree, revParse(work, 'main~1')]);
});

test.after.always(() => {
  if (root !== undefined) removeDir(root);
});

const SPECS = [
  'HEAD', '@', 'main', 'heads/main', 'refs/heads/main', 'feature', 'after-pack', 'v1', 'v1-outer', 'light1', 'tree-tag',
  'origin/main', 'origin', 'HEAD~1', 'HEAD^', 'HEAD^2', 'HEAD^1~1', 'main~2', 'v1^{commit}', 'v1^{tree}', 'v1^{}', 'v1-outer^{}',
  'HEAD:sub', 'HEAD:sub/dir', 'v1:sub/dir/', 'HEAD:a.txt', 'main:sub/dir/x.txt', 'v1:bin/run', 'HEAD~1:',
];

for (const [name, where] of [['work tree', () => work], ['bare clone (packed-refs)', () => bare], ['linked worktree, detached HEAD', () => worktree]] as const) {
  test(`${name}: every revision resolves as git rev-parse does`, (t) => {
    const repo = GitRepo.open(where());
    try {
      const specs = [...SPECS, ids.c1!, revParse(where(), `${ids.c2}^{tree}`)];
      let compared = 0;
      for (const spec of specs) {
        let expected: string;
        try {
          expected = revParse(where(), spec.includes(':') ? spec : `${spec}^{tree}`);
        } catch {
          continue; // e.g. origin/main does not exist in the bare clone; covered by the error tests
        }
        const got = resolveRev(repo, repo.gitDir, spec);
        t.is(got.oid, expected, spec);
        t.is(got.type as string, git(where(), ['cat-file', '-t', expected]).toString().trim(), spec);
        compared++;
      }
      t.true(compared >= specs.length - 4, `only ${compared} of ${specs.length} revisions exist here`);
      const viaBranch = resolveRev(repo, repo.gitDir, 'HEAD');
      t.is(viaBranch.commit, revParse(where(), 'HEAD'));
    } finally {
      repo.close();
    }
  });
}

test('a blob path keeps its mode; a tree id has no commit', (t) => {
  const repo = GitRepo.open(work);
  try {
    t.is(resolveRev(repo, repo.gitDir, 'HEAD:bin/run').mode, 0o100755);
    t.is(resolveRev(repo, repo.gitDir, 'HEAD:a.txt').mode, 0o100644);
    const tree = revParse(work, 'HEAD^{tree}');
    t.deepEqual(resolveRev(repo, repo.gitDir, tree), { oid: tree, type: 'tree' });
  } finally {
    repo.close();
  }
});

test('revisions that do not resolve fail with ERR_USAGE naming them', (t) => {
  const repo = GitRepo.open(work);
  try {
    for (const [spec, message] of [
      ['nope', /unknown revision "nope": no branch, tag or ref/],
      [ids.c1!.slice(0, 10), /abbreviated object ids are not supported/],
      ['HEAD:missing/path', /does not exist/],
      [':a.txt', /paths in the index/],
      ['../../etc/passwd', /not a valid ref name/],
      ['refs/../HEAD', /not a valid ref name/],
      ['HEAD^3', /has 2 parent/],
      ['HEAD:a.txt/x', /not a directory/],
      ['HEAD^{blob}', /cannot be peeled/],
      ['0'.repeat(40), /is not in/],
    ] as const) {
      const e = t.throws(() => resolveRev(repo, repo.gitDir, spec), undefined, spec);
      t.regex(e!.message, message, spec);
    }
  } finally {
    repo.close();
  }
});
