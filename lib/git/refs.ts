// Git revisions resolved without git: HEAD (symbolic or detached), branches, tags (annotated ones peeled),
// remote-tracking refs, full object ids, the suffixes ~N, ^N, ^{}, ^{tree}, ^{commit}, and `rev:path`.
// Refs are read from loose ref files and from packed-refs (https://git-scm.com/docs/gitrevisions,
// https://git-scm.com/docs/git-pack-refs). Abbreviated ids and reftable repositories are not supported;
// both give an error that says so.
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { MedoError } from '../errors.js';
import { isOid, type ObjectType } from '../oid.js';
import type { ObjectStore } from '../store.js';
import { MODE_TREE, entryType, parseTree } from './tree.js';

export interface ResolvedRev {
  /** The tree (or, for `rev:path` naming a file, the blob) the revision names. */
  oid: string;
  type: 'tree' | 'blob';
  /** The commit it was reached through, when there was one. */
  commit?: string;
  /** Mode of the entry `rev:path` named (a blob's file, executable or symlink mode). */
  mode?: number;
}

// git's own bound on symbolic ref chains (refs.c: SYMREF_MAXDEPTH).
const SYMREF_MAXDEPTH = 5;
const MAX_PEEL = 64;

const unknown = (rev: string, why: string): never => {
  throw new MedoError('ERR_USAGE', `unknown revision ${JSON.stringify(rev)}: ${why}`, { rev });
};

/** A subset of git's check_refname_format: enough that a name can never leave the refs directory. */
export function isSafeRefName(name: string): boolean {
  if (name === '' || name.startsWith('/') || name.endsWith('/') || name.endsWith('.lock') || name.endsWith('.')) return false;
  if (/[\x00-\x20\x7f~^:?*[\\]/.test(name) || name.includes('..') || name.includes('@{') || name.includes('//')) return false;
  return name.split('/').every((part) => part !== '' && !part.startsWith('.'));
}

/** The loose refs and packed-refs of one repository. */
export class RefStore {
  private packed: Map<string, string> | undefined;
  readonly commonDir: string;

  constructor(readonly gitDir: string) {
    const common = join(gitDir, 'commondir');
    this.commonDir = existsSync(common) ? resolve(gitDir, readFileSync(common, 'utf8').trim()) : gitDir;
    const config = readText(join(this.commonDir, 'config'));
    if (config !== undefined && /^\s*refstorage\s*=\s*reftable\s*$/im.test(config)) {
      throw new MedoError('ERR_STORE_NOT_FOUND', `${gitDir} keeps its refs in a reftable, which medo does not read; give a full object id`,
        { path: gitDir });
    }
  }

  /** The object id `name` (a full ref name such as refs/heads/main, or HEAD) points to, following symbolic refs. */
  resolve(name: string): string | undefined {
    for (let depth = 0; depth <= SYMREF_MAXDEPTH; depth++) {
      if (!isSafeRefName(name)) return undefined;
      // HEAD and other pseudo-refs live in the (per-worktree) git directory, everything under refs/ in the common one.
      const dir = name.startsWith('refs/') ? this.commonDir : this.gitDir;
      const text = readText(join(dir, name));
      if (text === undefined) return this.packedRefs().get(name);
      const line = text.split('\n', 1)[0]!.trim();
      const sym = /^ref:\s*(\S+)$/.exec(line);
      if (sym) {
        name = sym[1]!;
        continue;
      }
      const oid = line.slice(0, 40);
      if (!isOid(oid)) {
        throw new MedoError('ERR_OBJECT_CORRUPT', `${join(dir, name)} holds neither an object id nor "ref: ..."`, { path: join(dir, name) });
      }
      return oid;
    }
    throw new MedoError('ERR_OBJECT_CORRUPT', `symbolic ref chain from ${name} is longer than ${SYMREF_MAXDEPTH}`, { path: this.gitDir });
  }

  /** packed-refs: `<oid> <refname>` lines, `^<oid>` lines giving the peeled tag above, `#` comments. */
  private packedRefs(): Map<string, string> {
    if (this.packed !== undefined) return this.packed;
    const refs = new Map<string, string>();
    for (const line of (readText(join(this.commonDir, 'packed-refs')) ?? '').split('\n')) {
      const m = /^([0-9a-f]{40}) (\S+)$/.exec(line);
      if (m) refs.set(m[2]!, m[1]!);
    }
    this.packed = refs;
    return refs;
  }

  /** A short name expanded in git's order (gitrevisions: "<refname>, e.g. master, heads/master, refs/heads/master"). */
  dwim(name: string): string | undefined {
    const candidates = [name, `refs/${name}`, `refs/tags/${name}`, `refs/heads/${name}`, `refs/remotes/${name}`, `refs/remotes/${name}/HEAD`];
    for (const c of candidates) {
      // Only HEAD-like names are looked up outside refs/, as git does for all-caps pseudo-refs.
      if (!c.startsWith('refs/') && !/^[A-Z_]+$/.test(c)) continue;
      const oid = this.resolve(c);
      if (oid !== undefined) return oid;
    }
    return undefined;
  }
}

function readText(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR' || code === 'EISDIR') return undefined;
    throw e;
  }
}

function readObject(store: ObjectStore, oid: string, rev: string): { type: ObjectType; text: string; content: Buffer } {
  const o = store.read(oid);
  if (o === undefined) throw new MedoError('ERR_OBJECT_MISSING', `${rev}: object ${oid} is not in ${store.path}`, { oid });
  return { type: o.type, text: o.type === 'commit' || o.type === 'tag' ? o.content.toString('latin1') : '', content: o.content };
}

