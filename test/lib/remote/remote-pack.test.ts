// RemotePack's entry bounds: each entry ends where the next one in offset order starts, and the last at
// the pack's trailer, as the server's .idx and pack list say. Bounds those make impossible are corruption.
import test from 'ava';
import { PackIndex } from '../../../lib/git/pack-idx.js';
import { BufferSource } from '../../../lib/io/random-access.js';
import type { HttpClient } from '../../../lib/remote/http.js';
import { RemotePack } from '../../../lib/remote/remote-pack.js';
import { buildPack, buildIdx, fakeOid } from '../../helpers/pack-builder.js';
import { throwsCode } from '../../helpers/medo-error.js';

const noHttp = { get: async () => undefined } as unknown as HttpClient;
const options = { maxObjectSize: 1 << 20, maxChainLength: 10, resolveExternal: async () => undefined };

test('entryBytes: each entry up to the next, the last up to the trailer', (t) => {
  const entries = [0, 1, 2].map((i) => ({ oid: fakeOid(i + 1), type: 'blob' as const, content: Buffer.from(`object ${i}`.repeat(i + 1)) }));
  const { pack, idx, offsets } = buildPack(entries);
  const remote = new RemotePack('http://silo/pack.pack', PackIndex.open(new BufferSource(idx)), pack.length, noHttp, options);
  const ends = [...offsets.slice(1), pack.length - 20];
  entries.forEach((e, i) => t.is(remote.entryBytes(Buffer.from(e.oid, 'hex')), ends[i]! - offsets[i]!));
  t.is(remote.entryBytes(Buffer.from(fakeOid(99), 'hex')), undefined);
});

test('entryBytes of an entry the .idx places past the pack\'s end is ERR_PACK_CORRUPT, not a negative size (found by fuzz/js remote-pack)', (t) => {
  const { pack } = buildPack([{ oid: fakeOid(1), type: 'blob', content: Buffer.from('small') }]);
  // An index that puts its one entry beyond the pack the pack list describes.
  const idx = buildIdx([{ oid: Buffer.from(fakeOid(1), 'hex'), offset: pack.length + 100, crc: 0 }], pack.subarray(pack.length - 20));
  const remote = new RemotePack('http://silo/pack.pack', PackIndex.open(new BufferSource(idx)), pack.length, noHttp, options);
  throwsCode(t, () => remote.entryBytes(Buffer.from(fakeOid(1), 'hex')), 'ERR_PACK_CORRUPT');
  // And an entry that would end past the trailer: two entries, the second listed beyond the pack.
  const two = buildIdx([{ oid: Buffer.from(fakeOid(1), 'hex'), offset: 12, crc: 0 }, { oid: Buffer.from(fakeOid(2), 'hex'), offset: pack.length + 100, crc: 0 }],
    pack.subarray(pack.length - 20));
  const remote2 = new RemotePack('http://silo/pack.pack', PackIndex.open(new BufferSource(two)), pack.length, noHttp, options);
  throwsCode(t, () => remote2.entryBytes(Buffer.from(fakeOid(1), 'hex')), 'ERR_PACK_CORRUPT');
});
