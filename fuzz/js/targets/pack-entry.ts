// Pack entry headers (lib/git/pack-entry.ts): type and size varint, OFS_DELTA base distance, REF_DELTA
// base id. A header that parses stays inside its buffer and the pack, and encodes back to one that
// parses the same.
import { MAX_ENTRY_HEADER, OBJ_OFS_DELTA, OBJ_REF_DELTA, TYPE_NAMES, encodeEntryHeader, encodeOfsDistance, parseEntryHeader, type EntryHeader } from '../../../lib/git/pack-entry.js';
import { Bytes, check, checkSame, isRefusal, outcome, target } from '../harness.js';

const same = (h: EntryHeader): Record<string, unknown> => ({ ...h, baseOid: h.baseOid?.toString('hex') });

export const fuzz = target((data) => {
  const b = new Bytes(data);
  // Offsets of real packs are small; the high bits reach the 64-bit range now and then.
  const offset = b.u32() * (b.u8() === 0xff ? 2 ** 21 : 1);
  const buf = b.rest();
  const h = outcome(() => parseEntryHeader(buf, offset, 'fuzz.pack'), ['ERR_PACK_CORRUPT']);
  if (isRefusal(h)) return;
  check(h.headerLength >= 1 && h.headerLength <= buf.length && h.headerLength <= MAX_ENTRY_HEADER, `header length ${h.headerLength}`);
  check(Number.isSafeInteger(h.size) && h.size >= 0, `size ${h.size}`);
  let encoded = encodeEntryHeader(h.typeCode, h.size);
  if (h.typeCode === OBJ_OFS_DELTA) {
    check(h.baseOffset !== undefined && Number.isSafeInteger(h.baseOffset) && h.baseOffset >= 0 && h.baseOffset < offset, `base offset ${h.baseOffset} for an entry at ${offset}`);
    encoded = Buffer.concat([encoded, encodeOfsDistance(offset - h.baseOffset)]);
  } else if (h.typeCode === OBJ_REF_DELTA) {
    check(h.baseOid !== undefined && h.baseOid.equals(buf.subarray(h.headerLength - 20, h.headerLength)), 'base id is not the 20 bytes before the data');
    encoded = Buffer.concat([encoded, h.baseOid]);
  } else {
    check(TYPE_NAMES[h.typeCode] !== undefined, `type ${h.typeCode} accepted`);
  }
  const again = parseEntryHeader(encoded, offset, 're-encoded');
  checkSame(same(again), { ...same(h), headerLength: encoded.length }, 'header after encoding');
  check(encoded.length <= h.headerLength, 'the canonical encoding is longer than the one parsed');
});
