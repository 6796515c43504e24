// ReachableWalk and treeptrHistory against git: what a treeptr reaches is what `git ls-tree -r -t` lists
// for its tree, plus the tree, the meta sidecar and any root blob; the history scan finds old versions
// of .treeptrs in commits, side branches, reflogs and the index of a real repository.
import test from 'ava';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { MedoDir } from '../../../lib/medo/medo-dir.js';
import { ReachableWalk, sortedIds } from '../../../lib/medo/reachable.js';
import { treeptrHistory } from '../../../lib/medo/treeptr-history.js';
import { readTreeptr } from '../../../lib/medo/treeptr.js';
import { git, initRepo } from '../../helpers/git-fixture.js';
import { throwsCode } from '../../helpers/medo-error.js';
import { UpkeepFixture } from '../../helpers/upkeep-fixture.js';

const FILES_A = {
  'README': 'top\n',
  'bin/tool': { exec: '#!/bin/sh\necho hi\n' },
  'lib/a.py': 'print(1)\n',
  'lib/sub/b.py': 'print(2)\n',
  'lib/sub/same.txt': 'same\n',
  'share/same.txt': 'same\n', // the same blob twice
  'link': { link: 'lib/a.py' },
};

function walkAll(f: UpkeepFixture, medo: string): { walk: ReachableWalk; ids: string[] } {
  const md = MedoDir.open(medo);
  const store = md.openStore();
  try {
    const walk = new ReachableWalk(store);
    for (const rel of md.treeptrs()) walk.add({ label: rel, treeptr: readTreeptr(join(md.root, rel)), required: true });
    return { walk, ids: sortedIds([walk]) };
  } finally {
    store.close();
  }
}

test('reachable ids equal git ls-tree -r -t of each tree, plus the tree, its meta and blob roots', (t) => {
  const f = new UpkeepFixture(t);
  const treeA = f.tree(FILES_A);
  const treeB = f.tree({ 'x/y/z.txt': 'deep\n', 'lib/sub/b.py': 'print(2)\n' }); // shares a blob with A
  const metaA = f.meta(treeA);
  const tarball = f.blob('pretend this is a tarball\n');
  const silo = f.silo('s.silo');
  f.store(silo, f.objects(f.reach(treeA)), 'loose');
  f.store(silo, [...f.objects(f.reach(treeB)), metaA, tarball], 'pack');
  const junk = f.blob('an object no treeptr names\n');
  f.store(silo, [junk], 'loose');
  silo.close();
  const medo = f.medoDir('deps.medo', ['../s.silo']);
  f.treeptr(medo, 'a', { tree: treeA, meta: metaA.oid });
  f.treeptr(medo, 'sub/b', { tree: treeB });
  f.treeptr(medo, 'src', { blob: tarball.oid, size: tarball.content.length, files: 1 });

  const expected = [...new Set([...f.reach(treeA), ...f.reach(treeB), metaA.oid, tarball.oid])].sort();
  const { ids } = walkAll(f, medo);
  t.deepEqual(ids, expected);
  t.false(ids.includes(junk.oid));
});

test('a gitlink (submodule) entry is skipped: the commit it names is in no silo', (t) => {
  const f = new UpkeepFixture(t);
  const file = f.blob('x\n');
  const gitlink = 'deadbeef'.repeat(5);
  const tree = git(f.oracle, ['mktree'], `160000 commit ${gitlink}\tsub\n100644 blob ${file.oid}\tx\n`).toString().trim();
  const silo = f.silo('s.silo');
  f.store(silo, f.objects([tree, file.oid]), 'loose');
  silo.close();
  const medo = f.medoDir('m.medo', ['../s.silo']);
  f.treeptr(medo, 't', { tree });
  t.deepEqual(walkAll(f, medo).ids, [tree, file.oid].sort());
});

test('a missing object of a required root is an error naming it, its path and the treeptr', (t) => {
  const f = new UpkeepFixture(t);
  const tree = f.tree(FILES_A);
  const missing = f.objects(f.reach(tree)).find((o) => o.content.toString() === 'print(2)\n')!;
  const silo = f.silo('s.silo');
  f.store(silo, f.objects(f.reach(tree)).filter((o) => o.oid !== missing.oid), 'loose');
  silo.close();
  const medo = f.medoDir('m.medo', ['../s.silo']);
  f.treeptr(medo, 'a', { tree });
  const err = throwsCode(t, () => walkAll(f, medo), 'ERR_OBJECT_MISSING');
  t.true(err.message.includes(missing.oid), err.message);
  t.true(err.message.includes('a.treeptr'), err.message);
  t.true(err.message.includes('"lib/sub/b.py"'), err.message);

  const metaless = f.medoDir('n.medo', ['../s.silo']);
  f.treeptr(metaless, 'm', { tree: f.tree({ only: 'x' }), meta: 'ab'.repeat(20) });
  throwsCode(t, () => walkAll(f, metaless), 'ERR_OBJECT_MISSING');
});

