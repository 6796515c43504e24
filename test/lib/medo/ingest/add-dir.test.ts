import test from 'ava';
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { medoAdd } from '../../../../lib/medo/ingest/add.js';
import { TreeMeta } from '../../../../lib/medo/meta.js';
import { readTreeptr } from '../../../../lib/medo/treeptr.js';
import { Silo } from '../../../../lib/silo/silo.js';
import { git, tempDir, verifyPack } from '../../../helpers/git-fixture.js';
import { RICH_TREE, findMeta, gitWriteTree, makeMedo, makeTree, sidecarPaths } from '../../../helpers/tree-fixture.js';

function packs(silo: string): string[] {
  return readdirSync(join(silo, 'pack')).sort();
}

function readObject(silo: string, oid: string): Buffer {
  const s = Silo.open(silo);
  try {
    return s.read(oid)!.content;
  } finally {
    s.close();
  }
}

for (const threads of [0, 2]) {
  test(`a directory gives git's tree id and an exact sidecar (threads: ${threads})`, async (t) => {
    const dir = tempDir(t);
    const src = join(dir, 'src');
    makeTree(src, RICH_TREE);
    const { medo, silo } = makeMedo(dir);
    const out = join(medo, 'deps', 'rich.treeptr');
    const r = await medoAdd({ src, out, threads });

    t.is(r.tree, gitWriteTree(src, join(dir, 'oracle.git')));
    const ptr = readTreeptr(out);
    t.is(ptr.tree, r.tree);
    t.is(ptr.meta, r.meta);

    // Sizes and counts, from git's own listing of the tree.
    const listing = git(join(dir, 'oracle.git'), ['ls-tree', '-r', '-l', '-z', r.tree!]).toString('utf8').split('\0').filter((l) => l !== '');
    t.is(ptr.files, listing.length);
    t.is(ptr.size, listing.reduce((n, l) => n + Number(l.split(/\s+/)[3]), 0));

    // Every path's permission bits and mtime, as find sees them; the root is "".
    const sidecar = readObject(silo, r.meta!).toString('utf8');
    const paths = sidecarPaths(sidecar);
    t.deepEqual(new Map([...paths].sort()), new Map([...findMeta(src)].sort()));
    t.deepEqual(paths.get('README'), [0o644, 1700000000, 123456789]);
    t.deepEqual(paths.get('setuid'), [0o4755, paths.get('setuid')![1], paths.get('setuid')![2]]);
    t.deepEqual(paths.get('empty'), [0o700, 1500000000, 0]);
    t.deepEqual(paths.get('ro'), [0o555, 1400000000, 0]);
    t.deepEqual(paths.get('link-to-readme'), [0o777, 1600000000, 1]);
    t.deepEqual(paths.get('hard/two'), [0o640, 1650000000, 250000000]);
    const meta = TreeMeta.parse(sidecar, 'sidecar');
    t.deepEqual([...meta.emptyDirs].sort(), ['empty', 'nested', 'nested/empty', 'nested/empty/deeper']);

    // git reads the pack: verify-pack checks it, and the tree lists the same through git.
    const [idx] = packs(silo).filter((p) => p.endsWith('.idx'));
    const { entries } = verifyPack(dir, join(silo, 'pack', idx!));
    t.true(entries.has(r.tree!));
    t.true(entries.has(r.meta!));
    const bare = join(dir, 'reader.git');
    git(dir, ['init', '-q', '--bare', bare]);
    for (const f of packs(silo)) copyFileSync(join(silo, 'pack', f), join(bare, 'objects', 'pack', f));
    t.deepEqual(git(bare, ['ls-tree', '-r', '-z', r.tree!]), git(join(dir, 'oracle.git'), ['ls-tree', '-r', '-z', r.tree!]));
    git(bare, ['fsck', '--no-dangling', '--strict']);
  });
}

test('a re-add in the same process, hashing on this thread, writes nothing either', async (t) => {
  const dir = tempDir(t);
  const src = join(dir, 'src');
  makeTree(src, RICH_TREE);
  const { medo, silo } = makeMedo(dir);
  const out = join(medo, 'rich.treeptr');
  t.true((await medoAdd({ src, out, threads: 0 })).objectsWritten > 0);
  const before = packs(silo);
  t.is((await medoAdd({ src, out, threads: 0 })).objectsWritten, 0);
  t.deepEqual(packs(silo), before);
});

