// The native helpers (native/medo_native.c), built by `npm ci` through binding.gyp. Everything they do has
// a JavaScript fallback with the same contract, used when the addon is not built, was built for another
// Node ABI, or MEDO_NO_NATIVE is set.
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface NativeHelpers {
  /** >= 0: input bytes used; < 0: a failure status (lib/inflate.ts). */
  inflateInto(src: Uint8Array, dst: Uint8Array): number;
  /** 0, or a failure status (lib/git/delta.ts). */
  applyDeltaInto(base: Uint8Array, delta: Uint8Array, start: number, dst: Uint8Array): number;
  /** umount2(2), MNT_DETACH when lazy: 0 or the errno (daemon/unmount.ts). */
  unmount(path: string, lazy: boolean): number;
  /**
   * A new file at `path`: created there directly when `dir` is '', else unnamed in `dir` (O_TMPFILE) and
   * linked as `path` once written; mtime set when nsec >= 0. 0, or -(stage << 16 | errno)
   * (lib/medo/materialize/fs-ops.ts). Absent from older builds.
   */
  createFile?(path: string, dir: string, data: Uint8Array, perm: number, chmod: boolean, sec: number, nsec: number): number;
  /** Fills a delta index of `base` laid out as lib/git/delta-encode.ts says. Absent from older builds. */
  deltaIndexInto?(base: Uint8Array, table: Int32Array): void;
  /** The delta from the indexed base to `target` written into `dst`: its length, or -1 when it does not fit. */
  createDeltaInto?(table: Int32Array, base: Uint8Array, target: Uint8Array, dst: Uint8Array): number;
  deltaSample?(table: Int32Array, base: Uint8Array, target: Uint8Array, samples: number, span: number): number;
  /** Times to the nanosecond: of `fd` when >= 0, else of `path` (not followed). 0 or the errno. Absent from older builds. */
  setTimes?(path: string, fd: number, sec: number, nsec: number): number;
  /**
   * The zlib stream of `src` at `level` into `dst`, by the system's zlib (lib/deflate.ts): its length, -1
   * when dst is too small, -2 when the system zlib is not there. Absent from older builds.
   */
  deflateInto?(src: Uint8Array, dst: Uint8Array, level: number): number;
}

/**
 * build/Release/NAME.node of this checkout, or undefined. This module runs from the source tree (under tsx)
 * and from dist/lib/: look upward for build/.
 */
export function findAddon(name: string): string | undefined {
  return findUpward(join('build', 'Release', `${name}.node`));
}

/**
 * `rel` (a path from the checkout's root, like dist/lib/silo/delta-worker-entry.cjs) in the nearest
 * directory above this module that has it. The code runs from the sources (under tsx), from dist/lib/,
 * and bundled into dist/cli/medo.bundle.mjs: each finds the same files this way.
 */
export function findUpward(rel: string): string | undefined {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++) {
    const candidate = join(dir, rel);
    if (existsSync(candidate)) return candidate;
    dir = dirname(dir);
  }
  return undefined;
}

function load(): NativeHelpers | undefined {
  if (process.env.MEDO_NO_NATIVE) return undefined;
  const file = findAddon('medo_native');
  if (file === undefined) return undefined;
  try {
    const m = createRequire(import.meta.url)(file) as Partial<NativeHelpers>;
    // An older build without every helper is as good as none.
    return typeof m.inflateInto === 'function' && typeof m.applyDeltaInto === 'function' && typeof m.unmount === 'function'
      ? (m as NativeHelpers) : undefined;
  } catch {
    return undefined;
  }
}

export const native: NativeHelpers | undefined = load();
