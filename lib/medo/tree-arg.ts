// What `medo diff`, `ls` and `cat` take as a wedge: a .treeptr file, a git revision of one
// (`REV:path/x.treeptr`, read with git from the repository around the working directory), a tree, commit
// or blob id (found in --store, or in the silos of the medo directory around the working directory), or,
// for diff, a directory on disk (scanned and hashed as `medo add` would).
import { execFileSync } from 'node:child_process';
import { statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { MedoError } from '../errors.js';
import { isOid } from '../oid.js';
import { peel, readTree } from '../git/tree-walk.js';
import { openStore } from '../open-store.js';
import type { ObjectStore } from '../store.js';
import { MedoDir } from './medo-dir.js';
import { readMeta } from './materialize/expected.js';
import { OldCopy } from './old-copy.js';
import { TREEPTR_EXT, parseTreeptr, readTreeptr, type Treeptr } from './treeptr.js';
import type { DiffSide } from './tree-diff.js';

export interface Wedge extends DiffSide {
  /** How the argument was read, for messages. */
  label: string;
  treeptr?: Treeptr;
  /** Closes the store if this wedge opened it. */
  close(): void;
}

export interface WedgeOptions {
  /** A silo or git repository holding the objects named by id. */
  store?: string;
  /** Whether a directory on disk may stand for a wedge. */
  directories?: boolean;
}

/** The wedge a .treeptr names. Its root is checked to be there (and to be a tree) before anything else reads it. */
function fromTreeptr(t: Treeptr, store: ObjectStore, label: string, owned: boolean): Wedge {
  try {
    if (t.tree !== undefined) readTree(store, t.tree);
    else if (!store.has(t.blob!)) throw new MedoError('ERR_OBJECT_MISSING', `${label}: blob ${t.blob!} is not in ${store.path}`, { oid: t.blob! });
    const w: Wedge = { label, treeptr: t, store, meta: readMeta(store, t.meta), close: () => owned && store.close() };
    if (t.tree !== undefined) w.tree = t.tree;
    else w.blob = t.blob!;
    return w;
  } catch (e) {
    if (owned) store.close();
    throw e;
  }
}

/** The store ids are looked up in: --store, else the silos of the medo directory around `cwd`. */
function storeFor(options: WedgeOptions, cwd: string, what: string): ObjectStore {
  if (options.store !== undefined) return openStore(options.store);
  try {
    return MedoDir.containing(cwd).openStore();
  } catch (e) {
    throw new MedoError('ERR_USAGE', `${what}: an object id needs --store SILO|REPO, or a medo directory around ${cwd}`, {}, { cause: e });
  }
}

function git(cwd: string, args: string[]): Buffer {
  try {
    return execFileSync('git', ['-C', cwd, ...args], { maxBuffer: 1 << 26, stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (e) {
    const said = (e as { stderr?: Buffer }).stderr?.toString('utf8').trim().split('\n')[0] ?? (e as Error).message;
    throw new MedoError('ERR_USAGE', `git ${args.join(' ')}: ${said}`, { path: cwd }, { cause: e });
  }
}

/** `REV:path`: the .treeptr as that commit holds it; its objects are in the silos its medo directory names. */
function fromRevision(arg: string, options: WedgeOptions): Wedge {
  const cwd = process.cwd();
  const colon = arg.indexOf(':');
  const path = arg.slice(colon + 1);
  const text = git(cwd, ['cat-file', 'blob', arg]).toString('utf8');
  const t = parseTreeptr(text, arg);
  // The medo directory: where the path is in the working tree ('./x' and '../x' are git's cwd-relative forms).
  const top = git(cwd, ['rev-parse', '--show-toplevel']).toString('utf8').trim();
  const abs = path.startsWith('./') || path.startsWith('../') ? resolve(cwd, path) : resolve(top, path);
  let store: ObjectStore;
  if (options.store !== undefined) store = openStore(options.store);
  else {
    let dir = dirname(abs);
    while (!exists(dir) && dir !== dirname(dir)) dir = dirname(dir);
    store = storeFor({}, dir, arg);
  }
  return fromTreeptr(t, store, arg, true);
}

function exists(p: string): boolean {
  try {
    statSync(p);
    return true;
  } catch {
    return false;
  }
}

/** A tree, commit, tag or blob id in a store. */
function fromId(oid: string, options: WedgeOptions): Wedge {
  const store = storeFor(options, process.cwd(), oid);
  try {
    const p = peel(store, oid);
    return { label: oid, store, [p.type]: p.oid, close: () => store.close() };
  } catch (e) {
    store.close();
    throw e;
  }
}

/** A directory on disk, hashed: its trees in memory, its files read (and checked) when asked for. */
async function fromDirectory(dir: string): Promise<Wedge> {
  const old = await OldCopy.scan(dir);
  const store: ObjectStore = {
    path: dir,
    read: (oid) => old.read(oid) ?? old.base(oid),
    has: (oid) => old.has(oid) || old.hasBlob(oid),
    close: () => {},
  };
  return { label: dir, store, tree: old.tree, meta: old.meta, close: () => {} };
}

/** Reads `arg` as a wedge. Throws ERR_USAGE naming it when it is none of the forms above. */
export async function openWedge(arg: string, options: WedgeOptions = {}): Promise<Wedge> {
  let st;
  try {
    st = statSync(arg);
  } catch {
    st = undefined;
  }
  if (st?.isFile()) {
    if (!arg.endsWith(TREEPTR_EXT)) throw new MedoError('ERR_USAGE', `${arg} is a file but not a ${TREEPTR_EXT}`, { path: arg });
    const t = readTreeptr(arg);
    const store = options.store !== undefined ? openStore(options.store) : MedoDir.containing(resolve(arg)).openStore();
    return fromTreeptr(t, store, arg, true);
  }
  if (st?.isDirectory()) {
    if (options.directories !== true) throw new MedoError('ERR_USAGE', `${arg} is a directory: name a .treeptr, REV:path.treeptr or an object id`, { path: arg });
    return fromDirectory(arg);
  }
  if (isOid(arg)) return fromId(arg, options);
  if (arg.includes(':')) return fromRevision(arg, options);
  throw new MedoError('ERR_USAGE', `${arg}: no such file or directory, and not an object id or REV:path`, { path: arg });
}
