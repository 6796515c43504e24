// Git's delta format (https://git-scm.com/docs/gitformat-pack, "Deltified representation"):
//   varint base size, varint result size, then instructions:
//   1xxxxxxx  copy: bits 0-3 say which offset bytes follow, bits 4-6 which size bytes; size 0 means 0x10000
//   0xxxxxxx  insert the next x (1..127) literal bytes; x = 0 is reserved
// Every instruction is checked against the base and the declared result size, so a hostile delta
// can neither read outside its base nor write past the buffer it declared.
import { MedoError } from '../errors.js';
import { native } from '../native.js';

function fail(why: string): never {
  throw new MedoError('ERR_DELTA_CORRUPT', `corrupt delta: ${why}`);
}

function readVarint(delta: Uint8Array, at: { i: number }): number {
  let value = 0;
  let scale = 1;
  for (;;) {
    if (at.i >= delta.length) fail('truncated size header');
    const c = delta[at.i++]!;
    value += (c & 0x7f) * scale;
    scale *= 128;
    if (value > Number.MAX_SAFE_INTEGER) fail('size header too large');
    if ((c & 0x80) === 0) return value;
  }
}

/** The base and result sizes a delta declares. */
export function deltaSizes(delta: Uint8Array): { baseSize: number; resultSize: number; start: number } {
  const at = { i: 0 };
  const baseSize = readVarint(delta, at);
  const resultSize = readVarint(delta, at);
  return { baseSize, resultSize, start: at.i };
}

const NATIVE_FAILURES: Record<number, string> = {
  [-1]: 'truncated copy instruction',
  [-2]: 'copy reads past the base',
  [-3]: 'copy writes past the declared result size',
  [-4]: 'truncated insert instruction',
  [-5]: 'insert writes past the declared result size',
  [-6]: 'reserved instruction 0',
  [-7]: 'produced fewer bytes than declared',
};

export function applyDelta(base: Uint8Array, delta: Uint8Array, maxResult: number): Buffer {
  if (native === undefined) return applyDeltaJs(base, delta, maxResult);
  const { baseSize, resultSize, start } = deltaSizes(delta);
  if (baseSize !== base.length) fail(`declares a base of ${baseSize} bytes, base has ${base.length}`);
  if (resultSize > maxResult) {
    throw new MedoError('ERR_TOO_LARGE', `delta result of ${resultSize} bytes exceeds the limit of ${maxResult}`);
  }
  const out = Buffer.allocUnsafe(resultSize);
  const status = native.applyDeltaInto(base, delta, start, out);
  if (status !== 0) fail(NATIVE_FAILURES[status] ?? `native status ${status}`);
  return out;
}

/** The JavaScript implementation: the fallback, and the reference the tests hold the native one to. */
export function applyDeltaJs(base: Uint8Array, delta: Uint8Array, maxResult: number): Buffer {
  const { baseSize, resultSize, start } = deltaSizes(delta);
  if (baseSize !== base.length) fail(`declares a base of ${baseSize} bytes, base has ${base.length}`);
  if (resultSize > maxResult) {
    throw new MedoError('ERR_TOO_LARGE', `delta result of ${resultSize} bytes exceeds the limit of ${maxResult}`);
  }
  const out = Buffer.allocUnsafe(resultSize);
  const src = Buffer.isBuffer(base) ? base : Buffer.from(base.buffer, base.byteOffset, base.length);
  let o = 0;
  let i = start;
  const n = delta.length;
  while (i < n) {
    const op = delta[i++]!;
    if (op & 0x80) {
      // Offset bytes are little-endian, present per bit; a missing byte is zero. `>>> 0` keeps the
      // 32-bit offset unsigned.
      let off = 0;
      let len = 0;
      if (i + 7 > n) {
        const need = ((op & 1) + ((op >> 1) & 1) + ((op >> 2) & 1) + ((op >> 3) & 1) + ((op >> 4) & 1) + ((op >> 5) & 1) + ((op >> 6) & 1));
        if (i + need > n) fail('truncated copy instruction');
      }
      if (op & 0x01) off = delta[i++]!;
      if (op & 0x02) off |= delta[i++]! << 8;
      if (op & 0x04) off |= delta[i++]! << 16;
      if (op & 0x08) off = (off | (delta[i++]! << 24)) >>> 0;
      if (op & 0x10) len = delta[i++]!;
      if (op & 0x20) len |= delta[i++]! << 8;
      if (op & 0x40) len |= delta[i++]! << 16;
      if (len === 0) len = 0x10000;
      if (off + len > src.length) fail(`copy of ${len} bytes at ${off} reads past the base (${src.length} bytes)`);
      if (o + len > resultSize) fail(`copy writes past the declared result size ${resultSize}`);
      // Short copies are most of a text delta's instructions; a byte loop beats a native call there.
      if (len <= 32) {
        for (let k = 0; k < len; k++) out[o + k] = src[off + k]!;
      } else {
        src.copy(out, o, off, off + len);
      }
      o += len;
    } else if (op !== 0) {
      if (i + op > n) fail('truncated insert instruction');
      if (o + op > resultSize) fail(`insert writes past the declared result size ${resultSize}`);
      for (let k = 0; k < op; k++) out[o + k] = delta[i + k]!;
      o += op;
      i += op;
    } else {
      fail('reserved instruction 0');
    }
  }
  if (o !== resultSize) fail(`produced ${o} bytes, declared ${resultSize}`);
  return out;
}
