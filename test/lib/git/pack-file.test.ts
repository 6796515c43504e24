// PackFile against packs written by git in every shape it writes them: OFS_DELTA and REF_DELTA, deep
// chains from `gc --aggressive`, recomputed deltas, and 64-bit offset tables standing in for packs over
// 2 GiB. Each pack sits alone in a bare repository, so `git cat-file --batch-all-objects` there lists
// exactly its objects.
import test, { type ExecutionContext } from 'ava';
import { copyFileSync, mkdirSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { BufferSource, FileSource } from '../../../lib/io/random-access.js';
import { OBJ_OFS_DELTA, OBJ_REF_DELTA } from '../../../lib/git/pack-entry.js';
import { PackFile, type PackFileOptions } from '../../../lib/git/pack-file.js';
import { PackIndex } from '../../../lib/git/pack-idx.js';
import { oidFromBytes, oidToBytes } from '../../../lib/oid.js';
import { assertReadsLikeGit, git, gitObjects, initRepo, packAll, removeDir, sharedTempDir, verifyPack } from '../../helpers/git-fixture.js';
import { makeHistory } from '../../helpers/history.js';
import { throwsCode } from '../../helpers/medo-error.js';

interface Variant {
  gitDir: string;
  /** Pack path without `.pack` / `.idx`. */
  base: string;
}

let root: string;
const variants = new Map<string, Variant>();

test.before(() => {
  root = sharedTempDir('medo-pack-file-');
  const source = join(root, 'source');
  mkdirSync(source);
  makeHistory(source);
  const variant = (name: string, from: string, args: string[]): Variant => {
    const gitDir = initRepo(join(root, name), { bare: true });
    const v = { gitDir, base: packAll(from, join(gitDir, 'objects', 'pack'), args) };
    variants.set(name, v);
    return v;
  };
  // pack-objects writes REF_DELTA unless told that the reader understands OFS_DELTA.
  variant('ofs-delta', source, ['--window=50', '--depth=50', '--delta-base-offset']);
  const ref = variant('ref-delta', source, ['--window=50', '--depth=50']);
  variant('large-offsets', source, ['--delta-base-offset', '--index-version=2,0x40']);

  const gc = join(root, 'gc');
  git(root, ['clone', '-q', '--bare', '--no-local', source, gc]);
  git(gc, ['gc', '-q', '--aggressive']);
  const gcIdx = readdirSync(join(gc, 'objects', 'pack')).find((n) => n.endsWith('.idx'))!;
  variants.set('gc-aggressive', { gitDir: gc, base: join(gc, 'objects', 'pack', gcIdx.replace(/\.idx$/, '')) });
  variant('no-reuse-delta', gc, ['--no-reuse-delta', '--window=10', '--depth=4', '--delta-base-offset']);

  // git index-pack re-indexes a REF_DELTA pack with every offset above 0x40 in the 64-bit table.
  const ip = initRepo(join(root, 'index-pack'), { bare: true });
  const ipPack = join(ip, 'objects', 'pack', 'pack-reindexed.pack');
  copyFileSync(`${ref.base}.pack`, ipPack);
  git(ip, ['index-pack', '--index-version=2,0x40', ipPack]);
  variants.set('index-pack-64bit', { gitDir: ip, base: ipPack.replace(/\.pack$/, '') });
});

test.after.always(() => removeDir(root));

function open(name: string, options?: PackFileOptions): PackFile {
  return PackFile.open(`${variants.get(name)!.base}.idx`, options);
}

interface EntryInfo {
  depth: number;
  typeCode: number;
  size: number;
  offset: number;
  base?: string;
}

/** Every entry's header and delta depth, found by walking entry headers only (no inflating). */
function depths(pack: PackFile): Map<string, EntryInfo> {
  const byOffset = new Map<number, string>();
  for (let i = 0; i < pack.index.count; i++) byOffset.set(pack.index.offsetAt(i), oidFromBytes(pack.index.oidAt(i)));
  const out = new Map<string, EntryInfo>();
  const depthAt = (offset: number): number => {
    const h = pack.entryHeader(offset);
    if (h.typeCode === OBJ_OFS_DELTA) return 1 + depthAt(h.baseOffset!);
    if (h.typeCode === OBJ_REF_DELTA) return 1 + depthAt(pack.find(h.baseOid!)!);
    return 0;
  };
  for (const [offset, oid] of byOffset) {
    const h = pack.entryHeader(offset);
    const base = h.baseOffset !== undefined ? byOffset.get(h.baseOffset) : h.baseOid && oidFromBytes(h.baseOid);
    out.set(oid, { depth: depthAt(offset), typeCode: h.typeCode, size: h.size, offset, ...(base ? { base } : {}) });
  }
  return out;
}

const readsLikeGit = test.macro({
  exec(t: ExecutionContext, name: string) {
    const v = variants.get(name)!;
    const pack = open(name);
    t.teardown(() => pack.close());
    const objects = gitObjects(v.gitDir);
    t.is(pack.index.count, objects.length, 'the bare repository holds exactly this pack');
    assertReadsLikeGit(t, (oid) => pack.read(oidToBytes(oid)), objects);
  },
  title: (_, name: string) => `every object of the ${name} pack equals git cat-file`,
});

for (const name of ['ofs-delta', 'ref-delta', 'large-offsets', 'gc-aggressive', 'no-reuse-delta', 'index-pack-64bit']) {
  test(readsLikeGit, name);
}

test('the fixture packs have the shapes they stand for', (t) => {
  const kinds = (name: string) => {
    const pack = open(name);
    const d = [...depths(pack).values()];
    const result = {
      ofs: d.filter((e) => e.typeCode === OBJ_OFS_DELTA).length,
      ref: d.filter((e) => e.typeCode === OBJ_REF_DELTA).length,
      maxDepth: Math.max(...d.map((e) => e.depth)),
      large: pack.index.largeOffsetCount,
    };
    pack.close();
    return result;
  };
  const ofs = kinds('ofs-delta');
  t.true(ofs.ofs > 0 && ofs.ref === 0);
  const ref = kinds('ref-delta');
  t.true(ref.ref > 0 && ref.ofs === 0);
  t.true(kinds('gc-aggressive').maxDepth >= 8, 'gc --aggressive made deep chains');
  for (const name of ['large-offsets', 'index-pack-64bit']) {
    const k = kinds(name);
    // Every entry but the first few small ones lies past 0x40, so nearly all use the 64-bit table.
    t.true(k.large > 100, `${name} uses the 64-bit offset table`);
  }
});

test('entry headers agree with git verify-pack -v: offset, size, delta depth and base', (t) => {
  for (const name of ['gc-aggressive', 'ref-delta', 'large-offsets']) {
    const v = variants.get(name)!;
    const pack = open(name);
    const ours = depths(pack);
    const theirs = verifyPack(v.gitDir, `${v.base}.idx`);
    t.is(ours.size, theirs.entries.size);
    for (const [oid, g] of theirs.entries) {
      const o = ours.get(oid);
      t.deepEqual(o && { offset: o.offset, size: o.size, depth: o.depth, base: o.base }, { offset: g.offset, size: g.size, depth: g.depth, base: g.base }, oid);
    }
    const histogram = new Map<number, number>();
    for (const o of ours.values()) if (o.depth > 0) histogram.set(o.depth, (histogram.get(o.depth) ?? 0) + 1);
    t.deepEqual(new Map([...histogram].sort((a, b) => a[0] - b[0])), theirs.chains);
    pack.close();
  }
});

test('in-memory sources, no page cache and no delta-base cache read the same bytes', (t) => {
  const v = variants.get('gc-aggressive')!;
  const objects = gitObjects(v.gitDir);
  const inMemory = new PackFile(PackIndex.open(new BufferSource(readFileSync(`${v.base}.idx`))), new BufferSource(readFileSync(`${v.base}.pack`)));
  assertReadsLikeGit(t, (oid) => inMemory.read(oidToBytes(oid)), objects);
  // Reading deepest-first and with nothing cached resolves every chain from its base each time.
  const uncached = new PackFile(PackIndex.open(new FileSource(`${v.base}.idx`, 0)), new FileSource(`${v.base}.pack`, 0), { baseCacheBytes: 0 });
  t.teardown(() => uncached.close());
  assertReadsLikeGit(t, (oid) => uncached.read(oidToBytes(oid)), [...objects].reverse());
});

test('reads in pack order, reversed, and shuffled, twice over, through one small base cache, equal git', (t) => {
  // Bases and intermediate results are cached and handed out shared, and deltas inflate into buffers
  // reused per chain position: every order of reads must still give git's bytes, the second time too.
  const v = variants.get('gc-aggressive')!;
  const objects = gitObjects(v.gitDir);
  const pack = open('gc-aggressive', { baseCacheBytes: 64 << 10 });
  t.teardown(() => pack.close());
  const info = depths(pack);
  const byOffset = [...objects].sort((a, b) => info.get(a.oid)!.offset - info.get(b.oid)!.offset);
  let seed = 7;
  const shuffled = [...objects].sort(() => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) & 1) - 0.5);
  for (const order of [byOffset, [...byOffset].reverse(), shuffled]) {
    assertReadsLikeGit(t, (oid) => pack.read(oidToBytes(oid)), order);
    assertReadsLikeGit(t, (oid) => pack.read(oidToBytes(oid)), order);
  }
});

