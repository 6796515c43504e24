// Deflating what is made once and fetched many times: static deltas and the entries `silo repack` writes.
// The native helper deflates with the system's zlib, which compresses executables and compiled code 1-2%
// tighter than the zlib inside Node (Chromium's fork, faster; native/medo_native.c has the figures);
// node:zlib is the fallback, and both give a valid zlib stream of the same bytes.
import { deflateSync } from 'node:zlib';
import { native } from './native.js';

/** zlib's compressBound: no stream of `n` bytes is longer. */
const bound = (n: number): number => n + (n >>> 12) + (n >>> 14) + (n >>> 25) + 13;

let systemZlib = native?.deflateInto !== undefined;

/** The zlib stream of `data` at `level` (0 to 9). */
export function deflateTight(data: Uint8Array, level: number): Buffer {
  if (systemZlib) {
    const dst = Buffer.allocUnsafe(bound(data.length));
    const n = native!.deflateInto!(data, dst, level);
    if (n >= 0) return n * 4 >= dst.length * 3 ? dst.subarray(0, n) : Buffer.from(dst.subarray(0, n));
    // -1 cannot happen at compressBound; -2 will not change within this process.
    if (n === -2) systemZlib = false;
  }
  return deflateSync(data, { level });
}

/** True when deflateTight uses the system's zlib. */
export const tightDeflateIsNative = (): boolean => systemZlib;