test('a re-add of an unchanged tree writes nothing and leaves the .treeptr byte for byte', async (t) => {
  const dir = tempDir(t);
  const src = join(dir, 'src');
  makeTree(src, RICH_TREE);
  const { medo, silo } = makeMedo(dir);
  const out = join(medo, 'rich.treeptr');
  const first = await medoAdd({ src, out, threads: 2 });
  t.true(first.changed);
  t.true(first.objectsWritten > 0);
  const before = packs(silo);
  const bytes = readFileSync(out);
  const again = await medoAdd({ src, out, threads: 2 });
  t.false(again.changed);
  t.is(again.objectsWritten, 0);
  t.deepEqual(packs(silo), before, 'no new pack, no temp file');
  t.true(readFileSync(out).equals(bytes));

  // A change to one file's content writes only what changed: its blob and the trees above it (its mtime
  // is put back, and a write does not touch the directory's, so the sidecar is the same object).
  writeFileSync(join(src, 'bin', 'run'), 'changed\n');
  execFileSync('touch', ['-d', '@1700000001', join(src, 'bin', 'run')]);
  const third = await medoAdd({ src, out, threads: 2 });
  t.true(third.changed);
  t.is(third.objectsWritten, 3);
  t.is(third.meta, first.meta);
});

test('many small files and large ones, batched across workers, equal git', async (t) => {
  const dir = tempDir(t);
  const src = join(dir, 'src');
  const entries = [];
  for (let i = 0; i < 700; i++) entries.push({ path: `many/d${i % 7}/f${i}`, file: `file ${i}\n`.repeat(i % 13), perm: i % 5 === 0 ? 0o755 : 0o644 });
  for (let i = 0; i < 3; i++) entries.push({ path: `large/${i}`, file: Buffer.alloc(3 * 1024 * 1024 + i, i + 1) });
  makeTree(src, entries);
  const { medo } = makeMedo(dir);
  const r = await medoAdd({ src, out: join(medo, 'many.treeptr'), threads: 2 });
  t.is(r.tree, gitWriteTree(src, join(dir, 'oracle.git')));
  t.is(r.files, 703);
});

test('an empty directory is the empty tree', async (t) => {
  const dir = tempDir(t);
  const src = join(dir, 'src');
  mkdirSync(src);
  const { medo } = makeMedo(dir);
  const r = await medoAdd({ src, out: join(medo, 'empty.treeptr'), threads: 0 });
  t.is(r.tree, '4b825dc642cb6eb9a060e54bf8d69288fbee4904');
  t.is(r.files, 0);
});

test('fifos and sockets are refused by name, or skipped with a warning', async (t) => {
  const dir = tempDir(t);
  const src = join(dir, 'src');
  makeTree(src, [{ path: 'ok', file: 'ok' }, { path: 'sub/x', file: 'x' }]);
  execFileSync('mkfifo', [join(src, 'sub', 'pipe')]);
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(join(src, 'sock'), resolve));
  t.teardown(() => server.close());
  const { medo, silo } = makeMedo(dir);
  const out = join(medo, 'special.treeptr');
  const err = await t.throwsAsync(medoAdd({ src, out, threads: 0 }));
  t.is((err as { code?: string }).code, 'ERR_SPECIAL_FILE');
  t.regex(err!.message, /"sub\/pipe"|"sock"/);
  t.throws(() => readFileSync(out), { code: 'ENOENT' });
  t.deepEqual(packs(silo), [], 'nothing written, no temp file left');

  const warnings: string[] = [];
  const r = await medoAdd({ src, out, threads: 0, skipSpecial: true, onWarning: (m) => warnings.push(m) });
  t.deepEqual(warnings.sort(), ['skipping "sock": a socket', 'skipping "sub/pipe": a fifo']);
  t.is(r.files, 2);
});

