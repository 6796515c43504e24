// Silos: the layout init creates, loose objects that plain tools can read (`gunzip` gives the file, and
// its name is what `git hash-object` says), packs git accepts, and typed errors for broken markers and
import { mkdirSync, readFileSync, readdirSync, renameSync, statSync, writeFileSync } from 'node:fs';
import test from 'ava';
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { deflateSync, gzipSync } from 'node:zlib';
import { hashObject } from '../../../lib/oid.js';
import { SILO_MARKER, Silo } from '../../../lib/silo/silo.js';
import { git, tempDir } from '../../helpers/git-fixture.js';
import { makeSmallRepo, random, randomBytes } from '../../helpers/history.js';
import { throwsCode } from '../../helpers/medo-error.js';
import { buildPack, copyOp, delta, insertOp } from '../../helpers/pack-builder.js';

function newSilo(t: import('ava').ExecutionContext): Silo {
  const silo = Silo.init(tempDir(t, 'medo-silo-'));
  t.teardown(() => silo.close());
  return silo;
}

const loosePath = (silo: Silo, oid: string) => join(silo.path, 'objects', oid.slice(0, 2), `${oid.slice(2)}.gz`);

test('init creates the marker and the layout, and is idempotent', (t) => {
  const silo = newSilo(t);
  t.deepEqual(JSON.parse(readFileSync(join(silo.path, SILO_MARKER), 'utf8')), { format: 'medo-silo', version: 1 });
  for (const sub of ['objects', 'pack', 'derived']) t.true(statSync(join(silo.path, sub)).isDirectory(), sub);
  const { oid } = silo.writeLoose('blob', Buffer.from('kept\n'));
  const marker = statSync(join(silo.path, SILO_MARKER));
  const again = Silo.init(silo.path);
  t.teardown(() => again.close());
  t.is(statSync(join(silo.path, SILO_MARKER)).ino, marker.ino, 'the marker is not rewritten');
  t.is(again.read(oid)?.content.toString(), 'kept\n');
  t.deepEqual(readdirSync(silo.path).sort(), ['derived', SILO_MARKER, 'objects', 'pack'].sort());
});

test('a loose blob is gzip of the raw content, named by git hash-object', (t) => {
  const silo = newSilo(t);
  for (const content of [Buffer.alloc(0), Buffer.from('hello\n'), randomBytes(random(9), 200_000)]) {
    const { oid, written } = silo.writeLoose('blob', content);
    t.true(written);
    t.is(oid, git(silo.path, ['hash-object', '--stdin'], content).toString().trim());
    t.true(execFileSync('gunzip', ['-c', loosePath(silo, oid)], { maxBuffer: 1 << 24 }).equals(content), 'gunzip gives the file back');
    t.deepEqual(silo.read(oid), { type: 'blob', content });
    t.true(silo.has(oid));
  }
  t.deepEqual(readdirSync(join(silo.path, 'objects')).flatMap((d) => readdirSync(join(silo.path, 'objects', d))).filter((f) => !f.endsWith('.gz')), [],
    'no temp files are left');
});

test('a loose tree is identified as a tree', (t) => {
  const repo = tempDir(t);
  makeSmallRepo(repo);
  const treeOid = git(repo, ['rev-parse', 'HEAD^{tree}']).toString().trim();
  const tree = git(repo, ['cat-file', 'tree', treeOid]);
  const silo = newSilo(t);
  t.deepEqual(silo.writeLoose('tree', tree), { oid: treeOid, written: true });
  t.is(git(repo, ['hash-object', '-t', 'tree', '--stdin'], execFileSync('gunzip', ['-c', loosePath(silo, treeOid)])).toString().trim(), treeOid);
  t.deepEqual(silo.read(treeOid), { type: 'tree', content: tree });
});

test('writing an object the silo holds, loose or packed, writes nothing', (t) => {
  const silo = newSilo(t);
  const content = Buffer.from('stored once\n');
  const first = silo.writeLoose('blob', content);
  const before = statSync(loosePath(silo, first.oid));
  t.deepEqual(silo.writeLoose('blob', content), { oid: first.oid, written: false });
  const after = statSync(loosePath(silo, first.oid));
  t.deepEqual([after.ino, after.mtimeMs], [before.ino, before.mtimeMs]);

  const packedContent = Buffer.from('stored in a pack\n');
  const writer = silo.packWriter();
  const packedOid = writer.add('blob', packedContent);
  writer.finish();
  t.deepEqual(silo.writeLoose('blob', packedContent), { oid: packedOid, written: false });
  t.false(readdirSync(join(silo.path, 'objects')).includes(packedOid.slice(0, 2)) &&
    readdirSync(join(silo.path, 'objects', packedOid.slice(0, 2))).includes(`${packedOid.slice(2)}.gz`));
});

