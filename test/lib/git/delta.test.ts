// applyDelta on hand-built instruction streams. Deltas written by git are covered end to end by
// pack-file.test.ts; here each rule of the format, and each way a hostile delta can break it, gets its own
// case. Every malformed delta must be ERR_DELTA_CORRUPT (or ERR_TOO_LARGE for a size over the limit),
// never a RangeError from a Buffer or a result of the wrong length.
import test from 'ava';
import { applyDelta, deltaSizes } from '../../../lib/git/delta.js';
import { copyOp, delta, insertOp, varint } from '../../helpers/pack-builder.js';
import { randomBytes, random } from '../../helpers/history.js';
import { throwsCode } from '../../helpers/medo-error.js';

const LIMIT = 2 ** 31 - 1;
const base = Buffer.from('The quick brown fox jumps over the lazy dog.\n');

test('copies and inserts build the result', (t) => {
  const d = delta(base.length, 19, copyOp(4, 6), insertOp('red '), copyOp(16, 3), insertOp(' ran\n'), insertOp('!'));
  t.is(applyDelta(base, d, LIMIT).toString(), 'quick red fox ran\n!');
  t.deepEqual(deltaSizes(d), { baseSize: base.length, resultSize: 19, start: 2 });
});

test('an empty result and an empty base are valid', (t) => {
  t.is(applyDelta(base, delta(base.length, 0), LIMIT).length, 0);
  t.is(applyDelta(Buffer.alloc(0), delta(0, 3, insertOp('abc')), LIMIT).toString(), 'abc');
});

test('a copy with no size bytes copies 0x10000 bytes; absent offset bytes are zero', (t) => {
  const big = randomBytes(random(1), 0x30000);
  // Offset 0x20000 is written as its third byte alone (op bit 2).
  const d = delta(big.length, 0x10000 + 3, copyOp(0x20000, 0x10000), copyOp(0, 3));
  t.is(d[varint(big.length).length + varint(0x10003).length], 0x84, 'copy op with only offset byte 2 and no size bytes');
  t.deepEqual(applyDelta(big, d, LIMIT), Buffer.concat([big.subarray(0x20000, 0x30000), big.subarray(0, 3)]));
});

test('a delta for a different base size is refused', (t) => {
  throwsCode(t, () => applyDelta(base, delta(base.length + 1, 3, copyOp(0, 3)), LIMIT), 'ERR_DELTA_CORRUPT');
});

test('instructions that write past the declared result size are refused', (t) => {
  throwsCode(t, () => applyDelta(base, delta(base.length, 3, insertOp('four')), LIMIT), 'ERR_DELTA_CORRUPT', 'insert');
  throwsCode(t, () => applyDelta(base, delta(base.length, 3, copyOp(0, 4)), LIMIT), 'ERR_DELTA_CORRUPT', 'copy');
  throwsCode(t, () => applyDelta(base, delta(base.length, 4, copyOp(0, 3), copyOp(0, 3)), LIMIT), 'ERR_DELTA_CORRUPT', 'second copy');
});

test('copies that read past the base are refused', (t) => {
  throwsCode(t, () => applyDelta(base, delta(base.length, 2, copyOp(base.length - 1, 2)), LIMIT), 'ERR_DELTA_CORRUPT', 'one byte past');
  throwsCode(t, () => applyDelta(base, delta(base.length, 1, copyOp(0xffffffff, 1)), LIMIT), 'ERR_DELTA_CORRUPT', 'largest offset');
  throwsCode(t, () => applyDelta(base, delta(base.length, 0x10000, copyOp(0, 0x10000)), LIMIT), 'ERR_DELTA_CORRUPT', 'implicit 0x10000');
});

test('the reserved instruction 0 is refused', (t) => {
  throwsCode(t, () => applyDelta(base, delta(base.length, 1, Buffer.of(0), insertOp('x')), LIMIT), 'ERR_DELTA_CORRUPT');
});

test('truncated deltas are refused', (t) => {
  const cases: Record<string, Buffer> = {
    'empty delta': Buffer.alloc(0),
    'base size cut mid-varint': Buffer.of(0x80),
    'no result size': varint(base.length),
    'copy without its offset byte': delta(base.length, 1, Buffer.of(0x81)),
    'copy without its size byte': delta(base.length, 1, Buffer.of(0x91, 0x01)),
    'insert without its data': delta(base.length, 5, Buffer.of(5, 0x61, 0x62)),
    'fewer bytes produced than declared': delta(base.length, 10, copyOp(0, 3)),
  };
  for (const [why, d] of Object.entries(cases)) throwsCode(t, () => applyDelta(base, d, LIMIT), 'ERR_DELTA_CORRUPT', why);
});

test('size headers beyond 2^53 are refused rather than rounded', (t) => {
  const endless = Buffer.concat([Buffer.alloc(10, 0xff), Buffer.of(0x7f)]);
  throwsCode(t, () => applyDelta(base, Buffer.concat([varint(base.length), endless]), LIMIT), 'ERR_DELTA_CORRUPT');
});

test('a result over the limit is ERR_TOO_LARGE, decided before anything is allocated', (t) => {
  // 2^40 bytes could never be allocated; only the check before allocation can produce a typed error here.
  throwsCode(t, () => applyDelta(base, delta(base.length, 2 ** 40, copyOp(0, 1)), LIMIT), 'ERR_TOO_LARGE');
  throwsCode(t, () => applyDelta(base, delta(base.length, 101, copyOp(0, 1)), 100), 'ERR_TOO_LARGE');
});
