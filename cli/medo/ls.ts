// `medo ls` and `medo cat`: a wedge's listing and a file's bytes, read from the silo without mounting.
import { posix } from 'node:path';
import { MedoError } from '../../lib/errors.js';
import { quotePath } from '../../lib/git/quote.js';
import { EMPTY_TREE_OID, MODE_SYMLINK, MODE_TREE } from '../../lib/git/tree.js';
import { lookupPath, readTree } from '../../lib/git/tree-walk.js';
import { joinPath } from '../../lib/medo/materialize/expected.js';
import { readBlob } from '../../lib/medo/materialize/read-blob.js';
import { kindOfMode, permOfMode, type EntryKind } from '../../lib/medo/tree-diff.js';
import { openWedge, type Wedge } from '../../lib/medo/tree-arg.js';
import { formatMtime } from '../../lib/medo/verify-dir.js';
import type { Command } from '../command.js';
import { EXIT_OK, parse, usage } from '../run.js';

const WEDGE_FORMS = `TREEPTR is a .treeptr file, REV:path/x.treeptr (the .treeptr as git revision REV holds it), or a
tree or commit id in --store (else in the silos of the medo directory around the working directory).`;

interface Listed {
  path: string;
  kind: EntryKind;
  perm: number;
  size: number;
  mtime?: string;
  oid: string;
  target?: string;
}

function cleanPath(p: string | undefined): string {
  if (p === undefined) return '';
  const n = posix.normalize(`/${p}`).slice(1).replace(/\/$/, '');
  return n;
}

const blob = (w: Wedge, oid: string, path: string): Buffer => readBlob(w.store, oid, path);
const treeOf = (w: Wedge) => (oid: string) => readTree(w.store, oid);

function listed(w: Wedge, path: string, mode: number, oid: string): Listed {
  const kind = kindOfMode(mode);
  const m = w.meta?.get(path);
  const out: Listed = { path, kind, perm: m?.perm ?? permOfMode(mode), size: 0, oid };
  if (m !== undefined) out.mtime = formatMtime({ sec: m.mtimeSec, nsec: m.mtimeNsec });
  if (kind === 'file' || kind === 'symlink') {
    const content = blob(w, oid, path);
    out.size = content.length;
    if (kind === 'symlink') out.target = content.toString('utf8');
  }
  return out;
}

/** ls -l's mode column. */
function modeString(kind: EntryKind, perm: number): string {
  const type = kind === 'dir' ? 'd' : kind === 'symlink' ? 'l' : kind === 'gitlink' ? 'm' : '-';
  let s = type;
  for (let shift = 6; shift >= 0; shift -= 3) {
    const bits = (perm >> shift) & 7;
    s += `${bits & 4 ? 'r' : '-'}${bits & 2 ? 'w' : '-'}${bits & 1 ? 'x' : '-'}`;
  }
  return s;
}

/** The entries `path` stands for: a directory's children (each directory's, with recursion), or the entry itself. */
function* listing(w: Wedge, path: string, recursive: boolean): Generator<Listed> {
  if (w.tree === undefined) {
    if (path !== '') throw new MedoError('ERR_USAGE', `${w.label} is one file: it has no ${quotePath(path)}`, { path });
    yield listed(w, '', 0o100644, w.blob!);
    return;
  }
  const at = lookupPath(treeOf(w), w.tree, path);
  if (at === undefined) throw new MedoError('ERR_NO_SUCH_PATH', `${w.label} has no ${quotePath(path)}`, { path });
  if (at.mode !== MODE_TREE) {
    yield listed(w, path, at.mode, at.oid);
    return;
  }
  const walk = function* (dir: string, oid: string): Generator<Listed> {
    const entries = oid === EMPTY_TREE_OID ? [] : readTree(w.store, oid);
    const names = new Set(entries.map((e) => e.name));
    const children = entries.map((e) => ({ ...e, path: joinPath(dir, e.name) }));
    // Empty directories are in the sidecar only.
    for (const name of w.meta?.emptyDirsIn(dir) ?? []) {
      if (!names.has(name)) children.push({ name, mode: MODE_TREE, oid: EMPTY_TREE_OID, path: joinPath(dir, name) });
    }
    children.sort((a, b) => Buffer.compare(Buffer.from(a.name), Buffer.from(b.name)));
    for (const e of children) {
      yield listed(w, e.path, e.mode, e.oid);
      if (recursive && e.mode === MODE_TREE) yield* walk(e.path, e.oid);
    }
  };
  yield* walk(path, at.oid);
}

