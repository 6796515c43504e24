// Pack index v2 (lib/git/pack-idx.ts): header, monotonic fan-out, exact size, 64-bit offset table.
// An index that opens must answer every accessor with in-range values or ERR_PACK_CORRUPT, and one whose
// entries all read must survive encodePackIndex and open again with the same entries.
import { PackIndex, encodePackIndex, type IndexEntry } from '../../../lib/git/pack-idx.js';
import { BufferSource } from '../../../lib/io/random-access.js';
import { check, checkSame, isRefusal, outcome, target } from '../harness.js';

/** Entries read at most per input: an index of millions of ids opens, and reading them all is not the point. */
const MAX_ENTRIES = 512;

export const fuzz = target((data) => {
  const idx = outcome(() => PackIndex.open(new BufferSource(data, 'fuzz.idx')), ['ERR_PACK_CORRUPT']);
  if (isRefusal(idx)) return;
  check(idx.count * 28 + 1072 <= data.length, `claims ${idx.count} entries in ${data.length} bytes`);
  check(idx.largeOffsetCount >= 0 && Number.isInteger(idx.largeOffsetCount) && idx.largeOffsetCount <= idx.count, 'bad 64-bit table size');
  check(idx.packChecksum.equals(data.subarray(data.length - 40, data.length - 20)), 'packChecksum is not the trailer');
  const entries: IndexEntry[] = [];
  const n = Math.min(idx.count, MAX_ENTRIES);
  for (let i = 0; i < n; i++) {
    const oid = idx.oidAt(i);
    check(oid.length === 20, 'oidAt gave a short id');
    const crc = idx.crc32At(i);
    const offset = outcome(() => idx.offsetAt(i), ['ERR_PACK_CORRUPT']);
    if (isRefusal(offset)) continue;
    check(Number.isSafeInteger(offset) && offset >= 0, `offset ${offset} of entry ${i}`);
    // Sortedness is not validated at open (that would read every id): a lookup may miss, never lie.
    const p = idx.position(oid);
    check(p === -1 || idx.oidAt(p).equals(oid), `position of entry ${i} names another id`);
    const at = outcome(() => idx.lookup(oid), ['ERR_PACK_CORRUPT']);
    check(isRefusal(at) || at === undefined || Number.isSafeInteger(at), 'lookup gave a non-offset');
    entries.push({ oid: Buffer.from(oid), offset, crc });
  }
  // An id that is not there, through every fan-out bucket boundary the input has.
  const probe = Buffer.alloc(20, data[data.length - 1]);
  const p = idx.position(probe);
  check(p === -1 || idx.oidAt(p).equals(probe), 'position of a probe names another id');
  if (entries.length !== idx.count) return;

  const again = PackIndex.open(new BufferSource(encodePackIndex(entries, idx.packChecksum), 're-encoded.idx'));
  check(again.count === idx.count, 're-encoded index has another count');
  const key = (e: IndexEntry): string => `${e.oid.toString('hex')} ${e.offset} ${e.crc}`;
  const reread: IndexEntry[] = [];
  for (let i = 0; i < again.count; i++) reread.push({ oid: again.oidAt(i), offset: again.offsetAt(i), crc: again.crc32At(i) });
  checkSame(reread.map(key).sort(), entries.map(key).sort(), 'entries after encodePackIndex and open');
  const unique = new Set(entries.map((e) => e.oid.toString('hex'))).size === entries.length;
  if (unique) for (const e of entries) check(again.lookup(e.oid) === e.offset, `re-encoded lookup of ${e.oid.toString('hex')}`);
});
