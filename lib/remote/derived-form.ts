// A wedge from a remote silo's derived tarball (`silo derive tar.zst|tar.gz`, derived/forms/), when
// that is the cheapest way over HTTP: on a host that holds little of the tree, one request for a
// compressed tarball beats range requests for thousands of entries, and a tarball compressed as a whole
// is often smaller than the same files deflated one by one in a pack.
//
// The trees are fetched first (they are needed anyway and are small), which gives the blobs the host
// lacks and, from the remote `.idx`, the bytes their pack entries take. If a record
// (`derived/forms/<TREE>.<ext>.json`) offers a tarball of fewer bytes, it is fetched, checked against the
// record's length and sha256, and read as a stream: each file and symlink is hashed, and only a blob the
// tree needs, whose id its content gives, is admitted to the cache. A tarball that is wrong in any way
// costs its download and nothing else: what it did not deliver is fetched entry by entry afterwards.
import { createHash, randomBytes } from 'node:crypto';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { MedoError, isMedoError } from '../errors.js';
import { MODE_GITLINK, MODE_TREE, parseTree } from '../git/tree.js';
import { hashObject } from '../oid.js';
import { parseRecord, type DerivedRecord } from '../silo/derive.js';
import { openTarStream, readTar } from '../tar/tar-reader.js';
import type { RemoteStore } from './remote-store.js';

/** The forms a client can unpack itself, in the order they are tried when equally cheap. */
const TARBALLS = ['tar.zst', 'tar.gz'] as const;

export interface DerivedFetch {
  tree: string;
  url: string;
  form: string;
  /** The tarball's bytes, and what the pack entries of the blobs the host lacked would have taken. */
  bytes: number;
  packBytes: number;
  /** Blobs the tarball delivered (checked by id). */
  objects: number;
}

export interface DerivedOptions {
  /** Take the tarball when its bytes are under this share of the pack entries' (default 1: any saving). */
  ratio?: number;
  onNote?: (message: string) => void;
}

/** Every tree below `tree`, fetched into the cache; the blobs below it the host does not hold. */
async function missingBlobs(store: RemoteStore, tree: string): Promise<Set<string>> {
  const missing = new Set<string>();
  const seen = new Set<string>([tree]);
  let level = [tree];
  while (level.length > 0) {
    const objects = await Promise.all(level.map((t) => store.ensure(t)));
    const next: string[] = [];
    objects.forEach((obj, i) => {
      for (const e of parseTree(obj.content, level[i]!)) {
        if (e.mode === MODE_GITLINK || seen.has(e.oid)) continue;
        seen.add(e.oid);
        if (e.mode === MODE_TREE) next.push(e.oid);
        else if (!store.holds(e.oid)) missing.add(e.oid);
      }
    });
    level = next;
  }
  return missing;
}

/** The cheapest tarball record a remote silo offers for `tree`. */
async function offered(store: RemoteStore, tree: string): Promise<{ record: DerivedRecord; base: string } | undefined> {
  let best: { record: DerivedRecord; base: string } | undefined;
  for (const remote of store.remotes) {
    for (const form of TARBALLS) {
      const url = `${remote.url}derived/forms/${tree}.${form}.json`;
      let body: Buffer | undefined;
      try {
        body = await store.http.get(url);
      } catch {
        continue;
      }
      if (body === undefined) continue;
      let record: DerivedRecord;
      try {
        record = parseRecord(body.toString('utf8'), url);
      } catch {
        continue;
      }
      if (record.tree !== tree || record.form !== form) continue;
      if (best === undefined || record.bytes < best.record.bytes) best = { record, base: remote.url };
    }
    if (best !== undefined) return best;
  }
  return undefined;
}

/**
 * For each tree among `roots` of which the host lacks blobs, fetches a derived tarball instead where one is
 * offered that is smaller than those blobs' pack entries. Returns what it did; never throws for a bad
 * or missing tarball (the normal fetch follows and gets what is still missing).
 */
export async function fetchDerivedTarballs(store: RemoteStore, roots: readonly string[], options: DerivedOptions = {}): Promise<DerivedFetch[]> {
  const ratio = options.ratio ?? 1;
  const done: DerivedFetch[] = [];
  for (const tree of new Set(roots)) {
    // A root may be a blob (a .treeptr of one file, a sidecar): it has no tarball. The walk of the trees
    // costs no request the fetch after it would not make; the offer (a small GET per form, a 404 where
    // there is none) is asked for only when files are missing.
    if ((await store.ensure(tree)).type !== 'tree') continue;
    const missing = await missingBlobs(store, tree);
    if (missing.size === 0) continue;
    const offer = await offered(store, tree);
    if (offer === undefined) continue;
    // Loose remote objects have no known size, and count 0.
    let viaPacks = 0;
    for (const n of (await store.entryBytes(missing)).values()) viaPacks += n;
    if (!(offer.record.bytes < viaPacks * ratio)) continue;
    const url = `${offer.base}${offer.record.file}`;
    try {
      const objects = await admitTarball(store, url, offer.record, missing);
      done.push({ tree, url, form: offer.record.form, bytes: offer.record.bytes, packBytes: viaPacks, objects });
    } catch (e) {
      if (!isMedoError(e)) throw e;
      options.onNote?.(`${url}: ${e.message}; fetching the tree's objects instead`);
    }
  }
  return done;
}

async function admitTarball(store: RemoteStore, url: string, record: DerivedRecord, missing: Set<string>): Promise<number> {
  const body = await store.http.get(url);
  if (body === undefined) throw new MedoError('ERR_REMOTE', 'listed in its record but not there (404)', { url });
  if (body.length !== record.bytes) throw new MedoError('ERR_OBJECT_CORRUPT', `is ${body.length} bytes, its record says ${record.bytes}`, { url });
  const sum = createHash('sha256').update(body).digest('hex');
  if (sum !== record.sha256) throw new MedoError('ERR_OBJECT_CORRUPT', `has sha256 ${sum}, its record says ${record.sha256}`, { url });
  // The reader takes a file (gzip in-process, zstd through `zstd -dc`): the download goes next to the cache.
  const tmp = join(store.cache.path, `.tmp-derived-${randomBytes(6).toString('hex')}`);
  writeFileSync(tmp, body);
  let admitted = 0;
  try {
    for await (const entry of readTar(openTarStream(tmp))) {
      const content = entry.type === 'file' ? entry.content : entry.type === 'symlink' ? Buffer.from(entry.linkTarget ?? '', 'utf8') : undefined;
      if (content === undefined) continue;
      const oid = hashObject('blob', content);
      if (!missing.has(oid)) continue;
      if (store.admit(oid, { type: 'blob', content })) {
        missing.delete(oid);
        admitted++;
      }
    }
  } finally {
    rmSync(tmp, { force: true });
  }
  return admitted;
}
