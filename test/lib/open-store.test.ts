// openStore tells a silo from a git repository from neither, by the silo marker first and then git's own
// rules for finding a repository.
import test from 'ava';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { GitRepo } from '../../lib/git/git-repo.js';
import { openStore } from '../../lib/open-store.js';
import { SILO_MARKER, Silo } from '../../lib/silo/silo.js';
import type { ObjectStore } from '../../lib/store.js';
import { git, initRepo, tempDir } from '../helpers/git-fixture.js';
import { throwsCode } from '../helpers/medo-error.js';

function open(t: import('ava').ExecutionContext, path: string): ObjectStore {
  const store = openStore(path);
  t.teardown(() => store.close());
  return store;
}

test('a silo opens as a Silo', (t) => {
  const dir = tempDir(t);
  const silo = Silo.init(dir);
  const oid = silo.writeLoose('blob', Buffer.from('in the silo\n')).oid;
  silo.close();
  const store = open(t, dir);
  t.true(store instanceof Silo);
  t.is(store.read(oid)?.content.toString(), 'in the silo\n');
});

test('a work tree, its .git directory and a bare repository open as GitRepo', (t) => {
  const work = initRepo(tempDir(t));
  const oid = git(work, ['hash-object', '-w', '--stdin'], 'in git\n').toString().trim();
  const bare = initRepo(join(tempDir(t), 'bare.git'), { bare: true });
  for (const path of [work, join(work, '.git'), bare]) t.true(open(t, path) instanceof GitRepo, path);
  t.is(open(t, work).read(oid)?.content.toString(), 'in git\n');
});

test('a silo inside a git work tree is the silo, and the work tree is still the repository', (t) => {
  const work = initRepo(tempDir(t));
  const inGit = git(work, ['hash-object', '-w', '--stdin'], 'in git only\n').toString().trim();
  Silo.init(join(work, 'silo')).close();
  const silo = open(t, join(work, 'silo'));
  t.true(silo instanceof Silo);
  t.is(silo.read(inGit), undefined, 'a silo does not look up into the enclosing repository');
  t.true(open(t, work) instanceof GitRepo);
});

test('anything else is ERR_STORE_NOT_FOUND', (t) => {
  const dir = tempDir(t);
  writeFileSync(join(dir, 'a-file'), 'x');
  mkdirSync(join(dir, 'looks-bare-but-no-objects'));
  writeFileSync(join(dir, 'looks-bare-but-no-objects', 'HEAD'), 'ref: refs/heads/main\n');
  for (const path of [dir, join(dir, 'a-file'), join(dir, 'missing'), join(dir, 'looks-bare-but-no-objects')]) {
    throwsCode(t, () => openStore(path), 'ERR_STORE_NOT_FOUND', path);
  }
  // A subdirectory of a work tree is not a repository to us: callers name the top.
  const work = initRepo(join(dir, 'work'));
  mkdirSync(join(work, 'sub'));
  throwsCode(t, () => openStore(join(work, 'sub')), 'ERR_STORE_NOT_FOUND', 'subdirectory of a work tree');
});

test('a silo with a broken marker is ERR_SILO_CORRUPT, not taken for something else', (t) => {
  const dir = tempDir(t);
  writeFileSync(join(dir, SILO_MARKER), '{"format":"medo-silo","version":99}');
  throwsCode(t, () => openStore(dir), 'ERR_SILO_CORRUPT');
});
