// The metadata sidecar: what a git tree cannot hold. A git tree keeps only the executable bit; wedges
// also need full permission bits (0555 installs, 0700 directories), mtimes (Python compares a source's
// mtime with its .pyc) and empty directories. The sidecar is one blob in the silo, named by the
// .treeptr's "meta" field, so the git tree itself stays exactly what `git write-tree` gives.
//
//   {"format": "medo-meta", "version": 1,
//    "paths": {"": [493, 1700000000], "bin/python3": [493, 1700000000, 250000000], ...},
//    "empty_dirs": ["share/empty"]}
//
// "paths" maps a '/'-separated path relative to the root ("" is the root itself) to
// [permission bits (mode & 0o7777), mtime seconds, optional mtime nanoseconds]. Every file, symlink and
// directory has an entry. "empty_dirs" lists directories the git tree cannot hold (no files below them).
import { canonicalJson } from './canonical-json.js';
import { JsonChecker } from './json-check.js';

export const META_FORMAT = 'medo-meta';
export const META_VERSION = 1;

export interface MetaEntry {
  /** Permission bits only: mode & 0o7777. */
  perm: number;
  mtimeSec: number;
  mtimeNsec: number;
}

export class TreeMeta {
  private readonly known = new Map<string, MetaEntry>();
  /**
   * A parsed sidecar's "paths" as JSON gave them, each checked and converted when first asked for: a mount
   * needs a few of 50 000 entries to answer its first stat, and building them all cost as much as parsing.
   */
  private raw: Record<string, unknown> | undefined;
  private checker: JsonChecker | undefined;
  readonly emptyDirs = new Set<string>();

  /** Every entry (checking them all first, for a parsed sidecar). */
  get paths(): ReadonlyMap<string, MetaEntry> {
    const raw = this.raw;
    if (raw !== undefined) {
      for (const p of Object.keys(raw)) if (!this.known.has(p)) this.known.set(p, this.get(p)!);
      this.raw = undefined;
    }
    return this.known;
  }

  /**
   * The entry of `path`; throws ERR_OBJECT_CORRUPT naming it when the sidecar's entry is malformed. A
   * parsed sidecar's entry is checked and converted on each call and not kept: an expand asks for each
   * path once, and a mount keeps the answer on its node.
   */
  get(path: string): MetaEntry | undefined {
    const hit = this.known.size > 0 ? this.known.get(path) : undefined;
    const raw = this.raw;
    if (hit !== undefined || raw === undefined) return hit;
    const v = raw[path];
    // JSON.parse gives every key as an own property; a miss can still find Object.prototype's members.
    if (v === undefined || (!Array.isArray(v) && !Object.hasOwn(raw, path))) return undefined;
    const c = this.checker!;
    if (!checkPath(path)) c.fail(`paths.${path}`, 'is not a clean relative path');
    if (!Array.isArray(v) || v.length < 2 || v.length > 3) return c.fail(`paths.${path}`, 'must be [perm, mtime] or [perm, mtime, nsec]');
    const [perm, sec, nsec = 0] = v as unknown[];
    if (typeof perm !== 'number' || !Number.isInteger(perm) || perm < 0 || perm > 0o7777) c.fail(`paths.${path}`, 'has a bad permission');
    if (typeof sec !== 'number' || !Number.isSafeInteger(sec)) c.fail(`paths.${path}`, 'has a bad mtime');
    if (typeof nsec !== 'number' || !Number.isInteger(nsec) || nsec < 0 || nsec > 999_999_999) c.fail(`paths.${path}`, 'has bad nanoseconds');
    return { perm: perm as number, mtimeSec: sec as number, mtimeNsec: nsec as number };
  }

  set(path: string, perm: number, mtimeSec: number, mtimeNsec = 0): void {
    this.known.set(path, { perm: perm & 0o7777, mtimeSec, mtimeNsec });
  }

  /** Names of the empty directories directly inside `dir` ("" for the root). */
  emptyDirsIn(dir: string): string[] {
    const prefix = dir === '' ? '' : `${dir}/`;
    const out: string[] = [];
    for (const p of this.emptyDirs) {
      if (p.startsWith(prefix) && !p.slice(prefix.length).includes('/')) out.push(p.slice(prefix.length));
    }
    return out.sort();
  }

  serialize(): string {
    const paths: Record<string, number[]> = {};
    for (const [p, e] of this.paths) paths[p] = e.mtimeNsec === 0 ? [e.perm, e.mtimeSec] : [e.perm, e.mtimeSec, e.mtimeNsec];
    return canonicalJson({ format: META_FORMAT, version: META_VERSION, paths, empty_dirs: [...this.emptyDirs].sort() },
      ['format', 'version', 'paths', 'empty_dirs']);
  }

  static parse(text: string, where: string): TreeMeta {
    const c = new JsonChecker(where, 'ERR_OBJECT_CORRUPT');
    const j = c.parse(text);
    if (j.format !== META_FORMAT) c.fail('format', `must be "${META_FORMAT}"`);
    if (j.version !== META_VERSION) c.fail('version', `must be ${META_VERSION}`);
    const meta = new TreeMeta();
    // Entries are checked when asked for (get), so a bad one fails the lookup that needs it.
    // JSON.parse makes every key an own property ("__proto__" too); get() reads only own ones.
    meta.raw = c.object('paths', j.paths);
    meta.checker = c;
    const empty = j.empty_dirs ?? [];
    if (!Array.isArray(empty)) c.fail('empty_dirs', 'must be an array');
    for (const [i, p] of (empty as unknown[]).entries()) {
      const s = c.string(`empty_dirs[${i}]`, p);
      if (s === '' || !checkPath(s)) c.fail(`empty_dirs[${i}]`, 'is not a clean relative path');
      meta.emptyDirs.add(s);
    }
    return meta;
  }
}

/** A relative path of valid components: no '', '.', '..' parts, no leading or trailing '/', no NUL. */
export function checkPath(p: string): boolean {
  // One scan, no array per path: a sidecar holds one path per file, parsed on a mount's first access.
  return p === '' || !BAD_PATH.test(p);
}

/** An empty, '.' or '..' component (at the start, between slashes or at the end), or a NUL. */
const BAD_PATH = /(?:^|\/)(?:\.{0,2})(?:\/|$)|\0/;
