// Positional reads: FileSource serves small reads from 64 KiB pages, copies reads that straddle two
// pages, and reads large ranges directly. Every path must return exactly the file's bytes, and reads
// outside the file, or past a file that shrank, must be typed errors rather than short buffers.
import test from 'ava';
import { truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BufferSource, FileSource, type RandomAccess } from '../../../lib/io/random-access.js';
import { tempDir } from '../../helpers/git-fixture.js';
import { random, randomBytes } from '../../helpers/history.js';
import { throwsCode } from '../../helpers/medo-error.js';

const PAGE = 1 << 16;
const data = randomBytes(random(21), 5 * PAGE + 1234);

function fileSource(t: import('ava').ExecutionContext, cacheBytes?: number): FileSource {
  const path = join(tempDir(t), 'data');
  writeFileSync(path, data);
  const src = new FileSource(path, cacheBytes);
  t.teardown(() => src.close());
  return src;
}

function readsLikeTheBuffer(t: import('ava').ExecutionContext, src: RandomAccess): void {
  t.is(src.size, data.length);
  const ranges: [number, number][] = [
    [0, 0], [0, 1], [0, 20], [100, 4000], // within the first page
    [PAGE - 10, 20], [PAGE - 1, 2], [2 * PAGE - 5, PAGE], // straddling two pages
    [PAGE, PAGE], [3, PAGE + 1], [10, 3 * PAGE], // a whole page, and larger than a page
    [data.length - 20, 20], [data.length - PAGE - 3, PAGE + 3], [data.length, 0], // up to the end
    [PAGE, 0], [5 * PAGE, 0], // empty reads on page boundaries
  ];
  const r = random(22);
  for (let k = 0; k < 200; k++) {
    const pos = Math.floor(r() * data.length);
    ranges.push([pos, Math.floor(r() * Math.min(2 * PAGE, data.length - pos))]);
  }
  for (const [pos, len] of ranges) t.true(src.read(pos, len).equals(data.subarray(pos, pos + len)), `${len} bytes at ${pos}`);
  for (const [pos, len] of ranges) {
    const into = Buffer.alloc(len, 0xee);
    t.is(src.readInto(pos, into), into);
    t.true(into.equals(data.subarray(pos, pos + len)), `readInto of ${len} bytes at ${pos}`);
  }
  // compare agrees in sign with Buffer.compare: equal bytes, a key that differs in its first or last
  // byte either way, within a page or straddling two.
  const sign = (n: number) => Math.sign(n);
  for (const [pos, len] of ranges.filter(([, n]) => n > 0 && n <= 64)) {
    const same = Buffer.from(data.subarray(pos, pos + len));
    t.is(src.compare(same, pos), 0, `compare of ${len} equal bytes at ${pos}`);
    for (const at of [0, len - 1]) {
      for (const delta of [1, -1]) {
        const key = Buffer.from(same);
        key[at] = (key[at]! + delta) & 0xff;
        t.is(sign(src.compare(key, pos)), sign(key.compare(same)), `compare at ${pos} with byte ${at} changed by ${delta}`);
      }
    }
  }
  throwsCode(t, () => src.compare(Buffer.alloc(2), data.length - 1), 'ERR_PACK_CORRUPT', 'a compare past the end');
  for (const [pos, len] of [[-1, 1], [0, data.length + 1], [data.length, 1], [data.length - 1, 2], [2 ** 53, 1]]) {
    throwsCode(t, () => src.read(pos!, len!), 'ERR_PACK_CORRUPT', `${len} bytes at ${pos}`);
    if (len! <= data.length) throwsCode(t, () => src.readInto(pos!, Buffer.alloc(len!)), 'ERR_PACK_CORRUPT', `readInto of ${len} bytes at ${pos}`);
  }
}

test('BufferSource', (t) => readsLikeTheBuffer(t, new BufferSource(data)));
test('FileSource with its page cache', (t) => readsLikeTheBuffer(t, fileSource(t)));
test('FileSource with a cache too small for one page', (t) => readsLikeTheBuffer(t, fileSource(t, 100)));

test('peek gives the same bytes as read, cached or not, small or up to PEEK_MAX_BYTES, and caches nothing', (t) => {
  const src = fileSource(t);
  const r = random(23);
  const ranges: [number, number][] = [[0, 1], [5, 40], [PAGE - 3, 10], [100, 3 * PAGE], [0, data.length], [data.length - 7, 7]];
  for (let k = 0; k < 100; k++) {
    const pos = Math.floor(r() * data.length);
    ranges.push([pos, Math.floor(r() * Math.min(3 * PAGE, data.length - pos))]);
  }
  for (const [pos, len] of ranges) {
    t.true(Buffer.from(src.peek(pos, len)).equals(data.subarray(pos, pos + len)), `peek of ${len} bytes at ${pos}`);
  }
  // A read caches its page; a peek after it (from the page) and a read after a peek agree.
  t.true(src.read(PAGE + 10, 100).equals(data.subarray(PAGE + 10, PAGE + 110)));
  t.true(Buffer.from(src.peek(PAGE + 20, 50)).equals(data.subarray(PAGE + 20, PAGE + 70)));
  t.true(Buffer.from(src.peek(4 * PAGE, 3 * 1000)).equals(data.subarray(4 * PAGE, 4 * PAGE + 3000)));
  t.true(src.read(4 * PAGE, 3000).equals(data.subarray(4 * PAGE, 4 * PAGE + 3000)));
  throwsCode(t, () => src.peek(data.length - 1, 2), 'ERR_PACK_CORRUPT', 'a peek past the end');
});

test('a file that shrinks after opening is ERR_PACK_CORRUPT, not a short read', (t) => {
  const src = fileSource(t);
  t.true(src.read(0, 10).equals(data.subarray(0, 10)));
  truncateSync(src.path, PAGE);
  throwsCode(t, () => src.read(3 * PAGE, 100), 'ERR_PACK_CORRUPT', 'a page past the new end');
  throwsCode(t, () => src.read(PAGE - 10, 2 * PAGE), 'ERR_PACK_CORRUPT', 'a large read across the new end');
});

test('close is idempotent', (t) => {
  const src = fileSource(t);
  src.close();
  t.notThrows(() => src.close());
});
