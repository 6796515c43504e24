// Medo directories and silos for expand/verify tests, built without `medo add`: real git computes the
// tree (`git add -A && git write-tree` over the source directory, the oracle for the tree id), its objects
// are copied into a silo through our pack writer, and the metadata sidecar is built from lstat.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, lstatSync, mkdirSync, readFileSync, readdirSync, readlinkSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { TreeMeta } from '../../lib/medo/meta.js';
import { writeTreeptr, type Treeptr } from '../../lib/medo/treeptr.js';
import { hashObject } from '../../lib/oid.js';
import { Silo } from '../../lib/silo/silo.js';
import { git, gitObjects, initRepo } from './git-fixture.js';
import { AWKWARD_NAMES, random, randomBytes } from './history.js';

export interface MedoLayout {
  root: string;
  siloDir: string;
  medoDir: string;
}

/** `root/deps.silo` (initialized) and `root/deps.medo/SILO.json` naming it. */
export function makeMedoLayout(root: string): MedoLayout {
  const siloDir = join(root, 'deps.silo');
  const medoDir = join(root, 'deps.medo');
  Silo.init(siloDir).close();
  mkdirSync(medoDir, { recursive: true });
  writeFileSync(join(medoDir, 'SILO.json'), `${JSON.stringify({ silos: ['../deps.silo'] })}\n`);
  return { root, siloDir, medoDir };
}

/** Sets a path's mtime to the nanosecond (Node's utimes stops at microseconds); never follows a symlink. */
export function setMtimeNs(path: string, sec: number, nsec: number): void {
  execFileSync('touch', ['-h', '-d', `@${sec}.${String(nsec).padStart(9, '0')}`, path]);
}

function put(root: string, rel: string, content: string | Buffer, perm = 0o644): void {
  const p = join(root, rel);
  mkdirSync(dirname(p), { recursive: true });
  writeFileSync(p, content);
  chmodSync(p, perm);
}

/**
 * A tree with what expand must get right: modes beyond the executable bit (0600, 0444, 0700 and 0555
 * directories, setgid), empty files, a binary file of several MiB, symlinks (relative, absolute, dangling,
 * to a directory), nested empty directories, awkward names, and mtimes with nanoseconds.
 */
export function makeSampleTree(dir: string): void {
  const r = random(0xe4a4d);
  mkdirSync(dir, { recursive: true });
  put(dir, 'README', 'hello medo\n');
  put(dir, 'bin/tool', '#!/bin/sh\necho tool\n', 0o755);
  put(dir, 'bin/private-tool', '#!/bin/sh\necho private\n', 0o700);
  put(dir, 'etc/secret.conf', 'password=hunter2\n', 0o600);
  put(dir, 'etc/readonly.conf', 'ro\n', 0o444);
  put(dir, 'share/empty-file', '');
  put(dir, 'share/blob.bin', randomBytes(r, 3 * 1024 * 1024 + 17));
  put(dir, 'lib/python3/site.py', 'import os\n');
  put(dir, 'lib/python3/__pycache__/site.cpython-312.pyc', randomBytes(r, 900));
  for (const name of AWKWARD_NAMES) put(dir, `names/${name}`, `${name}\n`);
  put(dir, 'opt/sealed/inside.txt', 'sealed\n', 0o444);
  put(dir, 'opt/setgid-dir/file', 'g\n');
  for (let i = 0; i < 40; i++) put(dir, `many/f${String(i).padStart(3, '0')}.txt`, `file ${i}\n`.repeat(i + 1));
  symlinkSync('../README', join(dir, 'bin/readme-link'));
  symlinkSync('/etc/hostname', join(dir, 'abs-link'));
  symlinkSync('does/not/exist', join(dir, 'dangling-link'));
  symlinkSync('lib/python3', join(dir, 'dir-link'));
  mkdirSync(join(dir, 'empty'));
  mkdirSync(join(dir, 'nested-empty/inner/innermost'), { recursive: true });
  mkdirSync(join(dir, 'share/empty-in-share'));
  mkdirSync(join(dir, 'var/private-empty'), { recursive: true });
  chmodSync(join(dir, 'var/private-empty'), 0o700);
  chmodSync(join(dir, 'opt/setgid-dir'), 0o2775);
  chmodSync(join(dir, 'etc'), 0o750);
  // Mtimes last, deepest first, so that writing a child does not move its directory's mtime.
  const all = listPaths(dir).reverse();
  let sec = 1_600_000_000;
  for (const rel of all) {
    sec += 3607;
    const p = rel === '' ? dir : join(dir, rel);
    if (rel.endsWith('.py') || rel.endsWith('.pyc') || rel === 'bin/readme-link') setMtimeNs(p, sec, 123_456_789);
    else if (lstatSync(p).isSymbolicLink()) setMtimeNs(p, sec, 0);
    else utimesSync(p, sec + 0.25, sec + 0.25);
  }
  chmodSync(join(dir, 'opt/sealed'), 0o555);
}

/** Every path below `dir` ('' for dir itself), parents before children, in sorted order. */
export function listPaths(dir: string): string[] {
  const out: string[] = [''];
  const walk = (rel: string): void => {
    for (const name of readdirSync(rel === '' ? dir : join(dir, rel)).sort()) {
      const child = rel === '' ? name : `${rel}/${name}`;
      out.push(child);
      if (lstatSync(join(dir, child)).isDirectory()) walk(child);
    }
  };
  walk('');
  return out;
}

