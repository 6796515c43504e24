import test from 'ava';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { medoAdd } from '../../../../lib/medo/ingest/add.js';
import { Silo } from '../../../../lib/silo/silo.js';

// `medo add --blob` promises a loose objects/xx/<id>.gz that `curl URL | gunzip` returns, even when the
// same content is already packed (a file of a tree added before).
test('--blob writes the loose .gz even when the content is already in a pack', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'medo-blob-packed-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  Silo.init(join(dir, 's.silo')).close();
  mkdirSync(join(dir, 'm.medo'));
  writeFileSync(join(dir, 'm.medo', 'SILO.json'), '{"silos": ["../s.silo"]}\n');
  mkdirSync(join(dir, 'tree'));
  writeFileSync(join(dir, 'tree', 'a.txt'), 'the same content, packed first\n');
  await medoAdd({ src: join(dir, 'tree'), out: join(dir, 'm.medo', 'tree.treeptr') });
  const oid = execFileSync('git', ['hash-object', join(dir, 'tree', 'a.txt')]).toString().trim();
  const loose = join(dir, 's.silo', 'objects', oid.slice(0, 2), `${oid.slice(2)}.gz`);
  t.false(existsSync(loose), 'the tree add packs its blobs');
  await medoAdd({ src: join(dir, 'tree', 'a.txt'), out: join(dir, 'm.medo', 'a.treeptr'), blob: true });
  t.true(existsSync(loose));
  t.is(gunzipSync(readFileSync(loose)).toString(), 'the same content, packed first\n');
});
