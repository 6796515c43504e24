import test from 'ava';
import { applyDelta, applyDeltaJs } from '../../../lib/git/delta.js';
import { native } from '../../../lib/native.js';

// The native delta loop (native/medo_native.c) must behave exactly as the JavaScript reference: the same
// bytes for every valid delta, a MedoError for every invalid one. Deltas are generated and then mutated
// byte by byte with a seeded generator, so failures reproduce.

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

function varint(n: number): number[] {
  const out: number[] = [];
  do {
    let b = n & 0x7f;
    n = Math.floor(n / 128);
    if (n > 0) b |= 0x80;
    out.push(b);
  } while (n > 0);
  return out;
}

/** A valid delta from `base`: random copies (1-4 offset bytes, 0-3 size bytes) and inserts. */
function makeDelta(base: Buffer, random: () => number): Buffer {
  const ops: number[] = [];
  let size = 0;
  for (let k = 0; k < 40; k++) {
    if (random() < 0.5 && base.length > 0) {
      const off = Math.floor(random() * base.length);
      const len = 1 + Math.floor(random() * Math.min(300, base.length - off));
      let op = 0x80;
      const bytes: number[] = [];
      for (let b = 0; b < 4; b++) if ((off >> (8 * b)) & 0xff) { op |= 1 << b; bytes.push((off >> (8 * b)) & 0xff); }
      for (let b = 0; b < 3; b++) if ((len >> (8 * b)) & 0xff) { op |= 0x10 << b; bytes.push((len >> (8 * b)) & 0xff); }
      ops.push(op, ...bytes);
      size += len;
    } else {
      const n = 1 + Math.floor(random() * 127);
      ops.push(n);
      for (let i = 0; i < n; i++) ops.push(Math.floor(random() * 256));
      size += n;
    }
  }
  return Buffer.from([...varint(base.length), ...varint(size), ...ops]);
}

function outcome(f: typeof applyDelta, base: Buffer, delta: Buffer): string {
  try {
    return f(base, delta, 1 << 20).toString('hex');
  } catch (e) {
    return `error ${(e as { code?: string }).code}`;
  }
}

test('native and JavaScript delta application agree on valid and mutated deltas', (t) => {
  if (native === undefined) {
    t.pass('native helpers not loaded (MEDO_NO_NATIVE): nothing to compare');
    return;
  }
  const random = rng(42);
  let valid = 0;
  let invalid = 0;
  for (let round = 0; round < 400; round++) {
    const base = Buffer.from(Array.from({ length: 1 + Math.floor(random() * 2000) }, () => Math.floor(random() * 256)));
    const delta = makeDelta(base, random);
    t.is(outcome(applyDelta, base, delta), outcome(applyDeltaJs, base, delta));
    for (let m = 0; m < 5; m++) {
      const bad = Buffer.from(delta);
      bad[Math.floor(random() * bad.length)] = Math.floor(random() * 256);
      const a = outcome(applyDelta, base, bad);
      t.is(a, outcome(applyDeltaJs, base, bad));
      if (a.startsWith('error')) invalid++;
      else valid++;
    }
  }
  t.true(invalid > 100 && valid > 100, `both kinds exercised (valid ${valid}, invalid ${invalid})`);
});