/** The sidecar for `dir`: perm and mtime of every path, and the directories git cannot hold. */
export function metaOf(dir: string): TreeMeta {
  const meta = new TreeMeta();
  const hasFile = new Set<string>();
  const paths = listPaths(dir);
  for (const rel of paths) {
    const st = lstatSync(rel === '' ? dir : join(dir, rel), { bigint: true });
    meta.set(rel, Number(st.mode & 0o7777n), Number(st.mtimeNs / 1_000_000_000n), Number(st.mtimeNs % 1_000_000_000n));
    if (!st.isDirectory()) {
      const parts = rel.split('/');
      for (let i = 0; i < parts.length; i++) hasFile.add(parts.slice(0, i).join('/'));
    }
  }
  for (const rel of paths) {
    if (rel !== '' && lstatSync(join(dir, rel)).isDirectory() && !hasFile.has(rel)) meta.emptyDirs.add(rel);
  }
  return meta;
}

export interface StoredTree {
  tree: string;
  meta?: string;
  treeptr: Treeptr;
  treeptrPath: string;
}

/**
 * Stores `source` in the layout's silo the way `medo add` will: git computes the tree (scratch repository
 * in `scratch`), its objects go into one pack, the sidecar (unless `meta: false`) into a loose blob, and
 * `<medoDir>/<name>` gets the .treeptr.
 */
export function storeTree(layout: MedoLayout, source: string, name: string, scratch: string, options: { meta?: boolean } = {}): StoredTree {
  const repo = initRepo(join(scratch, `oracle-${createHash('sha1').update(name).digest('hex').slice(0, 8)}.git`), { bare: true });
  git(repo, ['--work-tree', source, 'add', '-A']);
  const tree = git(repo, ['write-tree']).toString().trim();
  const silo = Silo.open(layout.siloDir);
  const pw = silo.packWriter();
  for (const o of gitObjects(repo)) pw.add(o.type, o.content, o.oid);
  pw.finish();
  let size = 0;
  let files = 0;
  for (const rel of listPaths(source)) {
    const st = lstatSync(join(source, rel));
    if (st.isFile()) size += st.size;
    if (st.isSymbolicLink()) size += Buffer.byteLength(readlinkSync(join(source, rel)));
    if (st.isFile() || st.isSymbolicLink()) files++;
  }
  const treeptr: Treeptr = { tree, size, files };
  let meta: string | undefined;
  if (options.meta !== false) {
    meta = silo.writeLoose('blob', Buffer.from(metaOf(source).serialize(), 'utf8')).oid;
    treeptr.meta = meta;
  }
  silo.close();
  const treeptrPath = join(layout.medoDir, name);
  mkdirSync(dirname(treeptrPath), { recursive: true });
  writeTreeptr(treeptrPath, treeptr);
  return meta === undefined ? { tree, treeptr, treeptrPath } : { tree, meta, treeptr, treeptrPath };
}

/** Stores one file as a blob .treeptr (with a sidecar holding its perm and mtime under ""). */
export function storeBlob(layout: MedoLayout, file: string, name: string): StoredTree {
  const content = readFileSync(file);
  const silo = Silo.open(layout.siloDir);
  const blob = silo.writeLoose('blob', content).oid;
  const meta = new TreeMeta();
  const st = lstatSync(file, { bigint: true });
  meta.set('', Number(st.mode & 0o7777n), Number(st.mtimeNs / 1_000_000_000n), Number(st.mtimeNs % 1_000_000_000n));
  const metaOid = silo.writeLoose('blob', Buffer.from(meta.serialize(), 'utf8')).oid;
  silo.close();
  const treeptr: Treeptr = { blob, size: content.length, files: 1, meta: metaOid };
  const treeptrPath = join(layout.medoDir, name);
  mkdirSync(dirname(treeptrPath), { recursive: true });
  writeTreeptr(treeptrPath, treeptr);
  return { tree: blob, meta: metaOid, treeptr, treeptrPath };
}

export interface PathState {
  type: 'file' | 'dir' | 'symlink' | 'other';
  perm: number;
  /** Microseconds: what expand can restore. */
  mtimeUs: bigint;
  /** A file's blob id or a symlink's target. */
  content?: string;
}

/** What a directory holds, path by path, for comparing two trees. */
export function snapshot(dir: string): Map<string, PathState> {
  const out = new Map<string, PathState>();
  for (const rel of listPaths(dir)) {
    const p = rel === '' ? dir : join(dir, rel);
    const st = lstatSync(p, { bigint: true });
    const type = st.isFile() ? 'file' : st.isDirectory() ? 'dir' : st.isSymbolicLink() ? 'symlink' : 'other';
    const s: PathState = { type, perm: type === 'symlink' ? 0 : Number(st.mode & 0o7777n), mtimeUs: st.mtimeNs / 1000n };
    if (type === 'file') s.content = hashObject('blob', readFileSync(p));
    if (type === 'symlink') s.content = readlinkSync(p);
    out.set(rel, s);
  }
  return out;
}
