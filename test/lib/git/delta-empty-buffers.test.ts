// Regression (fuzz/native, UndefinedBehaviorSanitizer): an empty typed array may have no storage, and the
// native delta code did pointer arithmetic on it (`out + 0` with out NULL is undefined behaviour in C).
// The inputs kept in fuzz/native/regressions/ go through the JavaScript API here; both paths must agree.
import test from 'ava';
import { applyDelta, applyDeltaJs } from '../../../lib/git/delta.js';
import { createDelta, createDeltaJs, DeltaIndex } from '../../../lib/git/delta-encode.js';
import { native } from '../../../lib/native.js';

const empty = (): Uint8Array => new Uint8Array(0);

test('regression empty-result-null-buffer: an empty base and an empty result decode natively', (t) => {
  // The fuzzer's input: no base, a delta declaring a 6-byte base and an empty result, no instructions.
  // applyDelta refuses the base size before the native call; the native helper itself must still be sound.
  if (native !== undefined) t.is(native.applyDeltaInto(empty(), Uint8Array.of(0x06, 0x00), 2, empty()), 0);
  const delta = Buffer.of(0x00, 0x00);
  t.deepEqual(applyDelta(Buffer.alloc(0), delta, 100), Buffer.alloc(0));
  t.deepEqual(applyDeltaJs(Buffer.alloc(0), delta, 100), Buffer.alloc(0));
  // An insert into an empty result is still refused.
  t.throws(() => applyDelta(Buffer.alloc(0), Buffer.of(0x00, 0x00, 0x01, 0x61), 100), { code: 'ERR_DELTA_CORRUPT' });
});

test('regression empty-target-null-buffer: an empty target against an empty base encodes natively', (t) => {
  const index = new DeltaIndex(Buffer.alloc(0));
  const delta = createDelta(index, Buffer.alloc(0), 64);
  t.deepEqual(delta, Buffer.of(0x00, 0x00));
  t.deepEqual(createDelta(index, Buffer.alloc(0), 64, false), delta);
  if (native?.createDeltaInto === undefined) return;
  // No room at all, not even for the size headers.
  t.is(native.createDeltaInto(index.table, empty(), empty(), empty()), -1);
  t.is(createDeltaJs(index.table, empty(), empty(), empty()), -1);
});
