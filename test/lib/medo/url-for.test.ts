// urlFor against git: a loose location gunzips to what `git cat-file` prints; a packed location's byte
// range is the entry `git verify-pack -v` reports (offset, size in pack), its zlib data inflates to the
// content, and a deltified entry names the base git names.
import test from 'ava';
import { copyFileSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { gunzipSync, inflateSync } from 'node:zlib';
import { urlFor, type Location } from '../../../lib/medo/url-for.js';
import { git, verifyPack } from '../../helpers/git-fixture.js';
import { throwsCode } from '../../helpers/medo-error.js';
import { UpkeepFixture } from '../../helpers/upkeep-fixture.js';

const FILES = { 'a.txt': 'alpha\n', 'd/b.txt': 'beta\n', 'd/e/c.bin': Buffer.from([0, 1, 2, 255]), 'x': { exec: 'run\n' } };

function only<T>(xs: readonly T[]): T {
  if (xs.length !== 1) throw new Error(`expected one, got ${xs.length}`);
  return xs[0]!;
}

test('loose: the path gunzips to the object git has, for the root and with --all for every object', (t) => {
  const f = new UpkeepFixture(t);
  const tree = f.tree(FILES);
  const meta = f.meta(tree);
  const objects = f.objects([...f.reach(tree), meta.oid]);
  const silo = f.silo('s.silo');
  f.store(silo, objects, 'loose');
  silo.close();
  const medo = f.medoDir('m.medo', ['../s.silo']);
  const ptr = f.treeptr(medo, 'x', { tree, meta: meta.oid });

  const root = urlFor(ptr);
  t.is(root.objects.length, 1);
  const l = only(root.objects[0]!.locations);
  t.like(l, { silo: '../s.silo', kind: 'loose', checked: true, location: join(f.root, 's.silo', 'objects', tree.slice(0, 2), `${tree.slice(2)}.gz`) });
  t.true(gunzipSync(readFileSync(l.location)).equals(git(f.oracle, ['cat-file', 'tree', tree])));

  const all = urlFor(ptr, { all: true });
  t.deepEqual(all.objects.map((o) => o.oid).sort(), objects.map((o) => o.oid).sort());
  for (const o of all.objects) {
    const want = objects.find((x) => x.oid === o.oid)!;
    t.is(o.type, want.type);
    t.true(gunzipSync(readFileSync(only(o.locations).location)).equals(want.content), o.path);
  }
  t.deepEqual(all.objects.filter((o) => o.role === 'meta').map((o) => o.oid), [meta.oid]);
  t.truthy(all.objects.find((o) => o.path === 'd/e/c.bin'));
});

test('packed by medo: offset and length are what git verify-pack reports; the data range inflates to the content', (t) => {
  const f = new UpkeepFixture(t);
  const tree = f.tree(FILES);
  const objects = f.objects(f.reach(tree));
  const silo = f.silo('s.silo');
  const packPath = f.store(silo, objects, 'pack')!;
  silo.close();
  const ptr = f.treeptr(f.medoDir('m.medo', ['../s.silo']), 'x', { tree });
  const { entries } = verifyPack(f.root, packPath.replace(/\.pack$/, '.idx'));
  const pack = readFileSync(packPath);
  for (const o of urlFor(ptr, { all: true }).objects) {
    const l = only(o.locations);
    const v = entries.get(o.oid)!;
    t.like(l, { kind: 'pack', location: packPath, idx: packPath.replace(/\.pack$/, '.idx'), offset: v.offset, length: v.sizeInPack, entry: 'whole' });
    const data = pack.subarray(l.dataOffset!, l.dataOffset! + l.dataLength!);
    t.is(l.dataOffset! + l.dataLength!, l.offset! + l.length!);
    t.true(inflateSync(data).equals(objects.find((x) => x.oid === o.oid)!.content));
  }
});

for (const [name, args, kind] of [['ofs', ['--delta-base-offset'], 'ofs-delta'], ['ref', [], 'ref-delta']] as const) {
  test(`packed by git with deltas (${kind}): the entry is flagged and names git's base`, (t) => {
    const f = new UpkeepFixture(t);
    const text = Array.from({ length: 400 }, (_, i) => `line ${i} of a text that deltas well\n`).join('');
    const v1 = f.tree({ 'big.txt': text });
    const v2 = f.tree({ 'big.txt': `${text}one more line\n` });
    const oids = [...new Set([...f.reach(v1), ...f.reach(v2)])];
    const silo = f.silo('s.silo');
    silo.close();
    const hash = git(f.oracle, ['pack-objects', '-q', '--window=10', ...args, join(f.root, 'tmp-pack')], oids.map((o) => `${o}\n`).join('')).toString().trim();
    for (const ext of ['pack', 'idx']) copyFileSync(join(f.root, `tmp-pack-${hash}.${ext}`), join(f.root, 's.silo', 'pack', `pack-${hash}.${ext}`));
    const packPath = join(f.root, 's.silo', 'pack', `pack-${hash}.pack`);
    const { entries } = verifyPack(f.root, packPath.replace(/\.pack$/, '.idx'));
    const [deltaOid, v] = [...entries].find(([, e]) => e.base !== undefined)!;
    const medo = f.medoDir('m.medo', ['../s.silo']);
    const l: Location = only(urlFor(f.treeptr(medo, 'blob', { blob: deltaOid }), {}).objects[0]!.locations);
    t.like(l, { kind: 'pack', entry: kind, offset: v.offset, length: v.sizeInPack });
    if (name === 'ofs') t.is(l.baseOffset, entries.get(v.base!)!.offset);
    else t.is(l.baseOid, v.base);
  });
}

test('silos in SILO.json order; a remote silo gives an unchecked loose URL, or checked URLs from a --mirror copy', (t) => {
  const f = new UpkeepFixture(t);
  const tree = f.tree(FILES);
  const objects = f.objects(f.reach(tree));
  const a = f.silo('a.silo');
  f.store(a, objects, 'loose');
  a.close();
  const mirror = f.silo('mirror.silo');
  const packPath = f.store(mirror, objects, 'pack')!;
  mirror.close();
  const url = 'https://example.org/deps.silo';
  const medo = f.medoDir('m.medo', [url, '../missing.silo', '../a.silo']);
  const ptr = f.treeptr(medo, 'x', { tree });
  const loose = `objects/${tree.slice(0, 2)}/${tree.slice(2)}.gz`;

  const plain = urlFor(ptr);
  t.deepEqual(plain.objects[0]!.locations.map((l) => [l.silo, l.kind, l.location, l.checked]), [
    [url, 'loose', `${url}/${loose}`, false],
    ['../a.silo', 'loose', join(f.root, 'a.silo', loose), true],
  ]);
  t.true(plain.notes.some((n) => n.startsWith(`${url}/: remote silo, not checked`)), plain.notes.join('\n'));
  t.true(plain.notes.some((n) => n.startsWith('../missing.silo: not a silo')), plain.notes.join('\n'));

  const mirrored = urlFor(ptr, { mirrors: new Map([[url, join(f.root, 'mirror.silo')]]) });
  const first = mirrored.objects[0]!.locations[0]!;
  t.like(first, { silo: url, kind: 'pack', checked: true, location: `${url}/pack/${basename(packPath)}`, entry: 'whole' });
  t.is(first.idx, `${url}/pack/${basename(packPath).replace(/\.pack$/, '.idx')}`);

  throwsCode(t, () => urlFor(ptr, { mirrors: new Map([['https://other.example/x.silo', join(f.root, 'mirror.silo')]]) }), 'ERR_USAGE');
});

test('an object in no silo has no locations; --all without a readable silo is an error', (t) => {
  const f = new UpkeepFixture(t);
  const tree = f.tree(FILES);
  f.silo('s.silo').close();
  const ptr = f.treeptr(f.medoDir('m.medo', ['../s.silo']), 'x', { tree });
  t.deepEqual(urlFor(ptr).objects[0]!.locations, []);
  throwsCode(t, () => urlFor(ptr, { all: true }), 'ERR_OBJECT_MISSING');
  const remote = f.treeptr(f.medoDir('r.medo', ['https://example.org/s.silo/']), 'x', { tree });
  throwsCode(t, () => urlFor(remote, { all: true }), 'ERR_STORE_NOT_FOUND');
});
