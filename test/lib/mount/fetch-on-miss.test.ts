// withFetch, the retry loop of every FUSE adapter, against a fake source: the value comes back as it is
// when nothing misses (synchronously for synchronous work), a miss is fetched once and the work runs again,
// concurrent misses of one id share one fetch, and the loop is bounded.
import test from 'ava';
import { MedoError } from '../../../lib/errors.js';
import { MAX_FETCHES, withFetch } from '../../../lib/mount/fetch-on-miss.js';
import type { MountSource } from '../../../lib/mount/source.js';

const oid = (n: number): string => n.toString(16).padStart(40, '0');
const missing = (id: string): MedoError => new MedoError('ERR_OBJECT_MISSING', `tree ${id} is in no silo`, { oid: id });

/** A source whose fetch records the ids asked for and adds them to `present` (after `delay` microtasks). */
function fakeSource(present: Set<string>, options: { fail?: Set<string> } = {}): MountSource & { fetched: string[] } {
  const fetched: string[] = [];
  const unused = (): never => {
    throw new Error('not used');
  };
  return {
    fetched,
    lookup: unused, list: unused, read: unused, readlink: unused, statfs: unused, xattr: unused, xattrNames: unused,
    async fetch(id: string): Promise<void> {
      fetched.push(id);
      await new Promise((r) => setImmediate(r));
      if (options.fail?.has(id)) throw new MedoError('ERR_REMOTE', `http://silo/pack/p.pack: connect ECONNREFUSED for ${id}`, { path: 'http://silo/pack/p.pack' });
      present.add(id);
    },
  };
}

/** Work that needs every id in `needs`, throwing a miss for the first one not present. */
const needing = (present: Set<string>, needs: string[], value = 'done') => (): string => {
  for (const id of needs) if (!present.has(id)) throw missing(id);
  return value;
};

test('nothing missing: the value itself, synchronously, and no fetch', (t) => {
  const present = new Set([oid(1)]);
  const source = fakeSource(present);
  t.is(withFetch(source, needing(present, [oid(1)])), 'done');
  t.deepEqual(source.fetched, []);
  // A source that cannot fetch runs the work as it is, errors included.
  const plain = { ...source, fetch: undefined };
  t.throws(() => withFetch(plain, needing(present, [oid(2)])), { message: /no silo/ });
});

test('misses one after another (a path through cold trees): each fetched once, then the value', async (t) => {
  const present = new Set<string>();
  const source = fakeSource(present);
  const result = withFetch(source, needing(present, [oid(1), oid(2), oid(3)]));
  t.true(result instanceof Promise);
  t.is(await result, 'done');
  t.deepEqual(source.fetched, [oid(1), oid(2), oid(3)]);
});

test('async work that misses is fetched and run again; other errors pass untouched', async (t) => {
  const present = new Set<string>();
  const source = fakeSource(present);
  let runs = 0;
  const work = async (): Promise<string> => {
    runs++;
    if (!present.has(oid(7))) throw missing(oid(7));
    return 'read';
  };
  t.is(await withFetch(source, work), 'read');
  t.is(runs, 2);
  const other = new Error('a bug');
  await t.throwsAsync(Promise.resolve(withFetch(source, async () => {
    throw other;
  })), { is: other });
  // After a fetch, another error is the op's answer (a name that is not in the tree just fetched).
  const enoent = new Error('ENOENT');
  await t.throwsAsync(Promise.resolve(withFetch(source, () => {
    if (!present.has(oid(8))) throw missing(oid(8));
    throw enoent;
  })), { is: enoent });
});

test('concurrent misses of one id share one fetch', async (t) => {
  const present = new Set<string>();
  const source = fakeSource(present);
  const results = await Promise.all(Array.from({ length: 5 }, () => withFetch(source, needing(present, [oid(9)]))));
  t.deepEqual(results, ['done', 'done', 'done', 'done', 'done']);
  t.deepEqual(source.fetched, [oid(9)]);
});

test('a fetch that fails: the miss, with why in its message; the next op tries again', async (t) => {
  const present = new Set<string>();
  const source = fakeSource(present, { fail: new Set([oid(4)]) });
  const e = await t.throwsAsync(Promise.resolve(withFetch(source, needing(present, [oid(4)]))));
  t.is((e as MedoError).code, 'ERR_OBJECT_MISSING');
  t.is((e as MedoError).data.oid, oid(4));
  t.regex(e!.message, /fetching it failed: .*ECONNREFUSED/);
  // The URL that failed, for the log line that reports the EIO.
  t.is((e as MedoError).data.url, 'http://silo/pack/p.pack');
  await t.throwsAsync(Promise.resolve(withFetch(source, needing(present, [oid(4)]))));
  t.deepEqual(source.fetched, [oid(4), oid(4)]);
});

test('bounded: the same id missing after its fetch, or too many fetches, ends with the miss', async (t) => {
  const present = new Set<string>();
  const source = fakeSource(present);
  // A fetch that "succeeds" but leaves the object unreadable (a store that never sees it).
  const stubborn = (): string => {
    throw missing(oid(5));
  };
  const e = await t.throwsAsync(Promise.resolve(withFetch(source, stubborn)));
  t.is((e as MedoError).data.oid, oid(5));
  t.deepEqual(source.fetched, [oid(5)]);
  // Work that misses a new id every time.
  let k = 100;
  const endless = (): string => {
    throw missing(oid(k++));
  };
  const before = source.fetched.length;
  await t.throwsAsync(Promise.resolve(withFetch(source, endless)), { code: 'ERR_OBJECT_MISSING' });
  t.is(source.fetched.length - before, MAX_FETCHES);
});

test('a corrupt object is handed to fetch too (a torn cached copy); an id that is not one is not', async (t) => {
  const present = new Set<string>();
  const source = fakeSource(present);
  const torn = (): string => {
    if (!present.has(oid(6))) throw new MedoError('ERR_OBJECT_CORRUPT', 'bad gzip data', { oid: oid(6), path: '/cache/objects/x.gz' });
    return 'whole';
  };
  t.is(await withFetch(source, torn), 'whole');
  t.throws(() => withFetch(source, () => {
    throw new MedoError('ERR_OBJECT_MISSING', 'no id', { oid: 'not-an-id' });
  }), { message: 'no id' });
  t.throws(() => withFetch(source, () => {
    throw new MedoError('ERR_PACK_CORRUPT', 'bad pack', { oid: oid(10) });
  }), { message: 'bad pack' });
  t.deepEqual(source.fetched, [oid(6)]);
});
