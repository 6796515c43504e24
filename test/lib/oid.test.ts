import test from 'ava';
import { execFileSync } from 'node:child_process';
import { hashObject, oidFromBytes, oidToBytes } from '../../lib/oid.js';

test('hashObject equals git hash-object for blobs', (t) => {
  for (const content of ['', 'hello\n', 'x'.repeat(100_000)]) {
    const git = execFileSync('git', ['hash-object', '--stdin'], { input: content }).toString().trim();
    t.is(hashObject('blob', Buffer.from(content)), git);
  }
});

test('hex and bytes round-trip, bad ids are typed errors', (t) => {
  const oid = 'e69de29bb2d1d6434b8b29ae775ad8c2e48c5391';
  t.is(oidFromBytes(oidToBytes(oid)), oid);
  t.throws(() => oidToBytes('E69DE29BB2D1D6434B8B29AE775AD8C2E48C5391'), { code: 'ERR_BAD_OID' } as never);
  t.throws(() => oidToBytes('abc'), { code: 'ERR_BAD_OID' } as never);
});
