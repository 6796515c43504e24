// Delta instructions (lib/git/delta.ts, the JavaScript path). A delta that applies gives exactly the
// size it declares; when the native helper is built, it must agree byte for byte or refuse alike. And
// the encoder (lib/git/delta-encode.ts) must produce deltas that apply back to their target.
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { applyDeltaJs, deltaSizes } from '../../../lib/git/delta.js';
import { DeltaIndex, createDelta } from '../../../lib/git/delta-encode.js';
import type { ErrorCode } from '../../../lib/errors.js';
import type { NativeHelpers } from '../../../lib/native.js';
import { Bytes, check, checkSame, isRefusal, outcome, target } from '../harness.js';

const MAX_RESULT = 1 << 20;
const CODES = ['ERR_DELTA_CORRUPT', 'ERR_TOO_LARGE'] as const;

/** The project's native helper, loaded by path (the bundle runs from a temp dir); undefined when not built. */
function loadNative(): NativeHelpers | undefined {
  const file = join(process.env.MEDO_ROOT ?? '', 'build', 'Release', 'medo_native.node');
  return process.env.MEDO_ROOT !== undefined && existsSync(file) ? createRequire(__filename)(file) as NativeHelpers : undefined;
}
const native = loadNative();

/** lib/git/delta.ts's native path against an explicitly loaded addon: the result, or the code it refuses with. */
function applyDeltaNative(n: NativeHelpers, base: Buffer, delta: Buffer): Buffer | { code: ErrorCode } {
  // applyDelta checks the declared sizes in JavaScript before the native call, as applyDeltaJs does.
  const sizes = outcome(() => deltaSizes(delta), CODES);
  if (isRefusal(sizes)) return sizes;
  if (sizes.baseSize !== base.length) return { code: 'ERR_DELTA_CORRUPT' };
  if (sizes.resultSize > MAX_RESULT) return { code: 'ERR_TOO_LARGE' };
  const out = Buffer.alloc(sizes.resultSize);
  return n.applyDeltaInto(base, delta, sizes.start, out) === 0 ? out : { code: 'ERR_DELTA_CORRUPT' };
}

export const fuzz = target((data) => {
  const b = new Bytes(data);
  const base = b.take(b.u16());
  const delta = b.rest();
  const js = outcome(() => applyDeltaJs(base, delta, MAX_RESULT), CODES);
  if (!isRefusal(js)) check(js.length === deltaSizes(delta).resultSize, 'result size is not the declared one');
  if (native !== undefined) {
    const nat = applyDeltaNative(native, base, delta);
    checkSame(isRefusal(nat) ? nat : nat.toString('hex'), isRefusal(js) ? js : js.toString('hex'), 'native and JavaScript applyDelta disagree');
  }
  // The encoder, with the delta's bytes as a target against the same base.
  const index = new DeltaIndex(base);
  for (const useNative of native === undefined ? [false] : [false, true]) {
    const d = createDelta(index, delta, delta.length + 64, useNative);
    if (d === undefined) continue;
    check(applyDeltaJs(base, d, MAX_RESULT).equals(delta), `a delta made by createDelta${useNative ? ' (native)' : ''} does not apply back to its target`);
  }
});