/** Follows tags (and, when `to` is tree, a commit's tree) until an object of type `to`, or any non-tag for '^{}'. */
function peel(store: ObjectStore, oid: string, to: ObjectType | 'any', rev: string): { oid: string; type: ObjectType; commit?: string } {
  let commit: string | undefined;
  for (let i = 0; i < MAX_PEEL; i++) {
    const o = readObject(store, oid, rev);
    if (o.type === to || (to === 'any' && o.type !== 'tag')) return { oid, type: o.type, ...(commit ? { commit } : {}) };
    let m: RegExpExecArray | null = null;
    if (o.type === 'tag') m = /^object ([0-9a-f]{40})$/m.exec(o.text);
    else if (o.type === 'commit' && to === 'tree') {
      commit = oid;
      m = /^tree ([0-9a-f]{40})$/m.exec(o.text);
    }
    if (!m) return unknown(rev, `${oid} is a ${o.type}, which cannot be peeled to a ${to === 'any' ? 'non-tag' : to}`);
    oid = m![1]!;
  }
  throw new MedoError('ERR_OBJECT_CORRUPT', `${rev}: tags nest more than ${MAX_PEEL} deep`, { oid });
}

function parent(store: ObjectStore, oid: string, n: number, rev: string): string {
  const c = peel(store, oid, 'commit', rev);
  if (n === 0) return c.oid;
  const parents = [...readObject(store, c.oid, rev).text.split('\n\n', 1)[0]!.matchAll(/^parent ([0-9a-f]{40})$/gm)].map((m) => m[1]!);
  const p = parents[n - 1];
  if (p === undefined) unknown(rev, `commit ${c.oid} has ${parents.length} parent(s), not ${n}`);
  return p!;
}

/** Resolves the part of a revision before any ':' to an object id. */
function resolveObject(store: ObjectStore, refs: RefStore, rev: string): string {
  const m = /^(.*?)((?:[~^][0-9]*|\^\{[a-z]*\})*)$/.exec(rev)!;
  const base = m[1] === '' || m[1] === '@' ? 'HEAD' : m[1]!;
  let oid: string | undefined;
  if (isOid(base)) oid = base;
  else if (/^[0-9a-f]{4,39}$/.test(base) && refs.dwim(base) === undefined) {
    unknown(rev, 'abbreviated object ids are not supported; give all 40 hex digits');
  } else {
    if (!isSafeRefName(base)) unknown(rev, 'not a valid ref name');
    oid = refs.dwim(base);
    if (oid === undefined) unknown(rev, `no branch, tag or ref named ${JSON.stringify(base)} in ${refs.gitDir}`);
  }
  for (const s of m[2]!.matchAll(/~([0-9]*)|\^\{([a-z]*)\}|\^([0-9]*)/g)) {
    if (s[1] !== undefined) {
      const n = s[1] === '' ? 1 : Number(s[1]);
      for (let i = 0; i < n; i++) oid = parent(store, oid!, 1, rev);
    } else if (s[2] !== undefined) {
      const to = s[2] === '' ? 'any' : s[2];
      if (to !== 'any' && to !== 'tree' && to !== 'commit' && to !== 'blob' && to !== 'tag') unknown(rev, `unsupported peel ^{${to}}`);
      oid = peel(store, oid!, to as ObjectType | 'any', rev).oid;
    } else {
      oid = parent(store, oid!, s[3] === '' ? 1 : Number(s[3]), rev);
    }
  }
  return oid!;
}

/**
 * Resolves a tree-ish as `git rev-parse REV^{tree}` does, or `REV:PATH` as `git rev-parse REV:PATH` does
 * (a tree or a blob). Throws ERR_USAGE naming the revision when it does not resolve.
 */
export function resolveRev(store: ObjectStore, gitDir: string, rev: string): ResolvedRev {
  const refs = new RefStore(gitDir);
  const colon = rev.indexOf(':');
  const head = colon < 0 ? rev : rev.slice(0, colon);
  if (colon === 0) unknown(rev, "paths in the index (':path') are not supported; name a commit, e.g. HEAD:path");
  const start = peel(store, resolveObject(store, refs, head), 'tree', rev);
  if (start.type !== 'tree') unknown(rev, `${start.oid} is a ${start.type}, not a tree-ish`);
  const commit = start.commit !== undefined ? { commit: start.commit } : {};
  if (colon < 0) return { oid: start.oid, type: 'tree', ...commit };
  let oid = start.oid;
  let mode = MODE_TREE;
  for (const part of rev.slice(colon + 1).split('/').filter((p) => p !== '')) {
    if (part === '.' || part === '..') unknown(rev, "'.' and '..' are not allowed in the path");
    if (mode !== MODE_TREE) unknown(rev, `${part}: a path component is not a directory`);
    const o = readObject(store, oid, rev);
    if (o.type !== 'tree') throw new MedoError('ERR_OBJECT_CORRUPT', `${oid} is a ${o.type}, expected a tree`, { oid });
    const entry = parseTree(o.content, oid).find((e) => e.name === part);
    if (entry === undefined) unknown(rev, `path ${JSON.stringify(rev.slice(colon + 1))} does not exist in ${head || 'HEAD'}`);
    if (entryType(entry!.mode) === 'commit') unknown(rev, `${part} is a submodule, whose tree is not in this repository`);
    oid = entry!.oid;
    mode = entry!.mode;
  }
  return mode === MODE_TREE ? { oid, type: 'tree', ...commit } : { oid, type: 'blob', mode, ...commit };
}
