// The host cache: where it is, what it holds, and LRU eviction that never removes what is pinned.
import test from 'ava';
import { execFileSync } from 'node:child_process';
import { readFileSync, utimesSync } from 'node:fs';
import { crc32, deflateSync } from 'node:zlib';
import { join } from 'node:path';
import { cacheDirFrom, cacheStatus, cleanCache, openCache, parseSize, pinnedOids, storeDeflatedInCache, writePins } from '../../../lib/remote/cache.js';
import { hashObject } from '../../../lib/oid.js';
import { tempDir } from '../../helpers/git-fixture.js';

test('cache directory: explicit, then MEDO_CACHE_DIR, then /var/cache/medo', (t) => {
  t.is(cacheDirFrom('/x', { MEDO_CACHE_DIR: '/y' }), '/x');
  t.is(cacheDirFrom(undefined, { MEDO_CACHE_DIR: '/y' }), '/y');
  t.is(cacheDirFrom(undefined, {}), '/var/cache/medo');
  t.is(cacheDirFrom('', { MEDO_CACHE_DIR: '' }), '/var/cache/medo');
});

test('sizes', (t) => {
  t.is(parseSize('1234', 'o'), 1234);
  t.is(parseSize('10k', 'o'), 10240);
  t.is(parseSize('1.5M', 'o'), 1.5 * 2 ** 20);
  t.is(parseSize('2GiB', 'o'), 2 * 2 ** 30);
  const e = t.throws(() => parseSize('lots', '--max-size'));
  t.is((e as { code?: string }).code, 'ERR_USAGE');
  t.regex(e!.message, /^--max-size: /);
});

test('clean evicts least recently used first, never a pinned or kept object', (t) => {
  const dir = join(tempDir(t), 'cache');
  const cache = openCache(dir);
  const oids: string[] = [];
  for (let i = 0; i < 6; i++) {
    const { oid } = cache.writeLoose('blob', Buffer.from(`object ${i} `.repeat(200)));
    oids.push(oid);
    // Older objects were used longer ago.
    const when = new Date(Date.UTC(2020, 0, 1 + i));
    utimesSync(cache.loose.path(dir, oid), when, when);
  }
  const per = cacheStatus(dir).objectBytes / 6;
  t.is(cacheStatus(dir).objects, 6);
  writePins(dir, [oids[0]!]);
  t.true(pinnedOids(dir).has(oids[0]!));
  const r = cleanCache(dir, Math.ceil(per * 4.5), new Set([oids[1]!]));
  // 0 (pinned) and 1 (kept) stay although oldest; 2 and 3 go; 4 and 5 are the most recent.
  t.is(r.removed, 2);
  t.is(r.pinnedKept, 2);
  t.deepEqual(oids.map((o) => cache.has(o)), [true, true, false, false, true, true]);
  writePins(dir, []);
  cleanCache(dir, 0);
  t.is(cacheStatus(dir).objects, 0);
  const e = t.throws(() => cleanCache(dir, -1));
  t.is((e as { code?: string }).code, 'ERR_USAGE');
});

test('a zlib stream goes into the cache rewrapped as gzip, which gunzip reads back; one with a dictionary does not', (t) => {
  const cache = openCache(join(tempDir(t), 'cache'));
  try {
    const content = Buffer.from('medo keeps large trees out of git\n'.repeat(3000));
    const oid = hashObject('blob', content);
    for (const level of [1, 9]) {
      const zlib = deflateSync(content, { level });
      t.true(storeDeflatedInCache(cache, oid, zlib, content.length, crc32(content)) === (level === 1), `level ${level}: stored once`);
    }
    const file = cache.loose.path(cache.path, oid);
    t.true(execFileSync('gunzip', ['-c', file], { maxBuffer: 1 << 24 }).equals(content), 'gunzip gives the content back');
    t.is(cache.read(oid)?.content.toString(), content.toString());
    const dict = deflateSync(content, { dictionary: Buffer.from('medo keeps') });
    t.is(storeDeflatedInCache(cache, hashObject('blob', Buffer.from('x')), dict, content.length, crc32(content)), undefined, 'a preset dictionary cannot be carried over');
    t.is(readFileSync(file).subarray(0, 2).toString('hex'), '1f8b');
  } finally {
    cache.close();
  }
});
