// Fixtures for the mount: a source directory with every kind of entry a wedge has, turned into a silo, a
// metadata sidecar and a .treeptr in a medo directory the way `medo add` would (built directly here: git
// write-tree in a temp repository, its objects packed into a silo with silo.packWriter()). Git stays the
// oracle: `expectedTree` is `git ls-tree -r -t -l` plus `git cat-file --batch`.
import { chmodSync, lstatSync, type BigIntStats, mkdirSync, readdirSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { lstat, readdir, readFile, readlink } from 'node:fs/promises';
import { TreeMeta } from '../../lib/medo/meta.js';
import { writeTreeptr } from '../../lib/medo/treeptr.js';
import { Silo } from '../../lib/silo/silo.js';
import { git, gitObjects } from './git-fixture.js';

/** mulberry32: seeded, so every run writes the same bytes and git gives the same ids. */
function random(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let x = Math.imul(s ^ (s >>> 15), 1 | s);
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x;
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}

function randomBytes(r: () => number, n: number): Buffer {
  const b = Buffer.allocUnsafe(n);
  for (let i = 0; i < n; i++) b[i] = Math.floor(r() * 256);
  return b;
}

/** Sizes of the two large files: one above the 1 MiB inline limit (read off the main thread), one well above. */
export const BIG_SIZE = 3 * 1024 * 1024 + 123;
export const MEDIUM_SIZE = 1024 * 1024 + 1;

/** Paths the fixture makes with modes git cannot record (restored only through the sidecar). */
export const SPECIAL_MODES: Record<string, number> = {
  'private.txt': 0o600,
  'readonly.txt': 0o444,
  'secret': 0o700,
  'shared': 0o2775,
  'ro-dir': 0o555,
  'bin/tool': 0o750,
};

/**
 * Writes the source tree: text, binary and empty files, executables, symlinks (relative, absolute,
 * dangling, to a directory), names with spaces, unicode and quotes, deep nesting, empty directories,
 * modes git drops, and distinct mtimes with nanoseconds.
 */
export function writeSourceTree(dir: string, seed = 7): void {
  const r = random(seed);
  const file = (p: string, content: string | Buffer, mode = 0o644): void => {
    mkdirSync(join(dir, p, '..'), { recursive: true });
    writeFileSync(join(dir, p), content);
    chmodSync(join(dir, p), mode);
  };
  mkdirSync(dir, { recursive: true });
  file('README.md', '# fixture\n\nA wedge for the mount tests.\n');
  file('empty-file', '');
  file('big.bin', randomBytes(r, BIG_SIZE));
  file('medium.bin', Buffer.concat([Buffer.from('medium\n'), randomBytes(r, MEDIUM_SIZE - 7)]));
  file('text/lines.txt', Array.from({ length: 5000 }, (_, i) => `line ${i} ${r()}`).join('\n'));
  file('bin/run.sh', '#!/bin/sh\necho run\n', 0o755);
  file('bin/tool', '#!/bin/sh\necho tool\n', 0o750);
  file('private.txt', 'private\n', 0o600);
  file('readonly.txt', 'read only\n', 0o444);
  file('names/with space.txt', 'space\n');
  file('names/ünïcødé-名前.txt', 'unicode\n');
  file('names/quote"and\'apostrophe', 'quotes\n');
  file('names/-dash', 'dash\n');
  file('deep/a/b/c/d/e/f/g/leaf.txt', 'deep leaf\n');
  file('same/one.txt', 'identical content\n');
  file('same/two.txt', 'identical content\n');
  file('secret/key', 'k\n', 0o600);
  file('shared/doc.txt', 'doc\n');
  file('ro-dir/inside.txt', 'inside\n');
  for (let i = 0; i < 300; i++) file(`many/f${String(i).padStart(3, '0')}.txt`, `file ${i}\n`);
  symlinkSync('README.md', join(dir, 'link-to-readme'));
  symlinkSync('../text/lines.txt', join(dir, 'bin/lines-link'));
  symlinkSync('/etc/hostname', join(dir, 'absolute-link'));
  symlinkSync('does/not/exist', join(dir, 'dangling-link'));
  symlinkSync('deep/a/b', join(dir, 'dir-link'));
  mkdirSync(join(dir, 'empty'));
  mkdirSync(join(dir, 'nested-empty/inner/innermost'), { recursive: true });
  chmodSync(join(dir, 'secret'), 0o700);
  chmodSync(join(dir, 'shared'), 0o2775);
  chmodSync(join(dir, 'ro-dir'), 0o555);
  // Distinct mtimes with sub-second parts, set children first (setting a child's time does not touch its directory's).
  const paths = listAll(dir).reverse();
  paths.forEach((p, i) => {
    const sec = 1_600_000_000 + i * 3_671;
    const full = p === '' ? dir : join(dir, p);
    if (lstatSync(full).isSymbolicLink()) {
      execFileSync('touch', ['-h', '-d', `@${sec}.${String(123_456_789 + i).padStart(9, '0')}`, full]);
    } else {
      utimesSync(full, sec + 0.25, sec + (i % 1000) / 1000 + 0.000_5);
    }
  });
}

/** Every path below `dir` ('' for `dir` itself), parents before children. */
export function listAll(dir: string, prefix = ''): string[] {
  const out = prefix === '' ? [''] : [];
  for (const d of readdirSync(join(dir, prefix), { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
    const p = prefix === '' ? d.name : `${prefix}/${d.name}`;
    out.push(p);
    if (d.isDirectory()) out.push(...listAll(dir, p));
  }
  return out;
}

/** The sidecar for `dir` as `medo add` records it: permission bits and mtimes of everything, empty directories. */
export function metaFor(dir: string): TreeMeta {
  const meta = new TreeMeta();
  const hasFiles = new Map<string, boolean>();
  const paths = listAll(dir);
  for (const p of paths) {
    const st = lstatSync(p === '' ? dir : join(dir, p), { bigint: true });
    meta.set(p, Number(st.mode & 0o7777n), Number(st.mtimeNs / 1_000_000_000n), Number(st.mtimeNs % 1_000_000_000n));
    if (!st.isDirectory()) {
      // every ancestor has a file below it
      let q = p;
      while (q !== '') {
        q = q.includes('/') ? q.slice(0, q.lastIndexOf('/')) : '';
        hasFiles.set(q, true);
      }
    }
  }
  for (const p of paths) {
    if (p !== '' && lstatSync(join(dir, p)).isDirectory() && !hasFiles.get(p)) meta.emptyDirs.add(p);
  }
  return meta;
}

export interface MedoFixture {
  /** The medo directory: SILO.json and debian/bullseye/<name>.treeptr, tools/<blob name>.treeptr. */
  medoDir: string;
  siloDir: string;
  /** The bare repository the tree was written in (holds the same objects as the silo). */
  repo: string;
  tree: string;
  meta: string;
  treeptr: string;
  /** A .treeptr naming one blob (big.bin). */
  blobTreeptr: string;
  blob: string;
  /** The pack the silo holds. */
  packPath: string;
}

/** Turns `src` into a silo + sidecar + .treeptr under `root`. */
export function buildMedoFixture(root: string, src: string, name = 'wedge'): MedoFixture {
  const repo = join(root, 'work.git');
  git(root, ['init', '-q', '--bare', repo]);
  const env = ['--git-dir', repo, '--work-tree', src];
  git(src, [...env, 'add', '-A', '.']);
  const tree = git(src, [...env, 'write-tree']).toString().trim();

  const siloDir = join(root, 'silo');
  const silo = Silo.init(siloDir);
  const writer = silo.packWriter();
  let bytes = 0;
  let files = 0;
  for (const o of gitObjects(repo)) writer.add(o.type, o.content, o.oid);
  const written = writer.finish()!;
  for (const line of git(src, ['--git-dir', repo, 'ls-tree', '-r', '-l', tree]).toString().trim().split('\n')) {
    bytes += Number(line.split(/\s+/)[3]);
    files++;
  }
  const meta = silo.writeLoose('blob', Buffer.from(metaFor(src).serialize(), 'utf8')).oid;
  const blob = git(src, ['--git-dir', repo, 'rev-parse', `${tree}:big.bin`]).toString().trim();
  silo.close();

  const medoDir = join(root, 'x.medo');
  mkdirSync(join(medoDir, 'debian', 'bullseye'), { recursive: true });
  mkdirSync(join(medoDir, 'tools'), { recursive: true });
  writeFileSync(join(medoDir, 'SILO.json'), `${JSON.stringify({ version: 1, silos: ['../silo'] })}\n`);
  const treeptr = join(medoDir, 'debian', 'bullseye', `${name}.treeptr`);
  writeTreeptr(treeptr, { tree, size: bytes, files, meta });
  const blobTreeptr = join(medoDir, 'tools', 'big.bin.treeptr');
  writeTreeptr(blobTreeptr, { blob, size: BIG_SIZE, files: 1 });
  return { medoDir, siloDir, repo, tree, meta, treeptr, blobTreeptr, blob, packPath: written.packPath };
}

export interface ExpectedEntry {
  path: string;
  type: 'dir' | 'file' | 'symlink';
  /** git's mode: 040000, 100644, 100755, 120000. */
  mode: number;
  oid: string;
  size: number;
  /** File content or symlink target (blobs only). */
  content?: Buffer;
}

/** Git's view of a tree-ish: `git ls-tree -r -t -l -z` and every blob through one `git cat-file --batch`. */
export function expectedTree(repo: string, treeish: string): ExpectedEntry[] {
  const raw = git(repo, ['ls-tree', '-r', '-t', '-l', '-z', treeish]).toString('utf8');
  const entries: ExpectedEntry[] = raw.split('\0').filter((l) => l !== '').map((line) => {
    const tab = line.indexOf('\t');
    const [mode, type, oid, size] = line.slice(0, tab).split(/\s+/);
    const m = parseInt(mode!, 8);
    return {
      path: line.slice(tab + 1),
      type: type === 'tree' ? 'dir' : m === 0o120000 ? 'symlink' : 'file',
      mode: m,
      oid: oid!,
      size: size === '-' ? 0 : Number(size),
    };
  });
  const blobs = entries.filter((e) => e.type !== 'dir');
  const out = git(repo, ['cat-file', '--batch'], blobs.map((e) => `${e.oid}\n`).join(''));
  let at = 0;
  for (const e of blobs) {
    const nl = out.indexOf(0x0a, at);
    const size = Number(out.toString('latin1', at, nl).split(' ')[2]);
    e.content = out.subarray(nl + 1, nl + 1 + size);
    at = nl + 1 + size + 1;
  }
  return entries;
}

export interface SeenEntry {
  path: string;
  stat: BigIntStats;
  content?: Buffer;
  target?: string;
}

/** Everything under `dir` as a reader sees it, read through fs.promises. */
export async function readMountedTree(dir: string, prefix = ''): Promise<SeenEntry[]> {
  const out: SeenEntry[] = [];
  for (const d of (await readdir(join(dir, prefix), { withFileTypes: true })).sort((a, b) => (a.name < b.name ? -1 : 1))) {
    const path = prefix === '' ? d.name : `${prefix}/${d.name}`;
    const full = join(dir, path);
    const stat = await lstat(full, { bigint: true });
    if (stat.isDirectory()) {
      out.push({ path, stat });
      out.push(...(await readMountedTree(dir, path)));
    } else if (stat.isSymbolicLink()) {
      out.push({ path, stat, target: await readlink(full) });
    } else {
      out.push({ path, stat, content: await readFile(full) });
    }
  }
  return out;
}
