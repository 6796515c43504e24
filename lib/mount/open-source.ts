// What `medo mount SOURCE` serves, built from SOURCE:
//   a medo directory (SILO.json): every .treeptr below it, as a directory (a tree) or a file (a blob) of
//                                 the same name without the extension, nested folders kept;
//   one .treeptr file:            its tree is the root (a blob .treeptr shows as the one file in the root);
//   a git repository:             the tree of --rev (default HEAD), bare or not, no checkout needed.
// Objects come from every local silo SILO.json lists (or the repository and its alternates); when it lists
// URLs too, from the host cache of remote silos, and what the cache lacks is fetched when an op misses it
// (remote-fetcher.ts, fetch-on-miss.ts).
import { statSync } from 'node:fs';
import { basename, resolve } from 'node:path';
import { MedoError, isMedoError } from '../errors.js';
import { GitRepo, findGitDir } from '../git/git-repo.js';
import { resolveRev } from '../git/refs.js';
import { MODE_FILE, MODE_TREE } from '../git/tree.js';
import { MedoDir, SILO_JSON } from '../medo/medo-dir.js';
import { TREEPTR_EXT, readTreeptr, type Treeptr } from '../medo/treeptr.js';
import type { ObjectStore } from '../store.js';
import { InodeScope, InodeTable } from './inode-table.js';
import { ObjectReader, type ObjectReaderOptions } from './object-reader.js';
import { openMedoStore, type MountRemoteOptions, type RemoteFetcher } from './remote-fetcher.js';
import type { MountSource } from './source.js';
import { SubvolumeSource, type Subvolume } from './subvolume-source.js';
import { TreeSource, type RootObject } from './tree-source.js';

export type SourceKind = 'medo-dir' | 'treeptr' | 'git';

export interface MountSpec {
  /** A medo directory, a .treeptr file or a git repository. */
  source: string;
  /** Only for a git repository: a tree-ish (default HEAD). */
  rev?: string;
  cache?: ObjectReaderOptions;
  /**
   * For a medo directory re-read under a live mount (medod's SIGHUP): the previous load's inode table, so a
   * path keeps its inode number across loads.
   */
  inodes?: InodeTable;
  /** For a medo directory or .treeptr whose SILO.json lists URLs: the cache and HTTP settings. */
  remote?: MountRemoteOptions;
}

export interface OpenedSource {
  source: MountSource;
  kind: SourceKind;
  /** Absolute path of SOURCE. */
  path: string;
  /** For a git repository: the tree (or blob) --rev resolved to, and the commit it came through. */
  resolved?: { oid: string; commit?: string };
  /** Things the mount hides or skips (a .treeptr that does not parse, a shadowed one), one line each. */
  problems: string[];
  reader: ObjectReader;
  /** A medo directory's inode table (see MountSpec.inodes). */
  inodes?: InodeTable;
  close(): void;
}

function treeSource(reader: ObjectReader, root: RootObject, inodes: InodeScope, t?: Treeptr, fetcher?: RemoteFetcher): TreeSource {
  if (t?.tree !== undefined) fetcher?.offerStaticDeltas(t.meta === undefined ? [t.tree] : [t.tree, t.meta]);
  return new TreeSource(reader, root, {
    inodes,
    ...(fetcher !== undefined ? { fetch: fetcher.fetch, onList: fetcher.listed } : {}),
    ...(t?.meta !== undefined ? { meta: t.meta } : {}),
    ...(t !== undefined ? { stats: { bytes: t.size, files: t.files } } : {}),
  });
}

function treeptrRoot(t: Treeptr): RootObject {
  return t.tree !== undefined ? { oid: t.tree, mode: MODE_TREE } : { oid: t.blob!, mode: MODE_FILE };
}

function opened(source: MountSource, kind: SourceKind, path: string, store: ObjectStore, reader: ObjectReader,
  problems: string[] = [], fetcher?: RemoteFetcher): OpenedSource {
  return { source, kind, path, problems, reader, close: () => { fetcher?.close(); reader.close(); store.close(); } };
}