test('packWriter skips what the silo holds; its packs are read and accepted by git', (t) => {
  const silo = newSilo(t);
  const loose = silo.writeLoose('blob', Buffer.from('already loose\n')).oid;
  const writer = silo.packWriter();
  t.is(writer.add('blob', Buffer.from('already loose\n')), loose);
  const fresh = [Buffer.from('one\n'), Buffer.from('two\n'), randomBytes(random(4), 70_000)].map((c) => ({ c, oid: writer.add('blob', c) }));
  t.is(writer.objectCount, fresh.length);
  const written = writer.finish()!;
  git(silo.path, ['index-pack', '--verify', written.packPath]);
  for (const { c, oid } of fresh) t.deepEqual(silo.read(oid), { type: 'blob', content: c }); // found by rescanning pack/
  t.deepEqual(readdirSync(join(silo.path, 'pack')).sort(), [`${written.name}.idx`, `${written.name}.pack`]);
});

test('a REF_DELTA in a silo pack may take its base from a loose object', (t) => {
  const silo = newSilo(t);
  const base = Buffer.from('a base that only exists loose\n');
  const baseOid = silo.writeLoose('blob', base).oid;
  const result = Buffer.concat([base.subarray(0, 7), Buffer.from('delta')]);
  const oid = hashObject('blob', result);
  const built = buildPack([{ oid, refDelta: baseOid, delta: delta(base.length, result.length, copyOp(0, 7), insertOp('delta')) }]);
  writeFileSync(join(silo.path, 'pack', 'pack-thin.pack'), built.pack);
  writeFileSync(join(silo.path, 'pack', 'pack-thin.idx'), built.idx);
  t.deepEqual(silo.read(oid), { type: 'blob', content: result });
});

test('broken markers are ERR_SILO_CORRUPT; a directory without one is ERR_STORE_NOT_FOUND', (t) => {
  throwsCode(t, () => Silo.open(tempDir(t)), 'ERR_STORE_NOT_FOUND');
  for (const marker of ['not json', '[]', 'null', '{"format":"medo-silo"}', '{"format":"medo-silo","version":2}', '{"format":"other","version":1}']) {
    const dir = tempDir(t);
    writeFileSync(join(dir, SILO_MARKER), marker);
    throwsCode(t, () => Silo.open(dir), 'ERR_SILO_CORRUPT', marker);
  }
});

test('corrupt loose silo objects are ERR_OBJECT_CORRUPT', (t) => {
  const silo = newSilo(t);
  const content = Buffer.from('the real content\n');
  const oid = hashObject('blob', content);
  const good = gzipSync(content);
  const cases: Record<string, Buffer> = {
    'not gzip': Buffer.from('plain text'),
    'zlib, not gzip': deflateSync(content),
    'truncated gzip': good.subarray(0, good.length - 6),
    'bad gzip CRC': Buffer.concat([good.subarray(0, good.length - 8), Buffer.alloc(8, 0xee)]),
    'content of another object': gzipSync(Buffer.from('other content\n')),
    'the content as git would store it, with a header': gzipSync(Buffer.concat([Buffer.from(`blob ${content.length}\0`), content])),
  };
  mkdirSync(join(silo.path, 'objects', oid.slice(0, 2)), { recursive: true });
  for (const [why, bytes] of Object.entries(cases)) {
    writeFileSync(loosePath(silo, oid), bytes);
    throwsCode(t, () => silo.read(oid), 'ERR_OBJECT_CORRUPT', why);
  }
  writeFileSync(loosePath(silo, oid), good);
  t.deepEqual(silo.read(oid), { type: 'blob', content });
});

test('a pack under a temp name (a writer killed before its rename) holds nothing the silo has', (t) => {
  const dir = join(tempDir(t), 's.silo');
  const silo = Silo.init(dir);
  const w = silo.packWriter();
  const oid = w.add('blob', Buffer.from('only in the temp pack\n'));
  const written = w.finish()!;
  silo.close();
  // What `silo receive` leaves when killed between writing its pack and renaming it into place.
  for (const ext of ['pack', 'idx']) renameSync(join(dir, 'pack', `${written.name}.${ext}`), join(dir, 'pack', `.tmp-receive-1-abcd1234.${ext}`));
  const again = Silo.open(dir);
  t.teardown(() => again.close());
  t.false(again.has(oid));
  t.is(again.read(oid), undefined);
});
