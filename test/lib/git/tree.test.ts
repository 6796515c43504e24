// Tree objects: every tree git wrote parses and re-serializes to the same bytes, listings match
// `git ls-tree`, our order is git's order, and malformed trees are refused the way git fsck refuses them.
import test from 'ava';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { MODE_EXEC, MODE_FILE, MODE_GITLINK, MODE_SYMLINK, MODE_TREE, checkEntryName, formatTreeEntry, parseTree, serializeTree, type TreeEntry } from '../../../lib/git/tree.js';
import { quotePath } from '../../../lib/git/quote.js';
import { hashObject } from '../../../lib/oid.js';
import { git, gitLines, gitObjects, initRepo, removeDir, sharedTempDir, tempDir, type GitObject } from '../../helpers/git-fixture.js';
import { makeHistory, random } from '../../helpers/history.js';
import { throwsCode } from '../../helpers/medo-error.js';

let root: string;
let repo: string;
let objects: GitObject[];

test.before(() => {
  root = sharedTempDir('medo-tree-');
  repo = join(root, 'repo');
  mkdirSync(repo);
  makeHistory(repo);
  objects = gitObjects(repo);
});

test.after.always(() => removeDir(root));

const BLOB = 'e69de29bb2d1d6434b8b29ae775ad8c2e48c5391';
const EMPTY_TREE = '4b825dc642cb6eb9a060e54bf8d69288fbee4904';

/** One raw tree entry, for trees git would not write. */
const raw = (mode: string, name: string | Buffer, oid = BLOB) =>
  Buffer.concat([Buffer.from(`${mode} `), Buffer.from(name), Buffer.of(0), Buffer.from(oid, 'hex')]);

test('every tree git wrote parses and serializes back to the same bytes', (t) => {
  const trees = objects.filter((o) => o.type === 'tree');
  t.true(trees.length > 20);
  for (const tree of trees) t.true(serializeTree(parseTree(tree.content, tree.oid)).equals(tree.content), tree.oid);
});

test('a recursive listing of HEAD matches git ls-tree -r -t, quoting included', (t) => {
  const byOid = new Map(objects.map((o) => [o.oid, o]));
  const lines: string[] = [];
  const walk = (oid: string, prefix: string): void => {
    for (const e of parseTree(byOid.get(oid)!.content, oid)) {
      const path = prefix + e.name;
      lines.push(formatTreeEntry({ ...e, name: path }, quotePath));
      if (e.mode === MODE_TREE) walk(e.oid, `${path}/`);
    }
  };
  walk(git(repo, ['rev-parse', 'HEAD^{tree}']).toString().trim(), '');
  t.deepEqual(lines, gitLines(repo, ['ls-tree', '-r', '-t', 'HEAD']));
  const modes = new Set(lines.map((l) => l.slice(0, 6)));
  t.deepEqual([...modes].sort(), ['040000', '100644', '100755', '120000'], 'trees, files, executables and symlinks');
});

test('serializeTree sorts as git mktree does, whatever the input order', (t) => {
  const files = ['a.b', 'a-', 'a0', 'a b', 'ab', 'ab.c', 'é', 'Z', '~', 'foo.txt', 'foo-bar', '"q"', 'tab\there'];
  const fileModes = [MODE_FILE, MODE_EXEC, MODE_SYMLINK, MODE_GITLINK];
  const entries: TreeEntry[] = [
    ...files.map((name, i) => ({ mode: fileModes[i % 4]!, name, oid: hashObject('blob', Buffer.from(name)) })),
    ...['a', 'foo', 'abc'].map((name) => ({ mode: MODE_TREE, name, oid: EMPTY_TREE })),
  ];
  const dir = initRepo(tempDir(t), { bare: true });
  const input = entries.map((e) => `${e.mode.toString(8)} ${e.mode === MODE_TREE ? 'tree' : e.mode === MODE_GITLINK ? 'commit' : 'blob'} ${e.oid}\t${e.name}\0`).join('');
  const oid = git(dir, ['mktree', '-z', '--missing'], input).toString().trim();
  const gitBytes = git(dir, ['cat-file', 'tree', oid]);
  const r = random(11);
  for (let k = 0; k < 5; k++) {
    const shuffled = [...entries];
    for (let i = shuffled.length - 1; i > 0; i--) {
      const j = Math.floor(r() * (i + 1));
      [shuffled[i], shuffled[j]] = [shuffled[j]!, shuffled[i]!];
    }
    t.true(serializeTree(shuffled).equals(gitBytes), `shuffle ${k}`);
  }
  // The rule itself: "a" as a directory sorts as "a/", after "a-" and "a.b" and before "a0".
  const order = parseTree(gitBytes).map((e) => e.name).filter((n) => ['a', 'a-', 'a.b', 'a0'].includes(n));
  t.deepEqual(order, ['a-', 'a.b', 'a', 'a0']);
  t.is(hashObject('tree', serializeTree(entries)), oid);
});