test('entries read through the read-ahead window, one peek each, or both in turn, equal git', (t) => {
  // In pack order each entry follows the last closely and comes from the window; in reverse each is a
  // peek of its own; alternating halves of the pack moves between the two at every read. Whole objects
  // kept for later deltas (the recent cache) are handed to those deltas as bases.
  const v = variants.get('gc-aggressive')!;
  const objects = gitObjects(v.gitDir);
  for (const options of [{}, { recentCacheBytes: 0 }, { baseCacheBytes: 0, recentCacheBytes: 1 << 20 }]) {
    const pack = open('gc-aggressive', options);
    t.teardown(() => pack.close());
    const info = depths(pack);
    const byOffset = [...objects].sort((a, b) => info.get(a.oid)!.offset - info.get(b.oid)!.offset);
    const half = byOffset.length >> 1;
    const alternating = byOffset.slice(0, half).flatMap((o, i) => [o, byOffset[half + i]!]);
    for (const order of [byOffset, [...byOffset].reverse(), alternating]) {
      assertReadsLikeGit(t, (oid) => pack.read(oidToBytes(oid)), order);
    }
  }
});

test('absent ids, including ones at the ends of the fan-out, are undefined', (t) => {
  const pack = open('ofs-delta');
  t.teardown(() => pack.close());
  for (const oid of ['0'.repeat(40), 'f'.repeat(40), '8'.repeat(40)]) {
    t.is(pack.find(oidToBytes(oid)), undefined);
    t.is(pack.read(oidToBytes(oid)), undefined);
  }
});

