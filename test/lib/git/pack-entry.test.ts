// Pack entry headers: our encoder against git's layout (checked end to end in pack-file.test.ts through
// verify-pack), round trips at every size-field length, and the limits the parser enforces.
import test from 'ava';
import { OBJ_BLOB, OBJ_COMMIT, OBJ_OFS_DELTA, OBJ_TAG, OBJ_TREE, encodeEntryHeader, parseEntryHeader } from '../../../lib/git/pack-entry.js';
import { entryHeader, ofsDistance } from '../../helpers/pack-builder.js';
import { throwsCode } from '../../helpers/medo-error.js';

test('headers round-trip at every size-field length, as gitformat-pack encodes them', (t) => {
  const sizes = [0, 1, 15, 16, 127, 2047, 2048, 2 ** 18, 2 ** 31 - 1, 2 ** 32 + 5, 100e9, Number.MAX_SAFE_INTEGER];
  for (const type of [OBJ_COMMIT, OBJ_TREE, OBJ_BLOB, OBJ_TAG]) {
    for (const size of sizes) {
      const bytes = encodeEntryHeader(type, size);
      t.deepEqual(bytes, entryHeader(type, size), `type ${type}, size ${size}`);
      t.deepEqual(parseEntryHeader(Buffer.concat([bytes, Buffer.alloc(4)]), 1000, 'p'), { typeCode: type, size, headerLength: bytes.length });
    }
  }
});

test('OFS_DELTA distances use the +1-per-continuation encoding', (t) => {
  for (const distance of [1, 127, 128, 16511, 16512, 2 ** 21, 2 ** 40]) {
    const buf = Buffer.concat([entryHeader(OBJ_OFS_DELTA, 10), ofsDistance(distance)]);
    const h = parseEntryHeader(buf, 2 ** 41, 'p');
    t.is(h.baseOffset, 2 ** 41 - distance, `distance ${distance}`);
    t.is(h.headerLength, buf.length);
  }
  // 128 is the first distance that needs two bytes: 0x80 0x00, not 0x81 0x00.
  t.deepEqual(ofsDistance(128), Buffer.of(0x80, 0x00));
});

test('headers that run off their buffer or encode impossible values are ERR_PACK_CORRUPT', (t) => {
  throwsCode(t, () => parseEntryHeader(Buffer.alloc(0), 12, 'p'), 'ERR_PACK_CORRUPT', 'empty');
  throwsCode(t, () => parseEntryHeader(Buffer.of(0xb5, 0x80), 12, 'p'), 'ERR_PACK_CORRUPT', 'size continues past the end');
  throwsCode(t, () => parseEntryHeader(Buffer.concat([Buffer.alloc(9, 0xff), Buffer.of(0x0f)]), 12, 'p'), 'ERR_PACK_CORRUPT', 'size over 2^53');
  throwsCode(t, () => parseEntryHeader(Buffer.of(0x65, 0x85), 100, 'p'), 'ERR_PACK_CORRUPT', 'distance continues past the end');
  throwsCode(t, () => parseEntryHeader(Buffer.concat([Buffer.of(0x65), Buffer.alloc(9, 0xff), Buffer.of(0x7f)]), 100, 'p'), 'ERR_PACK_CORRUPT', 'distance over 2^53');
  throwsCode(t, () => parseEntryHeader(Buffer.of(0x65, 0x00), 100, 'p'), 'ERR_PACK_CORRUPT', 'distance 0');
  throwsCode(t, () => parseEntryHeader(Buffer.of(0x65, 0x65), 100, 'p'), 'ERR_PACK_CORRUPT', 'distance before the pack');
  throwsCode(t, () => parseEntryHeader(Buffer.of(0x75, 1, 2, 3), 100, 'p'), 'ERR_PACK_CORRUPT', 'REF_DELTA id cut short');
  for (const type of [0, 5]) throwsCode(t, () => parseEntryHeader(Buffer.of((type << 4) | 1), 100, 'p'), 'ERR_PACK_CORRUPT', `type ${type}`);
});
