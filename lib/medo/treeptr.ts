// `.treeptr` files: small JSON pointers, kept in git, that name a tree (or one opaque blob) in a silo,
// with its size, file count, metadata sidecar and provenance. docs/formats.md and
// docs/schemas/treeptr.schema.json describe the format; this module is its only reader and writer.
import { readFileSync } from 'node:fs';
import { writeFileAtomic } from '../io/atomic-write.js';
import { canonicalJson } from './canonical-json.js';
import { JsonChecker } from './json-check.js';

export const TREEPTR_FORMAT = 'medo-treeptr';
export const TREEPTR_VERSION = 1;
export const TREEPTR_EXT = '.treeptr';

export interface Source {
  /** Where the original came from, e.g. an upstream tarball's URL. */
  url?: string;
  /** sha256 of the original download, hex. */
  sha256?: string;
}

export interface BuiltFrom {
  /** What the tree was built from: other .treeptr paths or object ids. */
  inputs?: string[];
  /** The base layer or image it was built in. */
  base?: string;
  /** The shell command that built it. */
  command?: string;
  env?: Record<string, string>;
}

export interface Treeptr {
  /** Exactly one of `tree` (a directory) or `blob` (one opaque file, kept byte for byte). */
  tree?: string;
  blob?: string;
  /** Bytes of file content: the sum of every blob's size (the blob's own size for a blob treeptr). */
  size: number;
  /** Regular files and symlinks in the tree (1 for a blob). */
  files: number;
  /** Id of the metadata sidecar blob (lib/medo/meta.ts): modes, mtimes, empty directories. */
  meta?: string;
  source?: Source;
  built_from?: BuiltFrom;
}

const OID = /^[0-9a-f]{40}$/;
const SHA256 = /^[0-9a-f]{64}$/;
const KEY_ORDER = ['format', 'version', 'tree', 'blob', 'size', 'files', 'meta', 'source', 'built_from'];

export function parseTreeptr(text: string, file: string): Treeptr {
  const c = new JsonChecker(file);
  const j = c.parse(text);
  if (j.format !== TREEPTR_FORMAT) c.fail('format', `must be "${TREEPTR_FORMAT}"`);
  if (j.version !== TREEPTR_VERSION) c.fail('version', `must be ${TREEPTR_VERSION} (this medo's format)`);
  if ((j.tree === undefined) === (j.blob === undefined)) c.fail('', 'must have exactly one of "tree" and "blob"');
  const t: Treeptr = { size: c.count('size', j.size), files: c.count('files', j.files) };
  if (j.tree !== undefined) t.tree = c.matching('tree', j.tree, OID, 'a 40-digit object id');
  if (j.blob !== undefined) t.blob = c.matching('blob', j.blob, OID, 'a 40-digit object id');
  if (j.meta !== undefined) t.meta = c.matching('meta', j.meta, OID, 'a 40-digit object id');
  if (j.source !== undefined) {
    const s = c.object('source', j.source);
    t.source = {};
    if (s.url !== undefined) t.source.url = c.string('source.url', s.url);
    if (s.sha256 !== undefined) t.source.sha256 = c.matching('source.sha256', s.sha256, SHA256, '64 lowercase hex digits');
  }
  if (j.built_from !== undefined) {
    const b = c.object('built_from', j.built_from);
    t.built_from = {};
    if (b.inputs !== undefined) {
      if (!Array.isArray(b.inputs)) c.fail('built_from.inputs', 'must be an array of strings');
      t.built_from.inputs = (b.inputs as unknown[]).map((v, i) => c.string(`built_from.inputs[${i}]`, v));
    }
    if (b.base !== undefined) t.built_from.base = c.string('built_from.base', b.base);
    if (b.command !== undefined) t.built_from.command = c.string('built_from.command', b.command);
    if (b.env !== undefined) {
      const env = c.object('built_from.env', b.env);
      t.built_from.env = Object.fromEntries(Object.entries(env).map(([k, v]) => [k, c.string(`built_from.env.${k}`, v)]));
    }
  }
  return t;
}

export function serializeTreeptr(t: Treeptr): string {
  return canonicalJson({ format: TREEPTR_FORMAT, version: TREEPTR_VERSION, ...t }, KEY_ORDER);
}

export function readTreeptr(path: string): Treeptr {
  return parseTreeptr(readFileSync(path, 'utf8'), path);
}

/** Writes atomically; false (and nothing written) when the file already holds exactly these bytes. */
export function writeTreeptr(path: string, t: Treeptr): boolean {
  const text = serializeTreeptr(t);
  try {
    if (readFileSync(path, 'utf8') === text) return false;
  } catch {
    // not there yet
  }
  writeFileAtomic(path, text);
  return true;
}

/** The id a treeptr names, tree or blob. */
export function rootOid(t: Treeptr): string {
  return (t.tree ?? t.blob)!;
}
