import test from 'ava';
import { createHash } from 'node:crypto';
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { medoAdd } from '../../../../lib/medo/ingest/add.js';
import { readTreeptr } from '../../../../lib/medo/treeptr.js';
import { git, tempDir } from '../../../helpers/git-fixture.js';
import { random, randomBytes } from '../../../helpers/history.js';
import { makeMedo } from '../../../helpers/tree-fixture.js';

test('--blob keeps a file as one loose object: gunzip of it is the file, its name is git\'s blob id', async (t) => {
  const dir = tempDir(t);
  const { medo, silo } = makeMedo(dir);
  const file = join(dir, 'upstream-1.0.tar.gz');
  const content = randomBytes(random(7), 3 * 1024 * 1024 + 17);
  writeFileSync(file, content);
  const oid = git(dir, ['hash-object', file]).toString().trim();
  const sha = createHash('sha256').update(content).digest('hex');
  const out = join(medo, 'src', 'upstream.treeptr');
  const r = await medoAdd({ src: file, out, blob: true, url: 'https://example.org/upstream-1.0.tar.gz' });
  t.is(r.blob, oid);
  t.is(r.objectsWritten, 1);
  const loose = join(silo, 'objects', oid.slice(0, 2), `${oid.slice(2)}.gz`);
  t.true(gunzipSync(readFileSync(loose)).equals(content));
  t.deepEqual(readdirSync(join(silo, 'pack')), [], 'no pack for a blob');
  t.deepEqual(readdirSync(join(silo, 'objects')).sort(), [oid.slice(0, 2)], 'no temp file left');
  const ptr = readTreeptr(out);
  t.deepEqual(ptr, { blob: oid, size: content.length, files: 1, source: { url: 'https://example.org/upstream-1.0.tar.gz', sha256: sha } });

  const bytes = readFileSync(out);
  const again = await medoAdd({ src: file, out, blob: true, url: 'https://example.org/upstream-1.0.tar.gz', sha256: sha });
  t.is(again.objectsWritten, 0);
  t.false(again.changed);
  t.true(readFileSync(out).equals(bytes));

  const err = await t.throwsAsync(medoAdd({ src: file, out: join(medo, 'bad.treeptr'), blob: true, sha256: '0'.repeat(64) }));
  t.is((err as { code?: string }).code, 'ERR_CHECKSUM_MISMATCH');
  t.throws(() => readFileSync(join(medo, 'bad.treeptr')), { code: 'ENOENT' });
  t.deepEqual(readdirSync(join(silo, 'objects')).sort(), [oid.slice(0, 2)], 'no temp file left after a refusal');
});

test('--blob of an empty file and of a directory', async (t) => {
  const dir = tempDir(t);
  const { medo } = makeMedo(dir);
  writeFileSync(join(dir, 'empty'), '');
  const r = await medoAdd({ src: join(dir, 'empty'), out: join(medo, 'e.treeptr'), blob: true });
  t.is(r.blob, 'e69de29bb2d1d6434b8b29ae775ad8c2e48c5391');
  const err = await t.throwsAsync(medoAdd({ src: medo, out: join(medo, 'd.treeptr'), blob: true }));
  t.is((err as { code?: string }).code, 'ERR_USAGE');
});
