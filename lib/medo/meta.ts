// The metadata sidecar: what a git tree cannot hold. A git tree keeps only the executable bit; wedges
// also need full permission bits (0555 installs, 0700 directories), mtimes (Python compares a source's
// mtime with its .pyc) and empty directories. The sidecar is one blob in the silo, named by the
// .treeptr's "meta" field, so the git tree itself stays exactly what `git write-tree` gives.
//
//   {"format": "medo-meta", "version": 2,
//    "attrs": [[493, 1700000000], [493, 1700000000, 250000000], ...],
//    "paths": {"": 0, "bin/python3": 1, ...},
//    "empty_dirs": ["share/empty"]}
//
// "attrs" lists each distinct [permission bits (mode & 0o7777), mtime seconds, optional mtime
// nanoseconds] once, in the order the sorted paths first use them; "paths" maps a '/'-separated path
// relative to the root ("" is the root itself) to the index of its attrs. Every file, symlink and
// directory has an entry. "empty_dirs" lists directories the git tree cannot hold (no files below them).
// A tree unpacked from a tarball has a handful of distinct attrs, so the next version's sidecar differs
// from this one in the attrs alone when only the times moved: a delta of a few bytes, where version 1
// (the same with each path's attrs inline, still read) changed on every line.
import { canonicalJson } from './canonical-json.js';
import { JsonChecker } from './json-check.js';
import { Columns, PathIndex } from './meta-index.js';

export const META_FORMAT = 'medo-meta';
export const META_VERSION = 2;

export interface MetaEntry {
  /** Permission bits only: mode & 0o7777. */
  perm: number;
  mtimeSec: number;
  mtimeNsec: number;
}

export class TreeMeta {
  private readonly known = new Map<string, MetaEntry>();
  /** A parsed sidecar's "paths", compacted (PathIndex); entries are made when asked for. */
  private index: PathIndex | undefined;
  readonly emptyDirs = new Set<string>();

  /** Every entry (checking them all first, for a parsed sidecar). */
  get paths(): ReadonlyMap<string, MetaEntry> {
    const index = this.index;
    if (index !== undefined) {
      for (let i = 0; i < index.count; i++) {
        const p = index.pathAt(i);
        // A path the sidecar gives twice is in the index twice, and the later entry answers (find(), as
        // with JSON.parse): the earlier one is skipped here and in entries(), or they would disagree with get().
        if (!this.known.has(p) && index.find(p) === i) this.known.set(p, index.entry(i));
      }
      this.index = undefined;
    }
    return this.known;
  }

  /** Every entry, without keeping them: a parsed sidecar's are made one at a time from its index. */
  *entries(): Generator<[string, MetaEntry]> {
    const index = this.index;
    if (index === undefined) {
      yield* this.known;
      return;
    }
    for (let i = 0; i < index.count; i++) {
      const p = index.pathAt(i);
      if (index.find(p) !== i) continue; // an earlier entry of a path given twice (see paths)
      yield [p, this.known.get(p) ?? index.entry(i)];
    }
  }

  /**
   * The entry of `path`; throws ERR_OBJECT_CORRUPT naming it when the sidecar's entry is malformed. A
   * parsed sidecar's entry is made on each call and not kept: an expand asks for each path once, and a
   * mount keeps the answer on its node.
   */
  get(path: string): MetaEntry | undefined {
    const hit = this.known.size > 0 ? this.known.get(path) : undefined;
    const index = this.index;
    if (hit !== undefined || index === undefined) return hit;
    const i = index.find(path);
    return i < 0 ? undefined : index.entry(i);
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
    // No prototype: a file named "__proto__" is a key like any other, not the object's prototype.
    const paths: Record<string, number> = Object.create(null) as Record<string, number>;
    for (const p of [...this.paths.keys()].sort()) paths[p] = 0;
    // Numbered in the order the sidecar lists the paths (JavaScript's key order, as canonicalJson keeps).
    const attrs: number[][] = [];
    const numbered = new Map<string, number>();
    for (const p of Object.keys(paths)) {
      const e = this.paths.get(p)!;
      const tuple = e.mtimeNsec === 0 ? [e.perm, e.mtimeSec] : [e.perm, e.mtimeSec, e.mtimeNsec];
      const key = tuple.join(',');
      let i = numbered.get(key);
      if (i === undefined) {
        i = attrs.length;
        numbered.set(key, i);
        attrs.push(tuple);
      }
      paths[p] = i;
    }
    return canonicalJson({ format: META_FORMAT, version: META_VERSION, attrs, paths, empty_dirs: [...this.emptyDirs].sort() },
      ['format', 'version', 'attrs', 'paths', 'empty_dirs']);
  }

  /**
   * A sidecar from its text or bytes (UTF-8). Read straight into a PathIndex when it has the shape medo
   * writes, through JSON.parse otherwise (which then names what is wrong with it). A bad entry fails the
   * lookup that needs it (get), not the parse.
   */
  static parse(text: string | Uint8Array, where: string): TreeMeta {
    const c = new JsonChecker(where, 'ERR_OBJECT_CORRUPT');
    const scanned = PathIndex.scan(typeof text === 'string' ? Buffer.from(text, 'utf8') : text);
    const j = scanned?.members ?? c.parse(typeof text === 'string' ? text : Buffer.from(text.buffer, text.byteOffset, text.length).toString('utf8'));
    if (j.format !== META_FORMAT) c.fail('format', `must be "${META_FORMAT}"`);
    if (j.version !== 1 && j.version !== META_VERSION) c.fail('version', `must be 1 or ${META_VERSION}`);
    let attrs: Columns | undefined;
    if (j.version === 2) {
      attrs = j.attrs instanceof Columns ? j.attrs : PathIndex.attrsOf(j.attrs);
      if (attrs === undefined) c.fail('attrs', 'must be an array of [perm, mtime] or [perm, mtime, nsec]');
    } else if (j.attrs !== undefined) {
      c.fail('attrs', 'is not part of version 1');
    }
    const meta = new TreeMeta();
    meta.index = scanned?.paths !== undefined
      ? PathIndex.build(scanned.paths, attrs, c, checkPath)
      : PathIndex.fromObject(c.object('paths', j.paths), attrs, c, checkPath);
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

/**
 * Set-user-ID and set-group-ID: a file medo writes or serves never has them, whatever a sidecar or a
 * tarball claims. A wedge is data fetched from elsewhere; a setuid binary in it would be a way up for
 * whoever can write the silo (mounts are nosuid too). Directories keep theirs (setgid there only sets
 * the group of what is made inside), and the sticky bit stays everywhere.
 */
export const PRIVILEGE_BITS = 0o6000;

/** The permission bits a file gets from `perm`: without PRIVILEGE_BITS. */
export const filePerm = (perm: number): number => perm & ~PRIVILEGE_BITS;

/** A relative path of valid components: no '', '.', '..' parts, no leading or trailing '/', no NUL. */
export function checkPath(p: string): boolean {
  // One scan, no array per path: a sidecar holds one path per file, parsed on a mount's first access.
  return p === '' || !BAD_PATH.test(p);
}

/** An empty, '.' or '..' component (at the start, between slashes or at the end), or a NUL. */
const BAD_PATH = /(?:^|\/)(?:\.{0,2})(?:\/|$)|\0/;
