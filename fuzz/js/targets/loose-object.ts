// zlib and gzip streams of untrusted origin, bombs included: git loose objects (lib/git/loose-object.ts),
// a silo's gzip loose objects (lib/silo/silo.ts) and pack entries' inflate with a declared size
// (lib/inflate.ts). The first byte picks which. Inflating may never allocate past the size limit given,
// whatever the stream expands to; when the native inflate helper is built it must agree with node:zlib.
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { encodeLooseObject, parseLooseObject } from '../../../lib/git/loose-object.js';
import { inflateExactWithZlib, type InflateFailure } from '../../../lib/inflate.js';
import type { NativeHelpers } from '../../../lib/native.js';
import { hashObject } from '../../../lib/oid.js';
import { siloLooseFormat } from '../../../lib/silo/silo.js';
import { Bytes, check, checkSame, isRefusal, outcome, target } from '../harness.js';

const MAX_SIZE = 1 << 20;
const LIMITS = { maxObjectSize: MAX_SIZE, maxChainLength: 50 };
const NATIVE_FAILURES: Record<number, InflateFailure> = { [-1]: 'short-input', [-2]: 'too-long', [-3]: 'too-short', [-4]: 'bad-data' };

function loadNative(): NativeHelpers | undefined {
  const file = join(process.env.MEDO_ROOT ?? '', 'build', 'Release', 'medo_native.node');
  return process.env.MEDO_ROOT !== undefined && existsSync(file) ? createRequire(__filename)(file) as NativeHelpers : undefined;
}
const native = loadNative();

function gitLoose(data: Buffer): void {
  const obj = outcome(() => parseLooseObject(data, MAX_SIZE, 'fuzz'), ['ERR_OBJECT_CORRUPT', 'ERR_TOO_LARGE']);
  if (isRefusal(obj)) return;
  check(obj.content.length <= MAX_SIZE, 'content over the limit');
  const again = parseLooseObject(encodeLooseObject(obj.type, obj.content), MAX_SIZE, 're-encoded');
  check(again.type === obj.type && again.content.equals(obj.content), 'loose object after encodeLooseObject');
}

function siloLoose(data: Buffer): void {
  // The id that makes the object valid, when the stream is one we can inflate within the limit ourselves.
  let oid = '0'.repeat(40);
  try {
    oid = hashObject('blob', gunzipSync(data, { maxOutputLength: MAX_SIZE }));
  } catch {
    // not a stream, or over the limit: the parser must refuse it
  }
  const obj = outcome(() => siloLooseFormat.parse(data, oid, 'fuzz.gz', LIMITS), ['ERR_OBJECT_CORRUPT']);
  if (isRefusal(obj)) return;
  check(obj.content.length <= MAX_SIZE && hashObject(obj.type, obj.content) === oid, 'silo loose object content');
}

/**
 * inflateExact's node:zlib path; and the native helper, when built, must inflate what it does to the same
 * bytes and refuse what it refuses. How it names a refusal may differ: a stream that runs past its declared
 * size and also fails its checksum is 'too-long' to the native helper (which stops at the declared size)
 * and 'bad-data' to node:zlib (which reads one byte further); the callers treat both as corruption.
 */
function exact(data: Buffer, size: number): void {
  const r = inflateExactWithZlib(data, size);
  if (typeof r !== 'string') check(r.data.length === size, `inflated ${r.data.length} bytes, declared ${size}`);
  if (native === undefined) return;
  const out = Buffer.alloc(size);
  const status = native.inflateInto(data, out);
  check(status >= 0 || NATIVE_FAILURES[status] !== undefined, `native inflate status ${status}`);
  const nat = status >= 0 ? out.toString('hex') : 'refused';
  checkSame(nat, typeof r === 'string' ? 'refused' : r.data.toString('hex'), `native and node:zlib inflate of ${size} bytes disagree (${typeof r === 'string' ? r : NATIVE_FAILURES[status]})`);
}

export const fuzz = target((data) => {
  const b = new Bytes(data);
  const mode = b.u8() % 3;
  if (mode === 0) gitLoose(b.rest());
  else if (mode === 1) siloLoose(b.rest());
  else {
    const size = b.u32() % (MAX_SIZE + 1);
    exact(b.rest(), size);
  }
});
