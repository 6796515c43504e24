// The pack list (pack/packs): its format, and that every writer of pack/ keeps it current.
import test from 'ava';
import { spawnSync } from 'node:child_process';
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PACK_LIST, formatPackList, parsePackList, scanPacks, writePackList } from '../../../lib/silo/pack-list.js';
import { gc } from '../../../lib/silo/gc.js';
import { repack } from '../../../lib/silo/repack.js';
import { makeMedo } from '../../helpers/tree-fixture.js';
import { UpkeepFixture, writeFiles } from '../../helpers/upkeep-fixture.js';

const ROOT = fileURLToPath(new URL('../../..', import.meta.url));

const packsOnDisk = (silo: string): string[] => readdirSync(join(silo, 'pack')).filter((n) => n.endsWith('.pack')).map((n) => n.slice(0, -5)).sort();
const listed = (silo: string): string[] => parsePackList(readFileSync(join(silo, PACK_LIST), 'utf8'), 'x').map((e) => e.name);

test('format and parse round-trip, sorted by name, with sizes', (t) => {
  const a = { name: `pack-${'b'.repeat(40)}`, packBytes: 100, idxBytes: 2000 };
  const b = { name: `pack-${'a'.repeat(40)}`, packBytes: 5000, idxBytes: 1100 };
  const text = formatPackList([a, b]);
  t.is(text, `# medo pack list v1\nP ${b.name}.pack 5000 1100\nP ${a.name}.pack 100 2000\n`);
  t.deepEqual(parsePackList(text, 'l'), [b, a]);
  t.deepEqual(parsePackList('# medo pack list v1\n', 'l'), []);
});

test('malformed pack lists are typed errors naming the line', (t) => {
  for (const bad of ['', 'P pack-x.pack 1 2\n', '# medo pack list v1\nP pack-abc.pack 100 2000\n', `# medo pack list v1\nP pack-${'a'.repeat(40)}.pack 100\n`,
    `# medo pack list v1\nP pack-${'a'.repeat(40)}.pack 99999999999999999999 2000\n`, `# medo pack list v1\nP ../pack-${'a'.repeat(40)}.pack 100 2000\n`]) {
    const e = t.throws(() => parsePackList(bad, 'URL'));
    t.is((e as { code?: string }).code, 'ERR_SILO_CORRUPT', bad);
    t.regex(e!.message, /^URL: /);
  }
});

test('gc --prune and repack rewrite the list; silo publish regenerates it', async (t) => {
  const fx = new UpkeepFixture(t);
  const silo = fx.silo('s');
  const keep = fx.tree({ a: 'keep me\n' });
  const drop = fx.tree({ b: 'drop me\n' });
  fx.store(silo, fx.objects(fx.reach(keep)), 'pack');
  fx.store(silo, fx.objects(fx.reach(drop)), 'pack');
  silo.close();
  // Packs written behind silo's back (as by rsync): publish lists them.
  const r = spawnSync(process.execPath, [join(ROOT, 'bin', 'silo.js'), 'publish', silo.path], { encoding: 'utf8' });
  t.is(r.status, 0, r.stderr);
  t.regex(r.stdout, /: 2 pack\(s\)\n$/);
  t.deepEqual(listed(silo.path), packsOnDisk(silo.path));
  gc(silo.path, new Set(fx.reach(keep)), { prune: true, pruneExpireMs: 0 });
  t.deepEqual(listed(silo.path), packsOnDisk(silo.path));
  writeFileSync(join(silo.path, PACK_LIST), '# medo pack list v1\n'); // stale
  const s2 = fx.silo('s');
  fx.store(s2, fx.objects(fx.reach(drop)), 'pack');
  s2.close();
  await repack(silo.path);
  t.deepEqual(listed(silo.path), packsOnDisk(silo.path));
  t.is(packsOnDisk(silo.path).length, 1);
  t.deepEqual(scanPacks(silo.path).map((e) => e.name), packsOnDisk(silo.path));
  t.deepEqual(writePackList(silo.path).map((e) => e.name), packsOnDisk(silo.path));
});

test('medo add lists the pack it writes', (t) => {
  const fx = new UpkeepFixture(t);
  const { medo, silo } = makeMedo(fx.root);
  const src = join(fx.root, 'src');
  writeFiles(src, { 'a.txt': 'a\n', 'd/b.txt': 'b\n' });
  const r = spawnSync(process.execPath, [join(ROOT, 'bin', 'medo.js'), 'add', src, join(medo, 'x.treeptr')], { encoding: 'utf8', env: { ...process.env, CI: '1' } });
  t.is(r.status, 0, r.stderr);
  t.is(packsOnDisk(silo).length, 1);
  t.deepEqual(listed(silo), packsOnDisk(silo));
});