export const lsCommand: Command = {
  name: 'ls',
  help: `usage: medo ls [-R] [--json] [--store SILO|REPO] TREEPTR [PATH]

Lists the directory PATH of a wedge (default its root) as 'ls -l' would, without mounting it: mode, size
in bytes, mtime (from the metadata sidecar; '-' without one), and the path relative to the root, a
symlink with '-> target'. A PATH that is a file lists that file. -R lists every directory below.
${WEDGE_FORMS}

--json     one JSON array of {path, kind, perm, size, mtime, oid, target}
-R         recurse into subdirectories
`,
  async run(args) {
    const { values, positionals } = parse({
      args, allowPositionals: true,
      options: { R: { type: 'boolean', short: 'R' }, json: { type: 'boolean' }, store: { type: 'string' } },
    });
    if (positionals.length < 1 || positionals.length > 2) usage('ls takes a TREEPTR and at most one PATH');
    const w = await openWedge(positionals[0]!, { store: values.store });
    try {
      const rows = [...listing(w, cleanPath(positionals[1]), values.R === true)];
      if (values.json) {
        process.stdout.write(`${JSON.stringify(rows, null, 2)}\n`);
        return EXIT_OK;
      }
      const width = Math.max(1, ...rows.map((r) => String(r.size).length));
      const lines = rows.map((r) => `${modeString(r.kind, r.perm)} ${String(r.size).padStart(width)} ${(r.mtime ?? '-').padEnd(27)} ` +
        `${r.path === '' ? '.' : quotePath(r.path)}${r.target !== undefined ? ` -> ${r.target}` : ''}`);
      process.stdout.write(lines.map((l) => `${l}\n`).join(''));
      return EXIT_OK;
    } finally {
      w.close();
    }
  },
};

/** `target` taken from directory `dir` ('.' for the root), or undefined when it climbs above the root. */
function inside(dir: string, target: string): string | undefined {
  const parts = dir === '.' ? [] : dir.split('/');
  for (const c of target.split('/')) {
    if (c === '' || c === '.') continue;
    if (c !== '..') parts.push(c);
    else if (parts.pop() === undefined) return undefined;
  }
  return parts.length === 0 ? undefined : parts.join('/');
}

/** Symlinks followed inside the tree before giving up, as the kernel's MAXSYMLINKS. */
const MAX_LINKS = 40;

/** The file at `path`, symlinks followed within the tree; an absolute or climbing target is refused. */
function fileAt(w: Wedge, path: string): Buffer {
  if (w.tree === undefined) {
    if (path !== '') throw new MedoError('ERR_USAGE', `${w.label} is one file: it has no ${quotePath(path)}`, { path });
    return blob(w, w.blob!, '');
  }
  let p = path;
  for (let hops = 0; hops <= MAX_LINKS; hops++) {
    const at = lookupPath(treeOf(w), w.tree, p);
    if (at === undefined) throw new MedoError('ERR_NO_SUCH_PATH', `${w.label} has no ${quotePath(p)}`, { path: p });
    if (at.mode === MODE_TREE) throw new MedoError('ERR_NO_SUCH_PATH', `${w.label}: ${quotePath(p)} is a directory`, { path: p });
    if (at.mode !== MODE_SYMLINK) return blob(w, at.oid, p);
    const target = blob(w, at.oid, p).toString('utf8');
    const next = target.startsWith('/') ? undefined : inside(posix.dirname(p), target);
    if (next === undefined) {
      throw new MedoError('ERR_UNSAFE_PATH', `${w.label}: ${quotePath(p)} is a symlink to ${JSON.stringify(target)}, outside the tree`, { path: p });
    }
    p = next;
  }
  throw new MedoError('ERR_USAGE', `${w.label}: ${quotePath(path)}: more than ${MAX_LINKS} symlinks`, { path });
}

export const catCommand: Command = {
  name: 'cat',
  help: `usage: medo cat [--store SILO|REPO] TREEPTR [PATH]

Writes the bytes of file PATH of a wedge to standard output, without mounting it. Symlinks are followed
inside the tree (one whose target is absolute or climbs out of the tree is an error). PATH may be left out
for a .treeptr of one blob.
${WEDGE_FORMS}
`,
  async run(args) {
    const { values, positionals } = parse({ args, allowPositionals: true, options: { store: { type: 'string' } } });
    if (positionals.length < 1 || positionals.length > 2) usage('cat takes a TREEPTR and a PATH');
    const w = await openWedge(positionals[0]!, { store: values.store });
    try {
      const path = cleanPath(positionals[1]);
      if (path === '' && w.tree !== undefined) usage(`${positionals[0]} is a tree: name a file in it`);
      const bytes = fileAt(w, path);
      process.stdout.write(bytes);
      return EXIT_OK;
    } finally {
      w.close();
    }
  },
};
