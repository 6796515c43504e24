// A git repository as an object store: a work tree (with `.git` as a directory or a `gitdir:` file), a
// bare repository, or a `.git` directory; its `objects/` (loose + packs) and the chain of
// `objects/info/alternates` (https://git-scm.com/docs/gitrepository-layout).
import { existsSync, readFileSync, statSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import { MedoError } from '../errors.js';
import { ObjectDir, type LooseFormat, type ObjectDirOptions } from '../object-dir.js';
import { StoreChain } from '../store-chain.js';
import { parseLooseObject } from './loose-object.js';

export const gitLooseFormat: LooseFormat = {
  path: (root, oid) => join(root, oid.slice(0, 2), oid.slice(2)),
  parse: (bytes, _oid, path, limits) => parseLooseObject(bytes, limits.maxObjectSize, path),
};

// git's own limit on alternates nesting (sha1-file.c).
const MAX_ALTERNATE_DEPTH = 5;

function isDir(p: string): boolean {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
}

/** The git directory for `path`, or undefined when `path` is not a repository. */
export function findGitDir(path: string): string | undefined {
  const dotGit = join(path, '.git');
  if (isDir(dotGit)) return dotGit;
  if (existsSync(dotGit)) {
    const m = /^gitdir: (.+)$/m.exec(readFileSync(dotGit, 'utf8'));
    if (m) return resolve(path, m[1]!.trim());
  }
  if (existsSync(join(path, 'HEAD')) && isDir(join(path, 'objects'))) return path;
  return undefined;
}

function objectsDirOf(gitDir: string): string {
  // Linked work trees keep their objects in the common directory.
  const common = join(gitDir, 'commondir');
  if (existsSync(common)) return join(resolve(gitDir, readFileSync(common, 'utf8').trim()), 'objects');
  return join(gitDir, 'objects');
}

export class GitRepo extends StoreChain {
  private constructor(readonly gitDir: string, dirs: ObjectDir[]) {
    super(dirs, gitDir);
    for (const d of dirs) d.external = (oid) => this.read(oid);
  }

  static open(path: string, options: ObjectDirOptions = {}): GitRepo {
    const gitDir = findGitDir(path);
    if (gitDir === undefined) throw new MedoError('ERR_STORE_NOT_FOUND', `${path} is not a git repository`, { path });
    const dirs: ObjectDir[] = [];
    const visited = new Set<string>();
    const add = (objectsDir: string, depth: number): void => {
      const real = resolve(objectsDir);
      if (visited.has(real) || !isDir(real)) return;
      visited.add(real);
      dirs.push(new ObjectDir(real, join(real, 'pack'), gitLooseFormat, options));
      if (depth >= MAX_ALTERNATE_DEPTH) return;
      let alternates: string;
      try {
        alternates = readFileSync(join(real, 'info', 'alternates'), 'utf8');
      } catch {
        return;
      }
      for (const line of alternates.split('\n')) {
        const alt = line.trim();
        if (alt === '' || alt.startsWith('#')) continue;
        add(isAbsolute(alt) ? alt : resolve(real, alt), depth + 1);
      }
    };
    add(objectsDirOf(gitDir), 0);
    return new GitRepo(gitDir, dirs);
  }
}
