// The delta-base and page caches rely on LruCache to bound memory by weight, not by entry count.
import test from 'ava';
import { LruCache } from '../../lib/lru-cache.js';

const bytes = (n: number) => Buffer.alloc(n);
const cache = (max: number) => new LruCache<string, Buffer>(max, (b) => b.length);

test('evicts least recently used entries to stay within the weight bound', (t) => {
  const c = cache(100);
  c.set('a', bytes(40));
  c.set('b', bytes(40));
  t.truthy(c.get('a')); // a is now the most recent
  c.set('c', bytes(40));
  t.deepEqual([c.has('a'), c.has('b'), c.has('c')], [true, false, true]);
  t.is(c.weight, 80);
  c.set('d', bytes(100));
  t.deepEqual([c.size, c.weight, c.has('d')], [1, 100, true]);
});

test('replacing a key updates the weight; a value over the bound is not kept', (t) => {
  const c = cache(100);
  c.set('a', bytes(30));
  c.set('a', bytes(50));
  t.is(c.weight, 50);
  c.set('b', bytes(20));
  c.set('a', bytes(101)); // drops the old "a" and keeps nothing under it
  t.deepEqual([c.has('a'), c.has('b'), c.weight], [false, true, 20]);
});

test('a zero bound keeps nothing; clear empties; a negative bound is refused', (t) => {
  const zero = cache(0);
  zero.set('a', bytes(1));
  t.is(zero.size, 0);
  zero.set('empty', bytes(0));
  t.is(zero.get('empty')?.length, 0, 'weightless values fit even a zero bound');
  const c = cache(10);
  c.set('a', bytes(5));
  c.clear();
  t.deepEqual([c.size, c.weight, c.get('a')], [0, 0, undefined]);
  t.throws(() => cache(-1), { instanceOf: RangeError });
});

test('delete drops an entry and its weight, and frees its slot for the next', (t) => {
  const c = cache(100);
  c.set('a', bytes(40));
  c.set('b', bytes(40));
  c.delete('a');
  c.delete('absent');
  t.deepEqual([c.has('a'), c.has('b'), c.size, c.weight], [false, true, 1, 40]);
  c.set('c', bytes(60)); // fits beside b now that a is gone
  t.deepEqual([c.has('b'), c.has('c'), c.weight], [true, true, 100]);
});