test('maxChainLength N follows chains of N deltas and refuses longer ones', (t) => {
  const probe = open('gc-aggressive');
  const d = depths(probe);
  probe.close();
  const [oid, deepest] = [...d].sort((a, b) => b[1].depth - a[1].depth)[0]!;
  const limits = (n: number) => ({ limits: { maxObjectSize: 2 ** 31 - 1, maxChainLength: n } });
  const ok = open('gc-aggressive', limits(deepest.depth));
  t.teardown(() => ok.close());
  t.truthy(ok.read(oidToBytes(oid)));
  const short = open('gc-aggressive', limits(deepest.depth - 1));
  t.teardown(() => short.close());
  throwsCode(t, () => short.read(oidToBytes(oid)), 'ERR_PACK_CORRUPT');
});

test('objects over maxObjectSize are refused with ERR_TOO_LARGE', (t) => {
  const v = variants.get('ofs-delta')!;
  const biggest = gitObjects(v.gitDir).sort((a, b) => b.content.length - a.content.length)[0]!;
  const pack = open('ofs-delta', { limits: { maxObjectSize: biggest.content.length - 1, maxChainLength: 100 } });
  t.teardown(() => pack.close());
  throwsCode(t, () => pack.read(oidToBytes(biggest.oid)), 'ERR_TOO_LARGE');
});
