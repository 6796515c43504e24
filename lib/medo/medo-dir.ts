// A medo directory (`*.medo/`): the control plane, kept in git. `SILO.json` lists where the silos are,
// in the order reads try them; `.treeptr` files anywhere below name trees in them. A `.treeptr` finds its
// medo directory by walking up to the nearest `SILO.json`.
import { accessSync, constants, readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, isAbsolute, join, relative, resolve } from 'node:path';
import { MedoError } from '../errors.js';
import type { ObjectDirOptions } from '../object-dir.js';
import { cacheDirFrom } from '../remote/cache.js';
import { Silo, isSilo } from '../silo/silo.js';
import { StoreChain } from '../store-chain.js';
import { JsonChecker } from './json-check.js';
import { TREEPTR_EXT } from './treeptr.js';

export const SILO_JSON = 'SILO.json';

export interface SiloRef {
  /** As written in SILO.json. */
  spec: string;
  /** Absolute path of a local silo. */
  path?: string;
  /** URL of a remote silo (served by a static web server). */
  url?: string;
}

export function parseSiloJson(text: string, file: string, root: string): SiloRef[] {
  const c = new JsonChecker(file);
  const j = c.parse(text);
  if (j.version !== undefined && j.version !== 1) c.fail('version', 'must be 1');
  if (!Array.isArray(j.silos)) c.fail('silos', 'must be an array of paths or URLs');
  return (j.silos as unknown[]).map((v, i) => {
    const spec = c.string(`silos[${i}]`, v);
    if (spec === '') c.fail(`silos[${i}]`, 'is empty');
    if (/^https?:\/\//.test(spec)) return { spec, url: spec.endsWith('/') ? spec : `${spec}/` };
    if (/^[a-z][a-z0-9+.-]*:\/\//i.test(spec)) c.fail(`silos[${i}]`, `uses an unsupported scheme: ${spec}`);
    return { spec, path: isAbsolute(spec) ? spec : resolve(root, spec) };
  });
}

export class MedoDir {
  private constructor(readonly root: string, readonly silos: readonly SiloRef[]) {}

  /** The nearest directory at or above `start` (a directory or a file in one) that holds SILO.json. */
  static findRoot(start: string): string | undefined {
    let dir = resolve(start);
    try {
      if (!statSync(dir).isDirectory()) dir = dirname(dir);
    } catch {
      dir = dirname(dir);
    }
    for (;;) {
      try {
        if (statSync(join(dir, SILO_JSON)).isFile()) return dir;
      } catch {
        // keep walking
      }
      const up = dirname(dir);
      if (up === dir) return undefined;
      dir = up;
    }
  }

  static open(dir: string): MedoDir {
    const root = resolve(dir);
    const file = join(root, SILO_JSON);
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (e) {
      throw new MedoError('ERR_STORE_NOT_FOUND', `${root} is not a medo directory (no ${SILO_JSON})`, { path: root }, { cause: e });
    }
    return new MedoDir(root, parseSiloJson(text, file, root));
  }

  /** The medo directory that `path` (a .treeptr or a directory) belongs to. */
  static containing(path: string): MedoDir {
    const root = MedoDir.findRoot(path);
    if (root === undefined) {
      throw new MedoError('ERR_STORE_NOT_FOUND', `no ${SILO_JSON} at or above ${path}: it is not inside a medo directory`, { path });
    }
    return MedoDir.open(root);
  }

  /**
   * The local silos that exist, in SILO.json order, read as one store. A remote silo (URL) is read
   * through the host's cache (lib/remote/cache.ts), which stands at the place of the first URL listed;
   * what is not cached yet is fetched by lib/remote (medo prefetch), not here: reads are synchronous.
   */
  openStore(options: ObjectDirOptions & { cacheDir?: string } = {}): StoreChain {
    const silos: Silo[] = [];
    let cacheSeen = false;
    for (const s of this.silos) {
      if (s.path !== undefined && isSilo(s.path)) silos.push(Silo.open(s.path, options));
      else if (s.url !== undefined && !cacheSeen) {
        cacheSeen = true;
        const dir = cacheDirFrom(options.cacheDir);
        if (isSilo(dir)) silos.push(Silo.open(dir, options));
      }
    }
    if (silos.length === 0) {
      throw new MedoError('ERR_STORE_NOT_FOUND', cacheSeen
        ? `${join(this.root, SILO_JSON)} lists no local silo that exists, and the cache of its remote silos (${cacheDirFrom(options.cacheDir)}) does not exist yet: run 'medo prefetch'`
        : `${join(this.root, SILO_JSON)} lists no local silo that exists`, { path: this.root });
    }
    const chain = new StoreChain(silos, this.root);
    for (const s of silos) s.external = (oid) => chain.read(oid);
    return chain;
  }

  /** URLs of the remote silos listed, in order. */
  remoteUrls(): string[] {
    return this.silos.flatMap((s) => (s.url === undefined ? [] : [s.url]));
  }

  /** The silo `medo add` writes to: `override` if given, else the first writable local one listed. */
  writableSilo(override?: string): Silo {
    if (override !== undefined) return Silo.open(override);
    for (const s of this.silos) {
      if (s.path === undefined || !isSilo(s.path)) continue;
      try {
        accessSync(s.path, constants.W_OK);
        return Silo.open(s.path);
      } catch {
        // read-only: try the next
      }
    }
    throw new MedoError('ERR_STORE_NOT_FOUND', `${join(this.root, SILO_JSON)} lists no writable local silo (create one with 'silo init')`,
      { path: this.root });
  }

  /** Every .treeptr below the root, as paths relative to it, sorted. */
  treeptrs(): string[] {
    const out: string[] = [];
    const walk = (dir: string): void => {
      for (const d of readdirSync(dir, { withFileTypes: true })) {
        if (d.name.startsWith('.')) continue;
        const p = join(dir, d.name);
        if (d.isDirectory()) walk(p);
        else if (d.isFile() && d.name.endsWith(TREEPTR_EXT)) out.push(relative(this.root, p));
      }
    };
    walk(this.root);
    return out.sort();
  }
}
