// Inflating a zlib stream whose inflated size is known in advance, as every pack entry's is.
// The native helper (lib/native.ts) inflates straight into a buffer of that size with a reused z_stream;
// node:zlib is the fallback. Both keep the same contract, and the tests hold them to it.
import { inflateSync } from 'node:zlib';
import { native } from './native.js';

/** Why a stream could not be inflated to exactly the expected size. */
export type InflateFailure = 'short-input' | 'too-long' | 'too-short' | 'bad-data';

export interface Inflated {
  data: Buffer;
  /** Input bytes the stream took (only the native path knows; the fallback says -1). */
  consumed: number;
}

const NATIVE_FAILURES: Record<number, InflateFailure> = { [-1]: 'short-input', [-2]: 'too-long', [-3]: 'too-short', [-4]: 'bad-data' };

/** True when the native helper is in use. */
export const nativeInflate = native !== undefined;

function inflateWithZlib(src: Buffer, size: number, counted = false): Inflated | InflateFailure {
  let out: Buffer;
  let consumed = -1;
  try {
    // One output chunk one byte larger than the object: zlib fills it in one pass and Node returns it
    // without reallocating or concatenating.
    const options = { maxOutputLength: Math.max(size, 1), chunkSize: Math.max(size + 1, 64) };
    if (counted) {
      const r = inflateSync(src, { ...options, info: true }) as unknown as { buffer: Buffer; engine: { bytesWritten: number } };
      out = r.buffer;
      consumed = r.engine.bytesWritten;
    } else {
      out = inflateSync(src, options);
    }
  } catch (e) {
    const code = (e as { code?: string }).code;
    if (code === 'Z_BUF_ERROR') return 'short-input';
    if (code === 'ERR_BUFFER_TOO_LARGE') return 'too-long';
    return 'bad-data';
  }
  if (out.length !== size) return out.length < size ? 'too-short' : 'too-long';
  return { data: out, consumed };
}

/**
 * Inflates the zlib stream at the start of `src` (trailing bytes are ignored) to exactly `size` bytes, into
 * the start of `into` when it is given and large enough (a caller's reused buffer: no allocation, so no
 * garbage per object), else into a new buffer.
 */
export function inflateExact(src: Buffer, size: number, into?: Buffer): Inflated | InflateFailure {
  if (native === undefined) return inflateWithZlib(src, size);
  const out = into !== undefined && into.length >= size ? into.subarray(0, size) : Buffer.allocUnsafe(size);
  const status = native.inflateInto(src, out);
  return status >= 0 ? { data: out, consumed: status } : NATIVE_FAILURES[status] ?? 'bad-data';
}

/** The fallback, for tests that hold both paths to one contract. */
export const inflateExactWithZlib = inflateWithZlib;

/**
 * As inflateExact, and `consumed` is always known (the fallback asks zlib for it): for reading a pack in
 * order without its index, where each entry's end is where the next begins.
 */
export function inflateCounted(src: Buffer, size: number, useNative = native !== undefined): Inflated | InflateFailure {
  return useNative ? inflateExact(src, size) : inflateWithZlib(src, size, true);
}