test('a file name that is not valid UTF-8 is refused by name', async (t) => {
  const dir = tempDir(t);
  const src = join(dir, 'src');
  makeTree(src, [{ path: 'sub/ok', file: 'ok' }]);
  writeFileSync(Buffer.concat([Buffer.from(`${src}/sub/bad-`), Buffer.from([0xff, 0xfe]), Buffer.from('.txt')]), 'x');
  const { medo, silo } = makeMedo(dir);
  const out = join(medo, 'bad.treeptr');
  const err = await t.throwsAsync(medoAdd({ src, out, threads: 0 }));
  t.is((err as { code?: string }).code, 'ERR_NAME_ENCODING');
  t.true(err!.message.includes('sub/"bad-\\377\\376.txt"'), err!.message);
  t.throws(() => readFileSync(out), { code: 'ENOENT' });
  t.deepEqual(packs(silo), []);
});

test('usage errors: OUT must be a .treeptr inside a medo directory', async (t) => {
  const dir = tempDir(t);
  const src = join(dir, 'src');
  makeTree(src, [{ path: 'f', file: 'f' }]);
  const { medo } = makeMedo(dir);
  const bad = await t.throwsAsync(medoAdd({ src, out: join(medo, 'x.json') }));
  t.is((bad as { code?: string }).code, 'ERR_USAGE');
  const outside = await t.throwsAsync(medoAdd({ src, out: join(dir, 'elsewhere', 'x.treeptr') }));
  t.is((outside as { code?: string }).code, 'ERR_STORE_NOT_FOUND');
  const sha = await t.throwsAsync(medoAdd({ src, out: join(medo, 'x.treeptr'), sha256: 'ab'.repeat(32) }));
  t.is((sha as { code?: string }).code, 'ERR_USAGE');
});

test('provenance: url and built_from are recorded in the .treeptr', async (t) => {
  const dir = tempDir(t);
  const src = join(dir, 'src');
  makeTree(src, [{ path: 'f', file: 'f' }]);
  const { medo } = makeMedo(dir);
  const out = join(medo, 'built.treeptr');
  await medoAdd({ src, out, url: 'https://example.org/src', builtFrom: { inputs: ['a.treeptr'], command: 'make', env: { CC: 'gcc' } } });
  const ptr = readTreeptr(out);
  t.deepEqual(ptr.source, { url: 'https://example.org/src' });
  t.deepEqual(ptr.built_from, { inputs: ['a.treeptr'], command: 'make', env: { CC: 'gcc' } });
});

test('a re-add keeps a sidecar an earlier medo wrote (version 1) while the metadata is the same, and replaces it once it is not', async (t) => {
  const dir = tempDir(t);
  const src = join(dir, 'src');
  makeTree(src, RICH_TREE);
  const { medo, silo } = makeMedo(dir);
  const out = join(medo, 'rich.treeptr');
  const first = await medoAdd({ src, out, threads: 1 });
  // The same metadata as medo wrote it before the attrs table: each path's [perm, mtime, nsec] inline.
  const s = Silo.open(silo);
  let v1: string;
  try {
    const meta = TreeMeta.parse(s.read(first.meta!)!.content, 'new');
    const paths = Object.fromEntries([...meta.paths].map(([p, e]) => [p, e.mtimeNsec === 0 ? [e.perm, e.mtimeSec] : [e.perm, e.mtimeSec, e.mtimeNsec]]));
    v1 = s.writeLoose('blob', Buffer.from(JSON.stringify({ format: 'medo-meta', version: 1, paths, empty_dirs: [...meta.emptyDirs].sort() }))).oid;
  } finally {
    s.close();
  }
  t.not(v1, first.meta);
  writeFileSync(out, readFileSync(out, 'utf8').replace(first.meta!, v1));
  const bytes = readFileSync(out);
  const again = await medoAdd({ src, out, threads: 1 });
  t.false(again.changed, 'the earlier sidecar says the same: the .treeptr is left as it was');
  t.true(readFileSync(out).equals(bytes));
  t.is(readTreeptr(out).meta, v1);

  execFileSync('touch', ['-d', '@1700000002', join(src, 'bin', 'run')]);
  const moved = await medoAdd({ src, out, threads: 1 });
  t.true(moved.changed);
  t.not(readTreeptr(out).meta, v1, 'a moved mtime: the new sidecar');
  t.is(readTreeptr(out).meta, moved.meta);
});
