// A pack read without its .idx (lib/git/unindexed-pack.ts) against git: packs git wrote with OFS_DELTA and
// REF_DELTA entries, read from their bytes alone, give every object git's cat-file gives, with the
// native inflate and with zlib's; and a pack that is cut, padded, miscounted or spoilt is a typed error
// naming it, never a wrong object.
import test from 'ava';
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PackFile } from '../../../lib/git/pack-file.js';
import { openUnindexedPack } from '../../../lib/git/unindexed-pack.js';
import { inflateCounted, nativeInflate } from '../../../lib/inflate.js';
import { parseEntryHeader } from '../../../lib/git/pack-entry.js';
import { hashObject, type ObjectType } from '../../../lib/oid.js';
import { assertReadsLikeGit, gitObjects, initRepo, packAll, removeDir, sharedTempDir } from '../../helpers/git-fixture.js';
import { makeHistory } from '../../helpers/history.js';
import { throwsCode } from '../../helpers/medo-error.js';

let root: string;
const packs = new Map<string, { gitDir: string; base: string }>();

test.before(() => {
  root = sharedTempDir('medo-unindexed-pack-');
  const source = join(root, 'source');
  mkdirSync(source);
  makeHistory(source);
  for (const [name, args] of [['ofs-delta', ['--window=50', '--depth=50', '--delta-base-offset']], ['ref-delta', ['--window=50', '--depth=50']]] as const) {
    const gitDir = initRepo(join(root, name), { bare: true });
    packs.set(name, { gitDir, base: packAll(source, join(gitDir, 'objects', 'pack'), args) });
  }
});

test.after.always(() => removeDir(root));

/** Every object of the pack at `base`, read from the .pack alone: each entry resolved, hashed for its id. */
function readAll(pack: Buffer, path: string): Map<string, { type: ObjectType; content: Buffer }> {
  const { file, offsets } = openUnindexedPack(pack, path);
  const out = new Map<string, { type: ObjectType; content: Buffer }>();
  const byId = (oid: string): { type: ObjectType; content: Buffer } | undefined => out.get(oid);
  try {
    for (const at of offsets) {
      const o = file.readAt(at, byId);
      out.set(hashObject(o.type, o.content), { type: o.type, content: Buffer.from(o.content) });
    }
  } finally {
    file.close();
  }
  return out;
}

for (const name of ['ofs-delta', 'ref-delta']) {
  test(`a ${name} pack git wrote reads from its bytes alone as git reads it`, (t) => {
    const { gitDir, base } = packs.get(name)!;
    const pack = readFileSync(`${base}.pack`);
    const expected = gitObjects(gitDir);
    const got = readAll(pack, `${base}.pack`);
    t.is(got.size, expected.length, 'one object per entry, none twice');
    assertReadsLikeGit(t, (oid) => got.get(oid), expected);
    // The same offsets and objects as git's own .idx gives.
    const indexed = PackFile.open(base);
    try {
      t.deepEqual([...openUnindexedPack(pack, 'p').offsets].sort((a, b) => a - b),
        expected.map((o) => indexed.find(Buffer.from(o.oid, 'hex'))!).sort((a, b) => a - b));
    } finally {
      indexed.close();
    }
  });
}

test('the zlib fallback finds the same entry ends as the native inflate', (t) => {
  if (!nativeInflate) return t.pass('no native helper here: the fallback is what the other tests ran');
  const { base } = packs.get('ref-delta')!;
  const pack = readFileSync(`${base}.pack`);
  const dataEnd = pack.length - 20;
  for (const at of openUnindexedPack(pack, 'p').offsets) {
    const h = parseEntryHeader(pack.subarray(at, at + 32), at, 'p');
    const src = pack.subarray(at + h.headerLength, dataEnd);
    const [native, zlib] = [inflateCounted(src, h.size, true), inflateCounted(src, h.size, false)];
    if (typeof native === 'string' || typeof zlib === 'string') return t.fail(`entry at ${at}: ${String(native)} / ${String(zlib)}`);
    t.is(zlib.consumed, native.consumed, `entry at ${at}`);
    t.true(zlib.data.equals(native.data));
  }
  return undefined;
});

/** `pack` with its SHA-1 trailer made right again, so that only the change itself is wrong. */
const retrail = (body: Buffer): Buffer => Buffer.concat([body, createHash('sha1').update(body).digest()]);

test('a pack cut, padded, miscounted or spoilt is ERR_PACK_CORRUPT naming it, whatever its trailer says', (t) => {
  const { base } = packs.get('ofs-delta')!;
  const pack = readFileSync(`${base}.pack`);
  const body = pack.subarray(0, pack.length - 20);
  const count = body.readUInt32BE(8);
  const withCount = (n: number): Buffer => {
    const b = Buffer.from(body);
    b.writeUInt32BE(n, 8);
    return retrail(b);
  };
  const flipped = Buffer.from(pack);
  flipped[Math.floor(pack.length / 2)] ^= 0x40;
  const cases: [string, Buffer, RegExp][] = [
    ['empty', Buffer.alloc(0), /too short/],
    ['not a pack', retrail(Buffer.from('NOPE\0\0\0\x02\0\0\0\0')), /signature/],
    ['a flipped byte', flipped, /trailer/],
    ['cut short', retrail(body.subarray(0, Math.floor(body.length * 0.7))), /offset \d+|entries/],
    ['padded', retrail(Buffer.concat([body, Buffer.alloc(9)])), /bytes follow its last entry|offset/],
    ['one entry more than it holds', withCount(count + 1), /header says \d+ entries/],
    ['one entry fewer', withCount(count - 1), /follow its last entry/],
    ['version 9', (() => { const b = Buffer.from(body); b.writeUInt32BE(9, 4); return retrail(b); })(), /version 9/],
  ];
  for (const [what, bytes, re] of cases) {
    const e = throwsCode(t, () => openUnindexedPack(bytes, 'the.pack'), 'ERR_PACK_CORRUPT', what);
    t.regex(e.message, /^the\.pack: /, what);
    t.regex(e.message, re, what);
  }
});

test('an entry that claims more than its data could inflate to, or more than the limit, is refused before inflating', (t) => {
  // One blob entry whose header claims 2^40 bytes over a few bytes of zlib data.
  const header = Buffer.from([0x30 | 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x40]);
  const body = Buffer.concat([Buffer.from('PACK\0\0\0\x02\0\0\0\x01', 'latin1'), header, Buffer.from([0x78, 0x9c, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01])]);
  const e = throwsCode(t, () => openUnindexedPack(retrail(body), 'bomb.pack'), 'ERR_PACK_CORRUPT', 'a bomb');
  t.regex(e.message, /claims \d+ bytes, more than its compressed data can hold/);
  const { base } = packs.get('ofs-delta')!;
  throwsCode(t, () => openUnindexedPack(readFileSync(`${base}.pack`), 'p', { limits: { maxObjectSize: 16, maxChainLength: 50 } }), 'ERR_TOO_LARGE');
});
