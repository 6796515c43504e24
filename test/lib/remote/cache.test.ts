// The host cache: where it is, what it holds, and LRU eviction that never removes what is pinned.
import test from 'ava';
import { utimesSync } from 'node:fs';
import { join } from 'node:path';
import { cacheDirFrom, cacheStatus, cleanCache, openCache, parseSize, pinnedOids, writePins } from '../../../lib/remote/cache.js';
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
