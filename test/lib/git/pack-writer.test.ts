// PackWriter output must be a pack git accepts without reservation: `git index-pack --verify` rebuilds
// the index from the pack and compares it with ours byte for byte, `git verify-pack -v` checks both
// checksums, and git reads every object from it. Writes are atomic: nothing but the final pair of files
// may be left behind.
import test from 'ava';
import { copyFileSync, mkdirSync, readFileSync, readdirSync } from 'node:fs';
import { basename, join } from 'node:path';
import { deflateSync } from 'node:zlib';
import { createHash } from 'node:crypto';
import { PackFile } from '../../../lib/git/pack-file.js';
import { PackWriter, type PackWriterOptions, type WrittenPack } from '../../../lib/git/pack-writer.js';
import { oidToBytes } from '../../../lib/oid.js';
import { assertReadsLikeGit, git, gitObjects, initRepo, removeDir, sharedTempDir, tempDir, verifyPack, type GitObject } from '../../helpers/git-fixture.js';
import { makeHistory, random, randomBytes } from '../../helpers/history.js';
import { throwsCode } from '../../helpers/medo-error.js';

let root: string;
let objects: GitObject[]; // every type, empty blobs, and more than the writer's 1 MiB flush size

test.before(() => {
  root = sharedTempDir('medo-pack-writer-');
  const repo = join(root, 'source');
  mkdirSync(repo);
  makeHistory(repo, 6);
  const big = git(repo, ['hash-object', '-w', '--stdin'], randomBytes(random(5), 3 << 20)).toString().trim();
  objects = gitObjects(repo);
  if (!objects.some((o) => o.oid === big)) throw new Error('fixture is missing its big blob');
});

test.after.always(() => removeDir(root));

function write(t: import('ava').ExecutionContext, options: PackWriterOptions = {}): { dir: string; written: WrittenPack } {
  const dir = tempDir(t);
  const writer = new PackWriter(dir, options);
  for (const o of objects) t.is(writer.add(o.type, o.content), o.oid);
  const written = writer.finish();
  if (written === undefined) throw new Error('finish() wrote nothing');
  return { dir, written };
}

/** A bare repository holding only `written`, so git's view of it is exactly the pack's. */
function repoWith(t: import('ava').ExecutionContext, written: WrittenPack): string {
  const repo = initRepo(tempDir(t), { bare: true });
  copyFileSync(written.packPath, join(repo, 'objects', 'pack', basename(written.packPath)));
  copyFileSync(written.idxPath, join(repo, 'objects', 'pack', basename(written.idxPath)));
  return repo;
}

test('git index-pack --verify and verify-pack -v accept the pack, and git reads every object', (t) => {
  const { dir, written } = write(t);
  t.is(written.objectCount, objects.length);
  t.deepEqual(readdirSync(dir).sort(), [`${written.name}.idx`, `${written.name}.pack`], 'no temp files are left');
  const pack = readFileSync(written.packPath);
  t.is(written.name, `pack-${createHash('sha1').update(pack.subarray(0, pack.length - 20)).digest('hex')}`);
  git(dir, ['index-pack', '--verify', written.packPath]);
  const { entries } = verifyPack(dir, written.idxPath);
  t.deepEqual(
    [...entries].map(([oid, e]) => [oid, e.type, e.size, e.depth]).sort(),
    objects.map((o) => [o.oid, o.type, o.content.length, 0]).sort(),
    'every object whole, none deltified',
  );
  const theirs = new Map(gitObjects(repoWith(t, written)).map((o) => [o.oid, o]));
  t.is(theirs.size, objects.length);
  assertReadsLikeGit(t, (oid) => theirs.get(oid), objects);
});

test('the index is byte for byte the one git index-pack builds for the pack', (t) => {
  const { dir, written } = write(t);
  git(dir, ['index-pack', '-o', join(dir, 'theirs.idx'), written.packPath]);
  t.true(readFileSync(written.idxPath).equals(readFileSync(join(dir, 'theirs.idx'))));
});

test('largeOffsetThreshold puts offsets in the 64-bit table; git and PackFile still read them', (t) => {
  const { dir, written } = write(t, { largeOffsetThreshold: 0x40 });
  const pack = PackFile.open(written.idxPath);
  t.teardown(() => pack.close());
  t.is(pack.index.largeOffsetCount, objects.length - 1, 'all but the first entry, at offset 12');
  // --verify reads which offsets sit in the 64-bit table from the existing index and rebuilds it the same.
  git(dir, ['index-pack', '--verify', written.packPath]);
  verifyPack(dir, written.idxPath);
  const repo = repoWith(t, written);
  t.is(gitObjects(repo).length, objects.length);
  assertReadsLikeGit(t, (oid) => pack.read(oidToBytes(oid)), objects);
});

test('objects already written or already stored elsewhere are skipped', (t) => {
  const dir = tempDir(t);
  const stored = new Set(objects.filter((_, i) => i % 3 === 0).map((o) => o.oid));
  const writer = new PackWriter(dir, { skip: (oid) => stored.has(oid) });
  for (const o of [...objects, ...objects]) writer.add(o.type, o.content);
  const first = objects.find((o) => !stored.has(o.oid))!;
  writer.addCompressed(first.oid, first.type, first.content.length, deflateSync(first.content));
  t.is(writer.objectCount, objects.length - stored.size);
  const written = writer.finish()!;
  git(dir, ['index-pack', '--verify', written.packPath]);
  t.deepEqual([...verifyPack(dir, written.idxPath).entries.keys()].sort(), objects.map((o) => o.oid).filter((o) => !stored.has(o)).sort());
});

test('an empty writer, or an aborted one, writes nothing', (t) => {
  const dir = tempDir(t);
  t.is(new PackWriter(dir).finish(), undefined);
  const aborted = new PackWriter(dir);
  aborted.add('blob', Buffer.from('never written\n'));
  aborted.abort();
  const skipping = new PackWriter(dir, { skip: () => true });
  skipping.add('blob', Buffer.from('already stored\n'));
  t.is(skipping.finish(), undefined);
  t.deepEqual(readdirSync(dir), []);
});

test('writing the same pack twice keeps the first and leaves no temp files', (t) => {
  const dir = tempDir(t);
  const once = (): WrittenPack => {
    const w = new PackWriter(dir);
    for (const o of objects.slice(0, 10)) w.add(o.type, o.content);
    return w.finish()!;
  };
  const a = once();
  const b = once();
  t.is(b.name, a.name);
  t.deepEqual(readdirSync(dir).sort(), [`${a.name}.idx`, `${a.name}.pack`]);
  git(dir, ['index-pack', '--verify', a.packPath]);
});

test('using a writer after finish() is ERR_USAGE', (t) => {
  const w = new PackWriter(tempDir(t));
  w.add('blob', Buffer.from('x'));
  w.finish();
  throwsCode(t, () => w.add('blob', Buffer.from('y')), 'ERR_USAGE');
  throwsCode(t, () => w.finish(), 'ERR_USAGE');
});