test('an optional root records what is missing and lists what is there', (t) => {
  const f = new UpkeepFixture(t);
  const tree = f.tree({ 'a/x': '1\n', 'b/y': '2\n' });
  const [aTree] = f.reach(tree).slice(1).filter((oid) => f.objects([oid])[0]!.type === 'tree');
  const silo = f.silo('s.silo');
  f.store(silo, f.objects(f.reach(tree)).filter((o) => o.oid !== aTree), 'loose');
  const store = MedoDir.open(f.medoDir('m.medo', ['../s.silo'])).openStore();
  const walk = new ReachableWalk(store);
  walk.add({ label: 'old:x.treeptr', treeptr: { tree, size: 0, files: 0 }, required: false });
  store.close();
  silo.close();
  t.deepEqual(walk.missing.map((m) => [m.oid, m.kind, m.path, m.root]), [[aTree, 'tree', 'a', 'old:x.treeptr']]);
  const ids = sortedIds([walk]);
  t.true(ids.includes(tree));
  t.false(ids.includes(aTree!));
  // b/y and b survive; a's blob is unknowable through the missing tree.
  t.is(ids.length, f.reach(tree).length - 2);
});

test('a corrupt tree is an error even for an optional root', (t) => {
  const f = new UpkeepFixture(t);
  const silo = f.silo('s.silo');
  const bad = Buffer.from('100644 x\0short');
  const { oid } = silo.writeLoose('tree', bad);
  const store = MedoDir.open(f.medoDir('m.medo', ['../s.silo'])).openStore();
  const walk = new ReachableWalk(store);
  throwsCode(t, () => walk.add({ label: 'h:x.treeptr', treeptr: { tree: oid, size: 0, files: 0 }, required: false }), 'ERR_TREE_CORRUPT');
  store.close();
  silo.close();
});

test('treeptrHistory finds every version: old commits, a deleted side branch kept by its reflog, the index', (t) => {
  const f = new UpkeepFixture(t);
  const repo = initRepo(join(f.root, 'work'));
  const medo = join(repo, 'deps.medo');
  f.medoDir('work/deps.medo', ['../../s.silo']);
  const trees = [1, 2, 3, 4, 5].map((n) => f.tree({ [`v${n}.txt`]: `version ${n}\n` }));
  const commit = (msg: string): void => {
    git(repo, ['add', '-A']);
    git(repo, ['commit', '-q', '-m', msg]);
  };
  f.treeptr(medo, 'py', { tree: trees[0] });
  writeFileSync(join(medo, '.hidden.treeptr'), 'not looked at\n');
  commit('v1');
  f.treeptr(medo, 'py', { tree: trees[1] });
  commit('v2');
  git(repo, ['checkout', '-q', '-b', 'side']);
  f.treeptr(medo, 'nested/side', { tree: trees[2] });
  writeFileSync(join(medo, 'broken.treeptr'), '{"format": "medo-treeptr", "version": 99}\n');
  commit('side');
  git(repo, ['checkout', '-q', 'main']);
  git(repo, ['branch', '-q', '-D', 'side']); // only HEAD's reflog remembers it now
  f.treeptr(medo, 'py', { tree: trees[3] });
  git(repo, ['add', '-A']); // staged, never committed
  f.treeptr(medo, 'py', { tree: trees[4] }); // the work tree's version

  const h = treeptrHistory(medo);
  const byTree = new Map(h.treeptrs.map((x) => [x.treeptr.tree, x.label]));
  t.deepEqual([...byTree.keys()].sort(), trees.slice(0, 4).sort(), 'versions 1-4; the work tree version is not history');
  t.regex(byTree.get(trees[0])!, /^[0-9a-f]{12}:deps\.medo\/py\.treeptr$/);
  t.regex(byTree.get(trees[2])!, /^[0-9a-f]{12}:deps\.medo\/nested\/side\.treeptr$/);
  t.is(byTree.get(trees[3]), 'index:deps.medo/py.treeptr');
  t.is(h.problems.length, 1);
  t.regex(h.problems[0]!, /broken\.treeptr.*version/);
  t.true(h.commits >= 3);

  // One .treeptr by itself: only its own versions.
  const one = treeptrHistory(join(medo, 'py.treeptr'));
  t.deepEqual(one.treeptrs.map((x) => x.treeptr.tree).sort(), [trees[0], trees[1], trees[3]].sort());
  t.deepEqual(one.problems, []);
  t.is(readFileSync(join(medo, 'py.treeptr'), 'utf8').includes(trees[4]!), true);
});

test('treeptrHistory of a medo directory at the top of its repository, and outside any repository', (t) => {
  const f = new UpkeepFixture(t);
  const repo = initRepo(join(f.root, 'top.medo'));
  f.medoDir('top.medo', ['../s.silo']);
  const tree = f.tree({ a: 'a\n' });
  f.treeptr(repo, 'x', { tree });
  git(repo, ['add', '-A']);
  git(repo, ['commit', '-q', '-m', 'x']);
  rmSync(join(repo, 'x.treeptr'));
  git(repo, ['commit', '-q', '-a', '-m', 'rm']);
  const h = treeptrHistory(repo);
  t.deepEqual(h.treeptrs.map((x) => [x.treeptr.tree, x.label.replace(/^[0-9a-f]{12}/, 'C')]), [[tree, 'C:x.treeptr']]);

  const outside = f.medoDir('plain.medo', ['../s.silo']);
  throwsCode(t, () => treeptrHistory(outside), 'ERR_STORE_NOT_FOUND');
});
