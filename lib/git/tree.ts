// Git tree objects: a sequence of `<octal mode> SP <name> NUL <20-byte id>`, sorted by name with
// directories compared as if their name ended in '/' (git's base_name_compare).
// https://git-scm.com/docs/gitformat-index and git's fsck.c define what a valid tree is.
import { MedoError } from '../errors.js';
import { OID_BYTES, oidFromBytes, oidToBytes, type ObjectType } from '../oid.js';

/** The tree id of an empty directory, what `git write-tree` gives for one. */
export const EMPTY_TREE_OID = '4b825dc642cb6eb9a060e54bf8d69288fbee4904';

export const MODE_TREE = 0o40000;
export const MODE_FILE = 0o100644;
export const MODE_EXEC = 0o100755;
export const MODE_SYMLINK = 0o120000;
export const MODE_GITLINK = 0o160000;
/** Written by git before 1.5; still found in old histories and read as a plain file. */
export const MODE_FILE_GROUP_WRITABLE = 0o100664;

const VALID_MODES = new Set([MODE_TREE, MODE_FILE, MODE_EXEC, MODE_SYMLINK, MODE_GITLINK, MODE_FILE_GROUP_WRITABLE]);

export interface TreeEntry {
  mode: number;
  name: string;
  oid: string;
}

export function entryType(mode: number): ObjectType {
  if (mode === MODE_TREE) return 'tree';
  if (mode === MODE_GITLINK) return 'commit';
  return 'blob';
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Throws ERR_TREE_NAME unless git would accept `name` as one path component. */
export function checkEntryName(name: string | Uint8Array): void {
  const bytes = typeof name === 'string' ? Buffer.from(name, 'utf8') : name;
  let why: string | undefined;
  if (bytes.length === 0) why = 'empty name';
  else if (bytes.length === 1 && bytes[0] === 0x2e) why = "name '.'";
  else if (bytes.length === 2 && bytes[0] === 0x2e && bytes[1] === 0x2e) why = "name '..'";
  else if (bytes.includes(0x2f)) why = "name contains '/'";
  else if (bytes.includes(0)) why = 'name contains NUL';
  if (why !== undefined) {
    throw new MedoError('ERR_TREE_NAME', `invalid tree entry: ${why}: ${JSON.stringify(Buffer.from(bytes).toString('utf8'))}`,
      { name: Buffer.from(bytes).toString('utf8') });
  }
}

/** git's base_name_compare: a directory sorts as if its name had a trailing '/'. */
export function compareEntryNames(a: Uint8Array, aIsTree: boolean, b: Uint8Array, bIsTree: boolean): number {
  const len = Math.min(a.length, b.length);
  for (let i = 0; i < len; i++) {
    if (a[i] !== b[i]) return a[i]! - b[i]!;
  }
  const ca = a.length > len ? a[len]! : aIsTree ? 0x2f : 0;
  const cb = b.length > len ? b[len]! : bIsTree ? 0x2f : 0;
  return ca - cb;
}

/** Parses and validates a tree object. `oid` only labels errors. */
export function parseTree(buf: Buffer, oid?: string): TreeEntry[] {
  const fail = (why: string, code: 'ERR_TREE_CORRUPT' | 'ERR_TREE_NAME' = 'ERR_TREE_CORRUPT'): never => {
    throw new MedoError(code, `tree ${oid ?? '(unnamed)'}: ${why}`, oid === undefined ? {} : { oid });
  };
  const entries: TreeEntry[] = [];
  // A blob and a tree of one name are a duplicate that the order check misses: the tree sorts as "name/",
  // so "name.txt" may sit between them (git fsck's verify_ordered keeps a stack of candidates for this).
  const names = new Set<string>();
  let prevName: Buffer | undefined;
  let prevIsTree = false;
  let i = 0;
  while (i < buf.length) {
    const space = buf.indexOf(0x20, i);
    if (space < 0 || space - i > 7) fail(`entry at byte ${i} has no mode`);
    let mode = 0;
    for (let j = i; j < space; j++) {
      const d = buf[j]! - 0x30;
      if (d < 0 || d > 7) fail(`entry at byte ${i} has a mode that is not octal`);
      mode = mode * 8 + d;
    }
    if (space === i || buf[i] === 0x30) fail(`entry at byte ${i} has an empty or zero-padded mode`);
    if (!VALID_MODES.has(mode)) fail(`entry at byte ${i} has invalid mode ${mode.toString(8)}`);
    const nul = buf.indexOf(0, space + 1);
    if (nul < 0) fail(`entry at byte ${i} has an unterminated name`);
    if (nul + 1 + OID_BYTES > buf.length) fail(`entry at byte ${i} is truncated`);
    const nameBytes = buf.subarray(space + 1, nul);
    try {
      checkEntryName(nameBytes);
    } catch (e) {
      fail((e as Error).message.replace(/^invalid tree entry: /, ''), 'ERR_TREE_NAME');
    }
    let name: string;
    try {
      name = utf8.decode(nameBytes);
    } catch {
      name = fail(`entry name is not valid UTF-8: ${JSON.stringify(nameBytes.toString('latin1'))}`, 'ERR_TREE_NAME');
    }
    const isTree = mode === MODE_TREE;
    if (prevName !== undefined && compareEntryNames(prevName, prevIsTree, nameBytes, isTree) >= 0) {
      fail(`entries are not sorted or not unique at ${JSON.stringify(name)}`);
    }
    if (names.has(name)) fail(`duplicate entry ${JSON.stringify(name)}`);
    names.add(name);
    prevName = nameBytes;
    prevIsTree = isTree;
    entries.push({ mode, name, oid: oidFromBytes(buf, nul + 1) });
    i = nul + 1 + OID_BYTES;
  }
  return entries;
}

/** Serializes entries (in any order) as git would: sorted, canonical modes. Rejects bad names and duplicates. */
export function serializeTree(entries: readonly TreeEntry[]): Buffer {
  const named = entries.map((e) => {
    if (!VALID_MODES.has(e.mode)) throw new MedoError('ERR_TREE_CORRUPT', `invalid mode ${e.mode.toString(8)} for ${JSON.stringify(e.name)}`);
    checkEntryName(e.name);
    return { e, bytes: Buffer.from(e.name, 'utf8'), isTree: e.mode === MODE_TREE };
  });
  named.sort((a, b) => compareEntryNames(a.bytes, a.isTree, b.bytes, b.isTree));
  const parts: Buffer[] = [];
  // Not only neighbours: a blob "a" and a tree "a" can be apart after sorting (see parseTree).
  // Keyed by bytes: distinct strings (a lone surrogate and U+FFFD) can encode to the same name.
  const seen = new Set<string>();
  for (const { e, bytes } of named) {
    const key = bytes.toString('latin1');
    if (seen.has(key)) throw new MedoError('ERR_TREE_NAME', `duplicate tree entry ${JSON.stringify(e.name)}`, { name: e.name });
    seen.add(key);
    parts.push(Buffer.from(`${e.mode.toString(8)} `, 'latin1'), bytes, Buffer.of(0), oidToBytes(e.oid));
  }
  return Buffer.concat(parts);
}

/** One line of `git ls-tree` / `git cat-file -p <tree>`. */
export function formatTreeEntry(e: TreeEntry, quote: (name: string) => string): string {
  return `${e.mode.toString(8).padStart(6, '0')} ${entryType(e.mode)} ${e.oid}\t${quote(e.name)}`;
}
