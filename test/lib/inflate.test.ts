import test from 'ava';
import { deflateSync } from 'node:zlib';
import { inflateExact, inflateExactWithZlib, nativeInflate, type InflateFailure, type Inflated } from '../../lib/inflate.js';

// The native helper is built by `npm ci` (binding.gyp); a set-up that silently lost it would only be
// slower, so the suite says so. MEDO_NO_NATIVE=1 runs everything on the node:zlib fallback.
test('the native inflate helper is built and loaded', (t) => {
  if (process.env.MEDO_NO_NATIVE) {
    t.false(nativeInflate);
  } else {
    t.true(nativeInflate, 'build/Release/medo_native.node is missing: run npm ci (or node-gyp rebuild)');
  }
});

const outcome = (r: Inflated | InflateFailure): string | Buffer => (typeof r === 'string' ? r : r.data);

function both(t: import('ava').ExecutionContext, src: Buffer, size: number, expected: string | Buffer): void {
  for (const [name, f] of [['native or fallback', inflateExact], ['zlib fallback', inflateExactWithZlib]] as const) {
    const got = outcome(f(src, size));
    if (typeof expected === 'string') t.is(got, expected, name);
    else t.true(Buffer.isBuffer(got) && got.equals(expected), name);
  }
}

const text = Buffer.from('medo keeps large trees out of git. '.repeat(500));
const stream = deflateSync(text);

test('a valid stream inflates to exactly its size; trailing bytes are ignored', (t) => {
  both(t, stream, text.length, text);
  both(t, Buffer.concat([stream, Buffer.from('next pack entry')]), text.length, text);
});

test('empty content, and a stream inflating to nothing', (t) => {
  both(t, deflateSync(Buffer.alloc(0)), 0, Buffer.alloc(0));
});

test('the native path reports how much input the stream used', (t) => {
  const r = inflateExact(Buffer.concat([stream, Buffer.alloc(100)]), text.length);
  if (typeof r === 'string') return t.fail(r);
  t.is(r.consumed, nativeInflate ? stream.length : -1);
});

test('a truncated stream is short-input, so the caller can retry with more bytes', (t) => {
  both(t, stream.subarray(0, stream.length - 10), text.length, 'short-input');
});

test('a stream holding more than declared is too-long (a bomb stops at the declared size)', (t) => {
  both(t, stream, text.length - 1, 'too-long');
  both(t, deflateSync(Buffer.alloc(64 << 20)), 1000, 'too-long');
});

test('a stream holding less than declared is too-short', (t) => {
  both(t, stream, text.length + 1, 'too-short');
});

test('garbage is bad-data', (t) => {
  both(t, Buffer.from('this is not a zlib stream at all'), 10, 'bad-data');
  const flipped = Buffer.from(stream);
  flipped[flipped.length - 1]! ^= 0xff; // the Adler-32 checksum
  both(t, flipped, text.length, 'bad-data');
});