function openMedoDir(path: string, cache: ObjectReaderOptions | undefined, table = new InodeTable(), remote?: MountRemoteOptions): OpenedSource {
  const medo = MedoDir.open(path);
  const problems: string[] = [];
  const { store, fetcher } = openMedoStore(medo, remote, problems);
  const reader = new ObjectReader(store, cache);
  const root = new InodeScope(table, '');
  const subvolumes: Subvolume[] = [];
  for (const rel of medo.treeptrs()) {
    const at = rel.slice(0, -TREEPTR_EXT.length);
    let t: Treeptr;
    try {
      t = readTreeptr(resolve(medo.root, rel));
    } catch (e) {
      if (!isMedoError(e)) throw e;
      problems.push(`${rel}: skipped: ${e.message}`);
      continue;
    }
    subvolumes.push({ path: at, kind: t.tree !== undefined ? 'dir' : 'file', source: treeSource(reader, treeptrRoot(t), root.child(at), t, fetcher) });
  }
  const source = new SubvolumeSource(subvolumes, root, fetcher?.fetch);
  for (const sv of source.shadowed) problems.push(`${sv.path}${TREEPTR_EXT}: hidden by another .treeptr at or above its path`);
  const o = opened(source, 'medo-dir', medo.root, store, reader, problems, fetcher);
  o.inodes = table;
  return o;
}

/** A single file (blob root) cannot be a mount's root: it shows as the one entry of the root directory. */
function singleFile(reader: ObjectReader, name: string, root: RootObject, t?: Treeptr, fetcher?: RemoteFetcher): MountSource {
  const scope = new InodeScope(new InodeTable(), '');
  return new SubvolumeSource([{ path: name, kind: 'file', source: treeSource(reader, root, scope.child(name), t, fetcher) }], scope, fetcher?.fetch);
}

function openTreeptr(path: string, cache: ObjectReaderOptions | undefined, remote?: MountRemoteOptions): OpenedSource {
  const t = readTreeptr(path);
  const problems: string[] = [];
  const { store, fetcher } = openMedoStore(MedoDir.containing(path), remote, problems);
  const reader = new ObjectReader(store, cache);
  const source = t.tree !== undefined
    ? treeSource(reader, treeptrRoot(t), new InodeScope(new InodeTable(), ''), t, fetcher)
    : singleFile(reader, basename(path).replace(/\.treeptr$/, ''), treeptrRoot(t), t, fetcher);
  return opened(source, 'treeptr', path, store, reader, problems, fetcher);
}

function openGit(path: string, rev: string, cache: ObjectReaderOptions | undefined): OpenedSource {
  const repo = GitRepo.open(path);
  try {
    const r = resolveRev(repo, repo.gitDir, rev);
    const reader = new ObjectReader(repo, cache);
    const source = r.type === 'tree'
      ? treeSource(reader, { oid: r.oid, mode: MODE_TREE }, new InodeScope(new InodeTable(), ''))
      : singleFile(reader, basename(rev.slice(rev.indexOf(':') + 1)), { oid: r.oid, mode: r.mode ?? MODE_FILE });
    const o = opened(source, 'git', path, repo, reader);
    o.resolved = { oid: r.oid, ...(r.commit !== undefined ? { commit: r.commit } : {}) };
    return o;
  } catch (e) {
    repo.close();
    throw e;
  }
}

export function openMountSource(spec: MountSpec): OpenedSource {
  const path = resolve(spec.source);
  let isDir: boolean;
  try {
    isDir = statSync(path).isDirectory();
  } catch (e) {
    throw new MedoError('ERR_STORE_NOT_FOUND', `${spec.source}: no such file or directory`, { path }, { cause: e });
  }
  const notGit = (): void => {
    if (spec.rev !== undefined) throw new MedoError('ERR_USAGE', `--rev applies to a git repository; ${spec.source} is not one`);
  };
  if (!isDir) {
    if (!path.endsWith(TREEPTR_EXT)) {
      throw new MedoError('ERR_STORE_NOT_FOUND',
        `${spec.source} is a file but not a ${TREEPTR_EXT}; SOURCE must be a medo directory, a ${TREEPTR_EXT} or a git repository`, { path });
    }
    notGit();
    return openTreeptr(path, spec.cache, spec.remote);
  }
  // A repository whose top holds SILO.json is mounted as the medo directory unless --rev asks for git.
  const isMedo = (() => {
    try {
      return statSync(resolve(path, SILO_JSON)).isFile();
    } catch {
      return false;
    }
  })();
  if (isMedo && spec.rev === undefined) return openMedoDir(path, spec.cache, spec.inodes, spec.remote);
  if (findGitDir(path) !== undefined) return openGit(path, spec.rev ?? 'HEAD', spec.cache);
  notGit();
  throw new MedoError('ERR_STORE_NOT_FOUND',
    `${spec.source} is neither a medo directory (no ${SILO_JSON}), a ${TREEPTR_EXT} file nor a git repository`, { path });
}
