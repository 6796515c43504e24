// `medo add`: a directory, a tarball or one opaque file into the writable silo of the medo directory
// that OUT.treeptr lies in, then the .treeptr itself. The objects are complete (pack or loose file
// renamed into place) before the .treeptr is written, and the .treeptr is written atomically and only
// when its bytes change, so an interrupted add leaves no pointer to missing data.
import { existsSync, mkdirSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import { MedoError } from '../../errors.js';
import { announceAdd, type Lock } from '../../silo/lock.js';
import type { Silo } from '../../silo/silo.js';
import { MedoDir } from '../medo-dir.js';
import { TreeMeta } from '../meta.js';
import { TREEPTR_EXT, readTreeptr, writeTreeptr, type BuiltFrom, type Treeptr } from '../treeptr.js';
import { ingestBlob } from './add-blob.js';
import { ingestDirectory } from './add-dir.js';
import { ingestTarball } from './add-tar.js';
import { chooseDeltaBase } from './delta-base.js';
import type { IngestOptions, IngestResult } from './session.js';

export interface AddRequest extends Omit<IngestOptions, 'silo'> {
  /** A directory, a tarball (.tar, .tar.gz/.tgz, .tar.xz, .tar.zst, recognized by content) or, with `blob`, any file. */
  src: string;
  /** The .treeptr to write; its medo directory is the nearest one above with a SILO.json. */
  out: string;
  /** Keep the file as one opaque loose blob instead of importing it as a tree. */
  blob?: boolean;
  /** A silo directory to write to instead of the first writable local one in SILO.json. */
  silo?: string;
  /** Where the source came from (recorded as source.url). */
  url?: string;
  /** Expected sha256 of a file source: checked, and the add refused on a mismatch. */
  sha256?: string;
  builtFrom?: BuiltFrom;
  /**
   * The earlier version to deltify against (a .treeptr); false: none; undefined: found by itself
   * (delta-base.ts). Only directories and tarballs are deltified.
   */
  deltaBase?: string | false;
  /** What the add's entry in the silo's locks/ shows (default "medo add SRC OUT"). */
  command?: string;
}

export interface AddReport extends IngestResult {
  kind: 'directory' | 'tarball' | 'blob';
  treeptr: Treeptr;
  /** False when OUT already held exactly these bytes. */
  changed: boolean;
  siloPath: string;
  /** The .treeptr whose tree served as delta base, if one did. */
  deltaBase?: string;
}

const SHA256 = /^[0-9a-f]{64}$/;

/**
 * When OUT already names this tree with a sidecar of other bytes but the same metadata (one written in
 * an earlier version of the format), OUT keeps that sidecar: a re-add of an unchanged tree leaves its
 * .treeptr untouched, whichever medo wrote it.
 */
function keepEarlierSidecar(out: string, treeptr: Treeptr, silo: Silo): void {
  if (treeptr.tree === undefined || treeptr.meta === undefined || !existsSync(out)) return;
  let earlier: string | undefined;
  try {
    const old = readTreeptr(out);
    if (old.tree === treeptr.tree) earlier = old.meta;
  } catch {
    return; // an unreadable OUT is simply replaced
  }
  if (earlier === undefined || earlier === treeptr.meta) return;
  const read = (oid: string): TreeMeta | undefined => {
    try {
      const o = silo.read(oid);
      return o?.type === 'blob' ? TreeMeta.parse(o.content, oid) : undefined;
    } catch {
      return undefined;
    }
  };
  const [was, now] = [read(earlier), read(treeptr.meta)];
  if (was === undefined || now === undefined) return;
  try {
    const a = was.paths;
    const b = now.paths;
    if (a.size !== b.size || was.emptyDirs.size !== now.emptyDirs.size || [...now.emptyDirs].some((d) => !was.emptyDirs.has(d))) return;
    for (const [p, e] of b) {
      const o = a.get(p);
      if (o === undefined || o.perm !== e.perm || o.mtimeSec !== e.mtimeSec || o.mtimeNsec !== e.mtimeNsec) return;
    }
  } catch {
    return; // a malformed earlier sidecar is not kept
  }
  treeptr.meta = earlier;
}

export async function medoAdd(req: AddRequest): Promise<AddReport> {
  if (!req.out.endsWith(TREEPTR_EXT)) throw new MedoError('ERR_USAGE', `the output must be a ${TREEPTR_EXT} file, not ${req.out}`);
  const expectSha256 = req.sha256?.toLowerCase();
  if (expectSha256 !== undefined && !SHA256.test(expectSha256)) throw new MedoError('ERR_USAGE', `--sha256 must be 64 hex digits, not ${req.sha256}`);
  let st;
  try {
    st = statSync(req.src);
  } catch (e) {
    throw new MedoError('ERR_USAGE', `cannot add ${req.src}: ${(e as Error).message}`, { path: req.src }, { cause: e });
  }
  const kind = st.isDirectory() ? 'directory' : req.blob ? 'blob' : 'tarball';
  if (kind === 'directory' && req.blob) throw new MedoError('ERR_USAGE', `--blob keeps one file; ${req.src} is a directory`);
  if (kind === 'directory' && expectSha256 !== undefined) throw new MedoError('ERR_USAGE', `--sha256 checks a file; ${req.src} is a directory`);
  if (kind !== 'directory' && !st.isFile()) throw new MedoError('ERR_USAGE', `${req.src} is neither a directory nor a regular file`);

  const medo = MedoDir.containing(req.out);
  const silo = medo.writableSilo(req.silo);
  // Announced from before the first object is looked up until the .treeptr names them all: a prune
  // meanwhile spares what this add writes or reuses (lib/silo/lock.ts, gc.ts).
  let announced: Lock | undefined;
  try {
    announced = announceAdd(silo.path, req.command ?? `medo add ${req.src} ${req.out}`);
    const base = kind === 'blob' || req.deltaBase === false ? undefined : chooseDeltaBase(req.out, silo, req.deltaBase);
    const options: IngestOptions = { ...req, silo, ...(base === undefined ? {} : { baseFiles: base.files }) };
    let result: IngestResult;
    if (kind === 'directory') result = await ingestDirectory(req.src, options);
    else if (kind === 'blob') result = await ingestBlob(req.src, { ...options, expectSha256 });
    else result = await ingestTarball(req.src, { ...options, expectSha256 });

    const treeptr: Treeptr = { size: result.size, files: result.files };
    if (result.tree !== undefined) treeptr.tree = result.tree;
    if (result.blob !== undefined) treeptr.blob = result.blob;
    if (result.meta !== undefined) treeptr.meta = result.meta;
    if (req.url !== undefined || expectSha256 !== undefined) {
      treeptr.source = {};
      if (req.url !== undefined) treeptr.source.url = req.url;
      if (result.sha256 !== undefined) treeptr.source.sha256 = result.sha256;
    }
    if (req.builtFrom !== undefined && Object.keys(req.builtFrom).length > 0) treeptr.built_from = req.builtFrom;
    keepEarlierSidecar(req.out, treeptr, silo);
    mkdirSync(dirname(req.out), { recursive: true });
    const changed = writeTreeptr(req.out, treeptr);
    return { ...result, kind, treeptr, changed, siloPath: silo.path, ...(base === undefined ? {} : { deltaBase: base.treeptr }) };
  } finally {
    announced?.release();
    silo.close();
  }
}
