// What every fuzz target asserts, shared. A parser of untrusted bytes may return a value (which the target
// then checks, usually by a round trip through the serializer) or throw a MedoError (lib/errors.ts); any
// other exception is a finding, and so is a broken property, an allocation beyond the caps the target set,
// or an input that takes longer than libFuzzer's -timeout.
import { isMedoError, type ErrorCode } from '../../lib/errors.js';

/** A broken property: a finding. */
export class PropertyError extends Error {
  override name = 'PropertyError';
}

export function check(ok: unknown, what: string): asserts ok {
  if (!ok) throw new PropertyError(what);
}

/** Deep equality of plain data (objects, arrays, Buffers, Maps, primitives) with a message naming both sides. */
export function checkSame(a: unknown, b: unknown, what: string): void {
  const ja = stable(a);
  const jb = stable(b);
  if (ja !== jb) throw new PropertyError(`${what}:\n  ${ja.slice(0, 2000)}\n  ${jb.slice(0, 2000)}`);
}

function stable(v: unknown): string {
  return JSON.stringify(v, (_k, x: unknown) => {
    if (x instanceof Map) return { map: [...(x as Map<unknown, unknown>).entries()] };
    if (x instanceof Set) return { set: [...(x as Set<unknown>)] };
    if (x !== null && typeof x === 'object' && (x as { type?: unknown }).type === 'Buffer' && Array.isArray((x as { data?: unknown }).data)) {
      return { buffer: Buffer.from((x as { data: number[] }).data).toString('hex') };
    }
    if (typeof x === 'bigint') return `${x}n`;
    if (typeof x === 'number' && !Number.isFinite(x)) return String(x);
    if (x !== null && typeof x === 'object' && !Array.isArray(x) && !(x instanceof Uint8Array)) {
      return Object.fromEntries(Object.keys(x).sort().map((k) => [k, (x as Record<string, unknown>)[k]]));
    }
    return x;
  }) ?? 'undefined';
}

/** `fn`'s value, or the code of the MedoError it threw; any other exception propagates (a finding). */
export function outcome<T>(fn: () => T, allowed?: readonly ErrorCode[]): T | { code: ErrorCode } {
  try {
    return fn();
  } catch (e) {
    return refused(e, allowed);
  }
}

export async function outcomeAsync<T>(fn: () => Promise<T>, allowed?: readonly ErrorCode[]): Promise<T | { code: ErrorCode }> {
  try {
    return await fn();
  } catch (e) {
    return refused(e, allowed);
  }
}

function refused(e: unknown, allowed: readonly ErrorCode[] | undefined): { code: ErrorCode } {
  if (!isMedoError(e)) throw e;
  if (allowed !== undefined && !allowed.includes(e.code)) {
    throw new PropertyError(`threw ${e.code} where only ${allowed.join(', ')} may be thrown: ${e.message}`, { cause: e });
  }
  return { code: e.code };
}

export function isRefusal(v: unknown): v is { code: ErrorCode } {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && Object.keys(v).length === 1 && typeof (v as { code?: unknown }).code === 'string';
}

// Allocation caps. Every target runs its parsers with size limits far below this (1 MiB to 16 MiB), so a
// Buffer larger than the cap means a size claim was believed before it was checked. The allocation is
// let through and recorded, and the target raises it after the parse: lib code that catches and wraps
// errors (zlib failures become ERR_OBJECT_CORRUPT) must not hide it.
export const ALLOCATION_CAP = 64 << 20;
let biggest = 0;

function guard<A extends unknown[], R>(fn: (size: number, ...rest: A) => R): (size: number, ...rest: A) => R {
  return function guarded(size: number, ...rest: A): R {
    if (typeof size === 'number' && size > biggest) biggest = size;
    return fn(size, ...rest);
  };
}

let installed = false;

/** Wraps Buffer's allocators once per process so that checkAllocations() sees the largest request. */
export function guardAllocations(): void {
  if (installed) return;
  installed = true;
  Buffer.alloc = guard(Buffer.alloc.bind(Buffer)) as typeof Buffer.alloc;
  Buffer.allocUnsafe = guard(Buffer.allocUnsafe.bind(Buffer)) as typeof Buffer.allocUnsafe;
  Buffer.allocUnsafeSlow = guard(Buffer.allocUnsafeSlow.bind(Buffer)) as typeof Buffer.allocUnsafeSlow;
}

/** Throws when this input made a Buffer larger than `cap`; resets for the next input. */
export function checkAllocations(cap = ALLOCATION_CAP): void {
  const b = biggest;
  biggest = 0;
  if (b > cap) throw new PropertyError(`allocated a Buffer of ${b} bytes, over the cap of ${cap}: a size claim was believed before it was checked`);
}

/**
 * A fuzz entry point: `fn` on each input, with the allocation check after it. Jazzer calls the export
 * named `fuzz`.
 */
export function target(fn: (data: Buffer) => void): (data: Buffer) => void {
  guardAllocations();
  return (data: Buffer) => {
    try {
      fn(data);
    } finally {
      checkAllocations();
    }
  };
}

export function asyncTarget(fn: (data: Buffer) => Promise<void>): (data: Buffer) => Promise<void> {
  guardAllocations();
  return async (data: Buffer) => {
    try {
      await fn(data);
    } finally {
      checkAllocations();
    }
  };
}

/** A little-endian reader over the input, for targets that take several values from one input. */
export class Bytes {
  private at = 0;
  constructor(readonly data: Buffer) {}

  get left(): number {
    return this.data.length - this.at;
  }

  u8(): number {
    return this.at < this.data.length ? this.data[this.at++]! : 0;
  }

  u16(): number {
    return this.u8() | (this.u8() << 8);
  }

  u32(): number {
    return (this.u16() | (this.u16() << 16)) >>> 0;
  }

  take(n: number): Buffer {
    const out = this.data.subarray(this.at, Math.min(this.data.length, this.at + n));
    this.at += out.length;
    return out;
  }

  rest(): Buffer {
    return this.take(this.left);
  }
}
