// deflateTight (lib/deflate.ts): valid zlib streams of the same bytes on both paths, and, when the native
// helper is built, the very stream the system's zlib makes: git (which links it) is the oracle, by the
// loose object it writes at the same level.
import test from 'ava';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { inflateSync } from 'node:zlib';
import { deflateTight, tightDeflateIsNative } from '../../lib/deflate.js';
import { git, initRepo, tempDir } from '../helpers/git-fixture.js';

// Real bytes of both kinds: git's own executable and a text file of the repository.
const samples = (): Buffer[] => [
  Buffer.alloc(0),
  Buffer.from('medo'),
  readFileSync(new URL('../../README.md', import.meta.url)),
  readFileSync(git(process.cwd(), ['--exec-path']).toString().trim() + '/git'),
];

test('the system zlib is used when the native helper is built', (t) => {
  t.is(tightDeflateIsNative(), !process.env.MEDO_NO_NATIVE, 'build/Release/medo_native.node lacks deflateInto, or libz.so.1 did not load');
});

test('every level round-trips', (t) => {
  for (const data of samples()) {
    for (const level of [0, 1, 6, 9]) t.true(inflateSync(deflateTight(data, level)).equals(data), `${data.length} bytes at level ${level}`);
  }
});

test('the stream is the one git makes with the system zlib', (t) => {
  if (!tightDeflateIsNative()) {
    t.pass('node:zlib fallback (MEDO_NO_NATIVE): its bytes are its own');
    return;
  }
  const dir = tempDir(t);
  for (const level of [1, 9]) {
    // A repository per level: git does not write an object it already has.
    const repo = initRepo(join(dir, `level-${level}.git`), { bare: true });
    for (const data of samples()) {
      const oid = git(repo, ['-c', `core.loosecompression=${level}`, 'hash-object', '-w', '--stdin'], data).toString().trim();
      const loose = readFileSync(join(repo, 'objects', oid.slice(0, 2), oid.slice(2)));
      const ours = deflateTight(Buffer.concat([Buffer.from(`blob ${data.length}\0`), data]), level);
      t.true(ours.equals(loose), `${data.length} bytes at level ${level}: ${ours.length} bytes, git's ${loose.length}`);
    }
  }
});
