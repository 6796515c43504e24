// Opens whatever store a path names: a silo (it has the marker) or a git repository.
import { MedoError } from './errors.js';
import { GitRepo, findGitDir } from './git/git-repo.js';
import type { ObjectDirOptions } from './object-dir.js';
import { Silo, isSilo } from './silo/silo.js';
import type { ObjectStore } from './store.js';

export function openStore(path: string, options: ObjectDirOptions = {}): ObjectStore {
  if (isSilo(path)) return Silo.open(path, options);
  if (findGitDir(path) !== undefined) return GitRepo.open(path, options);
  throw new MedoError('ERR_STORE_NOT_FOUND', `${path} is neither a silo (no medo-silo.json) nor a git repository`, { path });
}
