import test from 'ava';
import { readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BlobHasher, findWorkerFile } from '../../../../lib/medo/ingest/hash-pool.js';
import type { HashedBlob } from '../../../../lib/medo/ingest/hash-worker.js';
import { Silo } from '../../../../lib/silo/silo.js';
import { git, tempDir } from '../../../helpers/git-fixture.js';

test('the compiled worker is found (from dist/ when running under tsx)', (t) => {
  const file = findWorkerFile();
  t.truthy(file, "no compiled hash worker: run 'npx tsc -p .'");
  t.regex(file!, /dist\/lib\/medo\/ingest\/hash-worker-entry\.cjs$/);
});

for (const threads of [0, 2]) {
  test(`blob ids equal git hash-object; new blobs go to the pack (threads: ${threads})`, async (t) => {
    const dir = tempDir(t);
    const silo = Silo.init(join(dir, 's'));
    t.teardown(() => silo.close());
    const files = Array.from({ length: 300 }, (_, i) => {
      const f = join(dir, `f${i}`);
      writeFileSync(f, `content ${i % 250}\n`.repeat(i));
      return f;
    });
    const writer = silo.packWriter();
    const hasher = new BlobHasher(writer, { threads, siloPath: silo.path });
    t.is(hasher.parallel, threads > 0);
    const got = new Map<string, HashedBlob>();
    for (const f of files) await hasher.add({ path: f }, 100, (b) => got.set(f, b));
    await hasher.add({ content: Buffer.from('inline content') }, 14, (b) => got.set('inline', b));
    await hasher.finish();
    await hasher.close();
    const expected = git(dir, ['hash-object', '--stdin-paths'], files.join('\n')).toString().trim().split('\n');
    t.deepEqual(files.map((f) => got.get(f)!.oid), expected);
    t.is(got.get('inline')!.oid, git(dir, ['hash-object', '--stdin'], 'inline content').toString().trim());
    const pack = writer.finish()!;
    t.is(pack.objectCount, new Set([...got.values()].map((b) => b.oid)).size);
  });
}

test('worker errors keep their code and name the file', async (t) => {
  const dir = tempDir(t);
  const silo = Silo.init(join(dir, 's'));
  t.teardown(() => silo.close());
  writeFileSync(join(dir, 'big'), Buffer.alloc(2000));
  for (const [item, code] of [[{ path: join(dir, 'missing') }, 'ENOENT'], [{ path: join(dir, 'big') }, 'ERR_TOO_LARGE']] as const) {
    const writer = silo.packWriter();
    const hasher = new BlobHasher(writer, { threads: 2, maxSize: 1000 });
    await hasher.add(item, 10, () => {});
    const err = await t.throwsAsync(hasher.finish());
    t.is((err as { code?: string }).code, code);
    t.true(err!.message.includes(item.path), err!.message);
    await hasher.close();
    writer.abort();
  }
  t.deepEqual(readdirSync(join(dir, 's', 'pack')), []);
});