test('the empty tree', (t) => {
  t.deepEqual(parseTree(Buffer.alloc(0)), []);
  t.is(hashObject('tree', serializeTree([])), EMPTY_TREE);
});

test("names git rejects ('', '.', '..', '/' or NUL inside) are ERR_TREE_NAME", (t) => {
  for (const name of ['', '.', '..', 'a/b', '/', 'a\0b']) {
    throwsCode(t, () => checkEntryName(name), 'ERR_TREE_NAME', JSON.stringify(name));
    throwsCode(t, () => serializeTree([{ mode: MODE_FILE, name, oid: BLOB }]), 'ERR_TREE_NAME', `serialize ${JSON.stringify(name)}`);
  }
  for (const name of ['', '.', '..', 'a/b']) throwsCode(t, () => parseTree(raw('100644', name)), 'ERR_TREE_NAME', `parse ${JSON.stringify(name)}`);
  throwsCode(t, () => parseTree(raw('100644', Buffer.from([0x61, 0xff, 0x62]))), 'ERR_TREE_NAME', 'not UTF-8');
  for (const name of ['...', '.git', ' ', 'a\\b', '\n']) t.notThrows(() => checkEntryName(name), JSON.stringify(name));
});

test('bad, empty and zero-padded modes are ERR_TREE_CORRUPT', (t) => {
  for (const mode of ['100645', '100000', '0', '1000644', '10064x', '', '040000', '0100644', '-1', ' 100644']) {
    throwsCode(t, () => parseTree(raw(mode, 'name')), 'ERR_TREE_CORRUPT', JSON.stringify(mode));
  }
  throwsCode(t, () => serializeTree([{ mode: 0o100645, name: 'x', oid: BLOB }]), 'ERR_TREE_CORRUPT');
});

test('unsorted and duplicate entries are ERR_TREE_CORRUPT', (t) => {
  const cases: Record<string, Buffer[]> = {
    unsorted: [raw('100644', 'b'), raw('100644', 'a')],
    'a directory sorted as if no trailing /': [raw('40000', 'a', EMPTY_TREE), raw('100644', 'a.b')],
    'same entry twice': [raw('100644', 'a'), raw('100644', 'a')],
    'same name, blob then tree': [raw('100644', 'a'), raw('40000', 'a', EMPTY_TREE)],
    // git fsck finds these too: the tree "a" sorts as "a/", so other names can sit between them.
    'same name, blob and tree apart': [raw('100644', 'a'), raw('100644', 'a.b'), raw('40000', 'a', EMPTY_TREE)],
  };
  for (const [why, parts] of Object.entries(cases)) throwsCode(t, () => parseTree(Buffer.concat(parts)), 'ERR_TREE_CORRUPT', why);
  const dup = [{ mode: MODE_FILE, name: 'a', oid: BLOB }, { mode: MODE_FILE, name: 'a.b', oid: BLOB }, { mode: MODE_TREE, name: 'a', oid: EMPTY_TREE }];
  throwsCode(t, () => serializeTree(dup), 'ERR_TREE_NAME', 'serialize a blob and a tree of one name');
  throwsCode(t, () => serializeTree([dup[0]!, dup[0]!]), 'ERR_TREE_NAME', 'serialize one entry twice');
  const sameBytes = [{ mode: MODE_FILE, name: '\ud800', oid: BLOB }, { mode: MODE_FILE, name: '\ufffd', oid: BLOB }];
  throwsCode(t, () => serializeTree(sameBytes), 'ERR_TREE_NAME', 'two strings that encode to the same UTF-8 bytes');
});

test('truncated entries are ERR_TREE_CORRUPT', (t) => {
  const tree = objects.find((o) => o.type === 'tree' && o.content.length > 100)!.content;
  const entry = raw('100644', 'name');
  for (const cut of [1, 5, 8, 10, 12, entry.length - 1]) {
    throwsCode(t, () => parseTree(Buffer.concat([tree, entry.subarray(0, cut)])), 'ERR_TREE_CORRUPT', `${cut} bytes of an entry`);
  }
  throwsCode(t, () => parseTree(tree.subarray(0, tree.length - 1)), 'ERR_TREE_CORRUPT', 'last id cut short');
});
