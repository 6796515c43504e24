// Fixtures for the upkeep verbs (url-for, reachable, gc, repack), built without `medo add`: a directory
// becomes a tree with `git add -A && git write-tree` in an oracle repository, its objects are copied into a
// silo (loose or packed) and a .treeptr naming it is written into a medo directory. The oracle keeps
// every object ever made, so git can answer "what does this tree reach" independently of our code.
import type { ExecutionContext } from 'ava';
import { chmodSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { PackWriter } from '../../lib/git/pack-writer.js';
import type { ObjectType } from '../../lib/oid.js';
import { TreeMeta } from '../../lib/medo/meta.js';
import { writeTreeptr, type Treeptr } from '../../lib/medo/treeptr.js';
import { Silo } from '../../lib/silo/silo.js';
import { git, gitLines, initRepo, tempDir, type GitObject } from './git-fixture.js';

/** Path -> file content; `{ link }` makes a symlink, `{ exec }` an executable file. */
export type FileSpec = Record<string, string | Buffer | { link: string } | { exec: string }>;

export function writeFiles(dir: string, files: FileSpec): void {
  for (const [path, spec] of Object.entries(files)) {
    const p = join(dir, path);
    mkdirSync(dirname(p), { recursive: true });
    if (typeof spec === 'string' || Buffer.isBuffer(spec)) writeFileSync(p, spec);
    else if ('link' in spec) symlinkSync(spec.link, p);
    else {
      writeFileSync(p, spec.exec);
      chmodSync(p, 0o755);
    }
  }
}

/** Reads `oids` from a git repository with one `git cat-file --batch`. */
export function catObjects(gitDir: string, oids: readonly string[]): GitObject[] {
  if (oids.length === 0) return [];
  const out = git(gitDir, ['cat-file', '--batch'], oids.map((o) => `${o}\n`).join(''));
  const objects: GitObject[] = [];
  let at = 0;
  for (const oid of oids) {
    const nl = out.indexOf(0x0a, at);
    const [got, type, size] = out.toString('latin1', at, nl).split(' ');
    if (got !== oid) throw new Error(`cat-file --batch answered ${got} ${type} for ${oid}`);
    const end = nl + 1 + Number(size);
    objects.push({ oid, type: type as ObjectType, content: out.subarray(nl + 1, end) });
    at = end + 1;
  }
  return objects;
}

export class UpkeepFixture {
  readonly root: string;
  /** A bare repository holding every object the fixture made. */
  readonly oracle: string;
  private trees = 0;

  constructor(t: ExecutionContext, root = tempDir(t, 'medo-upkeep-')) {
    this.root = root;
    this.oracle = initRepo(join(root, 'oracle.git'), { bare: true });
  }

  /** Writes `files` into a fresh directory and returns git's tree id for it. */
  tree(files: FileSpec): string {
    const dir = join(this.root, `src-${this.trees++}`);
    mkdirSync(dir, { recursive: true });
    writeFiles(dir, files);
    const args = ['--git-dir', this.oracle, '--work-tree', dir];
    git(this.root, [...args, 'add', '-A']);
    return git(this.root, [...args, 'write-tree']).toString().trim();
  }

  /** The tree itself and everything below it, as git lists it: the oracle for reachability. */
  reach(tree: string): string[] {
    const below = gitLines(this.oracle, ['ls-tree', '-r', '-t', tree]).map((l) => l.split('\t')[0]!.split(' ')).filter((f) => f[1] !== 'commit');
    return [tree, ...below.map((f) => f[2]!)];
  }

  objects(oids: readonly string[]): GitObject[] {
    return catObjects(this.oracle, [...new Set(oids)]);
  }

  /** A blob in the oracle. */
  blob(content: string | Buffer): GitObject {
    const oid = git(this.oracle, ['hash-object', '-w', '--stdin'], content).toString().trim();
    return { oid, type: 'blob', content: Buffer.from(content) };
  }

  /** A metadata sidecar for `tree` (every path 0644 or 0755 at a fixed time), stored in the oracle. */
  meta(tree: string, mtime = 1_700_000_000): GitObject {
    const m = new TreeMeta();
    m.set('', 0o755, mtime);
    for (const line of gitLines(this.oracle, ['ls-tree', '-r', '-t', tree])) {
      const [info, path] = line.split('\t');
      const mode = info!.split(' ')[0]!;
      m.set(path!, mode === '040000' || mode === '100755' ? 0o755 : 0o644, mtime, 5);
    }
    return this.blob(m.serialize());
  }

  silo(name: string): Silo {
    return Silo.init(join(this.root, name));
  }

  /** Copies objects into `silo`: as loose .gz files, or as one pack. Returns the pack's path, if any. */
  store(silo: Silo, objects: readonly GitObject[], how: 'loose' | 'pack'): string | undefined {
    if (how === 'loose') {
      for (const o of objects) silo.writeLoose(o.type as 'blob' | 'tree', o.content, o.oid);
      return undefined;
    }
    // Not silo.packWriter(): a test may want an object in two places on purpose.
    const w = new PackWriter(join(silo.path, 'pack'));
    for (const o of objects) w.add(o.type, o.content, o.oid);
    return w.finish()?.packPath;
  }

  /** A medo directory with SILO.json listing `silos` (paths relative to it, or URLs). */
  medoDir(path: string, silos: readonly string[]): string {
    const dir = join(this.root, path);
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'SILO.json'), `${JSON.stringify({ silos })}\n`);
    return dir;
  }

  treeptr(medoDir: string, name: string, t: Partial<Treeptr>): string {
    const path = join(medoDir, name.endsWith('.treeptr') ? name : `${name}.treeptr`);
    mkdirSync(dirname(path), { recursive: true });
    writeTreeptr(path, { size: 0, files: 0, ...t });
    return path;
  }
}
